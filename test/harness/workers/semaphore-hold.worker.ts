/** Takes a slot and never lets go: the test kills this process to play a crashed holder. */
import type { SemaphoreOptions } from '../../../lib';
import { SemaphoreLimiter } from '../../../lib';
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
