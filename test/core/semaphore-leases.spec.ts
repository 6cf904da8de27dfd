/**
 * Leases on every store: a lease nobody renews runs out and frees its slot (for traffic
 * and for queued waiters), a live one is renewed, a lost one aborts its permit's signal.
 */
import { LeaseLostError } from '../../lib';
import { uniqueName } from '../harness/redis-targets';
import { semaphoresOn, waitBehindDeadWaiter, waitUnderTraffic } from '../harness/semaphores';
import { storeTargets } from '../harness/store-targets';
import { lateness, now, sleep } from '../harness/timing';

describe.each(storeTargets)('SemaphoreLimiter on $name store', (target) => {
  const semaphore = semaphoresOn(target.store());

  it('frees an abandoned lease when it runs out, while other traffic goes on', async () => {
    const s = semaphore({ capacity: 2, expiry: 1_000 });
    // A live holder beside it, renewed all along: the holders' key never expires (its TTL is a
    // lease and a second past the last renewal), so only reaping the lease can free the slot.
    const live = await s.acquire();
    const sentAt = now();
    // Taken straight from the store and never renewed: a holder that stopped.
    const abandoned = await s.backend.acquire({ id: uniqueName('abandoned'), capacity: 2, leaseMs: 1_000, waitMs: 0 });
    expect(abandoned.status).toBe('held');
    // The waiter wakes on a timer at the lease's end: as late as a timer armed for then fires, plus round trips.
    const [waited, late] = await Promise.all([waitUnderTraffic(s, sentAt), lateness(sentAt + 1_000)]);
    expect(waited).toBeGreaterThan(1_000 - 5); // never before the lease ran out
    expect(waited).toBeLessThan(1_000 + late + 1_000);
    expect(await live.release()).toBe(true);
  });

  it('skips a waiter that stopped refreshing its place, so the queue moves on', async () => {
    const s = semaphore({ expiry: 500 });
    const held = await s.acquire();
    // Queued straight in the store and never refreshed: a waiter whose process died.
    const dead = await s.backend.acquire({ id: uniqueName('dead'), capacity: 1, leaseMs: 500, waitMs: 2 * 500 });
    expect(dead.status).toBe('queued');
    // The dead waiter's entry lasts at most two lease periods after its last refresh.
    expect(await waitBehindDeadWaiter(s, held)).toBeLessThan(2 * 500 + 1_000);
  });

  it('renews a live lease, so a job longer than expiry is never joined by another holder', async () => {
    // Renewed every 100 ms, a 300 ms lease is lost by design when this process stands still
    // (or its calls take) longer than the other 200 ms, as on a loaded machine: its signal
    // aborts and others may come in. Such a run says nothing about renewals and is run again.
    for (let run = 1; ; run++) {
      const s = semaphore({ expiry: 300 });
      const permit = await s.acquire();
      const startedAt = now();
      let intruders = 0;
      let longestGap = 0;
      for (let last = now(); now() - startedAt < 1_200;) {
        const other = await s.tryAcquire();
        if (other) {
          intruders++;
          await other.release();
        }
        await sleep(25);
        longestGap = Math.max(longestGap, now() - last);
        last = now();
      }
      if (longestGap >= 300 - 100 && run < 3) {
        await permit.release();
        continue;
      }
      expect(intruders).toBe(0);
      expect(permit.signal.aborted).toBe(false);
      expect(await permit.release()).toBe(true);
      return;
    }
  });

  it('aborts the permit signal and emits "lost" when a renewal finds the lease gone', async () => {
    const s = semaphore({ expiry: 300 });
    const permit = await s.acquire();
    const lost = new Promise((resolve) => permit.once('lost', resolve));
    // Freed behind the permit's back, as when its lease ran out and was reaped.
    await s.backend.release(permit.id, s.capacity);
    await expect(lost).resolves.toBeInstanceOf(LeaseLostError);
    expect(permit.signal.aborted).toBe(true);
    expect(permit.signal.reason).toBeInstanceOf(LeaseLostError);
    expect(await permit.release()).toBe(false);
  });

  // Expired leases are reaped only when they stand in a caller's way (a full semaphore or
  // a queue to serve); one that ran out must be gone all the same for its holder.
  it('treats a lease that ran out as lost even before anyone reaped it', async () => {
    const s = semaphore({ capacity: 3 });
    const id = uniqueName('stale');
    expect((await s.backend.acquire({ id, capacity: 3, leaseMs: 50, waitMs: 0 })).status).toBe('held');
    await sleep(150);
    // Traffic below capacity does not reap it.
    await (await s.tryAcquire())!.release();
    expect(await s.backend.cancel(id)).toBe('absent');
    expect(await s.backend.renew(id, 1_000)).toBe(false);
    expect((await s.state()).holders).toEqual([]);
  });

  it('hands slots held by expired leases to queued waiters, as many as ran out', async () => {
    const s = semaphore({ capacity: 2, expiry: 2_000 });
    // Two holders that stopped, taken straight from the store, then two waiters behind them.
    for (const name of ['a', 'b']) {
      const id = uniqueName(`stopped-${name}`);
      expect((await s.backend.acquire({ id, capacity: 2, leaseMs: 300, waitMs: 0 })).status).toBe('held');
    }
    const startedAt = now();
    const waiters = [s.acquire({ maxSleep: 5_000 }), s.acquire({ maxSleep: 5_000 })];
    const permits = await Promise.all(waiters);
    // Both get in once the leases run out (300 ms), not one lease period apiece.
    expect(now() - startedAt).toBeLessThan(300 + 1_000);
    expect((await s.state()).holders.map((h) => h.id).sort()).toEqual(permits.map((p) => p.id).sort());
    await Promise.all(permits.map((p) => p.release()));
  });
});
