import type { TakeReply, TokenBucketBackend, TokenBucketShape, TokenBucketSnapshot } from '../../core/limiter-store';
import { blockKey } from './keys';
import { numbers, type ScriptRunner } from './script-runner';

/**
 * A token bucket stored in one Redis key (lua/token-bucket-*.lua), and while a refusal
 * blocks it (option blockDuration) a second key beside it (lua/includes/block.lua).
 */
export function redisTokenBucket(scripts: ScriptRunner, bucket: string): TokenBucketBackend {
  const keys = [bucket];
  const takeKeys = [bucket, blockKey(bucket)];
  const shapeArgs = (s: TokenBucketShape) => [s.capacity, s.refillFrequency, s.refillAmount];
  return {
    // Runs on every admission: one argument array, and the reply read in place by the runner.
    take: (shape, tokens, maxWait) =>
      scripts.run(
        'tokenBucketTake',
        takeKeys,
        [
          shape.capacity,
          shape.refillFrequency,
          shape.refillAmount,
          tokens,
          maxWait === Infinity ? -1 : maxWait,
          shape.blockDuration ?? 0,
        ],
        takeReply,
      ),
    inspect: (shape) => scripts.run('tokenBucketInspect', keys, shapeArgs(shape), snapshot),
    adjust: (shape, tokens) => scripts.run('tokenBucketAdjust', keys, [...shapeArgs(shape), tokens], snapshot),
  };
}

/** The reply of token-bucket-take: {balance, wait, ms until full}, a refusal as a negative wait (see the script's header). */
function takeReply(reply: unknown): TakeReply {
  const parts = reply as Array<number | string>;
  // Number(): a client made with stringNumbers hands integers over as strings (see numbers()).
  const balance = Number(parts[0]);
  const wait = Number(parts[1]);
  const fullIn = Number(parts[2]);
  return wait < 0
    ? { reserved: false, tokens: balance, wait: -wait, fullIn }
    : { reserved: true, tokens: balance, wait, fullIn };
}

/** The reply of token-bucket-inspect and token-bucket-adjust: {balance, ms to next refill, ms until full}. */
function snapshot(reply: unknown): TokenBucketSnapshot {
  const [tokens, nextRefillIn, fullIn] = numbers(reply);
  return { tokens, nextRefillIn, fullIn };
}
