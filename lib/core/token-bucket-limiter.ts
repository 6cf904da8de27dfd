import { InvalidOptionError, MaxSleepExceededError } from './errors';
import { OptionReader, type CommonLimiterOptions } from './options';
import { sleepFor } from './sleep-for';
import { publish, publishRedisError, type LimitEvent } from './events';
import type { TakeReply, TokenBucketBackend, TokenBucketShape, TokenBucketSnapshot } from './limiter-store';
import { resolveStore, type StoreOrClient } from './store-resolver';
import { refusalCacheOf, type RefusalCache } from './refusal-cache';
import type { RateLimiter, Reservation, TakeOptions, TryTakeResult } from './rate-limiter';

export interface TokenBucketOptions extends CommonLimiterOptions {
  /** Most tokens the bucket holds; it starts full. */
  capacity: number;
  /** Ms between refills. */
  refillFrequency: number;
  /** Tokens added at each refill, never above capacity. Default 1. */
  refillAmount?: number;
  /**
   * Remembers each refusal's "not before" in this process, and refuses later calls that
   * cannot succeed before then without asking Redis (see RefusalCache; exact, never
   * refuses what Redis would admit). Default true.
   */
  refusalCache?: boolean;
}

/** reserve()'s answer; refund() goes through the bucket that reserved. */
class TokenReservation implements Reservation {
  // Private fields (#) are no own properties: a reservation still compares equal to
  // { wait, remaining, fullIn }, and spreads to its figures alone.
  readonly #bucket: TokenBucketLimiter;
  #tokens: number;
  #refunding: Promise<boolean> | undefined;

  constructor(
    readonly wait: number,
    readonly remaining: number,
    readonly fullIn: number,
    tokens: number,
    bucket: TokenBucketLimiter,
  ) {
    this.#tokens = tokens;
    this.#bucket = bucket;
  }

  refund(): Promise<boolean> {
    if (this.#tokens === 0) return Promise.resolve(false);
    if (this.#refunding !== undefined) return this.#refunding.then(() => false);
    const refunding = this.#bucket.refund(this.#tokens).then(
      () => {
        this.#tokens = 0;
        return true;
      },
      (error: unknown) => {
        this.#refunding = undefined;
        throw error;
      },
    );
    this.#refunding = refunding;
    return refunding;
  }
}

/**
 * A distributed, scheduling token bucket. take() reserves the earliest refill at which
 * its tokens exist and sleeps until then, so under saturation callers are admitted at
 * exactly refillAmount per refillFrequency, and no window sees more than the bucket allows.
 */
export class TokenBucketLimiter implements RateLimiter {
  readonly name: string;
  readonly maxSleep: number;
  readonly shape: Readonly<TokenBucketShape>;
  /** True in shadow mode (option `mode: 'shadow'`): refusals are reported, never enforced. */
  readonly shadow: boolean;
  /** What every event of this limiter says of it (see events.ts). */
  readonly identity: LimitEvent;
  private readonly backend: TokenBucketBackend;
  /** The store's refusal cache: read and written only with option refusalCache, cleared by every refund. */
  private readonly refusals: RefusalCache;
  private readonly cacheRefusals: boolean;
  /** This bucket in the refusal cache: prefix, name and key kept apart whatever they hold. */
  private readonly bucketId: string;

  constructor(store: StoreOrClient, options: TokenBucketOptions) {
    const reader = OptionReader.forLimiter(options, 'token-bucket');
    const common = reader.common();
    this.name = common.name;
    this.maxSleep = common.maxSleep;
    this.shape = {
      capacity: reader.positiveInteger('capacity'),
      refillFrequency: reader.duration('refillFrequency', undefined, { min: 1 }),
      refillAmount: reader.positiveInteger('refillAmount', 1),
    };
    this.shadow = common.shadow;
    this.identity = { name: this.name, kind: 'token-bucket', keyId: common.keyId, shadow: this.shadow };
    this.cacheRefusals = reader.boolean('refusalCache', true);
    const resolved = resolveStore(store);
    this.backend = resolved.tokenBucket(common);
    this.refusals = refusalCacheOf(resolved);
    this.bucketId = JSON.stringify([common.keyPrefix, common.name, common.keyId ?? null]);
  }

