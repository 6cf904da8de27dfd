/**
 * Waits for a slot, then blocks its own event loop (a long GC pause, a CPU-bound task)
 * while its grant arrives. Reports when acquire() resolved and whether Redis listed the
 * permit then.
 */
import { SemaphoreLimiter, type SemaphoreOptions } from '../core-limiters';
import { connectFromEnv, runWorker, limiterOptions } from '../processes';
import type { TargetName } from '../redis-targets';
import { now, waitUntil } from '../timing';

runWorker<{ target: TargetName; name: string; capacity: number; expiry: number; maxSleep: number; stallMs: number }>(
  async (args) => {
    const client = connectFromEnv(args.target);
    const semaphore = new SemaphoreLimiter(client, limiterOptions('semaphore', args) as SemaphoreOptions);
    const acquiring = semaphore.acquire();
    await waitUntil('queued', async () => (await semaphore.state()).waiters.length === 1);
    process.stdout.write('stalling\n');
    const until = performance.now() + args.stallMs;
    while (performance.now() < until) {
      // busy: nothing else runs in this process
    }
    const permit = await acquiring;
    const resolvedAt = now();
    const listed = (await semaphore.state()).holders.some((h) => h.id === permit.id);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const releasedAt = now();
    await permit.release();
    await client.quit();
    return { resolvedAt, releasedAt, listed };
  },
);
