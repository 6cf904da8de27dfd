import type { TokenBucketBackend, TokenBucketShape, TokenBucketSnapshot } from '../../core/limiter-store';
import { numbers, type ScriptRunner } from './script-runner';

/** A token bucket stored in one Redis key (lua/token-bucket-*.lua). */
export function redisTokenBucket(scripts: ScriptRunner, bucket: string): TokenBucketBackend {
  const keys = [bucket];
  const shapeArgs = (s: TokenBucketShape) => [s.capacity, s.refillFrequency, s.refillAmount];
  return {
    // Runs on every admission: one argument array, and the reply read in place.
    take: async (shape, tokens, maxWait) => {
      const args = [shape.capacity, shape.refillFrequency, shape.refillAmount, tokens, maxWait === Infinity ? -1 : maxWait];
      const reply = (await scripts.run('tokenBucketTake', keys, args)) as Array<number | string>;
      // Number(): a client made with stringNumbers hands integers over as strings (see numbers()).
      const balance = Number(reply[0]);
      const wait = Number(reply[1]);
      const fullIn = Number(reply[2]);
      // A refusal comes back as a negative wait (see the script's header).
      return wait < 0 ? { reserved: false, tokens: balance, wait: -wait, fullIn } : { reserved: true, tokens: balance, wait, fullIn };
    },
    inspect: async (shape) => snapshot(await scripts.run('tokenBucketInspect', keys, shapeArgs(shape))),
    adjust: async (shape, tokens) => snapshot(await scripts.run('tokenBucketAdjust', keys, [...shapeArgs(shape), tokens])),
  };
}

/** The reply of token-bucket-inspect and token-bucket-adjust: {balance, ms to next refill, ms until full}. */
function snapshot(reply: unknown): TokenBucketSnapshot {
  const [tokens, nextRefillIn, fullIn] = numbers(reply);
  return { tokens, nextRefillIn, fullIn };
}
