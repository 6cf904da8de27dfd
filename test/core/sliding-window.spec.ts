/**
 * SlidingWindowLimiter on every store: the limit in any interval of the window, waiting for
 * room, weighted takes, refunds, blockDuration, events, shadow mode. Its Redis key is in
 * sliding-window-redis.spec.ts, several processes on one window in sliding-window-processes.spec.ts.
 */
import { InvalidOptionError, MaxSleepExceededError } from '../../lib/core/errors';
import type { SlidingWindowLimiter } from '../../lib/core/sliding-window-limiter';
import { heaviestInterval } from '../harness/admissions';
import { eventsOfEachTest } from '../harness/channel-events';
import { storeTargets } from '../harness/store-targets';
import { now, sleep } from '../harness/timing';
import type { RateRun } from '../harness/workers/rate-limiter.worker';
import { slidingWindowMinimum, slidingWindowsOn } from '../harness/windows';

/** `callers` calling tryTake() in a loop for `durationMs`, each call's tokens in turn from `weights`. */
async function hammer(
  limiter: SlidingWindowLimiter,
  { callers, durationMs, weights = [1] }: { callers: number; durationMs: number; weights?: number[] },
) {
  const admitted: RateRun['admitted'] = [];
  const startedAt = now();
  await Promise.all(
    Array.from({ length: callers }, async (_, c) => {
      for (let i = c; now() - startedAt < durationMs; i++) {
        const sentAt = now();
        const tokens = weights[i % weights.length];
        if ((await limiter.tryTake(tokens)).allowed) admitted.push({ sentAt, at: now(), tokens });
        await sleep(2);
      }
    }),
  );
  return admitted;
}

