/** Takes a slot and never lets go: the test kills this process to play a crashed holder. */
import { SemaphoreLimiter } from '../../lib';
import { connectFromEnv, runWorker } from '../harness/processes';
import type { TargetName } from '../harness/redis-targets';

runWorker<{ target: TargetName; name: string; capacity: number; expiry: number }>(async (args) => {
  const semaphore = new SemaphoreLimiter(connectFromEnv(args.target), args);
  await semaphore.acquire();
  await new Promise(() => undefined);
});
