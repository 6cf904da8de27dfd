/**
 * What the semaphore specs (test/core/semaphore*.spec.ts) share: limiters with names of
 * their own, waiting for the queue to fill, and timing how long a dead holder or waiter
 * keeps the next caller out.
 */
import { SemaphoreLimiter, type Permit, type SemaphoreOptions } from '../../lib';
import type { StoreOrClient } from '../../lib/store/resolve-store';
import { uniqueName } from './redis-targets';
import { now, waitUntil } from './timing';

/** Builds semaphores on `store`, each with a name no other test uses. */
export const semaphoresOn =
  (store: StoreOrClient) =>
  (options: Partial<SemaphoreOptions> = {}) =>
    new SemaphoreLimiter(store, { name: uniqueName('sem'), capacity: 1, ...options });

export const queued = (s: SemaphoreLimiter, count: number, timeoutMs?: number) =>
  waitUntil(`${count} waiters are queued`, async () => (await s.state()).waiters.length === count, timeoutMs);

// Starting a worker (node with tsx) took over 10 s on a loaded 2-core CI machine: the
// time until it queues is not what these tests measure.
export const WORKER_START_MS = 30_000;

/** Ms from `since` until a new caller holds a slot, while other callers keep finding the semaphore full. */
export async function waitUnderTraffic(s: SemaphoreLimiter, since: number): Promise<number> {
  // Traffic that finds the semaphore full must not keep the dead lease alive.
  const traffic = setInterval(() => void s.tryAcquire().then((p) => p?.release()), 50);
  try {
    const permit = await s.acquire({ maxSleep: 10_000 });
    const waited = now() - since;
    await permit.release();
    return waited;
  } finally {
    clearInterval(traffic);
  }
}

/** Queues a caller behind one dead waiter, releases `held`, and returns the ms until that caller holds the slot. */
export async function waitBehindDeadWaiter(s: SemaphoreLimiter, held: Permit): Promise<number> {
  const mine = s.acquire({ maxSleep: 10_000 });
  await queued(s, 2);
  await held.release();
  const startedAt = now();
  const permit = await mine;
  const waited = now() - startedAt;
  await permit.release();
  return waited;
}
