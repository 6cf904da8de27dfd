/**
 * Processes that die holding or waiting (SIGKILL), on each Redis client: the slot of a
 * crashed holder comes back when its lease runs out, and a dead waiter's place is skipped.
 */
import { startWorker } from '../harness/processes';
import { clientTargets, uniqueName, useLimiterClients } from '../harness/redis-targets';
import { queued, semaphoresOn, waitBehindDeadWaiter, waitUnderTraffic, WORKER_START_MS } from '../harness/semaphores';
import { now, waitUntil } from '../harness/timing';

describe.each(clientTargets)('SemaphoreLimiter on $name Redis', (target) => {
  const { client } = useLimiterClients(target);
  const semaphore = semaphoresOn(client());

  it("frees a crashed holder's slot when its lease runs out, while other traffic goes on", async () => {
    const s = semaphore({ expiry: 1_000 });
    const holder = startWorker('test/harness/workers/semaphore-hold.worker.ts', {
      target: target.deployment,
      name: s.name,
      capacity: 1,
      expiry: 1_000,
    });
    // Starting the worker alone can take over 10 s on a loaded machine.
    await waitUntil('the worker holds the slot', async () => (await s.state()).holders.length === 1, WORKER_START_MS);
    holder.child.kill('SIGKILL');
    expect(await waitUnderTraffic(s, now())).toBeLessThan(1_000 + 1_000);
  });

  it('skips a waiter whose process died, so the queue moves on', async () => {
    const s = semaphore({ expiry: 500 });
    const held = await s.acquire();
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
