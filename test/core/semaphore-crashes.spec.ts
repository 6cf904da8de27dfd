/**
 * Processes that die holding or waiting (SIGKILL), on each Redis client: the slot of a
 * crashed holder comes back when its lease runs out, and a dead waiter's place is skipped.
 */
import { startWorker } from '../harness/processes';
import { clientTargets, uniqueName, useLimiterClients } from '../harness/redis-targets';
import { queued, semaphoresOn, waitBehindDeadWaiter, waitUnderTraffic, WORKER_START_MS } from '../harness/semaphores';
import { lateness, now, waitUntil } from '../harness/timing';

describe.each(clientTargets)('SemaphoreLimiter on $name Redis', (target) => {
  const { client } = useLimiterClients(target);
  const semaphore = semaphoresOn(client());

  it("frees a crashed holder's slot when its lease runs out, while other traffic goes on", async () => {
    const s = semaphore({ capacity: 2, expiry: 1_000 });
    // A live holder beside it, renewed all along: the holders' key never expires (its TTL is a
    // lease and a second past the last renewal), so only reaping the lease can free the slot.
    const live = await s.acquire();
    const holder = startWorker('test/harness/workers/semaphore-hold.worker.ts', {
      target: target.deployment,
      name: s.name,
      capacity: 2,
      expiry: 1_000,
    });
    // Starting the worker alone can take over 10 s on a loaded machine.
    await waitUntil('the worker holds the slot', async () => (await s.state()).holders.length === 2, WORKER_START_MS);
    holder.child.kill('SIGKILL');
    const killedAt = now();
    // Its lease ends at most one lease after the kill; the waiter wakes on a timer then, as
    // late as a timer armed for then fires, plus round trips.
    const [waited, late] = await Promise.all([waitUnderTraffic(s, killedAt), lateness(killedAt + 1_000)]);
    expect(waited).toBeLessThan(1_000 + late + 1_000);
    expect(await live.release()).toBe(true);
  });

  it('skips a waiter whose process died, so the queue moves on', async () => {
    const s = semaphore({ expiry: 500 });
    // Held under a long lease of its own: this process stalling past a 500 ms lease (a loaded
    // machine, while the worker starts) would lose the slot to the worker, which then holds
    // instead of queueing. The dead waiter's entry lives by the worker's lease, not this one.
    const held = await semaphore({ name: s.name, expiry: 10_000 }).acquire();
    const dead = startWorker('test/harness/workers/semaphore-jobs.worker.ts', {
      target: target.deployment,
      name: s.name,
      capacity: 1,
      expiry: 500,
      maxSleep: 'Infinity',
      waiters: 1,
      jobs: 1,
      holdMs: 60_000,
      counterKey: uniqueName('c'),
    });
    await queued(s, 1, WORKER_START_MS);
    dead.child.kill('SIGKILL');
    // The dead waiter's entry lasts at most two lease periods after its last refresh.
    expect(await waitBehindDeadWaiter(s, held)).toBeLessThan(2 * 500 + 1_000);
  });
});
