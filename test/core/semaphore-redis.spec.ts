/**
 * A semaphore on each Redis client, in this process: the TTL of every key it writes, its
 * waiters when the client closes, and a client connection that waiting never blocks.
 */
import { MaxSleepExceededError, RedisUnavailableError } from '../../lib';
import { limiterKey } from '../../lib/store/redis/keys';
import { clientTargets, pingClient, quitClient, useLimiterClients } from '../harness/redis-targets';
import { queued, semaphoresOn } from '../harness/semaphores';
import { now, waitUntil } from '../harness/timing';

describe.each(clientTargets)('SemaphoreLimiter on $name Redis', (target) => {
  const { client, admin } = useLimiterClients(target);
  // What the test reads in Redis goes through an ioredis client of its own.
  const redis = admin();
  const limiterClient = client();
  const semaphore = semaphoresOn(limiterClient);

  // The scripts set a TTL in one call when they know whether they created a key: this
  // checks that no path leaves a key without one, and that every key goes in the end.
  it('keeps a TTL on every key it writes, and leaves no key once leases and waits are over', async () => {
    const s = semaphore({ capacity: 1, expiry: 300 });
    const keys = ['holders', 'queue', 'waiters', 'arrivals'].map(
      (k) => `${limiterKey('limiters', 'semaphore', s.name)}:${k}`,
    );
    const ttls = async () => Promise.all(keys.map((key) => redis.pttl(key)));
    const held = await s.acquire();
    const waiters = [s.acquire({ maxSleep: 5_000 }), s.acquire({ maxSleep: 5_000 }), s.acquire({ maxSleep: 50 })];
    await expect(waiters[2]).rejects.toBeInstanceOf(MaxSleepExceededError);
    await queued(s, 2);
    // -2: no such key; -1 would be a key without a TTL.
    for (const ttl of await ttls()) expect(ttl === -2 || ttl > 0).toBe(true);
    await held.release();
    const next = await waiters[0];
    await next.release();
    await (await waiters[1]).release();
    for (const ttl of await ttls()) expect(ttl === -2 || ttl > 0).toBe(true);
    // The longest TTL: the queue's, at most two lease periods plus a second.
    await waitUntil(
      'every key expired',
      async () => (await ttls()).every((ttl) => ttl === -2),
      2 * 300 + 1_000 + 2_000,
    );
  });

  it('fails its waiters at once when the client is closed, instead of after maxSleep', async () => {
    const closing = client();
    const s = semaphoresOn(closing)();
    const held = await s.acquire();
    const waiting = s.acquire({ maxSleep: 30_000 }).catch((e: unknown) => e);
    await queued(s, 1);
    const closedAt = now();
    await quitClient(closing);
    expect(await waiting).toBeInstanceOf(RedisUnavailableError);
    expect(now() - closedAt).toBeLessThan(2_000);
    void held;
  });

  it('does not block the client connection while waiting', async () => {
    const s = semaphore();
    const held = await s.acquire();
    const waiting = s.acquire({ maxSleep: 5_000 });
    await queued(s, 1);
    const startedAt = now();
    await pingClient(limiterClient);
    expect(now() - startedAt).toBeLessThan(500);
    await held.release();
    await (await waiting).release();
  });
});
