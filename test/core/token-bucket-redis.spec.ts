/**
 * A token bucket's Redis key on each Redis client: one integer string, a TTL as long as a
 * refill period needs (no fixed one), untouched by a refused take, gone once the bucket is full.
 */
import { limiterKey } from '../../lib/store/redis/keys';
import { bucketsOn } from '../harness/buckets';
import { clientTargets, useLimiterClients } from '../harness/redis-targets';
import { sleep } from '../harness/timing';

describe.each(clientTargets)('TokenBucketLimiter on $name Redis', (target) => {
  const { client, admin } = useLimiterClients(target);
  // What the test reads in Redis goes through an ioredis client of its own.
  const redis = admin();
  const bucket = bucketsOn(client());

  it('keeps its state for as long as a refill period needs, with no fixed TTL', async () => {
    const b = bucket({ capacity: 2, refillFrequency: 60_000 });
    await b.take();
    const ttl = await redis.pttl(limiterKey('limiters', 'token-bucket', b.name));
    expect(ttl).toBeGreaterThan(60_000);
    expect(ttl).toBeLessThanOrEqual(2 * 60_000);
  });

  it('keeps a bucket in one string key, held as an integer, that a refused take leaves as it was', async () => {
    const b = bucket({ capacity: 2, refillFrequency: 60_000, maxSleep: 0 });
    await b.take(2);
    const key = limiterKey('limiters', 'token-bucket', b.name);
    // An integer-encoded string needs no allocation of its own: the least memory per idle bucket.
    expect(await redis.type(key)).toBe('string');
    expect(await redis.object('ENCODING', key)).toBe('int');
    const [value, ttl] = [await redis.get(key), await redis.pttl(key)];
    expect((await b.tryTake()).allowed).toBe(false);
    expect(await redis.get(key)).toBe(value);
    expect(await redis.pttl(key)).toBeLessThanOrEqual(ttl);
  });

  it('leaves no key behind once the bucket is full again', async () => {
    const b = bucket({ capacity: 2, refillFrequency: 100 });
    await b.take(2);
    const key = limiterKey('limiters', 'token-bucket', b.name);
    expect(await redis.exists(key)).toBe(1);
    await sleep(2 * 100 + 100 + 200); // full after two refills, then one period of margin
    expect(await redis.exists(key)).toBe(0);
  });
});
