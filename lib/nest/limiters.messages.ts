/** Every user-facing text of the Nest layer, so wording stays consistent and reviewable in one place. */
import type { LimitKind } from '../core/limit-kind';
import type { KindWords } from './kinds/limit-kind.descriptor';
import type { RefusedLimit } from './transport/limit-exceeded.exception';

export const REDIS_OPTION_REQUIREMENT =
  'of LimitersModule must be an ioredis Redis or Cluster instance, a node-redis client or Cluster, a redis:// or rediss:// URL, or ioredis RedisOptions';

export const IOREDIS_REQUIREMENT =
  'of LimitersModule, given as a URL or RedisOptions, makes an ioredis connection, and the ioredis package is not installed: install it (npm install ioredis), or pass a client of your own (ioredis or node-redis)';

export const STORE_OPTION_REQUIREMENT =
  'of LimitersModule must be \'memory\' or a LimiterStore (such as a MemoryStore); a Redis client goes in option "redis"';

export const REDIS_AND_STORE_CONFLICT =
  'of LimitersModule cannot be combined with option "redis": limits live either in Redis or in that store, so pass only one of them';

export const KEY_SECRET_REQUIREMENT = 'of LimitersModule must be a non-empty string';

export const INSTANCES_REQUIREMENT =
  "of LimitersModule must be a whole number of at least 1 (how many processes share the limits, for whenRedisFails: 'local')";

export const READABLE_KEYS_REQUIREMENT = 'of LimitersModule must be true or false';

export const MEMORY_STORE_WARNING =
  "Limits are kept in this process's memory (no \"redis\" option, or store: 'memory'): every process running " +
  'this app enforces its own limits, so N instances admit N times the configured limit. ' +
  'Pass "redis" to LimitersModule.forRoot to share limits across processes.';

/** `decorators`: every kind's, as '@Semaphore'. */
export function moduleNotImported(decorators: string[]): string {
  const named = decorators.length > 1 ? `${decorators.slice(0, -1).join(', ')} or ${decorators.at(-1)}` : decorators[0];
  return (
    `${named} is used, but LimitersModule.forRoot (or forRootAsync) is not imported in this ` +
    'application, so those methods run without any limit. Import it in the root module.'
  );
}

export function unknownLimiter(kind: KindWords, name: string, known: string[]): string {
  const list = known.length === 0 ? 'none is registered' : `registered: ${known.map((n) => `"${n}"`).join(', ')}`;
  return (
    `No ${kind.text} is registered as "${name}" (${list}). ` +
    `Declare it in LimitersModule.forRoot({ ${kind.optionsKey}: { ... } }) (with forRootAsync: in the options ` +
    `its factory returns, and in \`injectable\` if the name is injected before forRootAsync is called) or in ` +
    'LimitersModule.forFeature(...).'
  );
}

export function conflictingRegistration(kind: KindWords, name: string): string {
  return `The ${kind.text} "${name}" is registered twice with different options; give one of them another name.`;
}

export const KEY_RESULT_REQUIREMENT = 'must return a string, a finite number, or undefined for the shared limit';

export function redisConnectionError(reason: string, owned: boolean): string {
  const which = owned ? 'the Redis connection LimitersModule made' : 'the Redis connection given to LimitersModule';
  return `Lost ${which}: ${reason}. Limiter calls fail (or follow whenRedisFails) until it is back.`;
}

export function redisConnectionRecovered(): string {
  return 'The Redis connection of LimitersModule is back: limits are checked in Redis again.';
}

/** `server` is host:port as the client knows it; the reason names limits, never a caller's key. */
export function breakerOpened(server: string, failures: number, reason: string): string {
  return (
    `Circuit breaker for Redis ${server} opened after ${failures} failed calls in a row (the last: ${reason}). ` +
    'Limiter calls to it follow whenRedisFails at once until a probe call gets an answer.'
  );
}

export function breakerClosed(server: string, openMs: number): string {
  return `Circuit breaker for Redis ${server} closed after ${openMs} ms: a probe call got an answer, limits are checked in Redis again.`;
}

export function conflictingDeclarations(kind: KindWords, name: string, first: string, second: string): string {
  return (
    `The ${kind.text} "${name}" is declared with different options on ${first} and on ${second}: ` +
    'they would share one limit in Redis, each enforcing its own options on it. Give one of them another name, ' +
    'or register the limiter once in LimitersModule and name it in both decorators.'
  );
}

