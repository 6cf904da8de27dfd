/**
 * A sliding window shared by four worker processes calling tryTake in a loop, some with
 * weighted takes: never more than the limit in any interval of the window, counted from the
 * callers' own timestamps, and up to it. The workers connect with ioredis whichever client a
 * suite gives the test process, and the test makes no call of its own: it runs once per
 * deployment, not once per client library.
 */
import { heaviestInterval } from '../harness/admissions';
import { rateFromProcesses } from '../harness/rate-workers';
import { targets } from '../harness/redis-targets';
import { slidingWindowMinimum } from '../harness/windows';

describe.each(targets)('SlidingWindowLimiter on $name Redis, from several processes', (target) => {
  it('never admits more than the limit in any interval of the window to several processes, and admits up to it', async () => {
    const shape = { limit: 8, windowMs: 600 };
    const durationMs = 3_000;
    const runs = await rateFromProcesses(
      target.name,
      'sliding-window',
      { limit: shape.limit, window: shape.windowMs },
      [[1], [1], [1, 2], [2, 3]].map((weights) => ({ mode: 'tryTake', callers: 1, durationMs, pauseMs: 3, weights })),
    );
    const admitted = runs.flatMap((r) => r.admitted);
    expect(heaviestInterval(admitted, shape.windowMs).tokens).toBeLessThanOrEqual(shape.limit);
    expect(admitted.reduce((sum, a) => sum + a.tokens, 0)).toBeGreaterThanOrEqual(
      slidingWindowMinimum(shape, durationMs) - 3,
    );
  });
});
