import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import { LimiterClosedError, LimiterError } from '../core/errors';
import { closeOpenCalls } from '../core/open-calls';
import { SemaphoreLimiter, type SemaphoreOptions } from '../core/semaphore-limiter';
import type { CommonLimiterOptions } from '../core/options';
import { TokenBucketLimiter, type TokenBucketOptions } from '../core/token-bucket-limiter';
import { compactKey } from '../store/redis/keys';
import { MemoryStore } from '../store/memory/memory-store';
import { resolveStore } from '../store/resolve-store';
import { LimiterCache, stableJson } from './limiter-cache';
import type {
  LimitersModuleOptions,
  RegisteredSemaphoreOptions,
  RegisteredTokenBucketOptions,
  ResolvedLimitersOptions,
} from './limiters-options.interface';
import { LIMITERS_MODULE_OPTIONS } from './limiters.module-definition';
import { conflictingRegistration, MEMORY_STORE_WARNING, redisConnectionError, type LimiterKind } from './limiters.messages';
import { adoptStore, closeRedis, resolveModuleOptions, withoutUndefined } from './resolve-module-options';
import { warnIfRedisEvicts } from './redis-policy-warning';
import { UnknownLimiterError } from './unknown-limiter.error';

/** Most limiters made at run time kept for reuse; see LimiterCache for why dropping one is safe. */
const MAX_CACHED_LIMITERS = 10_000;

interface Registration<L, O> {
  limiter: L;
  /** The merged options it was built from: the base of its per-key variants. */
  options: O;
  /** Those options as stable JSON, to tell a repeated registration from a conflicting one. */
  key: string;
}

/**
 * The limiters of the application: the named ones declared in module options (built at
 * start-up, so bad options fail the start) and those made at run time for a tenant or an
 * API token, which are reused for the same name and options.
 */
@Injectable()
export class LimitersService implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown {
  readonly options: ResolvedLimitersOptions;
  private readonly logger = new Logger('LimitersModule');
  private readonly semaphores = new Map<string, Registration<SemaphoreLimiter, SemaphoreOptions>>();
  private readonly tokenBuckets = new Map<string, Registration<TokenBucketLimiter, TokenBucketOptions>>();
  private readonly runTimeLimiters = new LimiterCache<SemaphoreLimiter | TokenBucketLimiter>(MAX_CACHED_LIMITERS);
  /** Every semaphore made here, also those the cache dropped while a call of theirs was still open. */
  private readonly madeHere = new WeakSet<SemaphoreLimiter>();
  private closed = false;

  constructor(@Inject(LIMITERS_MODULE_OPTIONS) options: LimitersModuleOptions) {
    const resolved = resolveModuleOptions(options);
    this.options = { ...resolved, ...adoptStore(options) };
    if (this.options.ownsRedis) this.reportConnectionErrors(this.options.redis!);
    // Built now, so a bad option fails the application's start and not its first request.
    for (const [name, o] of Object.entries(resolved.semaphores)) this.registerSemaphore(name, o);
    for (const [name, o] of Object.entries(resolved.tokenBuckets)) this.registerTokenBucket(name, o);
  }

  /**
   * A semaphore for a name known only at run time, with the module's defaults, keyPrefix,
   * keySecret and readableKeys. With `key`: that key's own limit under `name`.
   */
  semaphore(options: Partial<SemaphoreOptions> & { name: string }): SemaphoreLimiter {
    const { store, defaults } = this.options;
    const limiter = this.madeAtRunTime('semaphore', defaults.semaphore, options, (o) => {
      const made = new SemaphoreLimiter(store, o);
      this.madeHere.add(made);
      return made;
    });
    if (this.closed) limiter.markClosed();
    return limiter;
  }

  /** A token bucket for a name known only at run time; see semaphore(). */
  tokenBucket(options: Partial<TokenBucketOptions> & { name: string }): TokenBucketLimiter {
    const { store, defaults } = this.options;
    return this.madeAtRunTime('token bucket', defaults.tokenBucket, options, (o) => new TokenBucketLimiter(store, o));
  }

  /**
   * The semaphore registered as `name`; throws UnknownLimiterError listing the registered ones.
   * With a `key`: a semaphore with all the same options, limiting that key alone; it is
   * never the limiter of any plain name (not of `${name}:${key}` either).
   */
  getSemaphore(name: string, key?: string): SemaphoreLimiter {
    const { limiter, options } = this.lookup('semaphore', this.semaphores, name);
    return key === undefined ? limiter : this.semaphore({ ...options, key });
  }

  /** The token bucket registered as `name`; with a `key`, its variant for that key alone. See getSemaphore. */
  getTokenBucket(name: string, key?: string): TokenBucketLimiter {
    const { limiter, options } = this.lookup('token bucket', this.tokenBuckets, name);
    return key === undefined ? limiter : this.tokenBucket({ ...options, key });
  }

  /** Every registered semaphore by registered name. */
  getSemaphores(): Map<string, SemaphoreLimiter> {
    return new Map([...this.semaphores].map(([name, r]) => [name, r.limiter]));
  }

