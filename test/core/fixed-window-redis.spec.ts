/**
 * FixedWindowLimiter in Redis, through each client library: one integer string per window,
 * living as long as the window, and nothing left behind once it is over.
 */
import { limiterKey } from '../../lib/store/redis/keys';
import { clientTargets, useLimiterClients } from '../harness/redis-targets';
import { sleep } from '../harness/timing';
import { fixedWindowsOn } from '../harness/windows';

describe.each(clientTargets)('FixedWindowLimiter on $name Redis', (target) => {
  const { client, admin } = useLimiterClients(target);
  const redis = admin();
  const fixedWindow = fixedWindowsOn(client());

  it('keeps a window in one string key, held as an integer, that lives as long as the window', async () => {
    const w = fixedWindow({ limit: 5, window: 60_000 });
    await w.take(2);
    await w.take();
    const key = limiterKey('limiters', 'fixed-window', w.name);
    expect(await redis.type(key)).toBe('string');
    expect(await redis.object('ENCODING', key)).toBe('int');
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    // A refusal writes nothing, nor does a block it does not ask for.
    const value = await redis.get(key);
    await w.tryTake(3);
    expect(await redis.get(key)).toBe(value);
    expect(await redis.exists(`${key}:blocked`)).toBe(0);
  });

  it('leaves no key behind once the window is over', async () => {
    const w = fixedWindow({ limit: 1, window: 200, blockDuration: 300 });
    await w.take();
    expect((await w.tryTake()).allowed).toBe(false);
    const key = limiterKey('limiters', 'fixed-window', w.name);
    expect(await redis.exists(key, `${key}:blocked`)).toBe(2);
    await sleep(500);
    expect(await redis.exists(key, `${key}:blocked`)).toBe(0);
  });
});
