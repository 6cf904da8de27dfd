/**
 * Calls tryTake() on one bucket in a loop for `durationMs`, as a caller hammering one key
 * does, and reports when each call was admitted and how its refusals were answered.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { CHANNEL_NAMES, TokenBucketLimiter, type RefuseEvent, type TokenBucketOptions } from '../core-limiters';
import type { TokenBucketShape } from '../../../lib/core/limiter-store';
import { connectFromEnv, limiterOptions, runWorker } from '../processes';
import type { TargetName } from '../redis-targets';
import { startTogether } from '../barrier';
import { now, sleep } from '../timing';

interface Args extends TokenBucketShape {
  target: TargetName;
  name: string;
  refusalCache: boolean;
  durationMs: number;
  /** Ms between calls, so that the processes share the machine's cores. */
  pauseMs: number;
  barrier: { key: string; parties: number };
}

runWorker<Args>(async (args) => {
  const redis = connectFromEnv(args.target);
  const bucket = new TokenBucketLimiter(redis, limiterOptions('token-bucket', args) as TokenBucketOptions);
  let cached = 0;
  let fromStore = 0;
  const onRefuse = (message: unknown) => {
    if ((message as RefuseEvent).name !== args.name) return;
    if ((message as RefuseEvent).cached) cached++;
    else fromStore++;
  };
  diagnosticsChannel.subscribe(CHANNEL_NAMES.refuse, onRefuse);
  await startTogether(redis, args.barrier);
  const admittedAt: number[] = [];
  const startedAt = now();
  while (now() - startedAt < args.durationMs) {
    if ((await bucket.tryTake()).allowed) admittedAt.push(now());
    await sleep(args.pauseMs);
  }
  const endedAt = now();
  diagnosticsChannel.unsubscribe(CHANNEL_NAMES.refuse, onRefuse);
  await redis.quit();
  return { admittedAt, startedAt, endedAt, cached, fromStore };
});
