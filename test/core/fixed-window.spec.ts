/**
 * FixedWindowLimiter on every store: windows of a length from the first hit, waiting for a
 * later window, weighted takes, refunds, blockDuration, events, shadow mode, and saturation
 * from concurrent callers, admissions counted from the callers' own timestamps. Its Redis
 * keys are in fixed-window-redis.spec.ts, several processes on one window in
 * fixed-window-processes.spec.ts.
 */
import { InvalidOptionError, MaxSleepExceededError } from '../../lib/core/errors';
import { expectFixedWindows, takeTokens } from '../harness/admissions';
import { eventsOfEachTest } from '../harness/channel-events';
import { storeTargets } from '../harness/store-targets';
import { now, sleep } from '../harness/timing';
import { fixedWindowsOn } from '../harness/windows';

describe.each(storeTargets)('FixedWindowLimiter on $name store', (target) => {
  const fixedWindow = fixedWindowsOn(target.store());

  it('counts up to the limit in a window that starts at the first hit, then refuses until it ends', async () => {
    // A long window: none can end between the four calls, however slow the machine.
    const w = fixedWindow({ limit: 3, window: 60_000 });
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await w.tryTake());
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, false]);
    expect(results.map((r) => r.remaining)).toEqual([2, 1, 0, 0]);
    // The first call started the window: it ends a whole window from that call.
    expect(results[0].fullIn).toBe(60_000);
    expect(results[3].retryAfter).toBeGreaterThan(50_000);
    expect(results[3].retryAfter).toBeLessThanOrEqual(60_000);
    expect(results[3].fullIn).toBe(results[3].retryAfter);
    const state = await w.state();
    expect(state.remaining).toBe(0);
    expect(state.resetIn).toBeLessThanOrEqual(results[3].retryAfter);
    expect(state.fullIn).toBe(state.resetIn);
  });

  it('starts a new count with the first hit after the window ended', async () => {
    const w = fixedWindow({ limit: 2, window: 300 });
    await w.take(2);
    expect((await w.tryTake()).allowed).toBe(false);
    await sleep(450); // the window is over, and the next one has not begun: nobody called
    const first = await w.tryTake();
    expect(first).toEqual({ allowed: true, remaining: 1, retryAfter: 0, fullIn: 300 });
    expect((await w.tryTake()).allowed).toBe(true);
    expect((await w.tryTake()).allowed).toBe(false);
  });

  describe('reserve() and take()', () => {
    it('counts a call that finds its window full in the next one, and later callers in the windows after', async () => {
      const w = fixedWindow({ limit: 2, window: 1_000, maxSleep: 10_000 });
      const startedAt = now();
      expect(await w.reserve(2)).toEqual({ wait: 0, remaining: 0, fullIn: 1_000 });
      const next = await w.reserve();
      const after = await w.reserve(2); // one token of room left in the next window: not enough
      const elapsed = now() - startedAt;
      // The next window starts where this one ends, counted from the first call.
      expect(next.wait).toBeLessThanOrEqual(1_000);
      expect(next.wait).toBeGreaterThanOrEqual(1_000 - elapsed - 1);
      expect(next.fullIn).toBe(next.wait + 1_000);
      // The one after that, a window later on the store's clock.
      expect(after.wait).toBeLessThanOrEqual(next.wait + 1_000);
      expect(after.wait).toBeGreaterThanOrEqual(next.wait + 1_000 - elapsed - 1);
      expect(after.fullIn).toBe(after.wait + 1_000);
      // The window now is closed for everyone else meanwhile.
      expect(await w.tryTake()).toMatchObject({ allowed: false, remaining: 0 });
    });

    it('sleeps until its window begins', async () => {
      const w = fixedWindow({ limit: 1, window: 400, maxSleep: 2_000 });
      await w.take();
      const startedAt = now();
      const waited = await w.take();
      const elapsed = now() - startedAt;
      expect(waited).toBeGreaterThan(300);
      expect(elapsed).toBeGreaterThanOrEqual(waited - 1);
      expect(elapsed).toBeLessThan(800);
    });

    it('refuses at once, counting nothing, when the window with room begins beyond maxSleep', async () => {
      const w = fixedWindow({ limit: 2, window: 2_000, maxSleep: 100 });
      await w.take(2);
      const startedAt = now();
      const error = await w.take().catch((e: unknown) => e);
      expect(now() - startedAt).toBeLessThan(1_000);
      expect(error).toBeInstanceOf(MaxSleepExceededError);
      expect((error as MaxSleepExceededError).wouldWait).toBeGreaterThan(1_000);
      expect((error as MaxSleepExceededError).kind).toBe('fixed-window');
      // Nothing was counted in the next window: a per-call maxSleep gets the whole of it.
      const reservation = await w.reserve(2, { maxSleep: 3_000 });
      expect(reservation.wait).toBeGreaterThan(1_000);
      expect(reservation.fullIn).toBe(reservation.wait + 2_000);
    });

    it('stops sleeping when the signal aborts, its tokens staying counted', async () => {
      const w = fixedWindow({ limit: 1, window: 3_000, maxSleep: 10_000 });
      await w.take();
      const controller = new AbortController();
      const startedAt = now();
      const taking = w.take(1, { signal: controller.signal }).catch((e: unknown) => e);
      await sleep(200);
      controller.abort(new Error('caller left'));
      expect(await taking).toEqual(new Error('caller left'));
      expect(now() - startedAt).toBeLessThan(2_000);
      // Counted in the next window: a call for that window now goes to the one after.
      const next = await w.reserve(1);
      expect(next.wait).toBeGreaterThan(3_000);
    });
  });

  it('counts a weighted take as that many tokens, in one window', async () => {
    const w = fixedWindow({ limit: 5 });
    expect(await w.tryTake(3)).toMatchObject({ allowed: true, remaining: 2 });
    expect(await w.tryTake(3)).toMatchObject({ allowed: false, remaining: 2 });
    expect(await w.tryTake(2)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('rejects a take of more tokens than the limit instead of waiting forever', async () => {
    const w = fixedWindow({ limit: 3 });
    await expect(w.take(4)).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(w.tryTake(4)).rejects.toThrow(
      /"tokens" of limiter "window-\w+" must be a whole number from 1 to the limit \(3\)/,
    );
    await expect(w.take(0)).rejects.toThrow(/"tokens"/);
    expect((await w.state()).remaining).toBe(3);
  });

  describe('refunds', () => {
    it('give tokens back to the window now', async () => {
      const w = fixedWindow({ limit: 2 });
      await w.take(2);
      expect(await w.refund()).toMatchObject({ remaining: 1 });
      expect((await w.tryTake()).allowed).toBe(true);
      expect((await w.tryTake()).allowed).toBe(false);
      // Never below 0.
      expect(await w.refund(2)).toMatchObject({ remaining: 2 });
      expect(await w.refund(2)).toMatchObject({ remaining: 2 });
    });

    it('a reservation gives back to the window it was counted in, once', async () => {
      const w = fixedWindow({ limit: 1, window: 2_000, maxSleep: 10_000 });
      await w.take();
      const next = await w.reserve(); // the next window
      expect(await next.refund()).toBe(true);
      expect(await next.refund()).toBe(false);
      // Its place in the next window is free again: a call waits for that window, not the one after.
      const again = await w.reserve();
      expect(again.wait).toBeLessThanOrEqual(next.wait);
    });

    it('give nothing back to a window before one that holds reservations, nor to one that ended', async () => {
      const w = fixedWindow({ limit: 1, window: 600, maxSleep: 10_000 });
      const first = await w.reserve();
      const second = await w.reserve(); // the next window: the window now stays closed
      expect(await w.refund()).toMatchObject({ remaining: 0 });
      await first.refund(); // asked, but its window is not the last: nothing given back
      expect((await w.tryTake()).allowed).toBe(false);
      await sleep(second.wait + 700); // both windows are over
      expect((await w.tryTake()).allowed).toBe(true);
      // Tokens of a window that ended do not count in the new one.
      expect(await second.refund()).toBe(true);
      expect((await w.tryTake()).allowed).toBe(false);
    });
  });

  describe('blockDuration', () => {
    it('keeps a refused key refused that long after the refusal, though its window ends first', async () => {
      const w = fixedWindow({ limit: 1, window: 200, blockDuration: 1_500 });
      await w.take();
      const refused = await w.tryTake();
      const refusedAt = now();
      expect(refused.allowed).toBe(false);
      expect(refused.retryAfter).toBeGreaterThan(1_400);
      expect(refused.retryAfter).toBeLessThanOrEqual(1_500);
      expect(refused.fullIn).toBe(refused.retryAfter);
      await sleep(500); // the window is over, the block is not
      const during = await w.tryTake();
      expect(during.allowed).toBe(false);
      // A refusal during the block does not lengthen it.
      expect(during.retryAfter).toBeLessThanOrEqual(1_500 - (now() - refusedAt) + 50);
      expect(during.remaining).toBe(0);
      // A take that may wait long enough is let in when the block ends.
      const waited = await w.take(1, { maxSleep: 2_000 });
      expect(now() - refusedAt).toBeGreaterThanOrEqual(1_400);
      expect(waited).toBeGreaterThan(0);
    });

    it('does not block when the call would have waited within maxSleep', async () => {
      const w = fixedWindow({ limit: 1, window: 300, blockDuration: 5_000, maxSleep: 1_000 });
      await w.take();
      const waited = await w.take(); // waits for the next window: admitted, not refused
      expect(waited).toBeLessThan(1_000);
      expect((await w.state()).fullIn).toBeLessThan(1_000);
    });
  });

  describe('events', () => {
    const admits = eventsOfEachTest('admit');
    const refusals = eventsOfEachTest('refuse');

    it("publish admissions and refusals as the kind 'fixed-window', the refusal with its retry time", async () => {
      const w = fixedWindow({ limit: 1 });
      await w.tryTake();
      const refused = await w.tryTake();
      const mine = <T extends { name: string }>(events: T[]) => events.filter((e) => e.name === w.name);
      expect(mine(admits)).toEqual([
        { name: w.name, kind: 'fixed-window', keyId: undefined, shadow: false, tokens: 1, waitedMs: 0, remaining: 0 },
      ]);
      expect(mine(refusals)).toEqual([
        expect.objectContaining({ kind: 'fixed-window', reason: 'limit', retryAfterMs: refused.retryAfter }),
      ]);
    });
  });

  it('in shadow mode admits every call, reporting the refusals it would have made', async () => {
    const w = fixedWindow({ limit: 1, mode: 'shadow' });
    expect(await w.tryTake()).toMatchObject({ allowed: true, remaining: 0 });
    const second = await w.tryTake();
    expect(second.allowed).toBe(true);
    expect(second.retryAfter).toBe(0);
    // The call let through counted nothing: one refund makes the window whole.
    expect((await w.state()).remaining).toBe(0);
    expect(await w.refund()).toMatchObject({ remaining: 1 });
  });

  it('admits exactly `limit` per window under saturation from concurrent callers, windows back to back', async () => {
    const shape = { limit: 10, windowMs: 400 };
    const w = fixedWindow({ limit: shape.limit, window: shape.windowMs, maxSleep: Infinity });
    const firstSentAt = now();
    const admitted = await takeTokens(w, { callers: 6, takes: 10 });
    expect(admitted).toHaveLength(60);
    // 60 tokens at 10 a window: six windows, no more (a wake-up late by up to a window is tolerated).
    expect(expectFixedWindows(admitted, firstSentAt, shape)).toBeLessThanOrEqual(7);
  });
});
