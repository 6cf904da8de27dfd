/**
 * Refunds and penalties: refund() gives tokens back (never above capacity), penalize()
 * takes extra (into debt, which only delays later callers), both keep the refill phase,
 * and a reservation refunds exactly what it took, once.
 */
import { InvalidOptionError, TokenBucketLimiter, type TokenBucketOptions } from '../../lib';
import type { StoreOrClient } from '../../lib/store/resolve-store';
import { limiterKey } from '../../lib/store/redis/keys';
import { targets, uniqueName, useClients } from '../harness/redis-targets';
import { storeTargets } from '../harness/store-targets';
import { now, sleep } from '../harness/timing';

const HOUR = 3_600_000;

const bucketsOn =
  (store: StoreOrClient) =>
  (options: Partial<TokenBucketOptions> = {}) =>
    new TokenBucketLimiter(store, { name: uniqueName('refund'), capacity: 3, refillFrequency: HOUR, ...options });

describe.each(storeTargets)('refund and penalize on $name store', (target) => {
  const bucket = bucketsOn(target.store());

  it('refund() gives tokens back, never above capacity', async () => {
    const b = bucket();
    await b.take(3);
    expect((await b.refund(2)).tokens).toBe(2);
    expect((await b.tryTake(2)).allowed).toBe(true);
    expect((await b.tryTake()).allowed).toBe(false);
    expect((await b.refund(3)).tokens).toBe(3);
    // Already full: nothing to give back, and a full bucket stays full.
    const full = await b.refund(3);
    expect(full).toMatchObject({ tokens: 3, fullIn: 0 });
    expect((await b.tryTake(3)).allowed).toBe(true);
  });

  it('refund() of a bucket nobody used leaves it full', async () => {
    const b = bucket();
    expect(await b.refund()).toMatchObject({ tokens: 3, fullIn: 0 });
    expect((await b.state()).tokens).toBe(3);
  });

  it('refund() pays back promised tokens first: a sleeping reservation keeps its turn, the next caller waits less', async () => {
    const b = bucket({ capacity: 1, maxSleep: 3 * HOUR });
    await b.take();
    const promised = await b.reserve(); // owed the next refill
    expect(promised.wait).toBeGreaterThan(HOUR - 60_000);
    expect((await b.state()).tokens).toBe(-1);
    expect((await b.refund()).tokens).toBe(0);
    const next = await b.reserve();
    // Owed the same refill as `promised` would have been without the debt, not the one after.
    expect(next.wait).toBeLessThanOrEqual(promised.wait);
  });

  it('penalize() takes extra, into debt, that later callers wait out at the refill rate', async () => {
    const b = bucket({ capacity: 2, refillFrequency: 300, maxSleep: 5_000 });
    await b.take();
    const after = await b.penalize(3);
    expect(after.tokens).toBe(-2);
    // Two refills pay the debt, a third brings the token back: 3 periods, less the time since the first take.
    const refused = await b.tryTake();
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfter).toBeGreaterThan(2 * 300);
    expect(refused.retryAfter).toBeLessThanOrEqual(3 * 300);
    const startedAt = now();
    await b.take();
    expect(now() - startedAt).toBeGreaterThan(2 * 300 - 50);
  });

  it('refund and penalize keep the refill phase', async () => {
    const b = bucket({ capacity: 2, refillFrequency: 1_000 });
    await b.take(2);
    const before = await b.state();
    await sleep(200);
    const refunded = await b.refund();
    const penalized = await b.penalize(1);
    // The next refill is where it was, a period from the first take, not a period from now.
    expect(refunded.nextRefillIn).toBeLessThanOrEqual(before.nextRefillIn - 150);
    expect(penalized.nextRefillIn).toBeLessThanOrEqual(refunded.nextRefillIn);
  });

  it('checks the tokens: refund from 1 to the capacity, penalize any whole number from 1', async () => {
    const b = bucket();
    await expect(b.refund(4)).rejects.toThrow(InvalidOptionError);
    await expect(b.refund(0)).rejects.toThrow(
      /Option "tokens" of limiter "refund-\w+" must be a whole number from 1 to the capacity \(3\)/,
    );
    await expect(b.penalize(0)).rejects.toThrow(/Option "tokens" .* must be a whole number of at least 1/);
    await expect(b.penalize(1.5)).rejects.toThrow(InvalidOptionError);
    expect((await b.penalize(30)).tokens).toBe(-27);
  });

  describe('a reservation', () => {
    it('refunds exactly what it took, once: a second refund gives nothing back', async () => {
      const b = bucket({ capacity: 5 });
      await b.take(1);
      const reservation = await b.reserve(3);
      expect(reservation.remaining).toBe(1);
      expect(await reservation.refund()).toBe(true);
      expect((await b.state()).tokens).toBe(4);
      expect(await reservation.refund()).toBe(false);
      expect((await b.state()).tokens).toBe(4);
    });

    it('refunded twice at once still gives back once', async () => {
      const b = bucket({ capacity: 5 });
      await b.take(2);
      const reservation = await b.reserve(2);
      const answers = await Promise.all([reservation.refund(), reservation.refund()]);
      expect(answers.sort()).toEqual([false, true]);
      expect((await b.state()).tokens).toBe(3);
    });

    it('let through in shadow mode without tokens, refunds nothing', async () => {
      const b = bucket({ capacity: 1, mode: 'shadow', maxSleep: 0 });
      await b.take();
      const letThrough = await b.reserve();
      expect((await b.state()).tokens).toBe(0);
      expect(await letThrough.refund()).toBe(false);
      expect((await b.state()).tokens).toBe(0);
    });

    it('still compares as its figures', async () => {
      const b = bucket({ capacity: 3, refillFrequency: 300 });
      expect(await b.reserve(3)).toEqual({ wait: 0, remaining: 0, fullIn: 900 });
    });
  });
});

describe.each(targets)('refund and penalize on $name Redis', (target) => {
  const { client } = useClients(target);
  const redis = client();
  const bucket = bucketsOn(redis);

  it('a refund of a full bucket writes no key; a penalty keeps the key until the bucket is full again', async () => {
    const b = bucket({ capacity: 2 });
    await b.refund();
    expect(await redis.exists(limiterKey('limiters', 'token-bucket', b.name))).toBe(0);
    await b.penalize();
    expect(await redis.exists(limiterKey('limiters', 'token-bucket', b.name))).toBe(1);
    const ttl = await redis.pttl(limiterKey('limiters', 'token-bucket', b.name));
    // Full again in one period, kept one more.
    expect(ttl).toBeGreaterThan(HOUR);
    expect(ttl).toBeLessThanOrEqual(2 * HOUR);
  });

  it('a refund seen by another deploy of another capacity leaves it no more than its own capacity', async () => {
    const small = bucket({ capacity: 2 });
    const large = new TokenBucketLimiter(redis, { name: small.name, capacity: 5, refillFrequency: HOUR });
    await large.take(4); // spent 4: small sees -2
    expect((await small.refund(2)).tokens).toBe(0);
    // Spent is 2 now: the large deploy sees 3, not more.
    expect((await large.state()).tokens).toBe(3);
    expect((await large.refund(5)).tokens).toBe(5);
    expect((await small.state()).tokens).toBe(2);
  });
});
