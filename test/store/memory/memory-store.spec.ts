/** What only the in-memory store has to show: it keeps nothing it no longer needs. */
import {
  FixedWindowLimiter,
  MemoryStore,
  SemaphoreLimiter,
  SlidingWindowLimiter,
  TokenBucketLimiter,
} from '../../../lib';
import { startWorker } from '../../harness/processes';
import { uniqueName } from '../../harness/redis-targets';
import { now, sleep } from '../../harness/timing';

// The store looks for state nobody reads again once a second.
const SWEEP_MS = 1_000;

describe('MemoryStore', () => {
  it('drops a semaphore once its leases and waits have run out, though nobody calls it again', async () => {
    const store = new MemoryStore();
    const s = new SemaphoreLimiter(store, { name: uniqueName('sem'), capacity: 1 });
    // Straight through the store, so no Permit renews the lease and no waiter refreshes its place.
    await s.backend.acquire({ id: 'holder', capacity: 1, leaseMs: 200, waitMs: 0 });
    await s.backend.acquire({ id: 'waiter', capacity: 1, leaseMs: 200, waitMs: 300 });
    expect(store.size).toBe(1);
    await sleep(300 + SWEEP_MS + 200);
    expect(store.size).toBe(0);
  });

  it('drops a semaphore as soon as its last holder releases and nobody waits', async () => {
    const store = new MemoryStore();
    const s = new SemaphoreLimiter(store, { name: uniqueName('sem'), capacity: 1, expiry: 60_000 });
    const held = await s.acquire();
    await s.acquire({ maxSleep: 100 }).catch(() => undefined); // queues, then gives up
    expect(store.size).toBe(1);
    await held.release();
    expect(store.size).toBe(0);
  });

  it('drops a bucket once it is full again, though nobody calls it again', async () => {
    const store = new MemoryStore();
    const b = new TokenBucketLimiter(store, { name: uniqueName('bucket'), capacity: 2, refillFrequency: 100 });
    await b.take(2);
    expect(store.size).toBe(1);
    // Full after two refills, kept one more period (as in Redis), then swept.
    await sleep(2 * 100 + 100 + SWEEP_MS + 200);
    expect(store.size).toBe(0);
  });

  it('drops a window and its block once they are over, though nobody calls again', async () => {
    const store = new MemoryStore();
    const w = new FixedWindowLimiter(store, { name: uniqueName('window'), limit: 1, window: 200, blockDuration: 300 });
    await w.take();
    expect((await w.tryTake()).allowed).toBe(false); // blocked from here
    expect(store.size).toBe(2);
    await sleep(300 + SWEEP_MS + 200);
    expect(store.size).toBe(0);
  });

  it('drops a sliding window once nothing in it counts, though nobody calls again', async () => {
    const store = new MemoryStore();
    const w = new SlidingWindowLimiter(store, { name: uniqueName('sliding'), limit: 2, window: 200 });
    await w.take(2);
    expect(store.size).toBe(1);
    // Its admissions count for the window and one sub-window (20 ms) more.
    await sleep(220 + SWEEP_MS + 200);
    expect(store.size).toBe(0);
  });

  it('keeps a semaphore and a bucket of one name, and limiters of other key prefixes, apart', async () => {
    const store = new MemoryStore();
    const name = uniqueName('shared');
    const semaphore = (keyPrefix: string, n = name) => new SemaphoreLimiter(store, { name: n, keyPrefix, capacity: 1 });
    const bucket = new TokenBucketLimiter(store, { name, capacity: 1, refillFrequency: 60_000 });
    expect(await semaphore('limiters').tryAcquire()).not.toBeNull();
    expect((await bucket.tryTake()).allowed).toBe(true);
    expect(await semaphore('other').tryAcquire()).not.toBeNull();
    // Prefix and name never merge into one string: ("a:semaphore:b", name) is not ("a", "b:semaphore:" + name).
    expect(await semaphore('a:semaphore:b').tryAcquire()).not.toBeNull();
    expect(await semaphore('a', `b:semaphore:${name}`).tryAcquire()).not.toBeNull();
    // One name under one prefix is still one limiter.
    expect(await semaphore('limiters').tryAcquire()).toBeNull();
  });

  it('tells a granted waiter after the release call, as a pub/sub message would', async () => {
    const store = new MemoryStore();
    const s = new SemaphoreLimiter(store, { name: uniqueName('sem'), capacity: 1 });
    const heard: string[] = [];
    await s.backend.listen('waiter', () => heard.push('granted')).ready;
    await s.backend.acquire({ id: 'holder', capacity: 1, leaseMs: 60_000, waitMs: 0 });
    await s.backend.acquire({ id: 'waiter', capacity: 1, leaseMs: 60_000, waitMs: 60_000 });
    const released = s.backend.release('holder', 1);
    expect(heard).toEqual([]);
    await released;
    await sleep(0);
    expect(heard).toEqual(['granted']);
    expect((await s.state()).holders.map((h) => h.id)).toEqual(['waiter']);
  });

  it('never keeps the process alive, even while it holds leases, waiters and reservations', async () => {
    const startedAt = now();
    // Starting a TypeScript worker can take many seconds on a busy machine; a process
    // kept alive by the store would live at least the minute its entries matter for.
    const { result } = startWorker('test/harness/workers/memory-store-exit.worker.ts', {}, { timeoutMs: 45_000 });
    await expect(result).resolves.toEqual({ size: 2 });
    expect(now() - startedAt).toBeLessThan(45_000);
  });
});
