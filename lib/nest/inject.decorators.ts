import { Inject } from '@nestjs/common';

/** Injection token of the semaphore registered as `name` (by forRoot, forRootAsync or forFeature). */
export function getSemaphoreToken(name: string): string {
  return `nestjs-limiters:semaphore:${name}`;
}

/** Injection token of the token bucket registered as `name`. */
export function getTokenBucketToken(name: string): string {
  return `nestjs-limiters:token-bucket:${name}`;
}

/** Injects the SemaphoreLimiter registered as `name`. */
export const InjectSemaphore = (name: string): PropertyDecorator & ParameterDecorator =>
  Inject(getSemaphoreToken(name));

/** Injects the TokenBucketLimiter registered as `name`. */
export const InjectTokenBucket = (name: string): PropertyDecorator & ParameterDecorator =>
  Inject(getTokenBucketToken(name));
