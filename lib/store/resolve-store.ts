import { addClientAdapter } from '../core/store-resolver';
import { isRedisClient } from './redis/clients/connection-for';
import { RedisStore } from './redis/redis-store';

export type { StoreOrClient } from '../core/store-resolver';

/**
 * Limiters built on a Redis client (ioredis, or node-redis v5) keep their state in a
 * RedisStore (one per client). lib/store/redis/clients tells the clients apart.
 * Registered when this module loads, which the package's entry point does.
 */
export function redisClientStore(client: object): RedisStore | undefined {
  return isRedisClient(client) ? RedisStore.for(client) : undefined;
}

addClientAdapter(redisClientStore);
