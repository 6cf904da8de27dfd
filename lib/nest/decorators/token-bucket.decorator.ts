import { TOKEN_BUCKET_LIMIT } from '../limits.constants';
import { declareLimit } from './limit-metadata';
import type {
  InlineTokenBucketOptions,
  MethodLimitOptions,
  TokenBucketDeclaration,
  TokenCost,
} from './limit-options.interface';

/**
 * Takes tokens from a token bucket before the method runs: inline options, or the name
 * of a bucket registered with LimitersModule. Only records metadata (see limit-metadata.ts):
 * LimitsExplorer wraps service methods at start-up, and LimitsInterceptor (or
 * TokenBucketGuard, to reject before pipes run) limits controller handlers.
 */
export function TokenBucket(registered: string, options?: MethodLimitOptions & TokenCost): MethodDecorator;
export function TokenBucket(options: InlineTokenBucketOptions): MethodDecorator;
export function TokenBucket(
  target: string | InlineTokenBucketOptions,
  extra: MethodLimitOptions & TokenCost = {},
): MethodDecorator {
  return declareLimit('@TokenBucket', TOKEN_BUCKET_LIMIT, declare(target, extra), { many: true });
}

function declare(
  target: string | InlineTokenBucketOptions,
  extra: MethodLimitOptions & TokenCost,
): TokenBucketDeclaration {
  if (typeof target === 'string') {
    return { registered: target, key: extra.key, maxSleep: extra.maxSleep, tokens: extra.tokens };
  }
  const { key, maxSleep, tokens, ...inline } = target;
  return { inline, key, maxSleep, tokens };
}
