import type { LimiterStore } from './limiter-store';
import type { RedisClient } from './redis/lua-scripts';
import { RedisStore } from './redis/redis-store';

/** What a limiter is built on: an ioredis Redis or Cluster, or any other LimiterStore. */
export type StoreOrClient = RedisClient | LimiterStore;

export function resolveStore(target: StoreOrClient): LimiterStore {
  const candidate = target as Partial<LimiterStore> | undefined;
  if (candidate && typeof candidate.semaphore === 'function' && typeof candidate.tokenBucket === 'function') {
    return candidate as LimiterStore;
  }
  if (candidate && typeof (target as RedisClient).defineCommand === 'function') {
    return RedisStore.for(target as RedisClient);
  }
  throw new TypeError('A limiter needs an ioredis Redis or Cluster client (or a LimiterStore) as its first argument.');
}
