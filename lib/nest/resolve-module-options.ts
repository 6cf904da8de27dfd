import type { Cluster, Redis, RedisOptions } from 'ioredis';
import { InvalidOptionError, Withheld } from '../core/errors';
import { checkKnownOptions } from '../core/known-options';
import { readBreaker } from '../core/options';
import type { LimiterStore } from '../core/limiter-store';
import { MemoryStore } from '../store/memory/memory-store';
import { isRedisClient } from '../store/redis/clients/connection-for';
import { RedisStore } from '../store/redis/redis-store';
import { withoutUndefined } from './without-undefined';
import { LIMIT_KINDS } from './kinds/limit-kinds';
import type {
  LimitersFeatureOptions,
  LimitersModuleOptions,
  ResolvedLimitersOptions,
} from './limiters-options.interface';
import {
  INSTANCES_REQUIREMENT,
  KEY_SECRET_REQUIREMENT,
  METRICS_OPTION_REQUIREMENT,
  READABLE_KEYS_REQUIREMENT,
  IOREDIS_REQUIREMENT,
  REDIS_AND_STORE_CONFLICT,
  REDIS_OPTION_REQUIREMENT,
  STORE_OPTION_REQUIREMENT,
} from './limiters.messages';

/** Each kind's refusals answer 429 unless `http` says otherwise. */
export const HTTP_DEFAULTS = {
  ...(Object.fromEntries(LIMIT_KINDS.map(({ words }) => [words.statusOption, 429])) as Record<StatusOption, number>),
  headers: true,
};

type StatusOption = (typeof LIMIT_KINDS)[number]['words']['statusOption'];

/** Every option LimitersModule takes (forRoot adds isGlobal, which Nest's builder takes off first). */
const MODULE_OPTIONS = [
  'redis',
  'store',
  'keyPrefix',
  'keySecret',
  'readableKeys',
  'mode',
  'defaults',
  'http',
  'whenRedisFails',
  'skip',
  ...LIMIT_KINDS.map(({ words }) => words.optionsKey),
  'metrics',
  'breaker',
  'instances',
];
const METRICS_OPTIONS = ['meter', 'meterProvider', 'attributes', 'stateTimeoutMs'];
const HTTP_OPTIONS = [...Object.keys(HTTP_DEFAULTS), 'exceptionFactory'];

/** Where the module's limits live, and whether the module owns a Redis connection it must close. */
export type ModuleStore = Pick<ResolvedLimitersOptions, 'store' | 'redis' | 'ownsRedis'>;

/**
 * Checks the module-level options (each limiter checks its own when it is built) and
 * fills in defaults. Makes no connection: see adoptStore().
 */
export function resolveModuleOptions(options: LimitersModuleOptions): Omit<ResolvedLimitersOptions, keyof ModuleStore> {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('options', undefined, 'of LimitersModule must be an object', options);
  }
  checkKnownOptions(options, MODULE_OPTIONS, undefined, 'of LimitersModule ');
  checkStoreOptions(options);
  const http = { ...HTTP_DEFAULTS, ...withoutUndefined(options.http ?? {}) };
  for (const { words } of LIMIT_KINDS) {
    const option = words.statusOption;
    const status = http[option];
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new InvalidOptionError(
        `http.${option}`,
        undefined,
        'of LimitersModule must be an HTTP error status (400-599)',
        status,
      );
    }
  }
  checkKnownOptions(http, HTTP_OPTIONS, undefined, 'of LimitersModule ');
  if (http.exceptionFactory !== undefined && typeof http.exceptionFactory !== 'function') {
    throw new InvalidOptionError(
      'http.exceptionFactory',
      undefined,
      'of LimitersModule must be a function',
      http.exceptionFactory,
    );
  }
  if (options.mode !== undefined && options.mode !== 'enforce' && options.mode !== 'shadow') {
    throw new InvalidOptionError('mode', undefined, 'of LimitersModule must be "enforce" or "shadow"', options.mode);
  }
  if (options.skip !== undefined && typeof options.skip !== 'function') {
    throw new InvalidOptionError('skip', undefined, 'of LimitersModule must be a function', options.skip);
  }
  if (typeof http.headers !== 'boolean') {
    throw new InvalidOptionError('http.headers', undefined, 'of LimitersModule must be true or false', http.headers);
  }
  const whenRedisFails = options.whenRedisFails ?? 'reject';
  if (whenRedisFails !== 'reject' && whenRedisFails !== 'allow' && whenRedisFails !== 'local') {
    throw new InvalidOptionError(
      'whenRedisFails',
      undefined,
      'of LimitersModule must be "reject", "allow" or "local"',
      whenRedisFails,
    );
  }
  // null is a wrong value, not a left-out one.
  const instances = options.instances === undefined ? 1 : options.instances;
  if (typeof instances !== 'number' || !Number.isSafeInteger(instances) || instances < 1) {
    throw new InvalidOptionError('instances', undefined, INSTANCES_REQUIREMENT, instances);
  }
  // Checked here too, so a bad value fails the start even before any limiter is built.
  if (options.breaker !== undefined) readBreaker(options.breaker, undefined, 'of LimitersModule ');
  const { keySecret, readableKeys } = options;
  if (keySecret !== undefined && (typeof keySecret !== 'string' || keySecret.length === 0)) {
    throw new InvalidOptionError('keySecret', undefined, KEY_SECRET_REQUIREMENT, new Withheld(keySecret));
  }
  if (readableKeys !== undefined && typeof readableKeys !== 'boolean') {
    throw new InvalidOptionError('readableKeys', undefined, READABLE_KEYS_REQUIREMENT, readableKeys);
  }
  return {
    keyPrefix: options.keyPrefix,
    keySecret,
    readableKeys,
    defaults: Object.fromEntries(
      LIMIT_KINDS.map(({ words }) => [
        words.defaultsKey,
        withoutUndefined(options.defaults?.[words.defaultsKey] ?? {}),
      ]),
    ) as ResolvedLimitersOptions['defaults'],
    ...(Object.fromEntries(
      LIMIT_KINDS.map(({ words }) => [words.optionsKey, { ...options[words.optionsKey] }]),
    ) as Required<LimitersFeatureOptions>),
    http,
    whenRedisFails,
    instances,
    breaker: options.breaker,
    skip: options.skip,
    mode: options.mode,
    metrics: resolveMetrics(options.metrics),
  };
}

