import type { TokenBucketBackend, TokenBucketShape, TokenBucketSnapshot } from '../../core/limiter-store';
import { numbers, type ScriptRunner } from './script-runner';

/** A token bucket stored in one Redis key (lua/token-bucket-*.lua). */
export function redisTokenBucket(scripts: ScriptRunner, bucket: string): TokenBucketBackend {
  const shapeArgs = (s: TokenBucketShape) => [s.capacity, s.refillFrequency, s.refillAmount];
  return {
    take: async (shape, tokens, maxWait) => {
      const [reserved, balance, wait, fullIn] = numbers(
        await scripts.run('tokenBucketTake', [bucket], [...shapeArgs(shape), tokens, maxWait === Infinity ? -1 : maxWait]),
      );
      return { reserved: reserved === 1, tokens: balance, wait, fullIn };
    },
    inspect: async (shape) => snapshot(await scripts.run('tokenBucketInspect', [bucket], shapeArgs(shape))),
    adjust: async (shape, tokens) => snapshot(await scripts.run('tokenBucketAdjust', [bucket], [...shapeArgs(shape), tokens])),
  };
}

/** The reply of token-bucket-inspect and token-bucket-adjust: {balance, ms to next refill, ms until full}. */
function snapshot(reply: unknown): TokenBucketSnapshot {
  const [tokens, nextRefillIn, fullIn] = numbers(reply);
  return { tokens, nextRefillIn, fullIn };
}
