/** Takes `takes` tokens one after another and reports when each was admitted. */
import { TokenBucketLimiter } from '../../lib';
import { connectFromEnv, runWorker } from '../harness/processes';
import type { TargetName } from '../harness/redis-targets';
import { startTogether } from '../harness/barrier';
import { now } from '../harness/timing';

interface Args {
  target: TargetName;
  name: string;
  capacity: number;
  refillFrequency: number;
  refillAmount: number;
  callers: number;
  takes: number;
  /** Shifts this process's clock, to show the bucket never reads it. */
  clockSkewMs?: number;
  /** Start together with the other workers: a late-starting process would leave the bucket unsaturated. */
  barrier: { key: string; parties: number };
}

runWorker<Args>(async (args) => {
  if (args.clockSkewMs) {
    const realNow = Date.now;
    Date.now = () => realNow() + args.clockSkewMs!;
  }
  const redis = connectFromEnv(args.target);
  const bucket = new TokenBucketLimiter(redis, { ...args, maxSleep: Infinity });
  await startTogether(redis, args.barrier);
  const admittedAt: number[] = [];
  const caller = async () => {
    for (let i = 0; i < args.takes; i++) {
      await bucket.take();
      admittedAt.push(now());
    }
  };
  await Promise.all(Array.from({ length: args.callers }, caller));
  await redis.quit();
  return { admittedAt };
});
