import type { ExecutionContext } from '@nestjs/common';
import type { Cluster, Redis, RedisOptions } from 'ioredis';
import type { SemaphoreOptions } from '../core/semaphore-limiter';
import type { TokenBucketOptions } from '../core/token-bucket-limiter';
import type { LimiterStore } from '../core/limiter-store';
import type { RedisClientLike } from '../store/redis/clients/connection-for';
import type { NodeRedisClient, NodeRedisCluster } from '../store/redis/clients/node-redis';
import type { BreakerOptions, LimitMode } from '../core/options';
import type { RefusedLimit } from './transport/limit-exceeded.exception';
import type { LimitersMetricsOptions } from './metrics/metrics-options';
import type { AnyKind } from './kinds/limit-kinds';

/**
 * A limiter declared in module options; the record key is its registered name. No `key`:
 * a registered limiter is the shared limit; getSemaphore(name, key) gives one key's.
 */
export type RegisteredOptions<O> = Omit<O, 'name' | 'key'> & {
  /** The name in Redis, when it differs from the registered name (e.g. shared with another service). */
  name?: string;
};
export type RegisteredSemaphoreOptions = RegisteredOptions<SemaphoreOptions>;
export type RegisteredTokenBucketOptions = RegisteredOptions<TokenBucketOptions>;

/** The options of a kind's limiter. */
type OptionsOf<K extends AnyKind> = Parameters<K['build']>[1];

/** The options a kind's limiters take from module option `defaults`. */
type DefaultsOf<K extends AnyKind> = Partial<Omit<OptionsOf<K>, 'name' | 'key'>>;

/**
 * Named limiters a module declares, one entry per kind (`semaphores`, `tokenBuckets`):
 * injectable with @InjectSemaphore / @InjectTokenBucket.
 */
export type LimitersFeatureOptions = {
  [K in AnyKind as K['words']['optionsKey']]?: Record<string, RegisteredOptions<OptionsOf<K>>>;
};

/** Names of limiters per kind (`semaphores`, `tokenBuckets`). */
export type LimiterNames = { [K in AnyKind as K['words']['optionsKey']]?: string[] };

/**
 * Defaults for every limiter of a kind made through the module, one entry per kind
 * (`semaphore`, `tokenBucket`): maxSleep, expiry, commandTimeout, refillAmount...
 */
export type LimiterDefaults = { [K in AnyKind as K['words']['defaultsKey']]?: DefaultsOf<K> };

/**
 * The HTTP status of each kind's refusals (`tokenBucketStatus`, `semaphoreStatus`; a
 * semaphore has no free slot within maxSleep). Default 429; 503 is a reasonable choice
 * for a semaphore.
 */
export type RefusalStatusOptions = { [K in AnyKind as K['words']['statusOption']]?: number };

export interface LimitersHttpOptions extends RefusalStatusOptions {
  /** Send RateLimit / Retry-After headers. Default true. */
  headers?: boolean;
  /**
   * Builds what a refused HTTP call throws instead of LimitExceededException, to shape
   * the body (Retry-After is still set). Its result is thrown as is: an HttpException
   * gives its own status.
   */
  exceptionFactory?: (refused: RefusedLimit) => unknown;
}

export type WhenRedisFails = 'reject' | 'allow' | 'local';

/** What the module-wide `skip` is told of a limited call. */
export interface LimitedCallInfo {
  /** `Class.method` of the handler or service method. */
  method: string;
  /** What the limits' `key` functions get: `(request, context)` for a handler, a service method's own arguments. */
  args: unknown[];
  /** A handler's request (for GraphQL, the HTTP request behind it); absent for a service method. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the app's own request type, which skip reads as it likes
  request?: any;
  /** A handler's execution context; absent for a service method. */
  context?: ExecutionContext;
}

