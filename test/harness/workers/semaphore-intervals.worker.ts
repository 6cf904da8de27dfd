/** One deploy's callers on a semaphore: reports each job's interval (test/harness/admissions.ts). */
import { SemaphoreLimiter } from '../core-limiters';
import { holdJobs } from '../admissions';
import { startTogether } from '../barrier';
import { connectFromEnv, runWorker } from '../processes';
import type { TargetName } from '../redis-targets';

interface Args {
  target: TargetName;
  name: string;
  capacity: number;
  callers: number;
  jobs: number;
  holdMs: number;
  /** The permits jobs ask for, in turn (see holdJobs); 1 each when absent. */
  permits?: number[];
  expiry?: number;
  /** Start together with the other deploy: a late process would find nobody to compete with. */
  barrier: { key: string; parties: number };
  /** The key of a Gauge (test/harness/admissions.ts) both deploys count their permits on. */
  gauge?: string;
}

runWorker<Args>(async (args) => {
  const redis = connectFromEnv(args.target);
  const semaphore = new SemaphoreLimiter(redis, {
    name: args.name,
    capacity: args.capacity,
    expiry: args.expiry,
    maxSleep: 60_000,
  });
  await startTogether(redis, args.barrier);
  const held = await holdJobs(semaphore, args, args.gauge ? { redis, key: args.gauge } : undefined);
  await redis.quit();
  return { held };
});
