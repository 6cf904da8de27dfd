/** Takes a slot and never lets go: the test kills this process to play a crashed holder. */
import { SemaphoreLimiter, type SemaphoreOptions } from '../core-limiters';
import { connectFromEnv, runWorker, limiterOptions } from '../processes';
import type { TargetName } from '../redis-targets';

runWorker<{ target: TargetName; name: string; capacity: number; expiry: number; permits?: number }>(async (args) => {
  const semaphore = new SemaphoreLimiter(
    connectFromEnv(args.target),
    limiterOptions('semaphore', args) as SemaphoreOptions,
  );
  await semaphore.acquire({ permits: args.permits });
  await new Promise(() => undefined);
});
