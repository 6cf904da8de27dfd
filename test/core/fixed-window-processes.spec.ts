/**
 * A fixed window shared by four worker processes: exactly `limit` a window, windows from the
 * first hit, counted from the callers' own timestamps, for callers sleeping for their turn and
 * for callers calling tryTake in a loop. The workers connect with ioredis whichever client a
 * suite gives the test process, and these tests make no call of their own: they run once per
 * deployment, not once per client library.
 */
import { admissionBursts, expectFixedWindows } from '../harness/admissions';
import { rateFromProcesses } from '../harness/rate-workers';
import { targets } from '../harness/redis-targets';

describe.each(targets)('FixedWindowLimiter on $name Redis, from several processes', (target) => {
  it('admits exactly `limit` per window from several processes sleeping for their turn', async () => {
    const shape = { limit: 8, windowMs: 500, earlyMs: 3 };
    const runs = await rateFromProcesses(
      target.name,
      'fixed-window',
      { limit: shape.limit, window: shape.windowMs },
      Array(4).fill({ mode: 'take', callers: 2, takes: 5 }),
    );
    const admitted = runs.flatMap((r) => r.admitted);
    expect(admitted).toHaveLength(40);
    const firstSentAt = Math.min(...admitted.map((a) => a.sentAt));
    // 40 tokens at 8 a window: five windows, no more (one more for a late wake-up).
    const windows = expectFixedWindows(
      admitted.map((a) => a.at),
      firstSentAt,
      shape,
    );
    expect(windows).toBeLessThanOrEqual(6);
  });

  it('admits exactly `limit` per window, a window from the first hit, to processes calling tryTake in a loop', async () => {
    const shape = { limit: 10, windowMs: 1_000 };
    const runs = await rateFromProcesses(
      target.name,
      'fixed-window',
      { limit: shape.limit, window: shape.windowMs },
      Array(4).fill({ mode: 'tryTake', callers: 1, durationMs: 3_500, pauseMs: 5 }),
    );
    const admitted = runs.flatMap((r) => r.admitted);
    const endedAt = Math.min(...runs.map((r) => r.endedAt));
    const slack = Math.max(...admitted.map((a) => a.at - a.sentAt)) + 1;
    const bursts = admissionBursts(admitted, shape.windowMs);
    // No window admitted more than the limit, and none began before the last one ended.
    expect(bursts.filter((b) => b.count > shape.limit)).toEqual([]);
    for (let i = 1; i < bursts.length; i++) {
      expect(bursts[i].start - bursts[i - 1].start).toBeGreaterThanOrEqual(shape.windowMs - slack);
    }
    // Windows that ended while the callers were calling were filled: admitted up to the limit, not below.
    const whole = bursts.filter((b) => b.start + shape.windowMs < endedAt);
    expect(whole.length).toBeGreaterThanOrEqual(3);
    expect(whole.reduce((sum, b) => sum + b.count, 0)).toBeGreaterThanOrEqual(whole.length * shape.limit * 0.9);
  });
});
