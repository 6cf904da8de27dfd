import { declareLimit, type LimitDecorator } from './limit-metadata';
import type { CallLimitOptions, InlineTokenBucketOptions, TokenCost } from './limit-options.interface';

/**
 * Takes tokens from a token bucket before the method runs: inline options, or the name
 * of a bucket registered with LimitersModule. On a class: every handler of it. Several on
 * one method are taken in the order written. Only records metadata (see limit-metadata.ts).
 */
export function TokenBucket<Req = any>(
  registered: string,
  options?: CallLimitOptions<Req> & TokenCost<Req>,
): LimitDecorator;
export function TokenBucket<Req = any>(options: InlineTokenBucketOptions<Req>): LimitDecorator;
export function TokenBucket(
  target: string | InlineTokenBucketOptions,
  extra: CallLimitOptions & TokenCost = {},
): LimitDecorator {
  return declareLimit('@TokenBucket', 'token-bucket', target as never, extra as never);
}
