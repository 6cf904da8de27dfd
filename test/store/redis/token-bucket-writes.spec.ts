/**
 * What a take writes to Redis: an admission that leaves the moment the bucket is full
 * again where it was (a refill amount of several tokens pays for several takes) leaves
 * the key's TTL alone and, for one token, is an in-place INCR of the integer form; any
 * other admission rewrites value and TTL. Either way the key lives until the bucket is
 * full again plus one period, and balances stay exact.
 */
import { TokenBucketLimiter } from '../../../lib';
import { limiterKey } from '../../../lib/store/redis/keys';
import { useOwnRedis } from '../../harness/own-redis';
import { commandStats, targets, uniqueName, useClients, type RedisClient } from '../../harness/redis-targets';
import { now, sleep } from '../../harness/timing';

const keyOf = (b: TokenBucketLimiter) => limiterKey('limiters', 'token-bucket', b.name);

/** Milliseconds on the Redis server clock, as the scripts read it. */
async function serverNow(redis: RedisClient): Promise<number> {
  const [s, us] = await redis.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

describe.each(targets)('token bucket writes on $name Redis', (target) => {
  const { client } = useClients(target);
  const redis = client();

  it('keeps the key until full again plus one period after every take, whether or not the take rewrote the TTL', async () => {
    const period = 60_000;
    const b = new TokenBucketLimiter(redis, {
      name: uniqueName('writes'),
      capacity: 10,
      refillAmount: 5,
      refillFrequency: period,
    });
    const key = keyOf(b);
    let spent = 0;
    let boundary: string | undefined;
    // Spent 1, 2 (same full moment), 5 (same), 6 (one refill later), 10 (same), 11 (beyond capacity: a wait).
    for (const tokens of [1, 1, 3, 1, 4, 1]) {
      const sentAt = now();
      const { fullIn } = await b.reserve(tokens, { maxSleep: Infinity });
      spent += tokens;
      const [ttl, value, encoding] = await Promise.all([
        redis.pttl(key),
        redis.get(key),
        redis.object('ENCODING', key),
      ]);
      const elapsed = now() - sentAt;
      // (+1: Redis counts a PX from its own millisecond, which may be one past the script's TIME.)
      expect(ttl).toBeLessThanOrEqual(fullIn + period + 1);
      expect(ttl).toBeGreaterThanOrEqual(fullIn + period - elapsed - 2);
      // The refill boundary and the tokens spent, in one integer.
      expect(encoding).toBe('int');
      expect(value!.slice(-6)).toBe(String(spent).padStart(6, '0'));
      boundary ??= value!.slice(0, -6);
      expect(value!.slice(0, -6)).toBe(boundary);
    }
    expect((await b.state()).tokens).toBe(10 - spent);
  });

  it('continues a bucket an earlier version wrote, in the same form and with the same TTL', async () => {
    const period = 60_000;
    const b = new TokenBucketLimiter(redis, {
      name: uniqueName('writes'),
      capacity: 10,
      refillAmount: 5,
      refillFrequency: period,
    });
    const key = keyOf(b);
    const at = (await serverNow(redis)) - 1_000;
    // Spent 3 as of `at`: full again one refill after it, and one period more of life.
    await redis.set(key, `${at}000003`, 'PX', at + 2 * period - (await serverNow(redis)));
    const ttlBefore = await redis.pttl(key);
    const { remaining, fullIn } = await b.reserve();
    expect(remaining).toBe(6);
    expect(await redis.get(key)).toBe(`${at}000004`);
    // The take left the moment the bucket is full where it was: the TTL runs on as it was.
    expect(await redis.pttl(key)).toBeLessThanOrEqual(ttlBefore);
    expect(await redis.pttl(key)).toBeGreaterThanOrEqual(fullIn + period - 100);
  });

  it('pays refills exactly when the takes between them left the TTL alone', async () => {
    const b = new TokenBucketLimiter(redis, {
      name: uniqueName('writes'),
      capacity: 6,
      refillAmount: 2,
      refillFrequency: 1_000,
    });
    // Two takes that leave the full moment where it was, then one that moves it.
    await b.take();
    expect((await b.tryTake()).remaining).toBe(4);
    expect((await b.tryTake()).remaining).toBe(3);
    const before = await b.state();
    expect(before.tokens).toBe(3);
    // Just past the next refill: 2 tokens back.
    await sleep(before.nextRefillIn + 100);
    const after = await b.state();
    expect(after.tokens).toBe(5);
    expect((await b.tryTake(5)).allowed).toBe(true);
    const refused = await b.tryTake();
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfter).toBeGreaterThan(0);
    expect(refused.retryAfter).toBeLessThanOrEqual(after.nextRefillIn);
  });
});

describe('token bucket writes, counted on a Redis of their own', () => {
  const own = useOwnRedis();

  it('an admission that leaves the full moment where it was is one INCR; a refusal writes nothing, and reads no block', async () => {
    const redis = own.client();
    const b = new TokenBucketLimiter(redis, {
      name: uniqueName('writes'),
      capacity: 4,
      refillAmount: 4,
      refillFrequency: 60_000,
    });
    await b.tryTake(); // loads the script and creates the key
    await redis.config('RESETSTAT');
    const calls = async () => {
      const stats = await commandStats(redis);
      const count = (command: string) => stats.get(command) ?? 0;
      return { incr: count('incr'), set: count('set'), evalsha: count('evalsha'), pttl: count('pttl') };
    };
    // Without blockDuration the take script looks at no block key (PTTL): the path is as it was.
    for (let i = 0; i < 3; i++) expect((await b.tryTake()).allowed).toBe(true);
    expect(await calls()).toEqual({ incr: 3, set: 0, evalsha: 3, pttl: 0 });
    expect((await b.tryTake()).allowed).toBe(false);
    expect(await calls()).toEqual({ incr: 3, set: 0, evalsha: 4, pttl: 0 });
  });

  it('with blockDuration, a refusal writes the block once: a refusal during it writes nothing', async () => {
    const redis = own.client();
    const b = new TokenBucketLimiter(redis, {
      name: uniqueName('writes'),
      capacity: 1,
      refillFrequency: 60_000,
      blockDuration: 30_000,
      refusalCache: false,
    });
    await b.tryTake();
    await redis.config('RESETSTAT');
    expect((await b.tryTake()).allowed).toBe(false);
    expect((await b.tryTake()).allowed).toBe(false);
    const stats = await commandStats(redis);
    expect([stats.get('set') ?? 0, stats.get('pttl') ?? 0]).toEqual([1, 2]);
    const ttl = await redis.pttl(`${keyOf(b)}:blocked`);
    expect(ttl).toBeGreaterThan(29_000);
    expect(ttl).toBeLessThanOrEqual(30_000);
  });

  it('an admission that moves the full moment rewrites value and TTL in one SET', async () => {
    const redis = own.client();
    const b = new TokenBucketLimiter(redis, { name: uniqueName('writes'), capacity: 4, refillFrequency: 60_000 });
    await b.tryTake();
    await redis.config('RESETSTAT');
    // One token a refill: every take is one more refill to full.
    for (let i = 0; i < 3; i++) expect((await b.tryTake()).allowed).toBe(true);
    const stats = await commandStats(redis);
    expect([stats.get('set') ?? 0, stats.get('incr') ?? 0]).toEqual([3, 0]);
  });
});
