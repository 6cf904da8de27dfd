/**
 * One limit across the instances of an app: two Nest app processes (each its own Node
 * process, module and connection) limit one route with @FixedWindow({ limit: 3, window:
 * 1000 }) in Redis while clients call both at once. What the apps admitted is counted from
 * their handlers' own timestamps, on clocks aligned on Redis's.
 */
import { admissionBursts } from '../harness/admissions';
import { startWorker } from '../harness/processes';
import { targets, uniqueName, useClients } from '../harness/redis-targets';
import { now, sleep, waitUntil } from '../harness/timing';
import type { AppRun } from '../harness/workers/fixed-window-app.worker';

const LIMIT = 3;
const WINDOW_MS = 1_000;
const CALLING_MS = 4_500;

describe.each(targets)('@FixedWindow across two app processes, $name Redis', (target) => {
  const { client } = useClients(target);

  it('admits at most 3 per window over both apps, counted from their own timestamps, and fills each window', async () => {
    const redis = client();
    const run = uniqueName('two-apps');
    const apps = [0, 1].map((index) =>
      startWorker(
        'test/harness/workers/fixed-window-app.worker.ts',
        { target: target.name, run, index, limit: LIMIT, windowMs: WINDOW_MS },
        { nest: true, timeoutMs: 90_000 },
      ),
    );
    try {
      // Starting a Nest app in a fresh process takes seconds on a busy machine.
      await waitUntil(
        'both apps listen',
        async () => (await redis.exists(`{${run}}:port:0`, `{${run}}:port:1`)) === 2,
        60_000,
      );
      const urls = await Promise.all(
        [0, 1].map(async (i) => `http://127.0.0.1:${await redis.get(`{${run}}:port:${i}`)}/limited`),
      );
      const statuses = new Map<number, number>();
      const startedAt = now();
      // Two clients per app, calling in a loop: a window fills within ms of its first call.
      await Promise.all(
        [0, 1, 0, 1].map(async (app) => {
          while (now() - startedAt < CALLING_MS) {
            const response = await fetch(urls[app]);
            await response.arrayBuffer();
            statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
            await sleep(5);
          }
        }),
      );
      const endedAt = now();
      await redis.set(`{${run}}:done`, '1', 'PX', 60_000);
      const runs: AppRun[] = await Promise.all(apps.map((a) => a.result));

      const admitted = runs.flatMap((r) => r.admittedAt);
      // Every 200 is a handler that ran; every other answer a refusal.
      expect([...statuses.keys()].sort()).toEqual([200, 429]);
      expect(admitted).toHaveLength(statuses.get(200)!);
      // Both apps admitted calls: the limit is shared, not each app's own.
      for (const r of runs) expect(r.admittedAt.length).toBeGreaterThan(0);
      const bursts = admissionBursts(
        admitted.map((at) => ({ sentAt: at, at })),
        WINDOW_MS,
      );
      console.log(
        `${target.name}: ${admitted.length} admitted of ${[...statuses.values()].reduce((a, b) => a + b, 0)} calls, ` +
          `per app ${runs.map((r) => r.admittedAt.length).join('/')}, windows ${bursts.map((b) => b.count).join(' ')}`,
      );
      // No window admitted more than the limit over both apps.
      expect(bursts.filter((b) => b.count > LIMIT)).toEqual([]);
      // A window began only once the one before had ended (a window's length apart, less the
      // time between Redis admitting a call and its handler running, loose on a busy machine).
      for (let i = 1; i < bursts.length; i++) {
        expect(bursts[i].start - bursts[i - 1].start).toBeGreaterThanOrEqual(WINDOW_MS - 150);
      }
      // Windows that ended while the clients called were filled: the limit, not fewer.
      const whole = bursts.filter((b) => b.start + WINDOW_MS < endedAt);
      expect(whole.length).toBeGreaterThanOrEqual(3);
      expect(whole.every((b) => b.count === LIMIT)).toBe(true);
    } finally {
      await redis.set(`{${run}}:done`, '1', 'PX', 60_000);
      await Promise.allSettled(apps.map((a) => a.result));
    }
  });
});