export function classLimitOnProvider(className: string): string {
  return (
    `A limit decorator is on the class ${className}, a provider that is not a controller, resolver or gateway, ` +
    'so it has no handlers to apply to. Put the decorator on the methods to limit.'
  );
}

export function onStaticMethod(decorator: string, where: string): string {
  return `${decorator} is on the static method ${where}, which is never limited: use an instance method.`;
}

export function notAMethod(decorator: string, where: string): string {
  return `${decorator} is on ${where}, which is not a method (a getter or setter), and would limit nothing.`;
}

/** A kind of the 'slot' phase declared twice on one method. */
export function secondSlot(kind: KindWords, where: string): string {
  return `${kind.decorator} is applied twice to ${where}: a method holds one ${kind.text}. Keep one, or put the other on a method it calls.`;
}

export function notLimitedNotStatic(owner: string, provider: string): string {
  return (
    `${owner} is not limited: ${provider} is request-scoped or transient, and limits are only applied to ` +
    'singleton providers. Put the limit on a singleton service it calls.'
  );
}

/** `limiter` is the declared name: a keyed limiter's name never holds the caller's key. */
export function letThroughUnlimited(limiter: string, reason: string): string {
  return `Limiter "${limiter}" let a call through unlimited (whenRedisFails: 'allow'): ${reason}`;
}

/** `limiter` is the declared name, never the caller's key. */
export function limitedLocally(limiter: string, reason: string): string {
  return `Limiter "${limiter}" limited a call in this process's memory, with its share of the limit (whenRedisFails: 'local'): ${reason}`;
}

export function unknownSkippedLimit(method: string, names: string[], declared: string[]): string {
  const list = (items: string[]) => items.map((n) => `"${n}"`).join(', ');
  return (
    `@SkipLimits(${list(names)}) on ${method} names no limit that applies to it ` +
    `(its limits: ${declared.length === 0 ? 'none' : list(declared)}), so nothing would be skipped.`
  );
}

export function refundNotMade(kind: KindWords, limiter: string, reason: string): string {
  const text = kind.text[0].toUpperCase() + kind.text.slice(1);
  return `${text} "${limiter}": the ${kind.amount} of a call stay spent, as its refundWhen or the refund failed: ${reason}`;
}

export const NOT_AN_OBSERVABLE = 'A method declared to return an Observable returned something else.';

export const CLIENT_GONE = 'Client closed the request while it waited for its limit.';

/** The message of a refusal's answer: the declared limit, never the caller's key. */
export function refusalMessage({ limit, reason }: RefusedLimit, kind: KindWords): string {
  if (reason === 'redis-unavailable') return `Limit "${limit}" cannot be checked right now.`;
  return `${kind.refusal} "${limit}" exceeded.`;
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

/** A kind core knows that lib/nest/kinds has no descriptor of: a bug of the library, not of its user. */
export function kindWithoutDescriptor(kind: LimitKind): string {
  return `The limit kind "${kind}" has no descriptor in lib/nest/kinds: limits of it cannot be declared through the module.`;
}

export function metricsApiMissing(reason: string): string {
  return `LimitersModule option metrics needs the package @opentelemetry/api (npm install @opentelemetry/api), or a meter of your own in metrics.meter: ${reason}`;
}

export const METRICS_OPTION_REQUIREMENT =
  'of LimitersModule must be true, false or { meter?, meterProvider?, attributes?, stateTimeoutMs? }';

/** The live board's words for a limiter whose state it could not read. */
export const BOARD_STATE_UNAVAILABLE = 'Redis unavailable';
export const BOARD_STATE_TIMED_OUT = 'Redis did not answer in time';
export const BOARD_PATH_REQUIREMENT = "of LimitersBoardModule must be a string (the page's path)";
export const BOARD_AUTHORIZE_REQUIREMENT =
  'of LimitersBoardModule must be a function (request) => boolean | Promise<boolean>';
export const BOARD_RECENT_REQUIREMENT = 'of LimitersBoardModule must be a number of ms, at least 1000';
export const BOARD_REFRESH_REQUIREMENT = 'of LimitersBoardModule must be a number of ms, at least 250';

export const HEALTH_STORE_NOT_PROBED =
  'the limiters keep their state in a store given to LimitersModule, which the health check cannot probe';

export function healthTimeoutRequirement(): string {
  return 'of LimitersHealthIndicator.isHealthy must be a number of milliseconds, at least 1';
}