/** `metrics` as the recorder takes it: undefined when off, `{}` for the global MeterProvider. */
function resolveMetrics(metrics: LimitersModuleOptions['metrics']): ResolvedLimitersOptions['metrics'] {
  if (metrics === undefined || metrics === false) return undefined;
  if (metrics === true) return {};
  if (metrics === null || typeof metrics !== 'object') {
    throw new InvalidOptionError('metrics', undefined, METRICS_OPTION_REQUIREMENT, metrics);
  }
  checkKnownOptions(metrics, METRICS_OPTIONS, undefined, 'of LimitersModule metrics ');
  for (const option of ['attributes'] as const) {
    if (metrics[option] !== undefined && typeof metrics[option] !== 'function') {
      throw new InvalidOptionError(
        `metrics.${option}`,
        undefined,
        'of LimitersModule must be a function',
        metrics[option],
      );
    }
  }
  const { stateTimeoutMs } = metrics;
  if (
    stateTimeoutMs !== undefined &&
    (typeof stateTimeoutMs !== 'number' || !(stateTimeoutMs > 0) || !Number.isFinite(stateTimeoutMs))
  ) {
    throw new InvalidOptionError(
      'metrics.stateTimeoutMs',
      undefined,
      'of LimitersModule must be a positive number of ms',
      stateTimeoutMs,
    );
  }
  return { ...metrics };
}

/**
 * Without `redis`: the store given, or a new MemoryStore, which is then the one store of
 * the application (LimitersService is a singleton of the global core module). With
 * `redis`: the app's own client as is, or a new client the module then owns. The new
 * client connects on LimitersService.onModuleInit, so an app that fails to start leaves
 * no socket behind.
 */
export function adoptStore({ redis, store }: Pick<LimitersModuleOptions, 'redis' | 'store'>): ModuleStore {
  if (redis === undefined) {
    return {
      store: store === undefined || store === 'memory' ? new MemoryStore() : store,
      redis: undefined,
      ownsRedis: false,
    };
  }
  if (isRedisClient(redis)) return { store: RedisStore.for(redis), redis, ownsRedis: false };
  const Ioredis = loadIoredis(redis);
  const client =
    typeof redis === 'string'
      ? new Ioredis(redis, { lazyConnect: true })
      : new Ioredis({ ...(redis as RedisOptions), lazyConnect: true });
  return { store: RedisStore.for(client), redis: client, ownsRedis: true };
}

/**
 * ioredis is loaded only where the module makes a connection itself (a URL or
 * RedisOptions): an app that brings a node-redis client need not install it.
 */
function loadIoredis(redis: unknown): typeof Redis {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional: only this path needs ioredis
    return (require('ioredis') as typeof import('ioredis')).Redis;
  } catch (error) {
    if ((error as { code?: string }).code !== 'MODULE_NOT_FOUND') throw error;
    // A URL may hold a password: the option's value is not quoted.
    throw new InvalidOptionError('redis', undefined, IOREDIS_REQUIREMENT, new Withheld(redis));
  }
}

/**
 * Closes a connection and resolves once its socket is gone, so nothing outlives app.close().
 * A connection that is not up is dropped: quit() would wait for it forever.
 */
export async function closeRedis(client: Redis | Cluster): Promise<void> {
  if (client.status === 'end') return;
  // Between two reconnection attempts there is no socket left: disconnect() cancels the
  // next attempt, and ioredis never emits 'end' for it, so waiting for 'end' would hang.
  const socketToClose = client.status !== 'reconnecting';
  const ended = new Promise((resolve) => client.once('end', resolve));
  if (client.status === 'ready') await client.quit().catch(() => client.disconnect());
  else client.disconnect();
  if (socketToClose) await ended;
  // quit() leaves a Sentinel client's failoverDetector subscribed on every Sentinel, and those
  // connections would keep the process alive; only disconnect() closes them.
  if ((client as Redis).options?.failoverDetector) client.disconnect();
}

function checkStoreOptions({ redis, store }: LimitersModuleOptions): void {
  if (redis !== undefined && store !== undefined) {
    throw new InvalidOptionError('store', undefined, REDIS_AND_STORE_CONFLICT, store);
  }
  if (redis !== undefined) checkRedisOption(redis);
  if (store !== undefined && store !== 'memory' && !isStore(store)) {
    throw new InvalidOptionError('store', undefined, STORE_OPTION_REQUIREMENT, store);
  }
}

function checkRedisOption(redis: unknown): void {
  const ok =
    isRedisClient(redis) ||
    (typeof redis === 'string' && /^(rediss?:\/\/|\/)/.test(redis)) ||
    (redis !== null && typeof redis === 'object' && !Array.isArray(redis));
  if (!ok) throw new InvalidOptionError('redis', undefined, REDIS_OPTION_REQUIREMENT, redis);
}

function isStore(store: unknown): store is LimiterStore {
  const candidate = store as Partial<LimiterStore> | null;
  return typeof candidate?.semaphore === 'function' && typeof candidate.tokenBucket === 'function';
}
