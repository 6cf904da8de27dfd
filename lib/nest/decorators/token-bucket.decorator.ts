import type { TokenBucketOptions } from '../../core/token-bucket-limiter';
import { injectLimiter, limiterTokenOf } from '../inject.decorators';
import { tokenBucketKind } from '../kinds/token-bucket.kind';
import { declareLimit, type LimitDecorator } from './limit-metadata';
import type { CallLimitOptions, InlineOptions, TokenCost } from './limit-options.interface';

/** `@TokenBucket({...})`: a bucket made for this method (or class); `name` defaults to `Class.method` (or `Class`). */
export type InlineTokenBucketOptions<Req = unknown> = InlineOptions<
  TokenBucketOptions,
  'capacity' | 'refillFrequency' | 'refillAmount',
  Req
> &
  TokenCost<Req>;

/**
 * Takes tokens from a token bucket before the method runs: inline options, or the name
 * of a bucket registered with LimitersModule. On a class: every handler of it. Several on
 * one method are taken in the order written. Only records metadata (see limit-metadata.ts).
 */
export function TokenBucket<Req = unknown>(
  registered: string,
  options?: CallLimitOptions<Req> & TokenCost<Req>,
): LimitDecorator;
export function TokenBucket<Req = unknown>(options: InlineTokenBucketOptions<Req>): LimitDecorator;
export function TokenBucket(target: string | InlineTokenBucketOptions, extra: object = {}): LimitDecorator {
  return declareLimit(tokenBucketKind, target, extra);
}

/** Injects the TokenBucketLimiter registered as `name`. */
export const InjectTokenBucket = injectLimiter(tokenBucketKind);

/** Injection token of the token bucket registered as `name`. */
export const getTokenBucketToken = limiterTokenOf(tokenBucketKind);
