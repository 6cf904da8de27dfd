import { LeaseLostError, MaxSleepExceededError, SemaphoreLimiter, type SemaphoreOptions } from '../lib';
import { encodeName, limiterKey } from '../lib/store/redis/keys';
import { watchCommands } from './harness/monitor';
import { spawnWorker, startWorker } from './harness/processes';
import { targets, uniqueName, useClients } from './harness/redis-targets';
import { median, now, sleep, waitUntil } from './harness/timing';

describe.each(targets)('SemaphoreLimiter on $name Redis', (target) => {
  const { client } = useClients(target);
  const redis = client();
  const semaphore = (options: Partial<SemaphoreOptions> = {}) =>
    new SemaphoreLimiter(redis, { name: uniqueName('sem'), capacity: 1, ...options });
  const queued = (s: SemaphoreLimiter, count: number) =>
    waitUntil(`${count} waiters are queued`, async () => (await s.state()).waiters.length === count);

  it('never admits more than capacity across processes', async () => {
    const name = uniqueName('sem');
    const counterKey = uniqueName('peak');
    const workers = Array.from({ length: 4 }, () =>
      spawnWorker('test/workers/semaphore-jobs.worker.ts', {
        target: target.name, name, capacity: 3, waiters: 5, jobs: 4, holdMs: 15, counterKey,
      }),
    );
    const results = await Promise.all(workers);
    const peak = Math.max(...results.map((r) => r.peak));
    const jobs = results.reduce((sum, r) => sum + r.acquiredAt.length, 0);
    expect(jobs).toBe(4 * 5 * 4);
    expect(peak).toBeLessThanOrEqual(3);
    // The limit was actually reached, so the bound above was tested under contention.
    expect(peak).toBe(3);
  });

  it('hands a released slot to a waiter in another process in about one round trip, without polling', async () => {
    // A long lease: the holder's renewals (every expiry / 3) stay out of the watched second.
    const s = semaphore({ expiry: 30_000 });
    const monitor = await watchCommands(redis, encodeName(s.name));
    const latencies: number[] = [];
    try {
      for (let round = 0; round < 5; round++) {
        const held = await s.acquire();
        const waiter = spawnWorker('test/workers/semaphore-jobs.worker.ts', {
          target: target.name, name: s.name, capacity: 1, expiry: 30_000,
          waiters: 1, jobs: 1, holdMs: 0, counterKey: uniqueName('count'),
        });
        await queued(s, 1);
        await sleep(100); // lets MONITOR deliver our own state() polls before the count starts
        monitor.reset();
        await sleep(1_000);
        // While queued, the waiter sends nothing: it is woken by the release, not by a timer.
        expect(monitor.commands()).toEqual([]);
        const releasedAt = now();
        await held.release();
        const { acquiredAt } = await waiter;
        latencies.push(acquiredAt[0] - releasedAt);
      }
    } finally {
      await monitor.stop();
    }
    expect(median(latencies)).toBeLessThan(50);
  });

  it('does not block the client connection while waiting', async () => {
    const s = semaphore();
    const held = await s.acquire();
    const waiting = s.acquire({ maxSleep: 5_000 });
    await queued(s, 1);
    const startedAt = now();
    await redis.ping();
    expect(now() - startedAt).toBeLessThan(500);
    await held.release();
    await (await waiting).release();
  });

  it('serves waiters first come, first served across processes', async () => {
    const s = semaphore();
    const held = await s.acquire();
    const waiters = [];
    for (let i = 0; i < 4; i++) {
      waiters.push(
        spawnWorker('test/workers/semaphore-jobs.worker.ts', {
          target: target.name, name: s.name, capacity: 1, waiters: 1, jobs: 1, holdMs: 20, counterKey: uniqueName('c'),
        }),
      );
      await queued(s, i + 1);
    }
    await held.release();
    const startTimes = (await Promise.all(waiters)).map((r) => r.acquiredAt[0]);
    expect(startTimes).toEqual([...startTimes].sort((a, b) => a - b));
  });

  it("frees a crashed holder's slot when its lease runs out, while other traffic goes on", async () => {
    const s = semaphore({ expiry: 1_000 });
    const holder = startWorker('test/workers/semaphore-hold.worker.ts', {
      target: target.name, name: s.name, capacity: 1, expiry: 1_000,
    });
    await waitUntil('the worker holds the slot', async () => (await s.state()).holders.length === 1);
    holder.child.kill('SIGKILL');
    const killedAt = now();
    // Traffic that finds the semaphore full must not keep the dead lease alive.
    const traffic = setInterval(() => void s.tryAcquire().then((p) => p?.release()), 50);
    try {
      const permit = await s.acquire({ maxSleep: 10_000 });
      const waited = now() - killedAt;
      await permit.release();
      expect(waited).toBeLessThan(1_000 + 1_000);
    } finally {
      clearInterval(traffic);
    }
  });

  it('renews a live lease, so a job longer than expiry is never joined by another holder', async () => {
    const s = semaphore({ expiry: 300 });
    const permit = await s.acquire();
    const startedAt = now();
    let intruders = 0;
    while (now() - startedAt < 1_200) {
      const other = await s.tryAcquire();
      if (other) {
        intruders++;
        await other.release();
      }
      await sleep(25);
    }
    expect(intruders).toBe(0);
    expect(permit.signal.aborted).toBe(false);
    expect(await permit.release()).toBe(true);
  });

  it('aborts the permit signal and emits "lost" when a renewal finds the lease gone', async () => {
    const s = semaphore({ expiry: 300 });
    const permit = await s.acquire();
    const lost = new Promise((resolve) => permit.once('lost', resolve));
    await redis.zrem(`${limiterKey('limiters', 'semaphore', s.name)}:holders`, permit.id);
    await expect(lost).resolves.toBeInstanceOf(LeaseLostError);
    expect(permit.signal.aborted).toBe(true);
    expect(permit.signal.reason).toBeInstanceOf(LeaseLostError);
    expect(await permit.release()).toBe(false);
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

  it('skips a waiter whose process died, so the queue moves on', async () => {
    const s = semaphore({ expiry: 500 });
    const held = await s.acquire();
    const dead = startWorker('test/workers/semaphore-jobs.worker.ts', {
      target: target.name, name: s.name, capacity: 1, expiry: 500, maxSleep: 'Infinity',
      waiters: 1, jobs: 1, holdMs: 60_000, counterKey: uniqueName('c'),
    });
    await queued(s, 1);
    dead.child.kill('SIGKILL');
    const mine = s.acquire({ maxSleep: 10_000 });
    await queued(s, 2);
    await held.release();
    const startedAt = now();
    const permit = await mine;
    // The dead waiter's entry lasts at most two lease periods after its last refresh.
    expect(now() - startedAt).toBeLessThan(2 * 500 + 1_000);
    await permit.release();
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
    await expect(s.run(async () => { throw new Error('boom'); })).rejects.toThrow('boom');
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