  /**
   * Reserves `tokens` at the earliest refill that pays for them, as take() does, but
   * does not sleep: the caller learns how long to wait and may spend that time as it
   * likes (schedule the work, tell its own client when to come back). Rejects at once
   * with MaxSleepExceededError, reserving nothing, if the wait is more than maxSleep.
   * The tokens are spent whether or not the caller goes, unless it calls the reservation's refund().
   */
  async reserve(tokens = 1, options: TakeOptions = {}): Promise<Reservation> {
    // Checked before Redis sees it: the script reads a negative wait as "no limit".
    const maxSleep = OptionReader.callMaxSleep(options.maxSleep, this.name, this.maxSleep);
    const amount = this.validTokens(tokens);
    const reply = await this.takeFromStore(amount, maxSleep);
    const remaining = Math.max(0, reply.tokens);
    if (!reply.reserved) {
      // In shadow mode the refusal is reported and the call goes on at once, reserving nothing.
      if (this.shadow) return new TokenReservation(0, remaining, reply.fullIn, 0, this);
      throw new MaxSleepExceededError(this.name, maxSleep, reply.wait, 'token-bucket');
    }
    // In shadow mode the tokens are reserved as when enforced (so later calls see the same
    // bucket), but nobody sleeps for them.
    return new TokenReservation(this.shadow ? 0 : reply.wait, remaining, reply.fullIn, amount, this);
  }

  /**
   * Takes `tokens`, sleeping until the refill reserved for them. Resolves with the ms
   * waited. Rejects at once, reserving nothing, if that is more than maxSleep away.
   */
  async take(tokens = 1, options: TakeOptions = {}): Promise<number> {
    const startedAt = performance.now();
    const signal = OptionReader.callSignal(options.signal, this.name);
    signal?.throwIfAborted();
    const { wait } = await this.reserve(tokens, options);
    // A reservation can lie further ahead than one Node timer reaches (maxSleep Infinity).
    if (wait > 0) await this.sleepForTokens(wait, tokens, signal);
    else signal?.throwIfAborted();
    return Math.round(performance.now() - startedAt);
  }

  /**
   * @internal Sleeps `wait` ms for `tokens` reserved, as take() and the Nest pipeline do.
   * A sleep its signal ends publishes `cancel`, so the `wait` published with the
   * reservation has an end a subscriber sees before `wait` ms are up.
   */
  async sleepForTokens(wait: number, tokens: number, signal?: AbortSignal): Promise<void> {
    const startedAt = performance.now();
    try {
      await sleepFor(wait, signal);
    } catch (error) {
      if (signal?.aborted)
        publish('cancel', () => ({ ...this.identity, tokens, waitedMs: performance.now() - startedAt }));
      throw error;
    }
  }

  /**
   * Takes `tokens` only if they exist now; never waits and reserves nothing otherwise.
   * Not an async function, for the same reason as takeFromStore; a wrong `tokens` still rejects.
   */
  tryTake(tokens = 1): Promise<TryTakeResult> {
    let taking: Promise<TakeReply>;
    try {
      taking = this.takeFromStore(this.validTokens(tokens), 0);
    } catch (error) {
      return Promise.reject(error);
    }
    return taking.then((reply) => {
      const allowed = reply.reserved || this.shadow;
      return {
        allowed,
        remaining: Math.max(0, reply.tokens),
        retryAfter: allowed ? 0 : reply.wait,
        fullIn: reply.fullIn,
      };
    });
  }

