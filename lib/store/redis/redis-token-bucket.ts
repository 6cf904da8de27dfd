import type { TokenBucketBackend, TokenBucketShape } from '../../core/limiter-store';
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
    inspect: async (shape) => {
      const [tokens, nextRefillIn, fullIn] = numbers(await scripts.run('tokenBucketInspect', [bucket], shapeArgs(shape)));
      return { tokens, nextRefillIn, fullIn };
    },
  };
}
