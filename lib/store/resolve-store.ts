import { addClientAdapter } from '../core/store-resolver';
import type { RedisClient } from './redis/lua-scripts';
import { RedisStore } from './redis/redis-store';

export type { StoreOrClient } from '../core/store-resolver';

/**
 * Limiters built on an ioredis client keep their state in a RedisStore (one per client).
 * Told apart by defineCommand, not instanceof: the app may load another copy of ioredis.
 * Registered when this module loads, which the package's entry point does.
 */
export function redisClientStore(client: object): RedisStore | undefined {
  return typeof (client as Partial<RedisClient>).defineCommand === 'function' ? RedisStore.for(client as RedisClient) : undefined;
}

addClientAdapter(redisClientStore);
