import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { LimiterClosedError, LimiterError } from '../core/errors';
import { closeOpenCalls } from '../core/open-calls';
import type { LimitKind } from '../core/limit-kind';
import type { SemaphoreLimiter, SemaphoreOptions } from '../core/semaphore-limiter';
import type { TokenBucketLimiter, TokenBucketOptions } from '../core/token-bucket-limiter';
import { compactKey } from '../core/key-segments';
import { resolveStore } from '../core/store-resolver';
import type { Limiter } from './kinds/limit-kind.descriptor';
import { kindOf, LIMIT_KINDS } from './kinds/limit-kinds';
import { LimiterCache, stableJson } from './limiter-cache';
import type {
  RegisteredSemaphoreOptions,
  RegisteredTokenBucketOptions,
  ResolvedLimitersOptions,
} from './limiters-options.interface';
import { LIMITERS_OPTIONS } from './limiters-options.provider';
import { conflictingRegistration, kindWithoutDescriptor } from './limiters.messages';
import { withoutUndefined } from './without-undefined';
import { UnknownLimiterError } from './unknown-limiter.error';

/** Most limiters made at run time kept for reuse; see LimiterCache for why dropping one is safe. */
const MAX_CACHED_LIMITERS = 10_000;

interface Registration {
  limiter: Limiter;
  /** The merged options it was built from: the base of its per-key variants. */
  options: { name: string } & Record<string, unknown>;
  /** Those options as stable JSON, to tell a repeated registration from a conflicting one. */
  json: string;
}

/**
 * The limiters of the application: the named ones declared in module options or with
 * forFeature (built at start-up, so bad options fail the start), and those made at run
 * time for a tenant or an API token, reused for the same name, key and options.
 */
@Injectable()
export class LimitersService implements BeforeApplicationShutdown {
  /** The registered limiters of each kind (see kinds/limit-kinds.ts) by registered name. */
  private readonly registry = new Map<LimitKind, Map<string, Registration>>(
    LIMIT_KINDS.map((type) => [type.kind, new Map()]),
  );
  private readonly madeAtRunTime = new LimiterCache<Limiter>(MAX_CACHED_LIMITERS);
  /**
   * Every limiter made here, also those the cache dropped while a call of theirs was still
   * open, with the options (and key) it was made from.
   */
  private readonly madeHere = new WeakMap<object, { name: string } & Record<string, unknown>>();
  private closed = false;

  constructor(@Inject(LIMITERS_OPTIONS) readonly options: ResolvedLimitersOptions) {
    for (const type of LIMIT_KINDS) {
      for (const [name, o] of Object.entries(options[type.words.optionsKey])) this.register(type.kind, name, o);
    }
  }

  /**
   * A semaphore for a name known only at run time, with the module's defaults, keyPrefix,
   * keySecret and readableKeys. With `key`: that key's own limit under `name`.
   */
  semaphore(options: Partial<SemaphoreOptions> & { name: string }): SemaphoreLimiter {
    return this.made('semaphore', options) as SemaphoreLimiter;
  }

  /** A token bucket for a name known only at run time; see semaphore(). */
  tokenBucket(options: Partial<TokenBucketOptions> & { name: string }): TokenBucketLimiter {
    return this.made('token-bucket', options) as TokenBucketLimiter;
  }

  /**
   * The semaphore registered as `name`; throws UnknownLimiterError listing the registered ones.
   * With a `key`: a semaphore with all the same options, limiting that key alone; it is
   * never the limiter of any plain name (not of `${name}:${key}` either).
   */
  getSemaphore(name: string, key?: string): SemaphoreLimiter {
    return this.registered('semaphore', name, key) as SemaphoreLimiter;
  }

  /** The token bucket registered as `name`; with a `key`, its variant for that key alone. See getSemaphore. */
  getTokenBucket(name: string, key?: string): TokenBucketLimiter {
    return this.registered('token-bucket', name, key) as TokenBucketLimiter;
  }

  /** Every registered semaphore by registered name. */
  getSemaphores(): Map<string, SemaphoreLimiter> {
    return this.all('semaphore') as Map<string, SemaphoreLimiter>;
  }

  /** Every registered token bucket by registered name. */
  getTokenBuckets(): Map<string, TokenBucketLimiter> {
    return this.all('token-bucket') as Map<string, TokenBucketLimiter>;
  }

  /**
   * Registers a semaphore under `name` (forRoot and forFeature do this at start-up).
   * Registering the same name again with the same options returns the same limiter.
   */
  registerSemaphore(name: string, options: RegisteredSemaphoreOptions): SemaphoreLimiter {
    return this.register('semaphore', name, options) as SemaphoreLimiter;
  }

  /** Registers a token bucket under `name`; see registerSemaphore. */
  registerTokenBucket(name: string, options: RegisteredTokenBucketOptions): TokenBucketLimiter {
    return this.register('token-bucket', name, options) as TokenBucketLimiter;
  }

  /** @internal Registers a limiter of a kind under `name` (forFeature's providers); see registerSemaphore. */
  registerAs(kind: LimitKind, name: string, options: object): Limiter {
    return this.register(kind, name, options);
  }

  /** @internal The registered limiter of a kind, or its variant for `key`. */
  registered(kind: LimitKind, name: string, key?: string): Limiter {
    const found = this.registryOf(kind).get(name);
    if (!found) throw new UnknownLimiterError(kind, name, [...this.registryOf(kind).keys()]);
    return key === undefined ? found.limiter : this.made(kind, found.options, key);
  }

