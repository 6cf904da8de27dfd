/**
 * Saturates one rate limit (a fixed or sliding window) from `callers` concurrent callers and
 * reports, on the clock the barrier aligned, when each call was sent and when it was
 * admitted: `take` sleeps for its turn (maxSleep Infinity), `tryTake` calls in a loop
 * for `durationMs`, keeping only the calls it was allowed.
 */
import type { RateLimiter } from '../../../lib/core/rate-limiter';
import type { LimiterStore } from '../../../lib/core/limiter-store';
import { FixedWindowLimiter, SlidingWindowLimiter } from '../core-limiters';
import { startTogether } from '../barrier';
import { connectFromEnv, runWorker } from '../processes';
import type { TargetName } from '../redis-targets';
import { now, sleep } from '../timing';

/** Each rate kind's limiter, by its kind's spelling. */
const LIMITERS: Record<string, (store: LimiterStore | object, options: never) => RateLimiter> = {
  'fixed-window': (store, options) => new FixedWindowLimiter(store, options),
  'sliding-window': (store, options) => new SlidingWindowLimiter(store, options),
};

interface Args {
  target: TargetName;
  kind: string;
  options: object;
  callers: number;
  mode: 'take' | 'tryTake';
  /** take: calls per caller. */
  takes?: number;
  /** tryTake: how long to call, and the pause between calls so the processes share the cores. */
  durationMs?: number;
  pauseMs?: number;
  /** tryTake: the tokens calls take, in turn (1 each when absent). */
  weights?: number[];
  barrier: { key: string; parties: number };
}

export interface RateRun {
  /** When each admitted call was sent, when it was let go (after its sleep, for take), and its tokens. */
  admitted: Array<{ sentAt: number; at: number; tokens: number }>;
  startedAt: number;
  endedAt: number;
}

runWorker<Args>(async (args): Promise<RateRun> => {
  const redis = connectFromEnv(args.target);
  const limiter = LIMITERS[args.kind](redis, { maxSleep: Infinity, ...args.options } as never);
  await startTogether(redis, args.barrier);
  const admitted: RateRun['admitted'] = [];
  const startedAt = now();
  const weights = args.weights ?? [1];
  const caller = async (c: number) => {
    if (args.mode === 'take') {
      for (let i = 0; i < args.takes!; i++) {
        const sentAt = now();
        await limiter.take();
        admitted.push({ sentAt, at: now(), tokens: 1 });
      }
      return;
    }
    for (let i = c; now() - startedAt < args.durationMs!; i++) {
      const sentAt = now();
      const tokens = weights[i % weights.length];
      if ((await limiter.tryTake(tokens)).allowed) admitted.push({ sentAt, at: now(), tokens });
      await sleep(args.pauseMs!);
    }
  };
  await Promise.all(Array.from({ length: args.callers }, (_, c) => caller(c)));
  const endedAt = now();
  await redis.quit();
  return { admitted, startedAt, endedAt };
});
