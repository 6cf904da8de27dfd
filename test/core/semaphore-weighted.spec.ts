/**
 * Issue 13, item 1: a permit worth several of a semaphore's capacity. The total held never
 * passes the capacity (measured from the callers' own intervals, weighted), waiters are
 * served strictly in arrival order, and a release wakes every waiter that now fits, in the
 * same call: a waiter for several permits is never left asleep (Redisson#6664).
 */
import { InvalidOptionError, SemaphoreLimiter, type Permit, type SemaphoreOptions } from '../../lib';
import type { StoreOrClient } from '../../lib/store/resolve-store';
import { limiterKey } from '../../lib/store/redis/keys';
import { holdJobs, peakPermits, type HeldJob } from '../harness/admissions';
import { startWorker } from '../harness/processes';
import { targets, uniqueName, useClients } from '../harness/redis-targets';
import { storeTargets } from '../harness/store-targets';
import { now, sleep, waitUntil } from '../harness/timing';

// Starting a worker (node --import tsx) can take over 10 s on a loaded 2-core machine.
const WORKER_START_MS = 30_000;

const semaphoresOn =
  (store: StoreOrClient) =>
  (options: Partial<SemaphoreOptions> = {}) =>
    new SemaphoreLimiter(store, { name: uniqueName('weighted'), capacity: 4, maxSleep: 30_000, ...options });

const queued = (s: SemaphoreLimiter, count: number, timeoutMs?: number) =>
  waitUntil(`${count} waiters are queued`, async () => (await s.state()).waiters.length === count, timeoutMs);

/** Permits held now, as the store lists them. */
const heldPermits = async (s: SemaphoreLimiter) => (await s.state()).holders.reduce((sum, h) => sum + h.permits, 0);

/** A wait whose permit is recorded the moment it resolves. */
function waitFor(s: SemaphoreLimiter, permits: number): { permit?: Permit; done: Promise<Permit> } {
  const wait: { permit?: Permit; done: Promise<Permit> } = { done: undefined as unknown as Promise<Permit> };
  wait.done = s.acquire({ permits }).then((p) => (wait.permit = p));
  return wait;
}

describe.each(storeTargets)('weighted permits on $name store', (target) => {
  const semaphore = semaphoresOn(target.store());

  it.each([0, -1, 1.5, '2', 5])(
    'refuses permits %p with an InvalidOptionError naming "permits", before asking the store',
    async (permits) => {
      const s = semaphore({ capacity: 4 });
      const bad = { permits } as unknown as { permits: number };
      for (const call of [() => s.acquire(bad), () => s.tryAcquire(bad), () => s.run(() => undefined, bad)]) {
        const error = await call().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(InvalidOptionError);
        expect(error).toMatchObject({ option: 'permits', limiter: s.name });
      }
      expect(await s.state()).toEqual({ holders: [], waiters: [] });
    },
  );

  it('holds the permits asked for, and tryAcquire refuses what does not fit', async () => {
    const s = semaphore({ capacity: 4 });
    const three = (await s.tryAcquire({ permits: 3 }))!;
    expect(three.permits).toBe(3);
    expect(await heldPermits(s)).toBe(3);
    expect(await s.tryAcquire({ permits: 2 })).toBeNull();
    const one = (await s.tryAcquire({ permits: 1 }))!;
    expect(one).not.toBeNull();
    expect(await s.tryAcquire()).toBeNull();
    await three.release();
    expect(await heldPermits(s)).toBe(1);
    expect(await s.run(async () => heldPermits(s), { permits: 3 })).toBe(4);
    await one.release();
    expect(await heldPermits(s)).toBe(0);
  });

  it('serves the head waiter first, even when a smaller one behind it would fit', async () => {
    const s = semaphore({ capacity: 4 });
    const two = await s.acquire({ permits: 2 });
    const big = waitFor(s, 3);
    await queued(s, 1);
    const small = waitFor(s, 1);
    await queued(s, 2);
    // 2 held + 1 would fit, but the 3 ahead of it came first.
    await sleep(300);
    expect([big.permit, small.permit]).toEqual([undefined, undefined]);
    await two.release();
    // The one release hands 3 to the head, then 1 to the next: 4 of 4.
    const [bigPermit, smallPermit] = await Promise.all([big.done, small.done]);
    expect(await heldPermits(s)).toBe(4);
    await Promise.all([bigPermit.release(), smallPermit.release()]);
  });

  it('a release wakes, in the same call, every waiter that now fits, in order', async () => {
    const s = semaphore({ capacity: 3 });
    const all = await s.acquire({ permits: 3 });
    const waits = [];
    // One at a time, so that the queue's order is the order here.
    for (const permits of [1, 1, 1, 2]) {
      waits.push(waitFor(s, permits));
      await queued(s, waits.length);
    }
    await all.release();
    // Read right after the release: the three 1-permit waiters hold already, granted by it.
    const state = await s.state();
    expect(state.holders.reduce((sum, h) => sum + h.permits, 0)).toBe(3);
    expect(state.waiters).toHaveLength(1);
    const ones = await Promise.all(waits.slice(0, 3).map((w) => w.done));
    await ones[0].release();
    // 2 held: the 2-permit waiter does not fit yet.
    await sleep(200);
    expect(waits[3].permit).toBeUndefined();
    await ones[1].release();
    const two = await waits[3].done;
    expect(two.permits).toBe(2);
    await Promise.all([ones[2].release(), two.release()]);
  });

  // Redisson#6664: a waiter for several permits was never woken by releases of one each.
  it('wakes a waiter for several permits when single releases free enough, without its timer', async () => {
    // Long lease and maxSleep: the waiter's safety-net timer cannot fire within the test.
    const s = semaphore({ capacity: 3, expiry: 60_000 });
    const singles = [await s.acquire(), await s.acquire(), await s.acquire()];
    const big = waitFor(s, 3);
    await queued(s, 1);
    await singles[0].release();
    await singles[1].release();
    await sleep(100);
    expect(big.permit).toBeUndefined();
    const releasedAt = now();
    await singles[2].release();
    const permit = await big.done;
    expect(now() - releasedAt).toBeLessThan(1_000);
    expect(permit.permits).toBe(3);
    await permit.release();
  });

  it('never holds more than capacity, weighted, among concurrent callers of mixed weights', async () => {
    const s = semaphore({ capacity: 5 });
    const jobs = await holdJobs(s, { callers: 6, jobs: 4, holdMs: 10, permits: [1, 2, 3] });
    expect(jobs).toHaveLength(24);
    const peak = peakPermits(jobs);
    expect(peak).toBeLessThanOrEqual(5);
    // The limit was reached (two 2s and a 1, a 3 and a 2...): the bound was tested under contention.
    expect(peak).toBeGreaterThanOrEqual(4);
  });
});

