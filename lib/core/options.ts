import { InvalidOptionError, Withheld } from './errors';
import { checkKnownOptions, LIMITER_OPTIONS } from './known-options';
import type { LimitKind } from './limit-kind';
import type { BreakerSettings, LimiterRef } from './limiter-store';
import { DEFAULT_KEY_SECRET, keyIdOf } from './key-segments';

/** Options every limiter takes. All durations are milliseconds. */
export interface CommonLimiterOptions {
  /** What is being limited, e.g. an API and token. Any string; it is encoded before it reaches a key. */
  name: string;
  /** Longest time a call may wait for the limit. 0: never wait. Infinity: wait forever. Default 30 000. */
  maxSleep?: number;
  /** Prefix of every Redis key and channel. Default `limiters`. */
  keyPrefix?: string;
  /** Longest time one Redis call may take before it fails with RedisUnavailableError. Default 5 000. */
  commandTimeout?: number;
  /**
   * One caller's share of the limit (an API token, a user, a tenant): a limiter with a
   * `key` is its own limit, apart from the plain `name` and from every other key, and no
   * plain name reaches it. The limiter keeps only a keyed hash of it (see `keySecret`);
   * its `name`, and every message, stays the declared name.
   */
  key?: string;
  /**
   * Secret of the keyed hash (HMAC-SHA-256) that stands for `key` in Redis. Every
   * instance sharing limits must use the same. Default: a built-in constant, which keeps
   * keys unreadable but lets anyone who guesses a key check the guess.
   */
  keySecret?: string;
  /** Writes `key` readably in Redis key names (never in messages), for debugging. Default false. */
  readableKeys?: boolean;
  /**
   * 'enforce' (the default) or 'shadow': evaluated exactly as when enforced, and reported
   * (events with `shadow: true`), but no call is ever refused or delayed. To watch a new
   * limit in production before it bites.
   */
  mode?: LimitMode;
  /**
   * The circuit breaker in front of Redis: after `failures` calls in a row fail for
   * connection reasons (or time out), calls to that server fail at once with
   * RedisUnavailableError instead of waiting commandTimeout, and one probe call every
   * `probeInterval` ms tries Redis until one gets an answer. Shared by the limiters of one
   * client with the same settings, per server (per master on a Cluster). `false`: no
   * breaker. Default `{ failures: 3, probeInterval: 1000 }`.
   */
  breaker?: BreakerOptions | false;
}

export interface BreakerOptions {
  /** Calls in a row failing for connection reasons that open the breaker. Default 3. */
  failures?: number;
  /** Ms between probe calls while it is open. Default 1 000. */
  probeInterval?: number;
}

export const BREAKER_DEFAULTS: BreakerSettings = { failures: 3, probeInterval: 1_000 };

/** The breaker's settings, or false; `owner` names the limiter (undefined for module options, whose messages say so). */
export function readBreaker(value: unknown, owner: string | undefined, where = ''): BreakerSettings | false {
  if (value === undefined) return BREAKER_DEFAULTS;
  if (value === false) return false;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidOptionError('breaker', owner, `${where}must be false or { failures?, probeInterval? }`, value);
  }
  checkKnownOptions(value, BREAKER_OPTIONS, owner, `${where}breaker `);
  const reader = new OptionReader({ ...BREAKER_DEFAULTS, ...withoutUndefinedValues(value) }, owner);
  return {
    failures: reader.positiveInteger('failures', undefined, 'breaker.'),
    probeInterval: reader.duration('probeInterval', undefined, { min: 1 }, 'breaker.'),
  };
}

const BREAKER_OPTIONS = ['failures', 'probeInterval'];

function withoutUndefinedValues(value: object): object {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}

export type LimitMode = 'enforce' | 'shadow';

/** The checked options every limiter keeps: what the store needs, and maxSleep. The key itself is not kept. */
export interface ResolvedCommonOptions extends LimiterRef {
  maxSleep: number;
  shadow: boolean;
}

/** The longest delay a Node timer honours (about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export const COMMON_DEFAULTS = { maxSleep: 30_000, keyPrefix: 'limiters', commandTimeout: 5_000 };

export type Resolved<T> = Required<T>;

/** Checks one limiter's options. Every check names the option, so a bad config is fixed in one go. */
export class OptionReader {
  constructor(
    private readonly options: Record<string, unknown>,
    private readonly limiter: string | undefined,
  ) {}

  /** A limiter's options; an option the kind does not take (a typo, most likely) is refused, naming the nearest. */
  static forLimiter(options: unknown, kind: LimitKind): OptionReader {
    if (options === null || typeof options !== 'object') {
      throw new InvalidOptionError('options', undefined, 'must be an object', options);
    }
    const record = options as Record<string, unknown>;
    const name = record.name;
    if (typeof name !== 'string' || name.length === 0) {
      throw new InvalidOptionError('name', undefined, 'must be a non-empty string', name);
    }
    checkKnownOptions(record, LIMITER_OPTIONS[kind], name);
    return new OptionReader(record, name);
  }

