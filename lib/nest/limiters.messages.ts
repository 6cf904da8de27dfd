/** Every user-facing text of the Nest layer, so wording stays consistent and reviewable in one place. */

export type LimiterKind = 'semaphore' | 'token bucket';

export const REDIS_OPTION_REQUIREMENT =
  'of LimitersModule must be an ioredis Redis or Cluster instance, a redis:// or rediss:// URL, or ioredis RedisOptions';

export const STORE_OPTION_REQUIREMENT =
  'of LimitersModule must be \'memory\' or a LimiterStore (such as a MemoryStore); a Redis client goes in option "redis"';

export const REDIS_AND_STORE_CONFLICT =
  'of LimitersModule cannot be combined with option "redis": limits live either in Redis or in that store, so pass only one of them';

export const KEY_SECRET_REQUIREMENT = 'of LimitersModule must be a non-empty string';

export const READABLE_KEYS_REQUIREMENT = 'of LimitersModule must be true or false';

export const MEMORY_STORE_WARNING =
  'Limits are kept in this process\'s memory (no "redis" option, or store: \'memory\'): every process running ' +
  'this app enforces its own limits, so N instances admit N times the configured limit. ' +
  'Pass "redis" to LimitersModule.forRoot to share limits across processes.';

export const MODULE_NOT_IMPORTED_WARNING =
  '@Semaphore or @TokenBucket is used, but LimitersModule.forRoot (or forRootAsync) is not imported in this ' +
  'application, so those methods run without any limit. Import it in the root module.';

export function unknownLimiter(kind: LimiterKind, name: string, known: string[]): string {
  const list = known.length === 0 ? 'none is registered' : `registered: ${known.map((n) => `"${n}"`).join(', ')}`;
  return (
    `No ${kind} is registered as "${name}" (${list}). ` +
    `Declare it in LimitersModule.forRoot({ ${optionKey(kind)}: { ... } }) or LimitersModule.forFeature(...).`
  );
}

export function conflictingRegistration(kind: LimiterKind, name: string): string {
  return `The ${kind} "${name}" is registered twice with different options; give one of them another name.`;
}

export const KEY_RESULT_REQUIREMENT = 'must return a string, a finite number, or undefined for the shared limit';

/** `limiter` is the declared name: a keyed limiter's name never holds the caller's key. */
export function letThroughUnlimited(limiter: string, reason: string): string {
  return `Limiter "${limiter}" let a call through unlimited (whenRedisFails: 'allow'): ${reason}`;
}

export function redisConnectionError(reason: string): string {
  return `Lost the Redis connection LimitersModule made: ${reason}. Limiter calls fail until it is back.`;
}

export function evictingRedis(servers: Array<{ server: string; policy: string }>): string {
  const list = servers.map((s) => `${s.policy} on ${s.server}`).join(', ');
  return (
    `The limiters' Redis may evict keys under memory pressure (maxmemory-policy ${list}). An evicted key ` +
    'forgets holders and spent tokens: a semaphore then admits more than its capacity and a token bucket more ' +
    'than its rate. Set maxmemory-policy noeviction on the Redis that holds the limiters.'
  );
}

export function redisPolicyUnknown(reason: string): string {
  return `Could not check that Redis keeps limiter keys (maxmemory-policy noeviction): ${reason}.`;
}

function optionKey(kind: LimiterKind): string {
  return kind === 'semaphore' ? 'semaphores' : 'tokenBuckets';
}
