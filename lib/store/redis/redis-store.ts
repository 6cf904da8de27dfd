import { randomUUID } from 'node:crypto';
import { LimiterError } from '../../core/errors';
import type {
  FixedWindowBackend,
  LimiterRef,
  LimiterStore,
  SemaphoreBackend,
  SlidingWindowBackend,
  TokenBucketBackend,
} from '../../core/limiter-store';
import { ClientBreakers, type Breaker } from './breaker';
import { connectionFor, type RedisClientLike } from './clients/connection-for';
import type { RedisConnection } from './clients/redis-connection';
import { GrantListener } from './grant-listener';
import { limiterKey } from './keys';
import { redisFixedWindow } from './redis-fixed-window';
import { redisSlidingWindow } from './redis-sliding-window';
import { redisSemaphore } from './redis-semaphore';
import { redisTokenBucket } from './redis-token-bucket';
import { ScriptRunner } from './script-runner';

const stores = new WeakMap<RedisConnection, RedisStore>();

/** Limiter state in Redis (standalone or Cluster); every change is one Lua script call. */
export class RedisStore implements LimiterStore {
  /** Names this process's wake-up channel, so grants reach only the waiters that queued here. */
  private readonly clientId = randomUUID();
  private readonly grants: GrantListener;
  /** The circuit breakers in front of this client's servers; `onChange` tells when one opens or closes. */
  readonly breakers: ClientBreakers;

  private constructor(private readonly client: RedisConnection) {
    this.grants = new GrantListener(client);
    this.breakers = new ClientBreakers(client);
  }

  /**
   * One store per client, so all limiters on a client share one subscriber connection.
   * Any client lib/store/redis/clients knows: ioredis Redis or Cluster, node-redis client or Cluster.
   */
  static for(client: RedisClientLike): RedisStore {
    const connection = connectionFor(client);
    if (!connection) {
      throw new LimiterError(
        `RedisStore.for needs an ioredis Redis or Cluster, or a node-redis client or Cluster; received ${typeof client}.`,
      );
    }
    let store = stores.get(connection);
    if (!store) {
      store = new RedisStore(connection);
      stores.set(connection, store);
    }
    return store;
  }

  semaphore(ref: LimiterRef): SemaphoreBackend {
    const base = limiterKey(ref.keyPrefix, 'semaphore', ref.name, ref.keyId);
    // The sharded channel carries the semaphore's hash tag: SPUBLISH from its scripts stays on its shard.
    const channels = {
      plain: `${ref.keyPrefix}:granted:${this.clientId}`,
      sharded: `${base}:granted:${this.clientId}`,
    };
    return redisSemaphore(
      new ScriptRunner(this.client, ref, 'semaphore', this.breaker(ref, base)),
      this.grants,
      base,
      channels,
    );
  }

  tokenBucket(ref: LimiterRef): TokenBucketBackend {
    const bucket = limiterKey(ref.keyPrefix, 'token-bucket', ref.name, ref.keyId);
    return redisTokenBucket(new ScriptRunner(this.client, ref, 'token-bucket', this.breaker(ref, bucket)), bucket);
  }

  fixedWindow(ref: LimiterRef): FixedWindowBackend {
    const key = limiterKey(ref.keyPrefix, 'fixed-window', ref.name, ref.keyId);
    return redisFixedWindow(new ScriptRunner(this.client, ref, 'fixed-window', this.breaker(ref, key)), key);
  }

  slidingWindow(ref: LimiterRef): SlidingWindowBackend {
    const key = limiterKey(ref.keyPrefix, 'sliding-window', ref.name, ref.keyId);
    return redisSlidingWindow(new ScriptRunner(this.client, ref, 'sliding-window', this.breaker(ref, key)), key);
  }

  /** The breaker lookup for a limiter whose keys share `slotKey`'s hash tag; none when its options say so. */
  private breaker(ref: LimiterRef, slotKey: string): (() => Breaker) | undefined {
    return ref.breaker ? this.breakers.lookup(ref.breaker, slotKey) : undefined;
  }
}
