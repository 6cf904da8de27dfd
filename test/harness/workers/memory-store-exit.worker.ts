/**
 * Leaves a lease, a waiter and a bucket reservation, each good for a minute, in a
 * MemoryStore and returns without closing anything: the process must still exit on its
 * own. No runWorker here, since it calls process.exit and would hide a timer kept alive.
 */
import { MemoryStore, SemaphoreLimiter, TokenBucketLimiter } from '../../../lib';

async function main(): Promise<void> {
  const store = new MemoryStore();
  const semaphore = new SemaphoreLimiter(store, { name: 'held', capacity: 1 });
  // Straight through the store: a Permit or a waiting acquire would bring timers of their own.
  await semaphore.backend.acquire({ id: 'holder', capacity: 1, leaseMs: 60_000, waitMs: 0 });
  await semaphore.backend.acquire({ id: 'waiter', capacity: 1, leaseMs: 60_000, waitMs: 60_000 });
  const bucket = new TokenBucketLimiter(store, { name: 'drained', capacity: 1, refillFrequency: 60_000 });
  await bucket.tryTake();
  process.stdout.write(`${JSON.stringify({ size: store.size })}\n`);
}

void main();
