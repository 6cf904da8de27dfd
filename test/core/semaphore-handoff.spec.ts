/**
 * A released slot handed to a waiter in another process, the test process holding through
 * each Redis client: in about one round trip, the waiter woken by the release and sending
 * nothing while it waits (MONITOR sees every command).
 */
import { encodeName } from '../../lib/store/redis/keys';
import { watchCommands } from '../harness/monitor';
import { spawnWorker } from '../harness/processes';
import { clientTargets, uniqueName, useLimiterClients } from '../harness/redis-targets';
import { queued, semaphoresOn, WORKER_START_MS } from '../harness/semaphores';
import { median, now, sleep } from '../harness/timing';

describe.each(clientTargets)('SemaphoreLimiter on $name Redis', (target) => {
  const { client, admin } = useLimiterClients(target);
  // What the test reads in Redis goes through an ioredis client of its own.
  const redis = admin();
  const semaphore = semaphoresOn(client());

  it(
    'hands a released slot to a waiter in another process in about one round trip, without polling',
    async () => {
      // A long lease: the holder's renewals (every expiry / 3) stay out of the watched second,
      // however long the worker takes to start (up to WORKER_START_MS; 30 s leases were renewed
      // inside it once a loaded machine took over 9 s).
      const s = semaphore({ expiry: 120_000 });
      const monitor = await watchCommands(redis, encodeName(s.name));
      const latencies: number[] = [];
      try {
        for (let round = 0; round < 5; round++) {
          const held = await s.acquire();
          const waiter = spawnWorker('test/harness/workers/semaphore-jobs.worker.ts', {
            target: target.deployment,
            name: s.name,
            capacity: 1,
            expiry: 120_000,
            waiters: 1,
            jobs: 1,
            holdMs: 0,
            counterKey: uniqueName('count'),
          });
          await queued(s, 1, WORKER_START_MS);
          // The count starts once this limiter's traffic went quiet: our own state() polls, the
          // waiter's queueing call, and on Cluster a second look right after it (its grant
          // listener hears "resubscribed" while the queueing call is out: lookAgainAfter).
          await monitor.quiet(250);
          monitor.reset();
          await sleep(1_000);
          // While queued, the waiter sends nothing: it is woken by the release, not by a timer.
          await monitor.caughtUp();
          expect(monitor.commands()).toEqual([]);
          const releasedAt = now();
          await held.release();
          const { acquiredAt } = await waiter;
          latencies.push(acquiredAt[0] - releasedAt);
          // The monitor does see this limiter's traffic: the release and the waiter's grant.
          expect(monitor.commands().length).toBeGreaterThan(0);
        }
      } finally {
        await monitor.stop();
      }
      expect(median(latencies)).toBeLessThan(50);
    },
    5 * WORKER_START_MS,
  );
});