  /**
   * The one call to the store of take, reserve and tryTake, and the events of its outcome.
   * A plain promise chain rather than an async function: it runs on every admission, and
   * one more async frame is a measurable part of what an admission costs the client.
   */
  private takeFromStore(amount: number, maxWait: number): Promise<TakeReply> {
    const sentAt = performance.now();
    if (this.cacheRefusals && this.refusals.known > 0) {
      const known = this.refusals.check(this.bucketId, this.shape, amount, maxWait, sentAt);
      if (known !== undefined) {
        publish('refuse', () => ({
          ...this.identity,
          tokens: amount,
          reason: 'limit',
          retryAfterMs: known.wait,
          waitedMs: 0,
          cached: true,
        }));
        return Promise.resolve(known);
      }
    }
    return this.backend.take(this.shape, amount, maxWait).then(
      (reply) => {
        if (!reply.reserved) {
          if (this.cacheRefusals)
            this.refusals.remember(this.bucketId, this.shape, amount, reply, sentAt, performance.now());
          publish('refuse', () => ({
            ...this.identity,
            tokens: amount,
            reason: 'limit',
            retryAfterMs: reply.wait,
            waitedMs: 0,
          }));
          return reply;
        }
        if (reply.wait > 0) publish('wait', () => ({ ...this.identity, tokens: amount, maxWaitMs: reply.wait }));
        publish('admit', () => ({
          ...this.identity,
          tokens: amount,
          waitedMs: reply.wait,
          remaining: Math.max(0, reply.tokens),
        }));
        return reply;
      },
      (error: unknown) => {
        publishRedisError(this.identity, error);
        throw error;
      },
    );
  }

  /** Takes `tokens` (default 1), then runs `work`. */
  async run<T>(work: () => Promise<T> | T, options: TakeOptions & { tokens?: number } = {}): Promise<T> {
    // Left out, take()'s default applies; null is a wrong value, as it is for take().
    await this.take(options.tokens, options);
    return work();
  }

  /** Tokens now (negative: promised to sleeping callers), ms to the next refill and until full. */
  state(): Promise<TokenBucketSnapshot> {
    return this.backend.inspect(this.shape);
  }

  /**
   * Gives `tokens` back to the bucket, never above its capacity: for calls that should not
   * count (refund what a call took when it turned out not to matter). The refill phase stays
   * as it was. Clears this process's cached refusals of the bucket. Resolves with the bucket after it.
   */
  async refund(tokens = 1): Promise<TokenBucketSnapshot> {
    return this.adjust(this.validTokens(tokens));
  }

  /**
   * Takes `tokens` more from the bucket, at once and whatever its balance: below 0 it is a
   * debt that later callers wait out at the refill rate (a failed login costing ten
   * attempts, say). It only ever delays later admissions. Any whole number from 1.
   */
  async penalize(tokens = 1): Promise<TokenBucketSnapshot> {
    if (typeof tokens !== 'number' || !Number.isSafeInteger(tokens) || tokens < 1) {
      throw new InvalidOptionError('tokens', this.name, 'must be a whole number of at least 1', tokens);
    }
    return this.adjust(-tokens);
  }

  private async adjust(change: number): Promise<TokenBucketSnapshot> {
    try {
      return await this.backend.adjust(this.shape, change);
    } catch (error) {
      publishRedisError(this.identity, error);
      throw error;
    } finally {
      // Whether or not the answer came, the change may have been applied: a refusal sent
      // before now may predate it. A penalty only makes refusals truer; clearing costs one call.
      if (change > 0) this.refusals.clear(this.bucketId, performance.now());
    }
  }

  /**
   * @internal `tokens` when one call may take that many: a whole number from 1 to the capacity;
   * else InvalidOptionError.
   */
  validTokens(tokens: unknown): number {
    if (typeof tokens !== 'number' || !Number.isSafeInteger(tokens) || tokens < 1 || tokens > this.shape.capacity) {
      throw new InvalidOptionError(
        'tokens',
        this.name,
        `must be a whole number from 1 to the capacity (${this.shape.capacity})`,
        tokens,
      );
    }
    return tokens;
  }
}
