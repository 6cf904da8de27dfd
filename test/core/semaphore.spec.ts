/**
 * A semaphore's admission on every store: never more holders than capacity, first come
 * first served, and every way a call ends (maxSleep, tryAcquire, run(), await using, an
 * abort) leaving nothing queued or held. Leases: semaphore-leases.spec.ts; Redis itself:
 * semaphore-redis.spec.ts; other processes: semaphore-processes.spec.ts and semaphore-crashes.spec.ts.
 */
import { MaxSleepExceededError } from '../../lib';
import { queued, semaphoresOn } from '../harness/semaphores';
import { storeTargets } from '../harness/store-targets';
import { now, sleep } from '../harness/timing';

describe.each(storeTargets)('SemaphoreLimiter on $name store', (target) => {
  const semaphore = semaphoresOn(target.store());

  it('never admits more than capacity among concurrent callers', async () => {
    const s = semaphore({ capacity: 3 });
    let running = 0;
    let peak = 0;
    let jobs = 0;
    const caller = async () => {
      for (let job = 0; job < 4; job++) {
        await s.run(async () => {
          jobs++;
          peak = Math.max(peak, ++running);
          await sleep(15);
          running--;
        });
      }
    };
    await Promise.all(Array.from({ length: 10 }, caller));
    expect(jobs).toBe(10 * 4);
    expect(peak).toBeLessThanOrEqual(3);
    // The limit was actually reached, so the bound above was tested under contention.
    expect(peak).toBe(3);
  });

  it('serves waiters first come, first served', async () => {
    const s = semaphore();
    const held = await s.acquire();
    const order: number[] = [];
    const waiters = [];
    for (let i = 0; i < 4; i++) {
      waiters.push(s.run(() => void order.push(i)));
      await queued(s, i + 1);
    }
    await held.release();
    await Promise.all(waiters);
    expect(order).toEqual([0, 1, 2, 3]);
  });

  it('rejects a waiter after maxSleep with MaxSleepExceededError and leaves nothing queued or held', async () => {
    const s = semaphore();
    const held = await s.acquire();
    const startedAt = now();
    await expect(s.acquire({ maxSleep: 300 })).rejects.toBeInstanceOf(MaxSleepExceededError);
    const waited = now() - startedAt;
    expect(waited).toBeGreaterThanOrEqual(290);
    expect(waited).toBeLessThan(1_500);
    expect((await s.state()).waiters).toEqual([]);
    await held.release();
    expect((await s.state()).holders).toEqual([]);
  });

  it('never leaks a permit granted at the moment a waiter times out', async () => {
    const s = semaphore({ capacity: 2 });
    for (let round = 0; round < 15; round++) {
      const held = [await s.acquire(), await s.acquire()];
      const maxSleep = 60 + (round % 5) * 5;
      const waiter = s.acquire({ maxSleep }).then(
        (permit) => permit,
        (error: unknown) => {
          if (!(error instanceof MaxSleepExceededError)) throw error;
          return null;
        },
      );
      await sleep(maxSleep - 5 + (round % 3) * 5);
      await held[0].release();
      const granted = await waiter;
      await held[1].release();
      // The permit was either taken by the waiter or handed on: never neither.
      const state = await s.state();
      expect(state.holders.map((h) => h.id)).toEqual(granted ? [granted.id] : []);
      await granted?.release();
    }
    const all = [await s.tryAcquire(), await s.tryAcquire()];
    expect(all.every(Boolean)).toBe(true);
    await Promise.all(all.map((p) => p!.release()));
  });

  it('tryAcquire takes a free slot and returns null, without queueing, when full', async () => {
    const s = semaphore({ capacity: 2 });
    const a = await s.tryAcquire();
    const b = await s.tryAcquire();
    expect(a && b).toBeTruthy();
    expect(await s.tryAcquire()).toBeNull();
    expect((await s.state()).waiters).toEqual([]);
    await expect(s.acquire({ maxSleep: 0 })).rejects.toBeInstanceOf(MaxSleepExceededError);
    await a!.release();
    expect(await s.tryAcquire()).not.toBeNull();
  });

  it('run() releases the slot when the work throws, and await using releases on scope exit', async () => {
    const s = semaphore();
    await expect(
      s.run(async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect((await s.state()).holders).toEqual([]);
    {
      await using permit = await s.acquire();
      expect((await s.state()).holders.map((h) => h.id)).toEqual([permit.id]);
    }
    expect((await s.state()).holders).toEqual([]);
  });

  it('gives up waiting when the caller aborts, leaving nothing behind', async () => {
    const s = semaphore();
    const held = await s.acquire();
    const controller = new AbortController();
    const waiting = s.acquire({ signal: controller.signal });
    await queued(s, 1);
    controller.abort(new Error('caller went away'));
    await expect(waiting).rejects.toThrow('caller went away');
    expect((await s.state()).waiters).toEqual([]);
    await held.release();
    expect((await s.state()).holders).toEqual([]);
  });
});
