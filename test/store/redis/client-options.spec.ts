/**
 * The limiters take the app's own ioredis client, configured as the app needs it. Each
 * configuration here once broke them, or would break code that read replies naively:
 * the test runs the same contention and the same bucket on a client made with it.
 */
import type { RedisOptions } from 'ioredis';
import { SemaphoreLimiter, TokenBucketLimiter } from '../../../lib';
import { targets, uniqueName, useClients } from '../../harness/redis-targets';
import { sleep } from '../../harness/timing';

const configurations: Array<[string, Partial<RedisOptions>]> = [
  // Fail fast while Redis is away: the grant subscriber duplicated from it must still wait for its connection.
  ['enableOfflineQueue: false', { enableOfflineQueue: false }],
  // Integers past 2^53 kept exact: every integer reply arrives as a string.
  ['stringNumbers: true', { stringNumbers: true }],
  // ioredis 5's protocol, and ioredis 6's when asked.
  ['protocol: 2 (RESP2)', { protocol: 2 }],
  ['protocol: 3 (RESP3)', { protocol: 3 }],
  ['keyPrefix', { keyPrefix: 'app:' }],
  ['enableAutoPipelining', { enableAutoPipelining: true }],
];

describe.each(targets)('limiters on a $name client configured by the app', (target) => {
  const { client } = useClients(target);

  it.each(configurations)('%s', async (_, options) => {
    const redis = client(options);
    await redis.connect();

    const semaphore = new SemaphoreLimiter(redis, { name: uniqueName('opts'), capacity: 1 });
    let inFlight = 0;
    let peak = 0;
    const outcomes = await Promise.allSettled(
      Array.from({ length: 4 }, () =>
        semaphore.run(
          async () => {
            peak = Math.max(peak, ++inFlight);
            await sleep(30);
            inFlight -= 1;
          },
          { maxSleep: 5_000 },
        ),
      ),
    );
    expect(
      outcomes.filter((o) => o.status === 'rejected').map((o) => String((o as PromiseRejectedResult).reason)),
    ).toEqual([]);
    expect(peak).toBe(1);
    expect(await semaphore.state()).toEqual({ holders: [], waiters: [] });
    const permit = (await semaphore.tryAcquire())!;
    expect(permit).not.toBeNull();
    expect(await semaphore.tryAcquire()).toBeNull();
    await expect(permit.release()).resolves.toBe(true);

    const bucket = new TokenBucketLimiter(redis, { name: uniqueName('opts'), capacity: 2, refillFrequency: 60_000 });
    const takes = [await bucket.tryTake(), await bucket.tryTake(), await bucket.tryTake()];
    expect(takes.map((t) => t.allowed)).toEqual([true, true, false]);
    expect(takes[2].retryAfter).toBeGreaterThan(50_000);
    expect(typeof takes[2].fullIn).toBe('number');
    const state = await bucket.state();
    expect(state.tokens).toBe(0);
    expect(state.fullIn).toBeGreaterThan(60_000);
  });
});
