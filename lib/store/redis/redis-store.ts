import { randomUUID } from 'node:crypto';
import { RedisUnavailableError } from '../../core/errors';
import type {
  AcquireReply,
  CancelReply,
  LimiterRef,
  LimiterStore,
  SemaphoreBackend,
  SemaphoreSnapshot,
  TokenBucketBackend,
  TokenBucketShape,
} from '../limiter-store';
import { GrantListener } from './grant-listener';
import { limiterKey } from './keys';
import { runScript, type RedisClient, type ScriptName } from './lua-scripts';

const stores = new WeakMap<RedisClient, RedisStore>();

/** Limiter state in Redis (standalone or Cluster); every change is one Lua script call. */
export class RedisStore implements LimiterStore {
  /** Names this process's wake-up channel, so grants reach only the waiters that queued here. */
  private readonly clientId = randomUUID();
  private readonly grants: GrantListener;

  private constructor(private readonly client: RedisClient) {
    this.grants = new GrantListener(client);
  }

  /** One store per client, so all limiters on a client share one subscriber connection. */
  static for(client: RedisClient): RedisStore {
    let store = stores.get(client);
    if (!store) {
      store = new RedisStore(client);
      stores.set(client, store);
    }
    return store;
  }

  semaphore(ref: LimiterRef): SemaphoreBackend {
    const base = limiterKey(ref.keyPrefix, 'semaphore', ref.name);
    const [holders, queue, waiters, arrivals] = ['holders', 'queue', 'waiters', 'arrivals'].map((k) => `${base}:${k}`);
    const channel = `${ref.keyPrefix}:granted:${this.clientId}`;
    const run = (script: ScriptName, keys: string[], args: Array<string | number>) =>
      this.run(ref, script, keys, args);

    return {
      acquire: async ({ id, capacity, leaseMs, waitMs }): Promise<AcquireReply> => {
        const [status, ms] = (await run(
          'semaphoreAcquire',
          [holders, queue, waiters, arrivals],
          [id, capacity, leaseMs, waitMs, channel],
        )) as [number, number];
        if (status === 1) return { status: 'held', leaseLeft: ms };
        return { status: status === 0 ? 'queued' : 'refused', retryIn: ms < 0 ? undefined : ms };
      },
      release: async (id, capacity) =>
        (await run('semaphoreRelease', [holders, queue, waiters], [id, capacity])) === 1,
      renew: async (id, leaseMs) => (await run('semaphoreRenew', [holders], [id, leaseMs])) === 1,
      cancel: async (id): Promise<CancelReply> => {
        const reply = await run('semaphoreCancel', [holders, queue, waiters], [id]);
        return reply === 1 ? 'held' : reply === 0 ? 'dequeued' : 'absent';
      },
      inspect: async (): Promise<SemaphoreSnapshot> => {
        const [live, waiting] = (await run('semaphoreInspect', [holders, queue, waiters], [])) as [
          string[],
          string[],
        ];
        const list = [];
        for (let i = 0; i < live.length; i += 2) list.push({ id: live[i], leaseLeft: Number(live[i + 1]) });
        return { holders: list, waiters: waiting };
      },
      listen: (id, onGranted, onMissed) => {
        const listening = this.grants.listen(channel, id, onGranted, onMissed);
        return { ready: this.bounded(ref, listening.ready), stop: listening.stop };
      },
    };
  }

  tokenBucket(ref: LimiterRef): TokenBucketBackend {
    const bucket = limiterKey(ref.keyPrefix, 'bucket', ref.name);
    const shapeArgs = (s: TokenBucketShape) => [s.capacity, s.refillFrequency, s.refillAmount];
    return {
      take: async (shape, tokens, maxWait) => {
        const [reserved, balance, wait] = (await this.run(ref, 'tokenBucketTake', [bucket], [
          ...shapeArgs(shape),
          tokens,
          maxWait === Infinity ? -1 : maxWait,
        ])) as number[];
        return { reserved: reserved === 1, tokens: balance, wait };
      },
      inspect: async (shape) => {
        const [tokens, nextRefillIn, fullIn] = (await this.run(
          ref,
          'tokenBucketInspect',
          [bucket],
          shapeArgs(shape),
        )) as number[];
        return { tokens, nextRefillIn, fullIn };
      },
    };
  }

  private run(ref: LimiterRef, script: ScriptName, keys: string[], args: Array<string | number>) {
    return this.bounded(ref, runScript(this.client, script, keys, args));
  }

  /**
   * ioredis queues commands while it reconnects, possibly for a long time. Callers get a
   * clear error after commandTimeout instead; the command may still run later, which
   * every script tolerates (a stray lease expires, a stray reservation only under-admits).
   */
  private bounded<T>(ref: LimiterRef, call: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within commandTimeout ${ref.commandTimeout} ms`)),
        ref.commandTimeout,
      );
    });
    return Promise.race([call, timeout])
      .catch((error: unknown) => {
        throw error instanceof RedisUnavailableError ? error : new RedisUnavailableError(ref.name, error);
      })
      .finally(() => clearTimeout(timer));
  }
}