describe.each(storeTargets)('SlidingWindowLimiter on $name store', (target) => {
  const slidingWindow = slidingWindowsOn(target.store());

  it('admits up to the limit, then refuses until the oldest admissions no longer count', async () => {
    // A long window: nothing leaves it between the four calls, however slow the machine.
    const w = slidingWindow({ limit: 3, window: 60_000 });
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await w.tryTake());
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, false]);
    expect(results.map((r) => r.remaining)).toEqual([2, 1, 0, 0]);
    // The first admissions count for the window, and at most one sub-window (a tenth) more.
    expect(results[3].retryAfter).toBeGreaterThan(55_000);
    expect(results[3].retryAfter).toBeLessThanOrEqual(66_000);
    expect(results[3].fullIn).toBe(results[3].retryAfter);
    expect(await w.state()).toEqual({ remaining: 0, fullIn: expect.any(Number) });
  });

  it('never admits more than the limit in any interval of the window, and admits up to it as the window slides', async () => {
    const shape = { limit: 5, windowMs: 500 };
    const w = slidingWindow({ limit: shape.limit, window: shape.windowMs });
    const admitted = await hammer(w, { callers: 3, durationMs: 2_500 });
    expect(heaviestInterval(admitted, shape.windowMs).tokens).toBeLessThanOrEqual(shape.limit);
    expect(admitted.length).toBeGreaterThanOrEqual(slidingWindowMinimum(shape, 2_500));
  });

  it('keeps weighted takes within the limit in every interval', async () => {
    const shape = { limit: 6, windowMs: 400 };
    const w = slidingWindow({ limit: shape.limit, window: shape.windowMs });
    const admitted = await hammer(w, { callers: 3, durationMs: 2_000, weights: [1, 2, 3] });
    expect(heaviestInterval(admitted, shape.windowMs).tokens).toBeLessThanOrEqual(shape.limit);
    expect(admitted.reduce((sum, a) => sum + a.tokens, 0)).toBeGreaterThanOrEqual(
      slidingWindowMinimum(shape, 2_000) - 2,
    );
  });

  describe('reserve() and take()', () => {
    it('count a call that finds no room when the oldest admissions stop counting, and later callers after it', async () => {
      const w = slidingWindow({ limit: 2, window: 1_000, maxSleep: 10_000 });
      const startedAt = now();
      expect(await w.reserve(2)).toMatchObject({ wait: 0, remaining: 0 });
      const next = await w.reserve();
      const after = await w.reserve(2);
      const elapsed = now() - startedAt;
      // The first two count for the window and up to a tenth more.
      expect(next.wait).toBeGreaterThanOrEqual(1_000 - elapsed - 1);
      expect(next.wait).toBeLessThanOrEqual(1_100);
      // Two more fit once both the first and the next count no more: a window after the next.
      expect(after.wait).toBeGreaterThanOrEqual(next.wait + 1_000 - elapsed - 1);
      expect(after.wait).toBeLessThanOrEqual(next.wait + 1_100);
      expect(await w.tryTake()).toMatchObject({ allowed: false, remaining: 0 });
    });

    it('take() sleeps until there is room', async () => {
      const w = slidingWindow({ limit: 1, window: 400, maxSleep: 2_000 });
      await w.take();
      const startedAt = now();
      const waited = await w.take();
      expect(waited).toBeGreaterThan(300);
      expect(now() - startedAt).toBeLessThan(900);
    });

    it('refuses at once, counting nothing, when room comes later than maxSleep', async () => {
      const w = slidingWindow({ limit: 2, window: 2_000, maxSleep: 100 });
      await w.take(2);
      const error = await w.take().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MaxSleepExceededError);
      expect((error as MaxSleepExceededError).wouldWait).toBeGreaterThan(1_000);
      expect((error as MaxSleepExceededError).kind).toBe('sliding-window');
      // Nothing was counted: two tokens still fit at the same time.
      const reservation = await w.reserve(2, { maxSleep: 3_000 });
      expect(reservation.wait).toBeLessThanOrEqual((error as MaxSleepExceededError).wouldWait!);
    });
  });

  it('counts a weighted take as that many tokens', async () => {
    const w = slidingWindow({ limit: 5 });
    expect(await w.tryTake(3)).toMatchObject({ allowed: true, remaining: 2 });
    expect(await w.tryTake(3)).toMatchObject({ allowed: false, remaining: 2 });
    expect(await w.tryTake(2)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('rejects a take of more tokens than the limit instead of waiting forever', async () => {
    const w = slidingWindow({ limit: 3 });
    await expect(w.take(4)).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(w.tryTake(0)).rejects.toThrow(
      /"tokens" of limiter "sliding-\w+" must be a whole number from 1 to the limit \(3\)/,
    );
    expect((await w.state()).remaining).toBe(3);
  });

  describe('refunds', () => {
    it('give tokens taken in the window back, never below 0', async () => {
      const w = slidingWindow({ limit: 2 });
      await w.take(2);
      expect(await w.refund()).toMatchObject({ remaining: 1 });
      expect((await w.tryTake()).allowed).toBe(true);
      expect((await w.tryTake()).allowed).toBe(false);
      expect(await w.refund(2)).toMatchObject({ remaining: 2 });
      expect(await w.refund(2)).toMatchObject({ remaining: 2 });
    });

    it('a reservation gives back to the sub-window it was counted in, once', async () => {
      const w = slidingWindow({ limit: 1, window: 2_000, maxSleep: 10_000 });
      await w.take();
      const next = await w.reserve();
      expect(await next.refund()).toBe(true);
      expect(await next.refund()).toBe(false);
      // Its place is free again: a call waits no longer than it did.
      expect((await w.reserve()).wait).toBeLessThanOrEqual(next.wait);
    });

    it('a plain refund never frees a reservation still ahead', async () => {
      const w = slidingWindow({ limit: 1, window: 2_000, maxSleep: 10_000 });
      await w.take();
      const next = await w.reserve();
      // The token taken now goes back; the reserved one stays counted where it is.
      await w.refund();
      expect(await w.tryTake()).toMatchObject({ allowed: false, remaining: 0 });
      expect((await w.reserve()).wait).toBeGreaterThan(next.wait);
    });
  });

  describe('blockDuration', () => {
    it('keeps a refused key refused that long after the refusal, though room comes back first', async () => {
      const w = slidingWindow({ limit: 1, window: 200, blockDuration: 1_500 });
      await w.take();
      const refused = await w.tryTake();
      const refusedAt = now();
      expect(refused.allowed).toBe(false);
      expect(refused.retryAfter).toBeGreaterThan(1_400);
      expect(refused.retryAfter).toBeLessThanOrEqual(1_500);
      await sleep(500); // the admission no longer counts; the block still holds
      const during = await w.tryTake();
      expect(during).toMatchObject({ allowed: false, remaining: 0 });
      expect(during.retryAfter).toBeLessThanOrEqual(1_500 - (now() - refusedAt) + 50);
      expect(await w.take(1, { maxSleep: 2_000 })).toBeGreaterThan(0);
      expect(now() - refusedAt).toBeGreaterThanOrEqual(1_400);
    });
  });

  describe('events', () => {
    const refusals = eventsOfEachTest('refuse');

    it("publish refusals as the kind 'sliding-window'", async () => {
      const w = slidingWindow({ limit: 1 });
      await w.tryTake();
      const refused = await w.tryTake();
      expect(refusals.filter((e) => e.name === w.name)).toEqual([
        expect.objectContaining({ kind: 'sliding-window', reason: 'limit', retryAfterMs: refused.retryAfter }),
      ]);
    });
  });

  it('in shadow mode admits every call, reporting what it would have refused', async () => {
    const w = slidingWindow({ limit: 1, mode: 'shadow' });
    expect((await w.tryTake()).allowed).toBe(true);
    expect(await w.tryTake()).toMatchObject({ allowed: true, retryAfter: 0 });
    expect((await w.state()).remaining).toBe(0);
  });
});
