import { randomUUID } from 'node:crypto';
import { LimiterError } from '../../core/errors';
import type { LimiterRef, LimiterStore, SemaphoreBackend, TokenBucketBackend } from '../../core/limiter-store';
import { connectionFor, type RedisClientLike } from './clients/connection-for';
import type { RedisConnection } from './clients/redis-connection';
import { GrantListener } from './grant-listener';
import { limiterKey } from './keys';
import { redisSemaphore } from './redis-semaphore';
import { redisTokenBucket } from './redis-token-bucket';
import { ScriptRunner } from './script-runner';

const stores = new WeakMap<RedisConnection, RedisStore>();

/** Limiter state in Redis (standalone or Cluster); every change is one Lua script call. */
export class RedisStore implements LimiterStore {
  /** Names this process's wake-up channel, so grants reach only the waiters that queued here. */
  private readonly clientId = randomUUID();
  private readonly grants: GrantListener;

  private constructor(private readonly client: RedisConnection) {
    this.grants = new GrantListener(client);
  }

  /**
   * One store per client, so all limiters on a client share one subscriber connection.
   * Any client lib/store/redis/clients knows: ioredis Redis or Cluster, node-redis client or Cluster.
   */
  static for(client: RedisClientLike): RedisStore {
    const connection = connectionFor(client);
    if (!connection) {
      throw new LimiterError(`RedisStore.for needs an ioredis Redis or Cluster, or a node-redis client or Cluster; received ${typeof client}.`);
    }
    let store = stores.get(connection);
    if (!store) {
      store = new RedisStore(connection);
      stores.set(connection, store);
    }
    return store;
  }

  semaphore(ref: LimiterRef): SemaphoreBackend {
    const channel = `${ref.keyPrefix}:granted:${this.clientId}`;
    const base = limiterKey(ref.keyPrefix, 'semaphore', ref.name, ref.keyId);
    return redisSemaphore(new ScriptRunner(this.client, ref, 'semaphore'), this.grants, base, channel);
  }

  tokenBucket(ref: LimiterRef): TokenBucketBackend {
    return redisTokenBucket(new ScriptRunner(this.client, ref, 'token-bucket'), limiterKey(ref.keyPrefix, 'token-bucket', ref.name, ref.keyId));
  }
}