describe.each(targets)('weighted permits across processes on $name Redis', (target) => {
  const { client } = useClients(target);
  const redis = client();
  const semaphore = semaphoresOn(redis);

  it(
    'never holds more than capacity, weighted, when worker processes take mixed weights',
    async () => {
      const name = uniqueName('weighted');
      const barrier = { key: uniqueName('barrier'), parties: 3 };
      const results = await Promise.all(
        [
          [1, 2],
          [3, 1],
          [2, 2, 1],
        ].map(
          (permits) =>
            startWorker(
              'test/harness/workers/semaphore-intervals.worker.ts',
              {
                target: target.name,
                name,
                capacity: 5,
                callers: 3,
                jobs: 4,
                holdMs: 20,
                permits,
                barrier,
              },
              { timeoutMs: 3 * WORKER_START_MS },
            ).result,
        ),
      );
      const jobs: HeldJob[] = results.flatMap((r) => r.held);
      expect(jobs).toHaveLength(3 * 3 * 4);
      const peak = peakPermits(jobs);
      expect(peak).toBeLessThanOrEqual(5);
      expect(peak).toBeGreaterThanOrEqual(4);
    },
    3 * WORKER_START_MS,
  );

  it(
    "gives a crashed holder's permits back when its lease runs out",
    async () => {
      const s = semaphore({ capacity: 3, expiry: 1_000 });
      const holder = startWorker('test/harness/workers/semaphore-hold.worker.ts', {
        target: target.name,
        name: s.name,
        capacity: 3,
        expiry: 1_000,
        permits: 3,
      });
      await waitUntil('the worker holds 3 permits', async () => (await heldPermits(s)) === 3, WORKER_START_MS);
      holder.child.kill('SIGKILL');
      const killedAt = now();
      // Every permit comes back: a caller asking for all 3 gets them, within the lease and a margin.
      const permit = await s.acquire({ permits: 3, maxSleep: 10_000 });
      expect(now() - killedAt).toBeLessThan(1_000 + 1_000);
      expect(await heldPermits(s)).toBe(3);
      await permit.release();
      expect(await heldPermits(s)).toBe(0);
    },
    WORKER_START_MS + 15_000,
  );

  it('keeps a TTL on the weights key, and leaves it with the leases', async () => {
    const s = semaphore({ capacity: 4, expiry: 300 });
    const weights = `${limiterKey('limiters', 'semaphore', s.name)}:weights`;
    const permit = await s.acquire({ permits: 3 });
    expect(await redis.pttl(weights)).toBeGreaterThan(0);
    expect(await redis.hget(weights, permit.id)).toBe('3');
    // Stop renewing without releasing: the lease and the weight must both run out.
    permit.removeAllListeners();
    (permit as unknown as { stopTimers(): void }).stopTimers();
    await waitUntil('the weights key expired', async () => (await redis.exists(weights)) === 0, 300 + 1_000 + 2_000);
    expect(await heldPermits(s)).toBe(0);
  });
});