  get name(): string {
    return this.limiter as string;
  }

  /** A whole number >= 1 (a count of slots or tokens). */
  positiveInteger(option: string, fallback?: number, path = ''): number {
    const value = this.value(option, fallback);
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      this.fail(path + option, 'must be a whole number of at least 1', value);
    }
    return value as number;
  }

  /**
   * Whole milliseconds from `min` to MAX_TIMER_MS; `Infinity` only where allowed. Node
   * fires longer timers at once, which would turn a lease or a refill into no limit.
   */
  duration(option: string, fallback: number | undefined, { min = 0, infinite = false } = {}, path = ''): number {
    const value = this.value(option, fallback);
    const ok =
      typeof value === 'number' &&
      ((infinite && value === Infinity) || (Number.isSafeInteger(value) && value >= min && value <= MAX_TIMER_MS));
    if (!ok) {
      const range = infinite ? `, or Infinity` : '';
      this.fail(path + option, `must be a whole number of milliseconds from ${min} to ${MAX_TIMER_MS}${range}`, value);
    }
    return value as number;
  }

  /** Option blockDuration: whole ms from 1; 0 when left out (no block). */
  blockDuration(): number {
    return this.options.blockDuration === undefined ? 0 : this.duration('blockDuration', undefined, { min: 1 });
  }

  /** true or false. */
  boolean(option: string, fallback: boolean): boolean {
    const value = this.value(option, fallback);
    if (typeof value !== 'boolean') this.fail(option, 'must be true or false', value);
    return value as boolean;
  }

  /** A key prefix: braces would form a Redis Cluster hash tag and pin every limiter to one slot. */
  keyPrefix(): string {
    const value = this.value('keyPrefix', COMMON_DEFAULTS.keyPrefix);
    if (typeof value !== 'string' || value.length === 0 || /[{}]/.test(value)) {
      this.fail('keyPrefix', 'must be a non-empty string without "{" or "}"', value);
    }
    return value as string;
  }

  common(): ResolvedCommonOptions {
    return {
      name: this.name,
      maxSleep: this.duration('maxSleep', COMMON_DEFAULTS.maxSleep, { infinite: true }),
      keyPrefix: this.keyPrefix(),
      commandTimeout: this.duration('commandTimeout', COMMON_DEFAULTS.commandTimeout, { min: 1 }),
      keyId: this.keyId(),
      shadow: this.mode() === 'shadow',
      breaker: readBreaker(this.options.breaker, this.name),
    };
  }

  private mode(): LimitMode {
    const mode = this.value('mode', 'enforce');
    if (mode !== 'enforce' && mode !== 'shadow') this.fail('mode', 'must be "enforce" or "shadow"', mode);
    return mode as LimitMode;
  }

  /**
   * What stands for option `key` in the store, hashed here, once: the raw key goes no
   * further than the constructor. Bad values are named, never shown: a key is often a secret.
   */
  private keyId(): string | undefined {
    const keySecret = this.value('keySecret', DEFAULT_KEY_SECRET);
    if (typeof keySecret !== 'string' || keySecret.length === 0) {
      this.fail('keySecret', 'must be a non-empty string', new Withheld(keySecret));
    }
    const readableKeys = this.boolean('readableKeys', false);
    const key = this.options.key;
    if (key === undefined) return undefined;
    if (typeof key !== 'string' || key.length === 0) {
      this.fail('key', 'must be a non-empty string, or left out for the limit of the name alone', new Withheld(key));
    }
    return keyIdOf(key, keySecret, readableKeys);
  }

  /** A per-call signal: an AbortSignal, or nothing. Checked before anything is sent to the store. */
  static callSignal(value: unknown, limiter: string): AbortSignal | undefined {
    if (value === undefined || value instanceof AbortSignal) return value;
    throw new InvalidOptionError('signal', limiter, 'must be an AbortSignal', value);
  }

  /**
   * A call's permits of a semaphore: a whole number from 1 to the capacity (1 when the
   * call gives none). More than the capacity could never be granted, and would wait forever.
   */
  static callPermits(value: unknown, limiter: string, capacity: number): number {
    // Every acquire comes here: the common case costs no allocation.
    if (value === undefined) return 1;
    const permits = new OptionReader({ permits: value }, limiter).positiveInteger('permits');
    if (permits > capacity) {
      throw new InvalidOptionError('permits', limiter, `must be at most the capacity, ${capacity}`, value);
    }
    return permits;
  }

  /** A per-call maxSleep, checked like the option; the limiter's own when the call gives none. */
  static callMaxSleep(value: unknown, limiter: string, fallback: number): number {
    return new OptionReader({ maxSleep: value }, limiter).duration('maxSleep', fallback, { infinite: true });
  }

  private value(option: string, fallback: unknown): unknown {
    const value = this.options[option];
    if (value === undefined) {
      if (fallback === undefined) this.fail(option, 'is required', value);
      return fallback;
    }
    return value;
  }

  private fail(option: string, requirement: string, value: unknown): never {
    throw new InvalidOptionError(option, this.limiter, requirement, value);
  }
}
