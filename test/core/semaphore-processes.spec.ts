/**
 * A semaphore shared by worker processes: never more holders than capacity (once per Redis
 * deployment) and, with the test process holding through each Redis client, first come first
 * served across processes. The hand-off to another process's waiter is in semaphore-handoff.spec.ts.
 */
import { spawnWorker, startWorker } from '../harness/processes';
import { clientTargets, targets, uniqueName, useLimiterClients } from '../harness/redis-targets';
import { queued, semaphoresOn, WORKER_START_MS } from '../harness/semaphores';

// The workers connect with ioredis whichever client a suite gives the test process, and this
// test makes no call of its own: once per deployment, not once per client library.
describe.each(targets)('SemaphoreLimiter on $name Redis', (target) => {
  it('never admits more than capacity across processes', async () => {
    const name = uniqueName('sem');
    const counterKey = uniqueName('peak');
    const workers = Array.from({ length: 4 }, () =>
      spawnWorker('test/harness/workers/semaphore-jobs.worker.ts', {
        target: target.name,
        name,
        capacity: 3,
        waiters: 5,
        jobs: 4,
        holdMs: 15,
        counterKey,
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
});

describe.each(clientTargets)('SemaphoreLimiter on $name Redis', (target) => {
  const semaphore = semaphoresOn(useLimiterClients(target).client());

  it(
    'serves waiters first come, first served across processes',
    async () => {
      const s = semaphore();
      const held = await s.acquire();
      const waiters = [];
      for (let i = 0; i < 4; i++) {
        // The first waiter waits while the others start, each allowed WORKER_START_MS: its
        // wait and its life are budgeted for all of them.
        const budget = 4 * WORKER_START_MS + 10_000;
        waiters.push(
          startWorker(
            'test/harness/workers/semaphore-jobs.worker.ts',
            {
              target: target.deployment,
              name: s.name,
              capacity: 1,
              waiters: 1,
              jobs: 1,
              holdMs: 20,
              counterKey: uniqueName('c'),
              maxSleep: budget,
            },
            { timeoutMs: budget },
          ).result,
        );
        await queued(s, i + 1, WORKER_START_MS);
      }
      await held.release();
      const startTimes = (await Promise.all(waiters)).map((r) => r.acquiredAt[0]);
      expect(startTimes).toEqual([...startTimes].sort((a, b) => a - b));
    },
    4 * WORKER_START_MS + 20_000,
  );
});
