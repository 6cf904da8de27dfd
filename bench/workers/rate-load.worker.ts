/**
 * Scenario 4: `callers` concurrent loops in this process taking one token at a time from
 * one shared rate limit, from the common start time for `durationMs`. Records when each
 * admitted caller went on (machine-wide monotonic clock), and when the limiter planned
 * it to, if it says.
 */
import { Redis } from 'ioredis';
import { runWorker } from '../../test/harness/processes';
import { hrnow } from '../support/clock';
import { rateLimit, type BucketContenderName } from '../support/contenders';
import { waitForStart } from '../support/gate';

interface Args {
  url: string;
  contender: BucketContenderName;
  key: string;
  capacity: number;
  periodMs: number;
  callers: number;
  durationMs: number;
  gate: string;
}

runWorker<Args>(async (args) => {
  const redis = new Redis(args.url);
  const limit = rateLimit(args.contender, redis, args.url, args);
  const start = await waitForStart(redis, args.gate);
  const end = start + args.durationMs;
  const admitted: number[] = [];
  const planned: number[] = [];
  const caller = async () => {
    while (hrnow() < end) {
      const plannedAt = await limit.take();
      admitted.push(hrnow());
      if (plannedAt !== undefined) planned.push(plannedAt);
    }
  };
  await Promise.all(Array.from({ length: args.callers }, caller));
  await limit.close();
  redis.disconnect();
  return { admitted, planned };
});
