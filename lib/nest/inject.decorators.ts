import { Inject } from '@nestjs/common';
import type { LimitKind } from '../core/limit-kind';

/** Injection token of the semaphore registered as `name` (by forRoot, forRootAsync or forFeature). */
export function getSemaphoreToken(name: string): string {
  return `nestjs-limiters:semaphore:${name}`;
}

/** Injection token of the token bucket registered as `name`. */
export function getTokenBucketToken(name: string): string {
  return `nestjs-limiters:token-bucket:${name}`;
}

/** Injection token of the limiter of a kind registered as `name`. */
export function limiterToken(kind: LimitKind, name: string): string {
  return kind === 'semaphore' ? getSemaphoreToken(name) : getTokenBucketToken(name);
}

/** The kind and name an injection token of limiterToken stands for; undefined for any other token. */
export function limiterOfToken(token: unknown): { kind: LimitKind; name: string } | undefined {
  const match = typeof token === 'string' ? /^nestjs-limiters:(semaphore|token-bucket):(.*)$/s.exec(token) : null;
  return match ? { kind: match[1] as LimitKind, name: match[2] } : undefined;
}

/**
 * Names injected anywhere in the app so far, and names a forFeature declares. Classes are
 * decorated when their files load, before the root module calls forRoot or forRootAsync:
 * the root module then provides every injected name no feature module declares, so a
 * name its options lack fails the start saying where to declare it, instead of Nest's
 * "can't resolve dependencies".
 */
export const injectedNames: Record<LimitKind, Set<string>> = { semaphore: new Set(), 'token-bucket': new Set() };
export const featureNames: Record<LimitKind, Set<string>> = { semaphore: new Set(), 'token-bucket': new Set() };

/** Injects the SemaphoreLimiter registered as `name`. */
export const InjectSemaphore = (name: string): PropertyDecorator & ParameterDecorator => {
  injectedNames.semaphore.add(name);
  return Inject(getSemaphoreToken(name));
};

/** Injects the TokenBucketLimiter registered as `name`. */
export const InjectTokenBucket = (name: string): PropertyDecorator & ParameterDecorator => {
  injectedNames['token-bucket'].add(name);
  return Inject(getTokenBucketToken(name));
};