  /** @internal Every registered limiter of a kind by registered name. */
  all(kind: LimitKind): Map<string, Limiter> {
    return new Map([...this.registryOf(kind)].map(([name, r]) => [name, r.limiter]));
  }

  /**
   * @internal The registered limiter, or a stand-in that throws UnknownLimiterError on use
   * (see injectedLimiterProviders).
   */
  registeredOrMissing(kind: LimitKind, name: string): Limiter {
    if (this.registryOf(kind).has(name)) return this.registered(kind, name);
    const fail = () => this.registered(kind, name);
    const limiterMethods = new Set(
      Object.getOwnPropertyNames(kindOf(kind).prototype).filter((p) => p !== 'constructor'),
    );
    return new Proxy(Object.create(null) as Limiter, {
      get: (_, property) => {
        // Nest probes providers (lifecycle hooks, constructor): those must read as absent, not throw.
        if (typeof property === 'string' && limiterMethods.has(property)) return fail();
        return undefined;
      },
    });
  }

  /** @internal
   * A limiter made at run time from options (with the module's defaults), reused while
   * cached. A caller's key is compacted first: the cache then keeps at most 64 characters
   * of it however long it was, and the limiter it builds stands for the same limit (see
   * compactKey).
   */
  made(kind: LimitKind, options: { name: string } & object, key?: string): Limiter {
    const merged = this.merge(kind, options);
    const keyed = key === undefined ? merged : { ...merged, key };
    // Not a string: left for the limiter to refuse with InvalidOptionError.
    if (typeof keyed.key === 'string') keyed.key = compactKey(keyed.key);
    const limiter = this.madeAtRunTime.getOrCreate(`${kind} ${stableJson(keyed)}`, () => {
      const made = kindOf(kind).build(this.options.store, keyed);
      this.madeHere.set(made, keyed);
      return made;
    });
    if (this.closed) kindOf(kind).close?.(limiter);
    return limiter;
  }

  /** @internal The options (with the caller's key) a limiter was made from here; undefined for one made elsewhere. */
  optionsOf(limiter: Limiter): ({ name: string } & Record<string, unknown>) | undefined {
    return this.madeHere.get(limiter);
  }

  /**
   * Closes every semaphore of this service: waiting calls leave the queue in Redis and
   * reject with LimiterClosedError, permits still held are released (their `signal`
   * aborts with a LeaseLostError), releases in flight are awaited, and later calls reject
   * with LimiterClosedError. The app's shutdown does this by itself; call it before
   * quitting a client you gave the module, if you quit it before the app closes.
   */
  async close(): Promise<void> {
    await this.closeLimiters({ permits: true });
  }

  /**
   * Waiting calls are cancelled while the connection is surely open, before the HTTP
   * server drains: left in the queue, each would be granted a slot nobody uses.
   * LimitersConnection closes the rest before it closes the connection.
   */
  async beforeApplicationShutdown(): Promise<void> {
    await this.closeLimiters({ permits: false });
  }

  private async closeLimiters({ permits }: { permits: boolean }): Promise<void> {
    this.closed = true;
    for (const type of LIMIT_KINDS) {
      if (type.close) for (const { limiter } of this.registryOf(type.kind).values()) type.close(limiter as never);
    }
    await closeOpenCalls(
      // The store the limiters resolved, not the client it may have been given as.
      resolveStore(this.options.store),
      (semaphore) => this.madeHere.has(semaphore),
      (semaphore) => new LimiterClosedError(semaphore.name),
      { permits },
    );
  }

  /** @internal
   * The name a limit has in Redis and its options as stable JSON (per-call functions by
   * identity): two declarations with the same name and different JSON would share one limiter's
   * state with different rules. A registered name that is not registered throws here.
   */
  describe(kind: LimitKind, registered?: string, inline?: { name: string } & object): { name: string; json: string } {
    if (registered !== undefined) this.registered(kind, registered);
    const options =
      registered === undefined ? this.merge(kind, inline!) : this.registryOf(kind).get(registered)!.options;
    // Functions by identity: one function shared by two declarations is one rule.
    const json = stableJson(options, (v) => (typeof v === 'function' ? `(per call #${functionId(v)})` : v));
    return { name: options.name, json };
  }

  private register(kind: LimitKind, name: string, options: object): Limiter {
    const merged = this.merge(kind, { ...options, name: (options as { name?: string }).name ?? name });
    const json = stableJson(merged);
    const existing = this.registryOf(kind).get(name);
    if (existing && existing.json !== json) throw new LimiterError(conflictingRegistration(kindOf(kind).words, name));
    if (existing) return existing.limiter;
    const limiter = this.made(kind, merged);
    this.registryOf(kind).set(name, { limiter, options: merged, json });
    return limiter;
  }

  private registryOf(kind: LimitKind): Map<string, Registration> {
    const registry = this.registry.get(kind);
    if (!registry) throw new LimiterError(kindWithoutDescriptor(kind));
    return registry;
  }

  private merge(kind: LimitKind, options: object): { name: string } & Record<string, unknown> {
    const { keyPrefix, keySecret, readableKeys, mode, breaker, defaults } = this.options;
    const ofKind = (defaults as Record<string, object>)[kindOf(kind).words.defaultsKey];
    const moduleWide = withoutUndefined({ keyPrefix, keySecret, readableKeys, mode, breaker });
    return { ...moduleWide, ...ofKind, ...withoutUndefined(options) } as { name: string } & Record<string, unknown>;
  }
}

const functionIds = new WeakMap<object, number>();
let functionsSeen = 0;

function functionId(fn: object): number {
  let id = functionIds.get(fn);
  if (id === undefined) functionIds.set(fn, (id = ++functionsSeen));
  return id;
}
