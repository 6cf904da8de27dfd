/**
 * Short version of semaphore-kill.chaos.ts (npm run test:chaos runs the 30 s one):
 * SIGKILL holders and waiters at random across 4 processes under load.
 */
import { SemaphoreLimiter } from '../../lib';
import { uniqueName } from '../harness/redis-targets';
import { useOwnRedis } from '../harness/own-redis';
import { expectFullRecovery, runSemaphoreChaos } from '../harness/semaphore-chaos';

describe('SIGKILL holders and waiters at random (6 s, own Redis)', () => {
  const { server, client } = useOwnRedis();

  it('never exceeds capacity, and every permit comes back once the killing stops', async () => {
    const capacity = 3;
    const expiry = 1_500;
    const name = uniqueName('chaos');
    const report = await runSemaphoreChaos({
      redis: { url: server().url },
      name,
      capacity,
      expiry,
      processes: 4,
      callers: 5,
      holdMs: [10, 400],
      durationMs: 6_000,
      killEveryMs: [600, 1_400],
    });
    expect(report.kills).toBeGreaterThanOrEqual(5);
    expect(report.killedHolding.processes).toBeGreaterThanOrEqual(1);
    expect(report.killedWaiting.waiters).toBeGreaterThanOrEqual(1);
    expect(report.permitsHeld).toBeGreaterThan(20);
    expect(report.peak).toBeLessThanOrEqual(capacity);
    expect(report.peak).toBe(capacity);
    for (const survivor of report.survivors) expect(survivor.otherErrors).toEqual([]);

    const s = new SemaphoreLimiter(client(), { name, capacity, expiry });
    const recovery = await expectFullRecovery(s, report.stoppedAt);
    console.log(JSON.stringify({ ...report, survivors: report.survivors.length, recovery }));
  }, 90_000);
});