  /** Every registered token bucket by registered name. */
  getTokenBuckets(): Map<string, TokenBucketLimiter> {
    return new Map([...this.tokenBuckets].map(([name, r]) => [name, r.limiter]));
  }

  /**
   * Registers a semaphore under `name` (forRoot and forFeature do this at start-up).
   * Registering the same name again with the same options returns the same limiter.
   */
  registerSemaphore(name: string, options: RegisteredSemaphoreOptions): SemaphoreLimiter {
    const merged = this.merge(this.options.defaults.semaphore, { ...options, name: options.name ?? name }) as SemaphoreOptions;
    return this.register('semaphore', this.semaphores, name, merged, () => this.semaphore(merged));
  }

  /** Registers a token bucket under `name`; see registerSemaphore. */
  registerTokenBucket(name: string, options: RegisteredTokenBucketOptions): TokenBucketLimiter {
    const merged = this.merge(this.options.defaults.tokenBucket, { ...options, name: options.name ?? name }) as TokenBucketOptions;
    return this.register('token bucket', this.tokenBuckets, name, merged, () => this.tokenBucket(merged));
  }

  onModuleInit(): void {
    const { store, redis, ownsRedis } = this.options;
    // Said at every start: an app scaled to N instances silently admits N times its limits.
    if (store instanceof MemoryStore) this.logger.warn(MEMORY_STORE_WARNING);
    // Connecting now shows a wrong address in the start-up log, not at the first request.
    // A failure is logged by reportConnectionErrors and retried by ioredis.
    if (ownsRedis && redis?.status === 'wait') redis.connect().catch(() => undefined);
    if (redis) warnIfRedisEvicts(redis, this.logger);
  }

  /**
   * Closes every semaphore of this service: waiting calls leave the queue in Redis and
   * reject with LimiterClosedError, permits still held are released (their `signal`
   * aborts with a LeaseLostError), releases in flight are awaited, and later calls reject
   * with LimiterClosedError. The app's shutdown does this by itself; call it before
   * quitting a client you gave the module, if you quit it before the app closes.
   */
  async close(): Promise<void> {
    await this.closeSemaphores({ permits: true });
  }

  /**
   * Waiting calls are cancelled while the connection is surely open, before the HTTP
   * server drains: left in the queue, each would be granted a slot nobody uses.
   */
  async beforeApplicationShutdown(): Promise<void> {
    await this.closeSemaphores({ permits: false });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
    if (this.options.ownsRedis) await closeRedis(this.options.redis!);
  }

  private async closeSemaphores({ permits }: { permits: boolean }): Promise<void> {
    this.closed = true;
    for (const { limiter } of this.semaphores.values()) limiter.markClosed();
    await closeOpenCalls(
      // The store the limiters resolved, not the client it may have been given as.
      resolveStore(this.options.store),
      (semaphore) => this.madeHere.has(semaphore as SemaphoreLimiter),
      (semaphore) => new LimiterClosedError(semaphore.name),
      { permits },
    );
  }

  private merge<T extends object>(defaults: object, options: T): T {
    const { keyPrefix, keySecret, readableKeys } = this.options;
    return { ...withoutUndefined({ keyPrefix, keySecret, readableKeys }), ...defaults, ...withoutUndefined(options) } as T;
  }

  /**
   * Reuses the limiter made for equal options. A caller's key is compacted first: the
   * cache then keeps at most 64 characters of it however long it was, and the limiter it
   * builds stands for the same limit (see compactKey).
   */
  private madeAtRunTime<L extends SemaphoreLimiter | TokenBucketLimiter, O extends CommonLimiterOptions>(
    kind: LimiterKind,
    defaults: object,
    options: Partial<O> & { name: string },
    build: (options: O) => L,
  ): L {
    const merged = this.merge(defaults, options) as O;
    // Not a string: left for the limiter to refuse with InvalidOptionError.
    if (typeof merged.key === 'string') merged.key = compactKey(merged.key);
    return this.runTimeLimiters.getOrCreate(`${kind} ${stableJson(merged)}`, () => build(merged)) as L;
  }

  private register<L, O>(
    kind: LimiterKind,
    registry: Map<string, Registration<L, O>>,
    name: string,
    options: O,
    build: () => L,
  ): L {
    const key = stableJson(options);
    const existing = registry.get(name);
    if (existing && existing.key !== key) throw new LimiterError(conflictingRegistration(kind, name));
    if (existing) return existing.limiter;
    const limiter = build();
    registry.set(name, { limiter, options, key });
    return limiter;
  }

  private lookup<L, O>(kind: LimiterKind, registry: Map<string, Registration<L, O>>, name: string): Registration<L, O> {
    const found = registry.get(name);
    if (!found) throw new UnknownLimiterError(kind, name, [...registry.keys()]);
    return found;
  }

  /** One warning per outage: ioredis reports every failed reconnection attempt. */
  private reportConnectionErrors(redis: Redis | Cluster): void {
    let down = false;
    redis.on('error', (error: Error) => {
      if (!down) this.logger.warn(redisConnectionError(error.message));
      down = true;
    });
    redis.on('ready', () => (down = false));
  }
}
