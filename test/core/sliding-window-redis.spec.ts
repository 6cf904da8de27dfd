/**
 * SlidingWindowLimiter in Redis, through each client library: one short string per window
 * whatever the limit, living as long as its counts matter, and nothing left behind after.
 */
import { limiterKey } from '../../lib/store/redis/keys';
import { clientTargets, useLimiterClients } from '../harness/redis-targets';
import { sleep } from '../harness/timing';
import { slidingWindowsOn } from '../harness/windows';

describe.each(clientTargets)('SlidingWindowLimiter on $name Redis', (target) => {
  const { client, admin } = useLimiterClients(target);
  const redis = admin();
  const slidingWindow = slidingWindowsOn(client());

  it('keeps a window in one short string, whatever the limit, that lives as long as its counts matter', async () => {
    const w = slidingWindow({ limit: 10_000, window: 60_000 });
    for (let i = 0; i < 50; i++) await w.tryTake(100);
    const key = limiterKey('limiters', 'sliding-window', w.name);
    expect(await redis.type(key)).toBe('string');
    expect(await redis.memory('USAGE', key)).toBeLessThan(200);
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(60_000);
    expect(ttl).toBeLessThanOrEqual(66_000);
  });

  it('leaves no key behind once nothing counts', async () => {
    const w = slidingWindow({ limit: 1, window: 200, blockDuration: 300 });
    await w.take();
    expect((await w.tryTake()).allowed).toBe(false);
    const key = limiterKey('limiters', 'sliding-window', w.name);
    expect(await redis.exists(key, `${key}:blocked`)).toBe(2);
    await sleep(600);
    expect(await redis.exists(key, `${key}:blocked`)).toBe(0);
  });
});
