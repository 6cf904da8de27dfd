/** Takes `takes` tokens one after another and reports when each was admitted. */
import { TokenBucketLimiter, type TokenBucketOptions } from '../core-limiters';
import { connectFromEnv, runWorker, limiterOptions } from '../processes';
import type { TargetName } from '../redis-targets';
import { takeTokens } from '../admissions';
import { startTogether } from '../barrier';
import { now, sleep } from '../timing';

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
  /** After the barrier, takes this many at once, then sets `thenSet`: the deploy that used the bucket first. */
  first?: { tokens: number; thenSet: string };
  /** After the barrier, waits until this key is set: the deploy that comes second. */
  waitFor?: string;
}

runWorker<Args>(async (args) => {
  if (args.clockSkewMs) {
    const realNow = Date.now;
    Date.now = () => realNow() + args.clockSkewMs!;
  }
  const redis = connectFromEnv(args.target);
  const bucket = new TokenBucketLimiter(redis, {
    ...limiterOptions('token-bucket', args),
    maxSleep: Infinity,
  } as TokenBucketOptions);
  await startTogether(redis, args.barrier);
  let firstAt: number | undefined;
  if (args.first) {
    await bucket.take(args.first.tokens);
    firstAt = now();
    await redis.set(args.first.thenSet, '1', 'PX', 60_000);
  }
  if (args.waitFor) while (!(await redis.exists(args.waitFor))) await sleep(1);
  const admittedAt = await takeTokens(bucket, args);
  await redis.quit();
  return { admittedAt, firstAt };
});
