/**
 * Saturates one rate limit (a fixed window, ...) from `callers` concurrent callers and
 * reports, on the clock the barrier aligned, when each call was sent and when it was
 * admitted: `take` sleeps for its turn (maxSleep Infinity), `tryTake` calls in a loop
 * for `durationMs`, keeping only the calls it was allowed.
 */
import type { RateLimiter } from '../../../lib/core/rate-limiter';
import type { LimiterStore } from '../../../lib/core/limiter-store';
import { FixedWindowLimiter } from '../core-limiters';
import { startTogether } from '../barrier';
import { connectFromEnv, runWorker } from '../processes';
import type { TargetName } from '../redis-targets';
import { now, sleep } from '../timing';

/** Each rate kind's limiter, by its kind's spelling. */
const LIMITERS: Record<string, (store: LimiterStore | object, options: never) => RateLimiter> = {
  'fixed-window': (store, options) => new FixedWindowLimiter(store, options),
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
  barrier: { key: string; parties: number };
}

export interface RateRun {
  /** When each admitted call was sent, and when it was let go (after its sleep, for take). */
  admitted: Array<{ sentAt: number; at: number }>;
  startedAt: number;
  endedAt: number;
}

runWorker<Args>(async (args): Promise<RateRun> => {
  const redis = connectFromEnv(args.target);
  const limiter = LIMITERS[args.kind](redis, { maxSleep: Infinity, ...args.options } as never);
  await startTogether(redis, args.barrier);
  const admitted: RateRun['admitted'] = [];
  const startedAt = now();
  const caller = async () => {
    if (args.mode === 'take') {
      for (let i = 0; i < args.takes!; i++) {
        const sentAt = now();
        await limiter.take();
        admitted.push({ sentAt, at: now() });
      }
      return;
    }
    while (now() - startedAt < args.durationMs!) {
      const sentAt = now();
      if ((await limiter.tryTake()).allowed) admitted.push({ sentAt, at: now() });
      await sleep(args.pauseMs!);
    }
  };
  await Promise.all(Array.from({ length: args.callers }, caller));
  const endedAt = now();
  await redis.quit();
  return { admitted, startedAt, endedAt };
});
