import { Inject } from '@nestjs/common';
import type { LimitKind } from '../core/limit-kind';
import type { LimitKindDescriptor } from './kinds/limit-kind.descriptor';
import { findKind } from './kinds/limit-kinds';

/** Injection token of the limiter of a kind registered as `name` (by forRoot, forRootAsync or forFeature). */
export function limiterToken(kind: LimitKind, name: string): string {
  return `nestjs-limiters:${kind}:${name}`;
}

/** A kind's getXToken: the injection token of its limiter registered as `name`. */
export function limiterTokenOf(type: LimitKindDescriptor): (name: string) => string {
  return (name) => limiterToken(type.kind, name);
}

/** The kind and name an injection token of limiterToken stands for; undefined for any other token. */
export function limiterOfToken(token: unknown): { kind: LimitKind; name: string } | undefined {
  const match = typeof token === 'string' ? /^nestjs-limiters:([^:]+):(.*)$/s.exec(token) : null;
  const type = match ? findKind(match[1]) : undefined;
  return type && { kind: type.kind, name: match![2] };
}

/** Names of limiters, by kind. */
export class NamesByKind {
  private readonly names = new Map<LimitKind, Set<string>>();

  of(kind: LimitKind): Set<string> {
    let names = this.names.get(kind);
    if (!names) this.names.set(kind, (names = new Set()));
    return names;
  }
}

/**
 * Names injected anywhere in the app so far, and names a forFeature declares, by kind.
 * Classes are decorated when their files load, before the root module calls forRoot or
 * forRootAsync: the root module then provides every injected name no feature module
 * declares, so a name its options lack fails the start saying where to declare it,
 * instead of Nest's "can't resolve dependencies".
 */
export const injectedNames = new NamesByKind();
export const featureNames = new NamesByKind();

/** A kind's @InjectX(name): injects its limiter registered as `name`. */
export function injectLimiter(type: LimitKindDescriptor): (name: string) => PropertyDecorator & ParameterDecorator {
  return (name) => {
    injectedNames.of(type.kind).add(name);
    return Inject(limiterToken(type.kind, name));
  };
}
