/**
 * Runs `jobs` jobs on each of `waiters` concurrent callers through one semaphore.
 * Peak concurrency is counted independently of the library: a plain INCR/DECR counter.
 */
import { SemaphoreLimiter, type SemaphoreOptions } from '../core-limiters';
import { connectFromEnv, runWorker, limiterOptions } from '../processes';
import type { TargetName } from '../redis-targets';
import { now, sleep } from '../timing';

interface Args {
  target: TargetName;
  name: string;
  capacity: number;
  expiry?: number;
  /** JSON has no Infinity: the string stands for it. */
  maxSleep?: number | 'Infinity';
  waiters: number;
  jobs: number;
  holdMs: number;
  counterKey: string;
}

runWorker<Args>(async (args) => {
  const redis = connectFromEnv(args.target);
  const maxSleep = args.maxSleep === 'Infinity' ? Infinity : args.maxSleep;
  const semaphore = new SemaphoreLimiter(redis, { ...limiterOptions('semaphore', args), maxSleep } as SemaphoreOptions);
  let peak = 0;
  const acquiredAt: number[] = [];
  const caller = async () => {
    for (let job = 0; job < args.jobs; job++) {
      await semaphore.run(async () => {
        acquiredAt.push(now());
        peak = Math.max(peak, await redis.incr(args.counterKey));
        await sleep(args.holdMs);
        await redis.decr(args.counterKey);
      });
    }
  };
  await Promise.all(Array.from({ length: args.waiters }, caller));
  await redis.quit();
  return { peak, acquiredAt };
});