export interface LimitersModuleOptions extends LimitersFeatureOptions {
  /**
   * ioredis Redis or Cluster instance, or node-redis v5 client or Cluster, connected (the
   * app owns it); a redis:// URL or ioredis RedisOptions (the module makes an ioredis
   * connection, and closes it on shutdown).
   * Left out (and no `store`): limits are kept in this process's memory.
   */
  redis?: Redis | Cluster | NodeRedisClient | NodeRedisCluster | string | RedisOptions;
  /**
   * Where limits live when not in Redis: 'memory' (the default without `redis`: one
   * MemoryStore for the application, limits per process) or any LimiterStore.
   * Cannot be combined with `redis`.
   */
  store?: 'memory' | LimiterStore;
  /** Prefix of every Redis key of limiters made through the module. Default `limiters`. */
  keyPrefix?: string;
  /**
   * Secret of the keyed hash that stands for a caller's key (decorator `key`,
   * getTokenBucket(name, key)...) in Redis, for every limiter made through the module.
   * The same on every instance. Default: a built-in constant (see the core option).
   */
  keySecret?: string;
  /** Writes callers' keys readably in Redis key names (never in messages or answers), for debugging. Default false. */
  readableKeys?: boolean;
  /**
   * 'shadow': every limit of the module is evaluated and reported (events with `shadow:
   * true`) but never refuses or delays a call; a limiter's own `mode` wins. Default 'enforce'.
   */
  mode?: LimitMode;
  /** Defaults for every limiter made through the module (maxSleep, expiry, commandTimeout, refillAmount...). */
  defaults?: LimiterDefaults;
  /** What the HTTP layer answers. */
  http?: LimitersHttpOptions;
  /**
   * When Redis cannot be reached: 'reject' (default: fail closed, HTTP 503), 'allow'
   * (fail open: run the call without a limit, logging a warning), or 'local' (limit the
   * call in this process's memory with its share of the limit: capacity and rate divided
   * by `instances`; see docs/failures.md for what that can and cannot promise). An
   * in-memory store never fails this way, so there it changes nothing.
   */
  whenRedisFails?: WhenRedisFails;
  /**
   * How many processes share the limits, for whenRedisFails 'local': each limits by itself
   * with 1/instances of each capacity and rate while Redis is away. Default 1.
   */
  instances?: number;
  /**
   * The circuit breaker in front of Redis for every limiter of the module (a limiter's own
   * `breaker` option wins): `{ failures, probeInterval }`, or false for none. Default
   * `{ failures: 3, probeInterval: 1000 }`.
   */
  breaker?: BreakerOptions | false;
  /**
   * True: the call is not limited at all (health checks, internal callers, some user
   * agents). Called for every limited call, handlers and service methods, sync or async.
   */
  skip?: (call: LimitedCallInfo) => boolean | Promise<boolean>;
  /**
   * Records OpenTelemetry metrics (limiters.requests, limiters.wait.duration...) through
   * @opentelemetry/api, an optional peer dependency: `true` on the global MeterProvider, or
   * `{ meter }` / `{ meterProvider }`. Default off: nothing listens to the events.
   */
  metrics?: boolean | LimitersMetricsOptions;
}

/** The module options after start-up checks, with every default filled in. */
export interface ResolvedLimitersOptions extends Required<LimitersFeatureOptions> {
  /** What every limiter of the module is built on: the Redis client's RedisStore, or the LimiterStore given. */
  store: LimiterStore;
  /** The Redis client limits live in (made by the module when given a URL or RedisOptions); undefined on a store. */
  redis: RedisClientLike | undefined;
  /** True when the module made the Redis connection, and so closes it on shutdown. */
  ownsRedis: boolean;
  keyPrefix: string | undefined;
  keySecret: string | undefined;
  readableKeys: boolean | undefined;
  mode: LimitMode | undefined;
  defaults: Required<LimiterDefaults>;
  http: Required<Omit<LimitersHttpOptions, 'exceptionFactory'>> & Pick<LimitersHttpOptions, 'exceptionFactory'>;
  whenRedisFails: WhenRedisFails;
  /** How many processes share the limits (whenRedisFails 'local'). */
  instances: number;
  /** The module-wide breaker option, as given (each limiter checks it, as it does keyPrefix). */
  breaker: BreakerOptions | false | undefined;
  skip: ((call: LimitedCallInfo) => boolean | Promise<boolean>) | undefined;
  /** What to record metrics on; undefined when metrics are off. */
  metrics?: LimitersMetricsOptions;
}
