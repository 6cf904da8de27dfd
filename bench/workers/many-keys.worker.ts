/**
 * Scenario 6: `keys` per-user limits, one call each, then Redis memory per key and what is
 * left once they expire. Runs against an otherwise empty redis-server (the orchestrator
 * flushes it first).
 */
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { runWorker } from '../../test/harness/processes';
import { hrnow, sleep } from '../support/clock';
import { lib } from '../support/limiters';
import { info } from '../support/redis-info';

interface Args {
  url: string;
  keys: number;
  /** Bucket shape for our limiter: capacity tokens, one refill of 1 token every refillMs. */
  capacity: number;
  refillMs: number;
  /** Longest wait for the keys to disappear after the last one should have expired. */
  expiryGraceMs: number;
}

const BATCH = 1000;

async function usedMemory(redis: Redis): Promise<number> {
  return Number((await info(redis, 'memory')).used_memory);
}

/** Keys without a TTL (they would stay forever), over a SCAN of the whole keyspace. */
async function keysWithoutTtl(redis: Redis): Promise<number> {
  let cursor = '0';
  let persistent = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 2000);
    cursor = next;
    if (keys.length) {
      const ttls = (await keys.reduce((p, k) => p.pttl(k), redis.pipeline()).exec())!;
      persistent += ttls.filter(([, ttl]) => ttl === -1).length;
    }
  } while (cursor !== '0');
  return persistent;
}

runWorker<Args>(async ({ url, keys, capacity, refillMs, expiryGraceMs }) => {
  const redis = new Redis(url);
  const results: Record<string, unknown> = {};

  const fill = async (name: string, one: (i: number) => Promise<unknown>) => {
    await redis.flushall();
    await sleep(200);
    const before = await usedMemory(redis);
    const t0 = hrnow();
    for (let i = 0; i < keys; i += BATCH) {
      await Promise.all(Array.from({ length: Math.min(BATCH, keys - i) }, (_, k) => one(i + k)));
    }
    const fillMs = hrnow() - t0;
    const dbsize = await redis.dbsize();
    const after = await usedMemory(redis);
    const persistent = await keysWithoutTtl(redis);
    results[name] = {
      fillMs,
      dbsize,
      bytesPerLimit: (after - before) / keys,
      bytesPerKey: (after - before) / dbsize,
      persistent,
    };
    return { t0, fillMs };
  };

  // Peers first (their keys are flushed before ours are made).
  const rlf = new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: 'rlf',
    points: capacity,
    duration: Math.ceil((capacity * refillMs) / 1000),
  });
  await fill('rate-limiter-flexible', (i) => rlf.consume(`user:${i}`, 1));
  const throttler = new ThrottlerStorageRedisService(redis);
  await fill('@nest-lab/throttler-storage-redis', (i) =>
    throttler.increment(`user:${i}`, capacity * refillMs, capacity, 0, 'default'),
  );

  // Ours: every bucket emptied, so each key lives until full again plus one period.
  const { t0 } = await fill('nestjs-limiters', (i) =>
    new lib.TokenBucketLimiter(redis, { name: `user:${i}`, capacity, refillFrequency: refillMs, maxSleep: 0 }).tryTake(
      capacity,
    ),
  );
  const lastExpiry = hrnow() + (capacity + 1) * refillMs; // upper bound for the last key made
  const remaining: Array<[ms: number, dbsize: number]> = [];
  let dbsize = await redis.dbsize();
  while (dbsize > 0 && hrnow() < lastExpiry + expiryGraceMs) {
    await sleep(500);
    dbsize = await redis.dbsize();
    remaining.push([Math.round(hrnow() - t0), dbsize]);
  }
  Object.assign(results['nestjs-limiters'] as object, {
    ttlMs: (capacity + 1) * refillMs,
    remaining,
    leftAfterExpiry: dbsize,
    zeroAfterMs: dbsize === 0 ? Math.round(hrnow() - t0) : null,
  });
  redis.disconnect();
  return results;
});
