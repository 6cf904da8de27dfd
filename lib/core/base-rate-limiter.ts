import { InvalidOptionError, MaxSleepExceededError } from './errors';
import { publish, publishRedisError, type LimitEvent } from './events';
import type { LimitKind } from './limit-kind';
import type { LimiterStore, RateBackend, TakeReply } from './limiter-store';
import { OptionReader, type ResolvedCommonOptions } from './options';
import type { RateLimiter, Reservation, TakeOptions, TryTakeResult } from './rate-limiter';
import { refusalCacheOf, type BalanceEstimate, type RefusalCache } from './refusal-cache';
import { sleepFor } from './sleep-for';
import { resolveStore, type StoreOrClient } from './store-resolver';

/** reserve()'s answer; refund() goes through the limiter that reserved, to where its tokens were counted. */
class RateReservation implements Reservation {
  // Private fields (#) are no own properties: a reservation still compares equal to
  // { wait, remaining, fullIn }, and spreads to its figures alone.
  readonly #limiter: BaseRateLimiter<object, unknown>;
  readonly #slot: number | undefined;
  #tokens: number;
  #refunding: Promise<boolean> | undefined;

  constructor(
    readonly wait: number,
    readonly remaining: number,
    readonly fullIn: number,
    tokens: number,
    limiter: BaseRateLimiter<object, unknown>,
    slot: number | undefined,
  ) {
    this.#tokens = tokens;
    this.#limiter = limiter;
    this.#slot = slot;
  }

  refund(): Promise<boolean> {
    if (this.#tokens === 0) return Promise.resolve(false);
    if (this.#refunding !== undefined) return this.#refunding.then(() => false);
    const refunding = this.#limiter.giveBack(this.#tokens, this.#slot).then(
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

/** What a rate kind's limiter hands its base: the checked options, and the kind's backend on the store. */
export interface RateLimitParts<Shape, Snapshot> {
  kind: LimitKind;
  reader: OptionReader;
  common: ResolvedCommonOptions;
  shape: Shape;
  /**
   * The shape as a string, for the refusal cache: a refusal holds only for limiters of the
   * same shape (another capacity, window or block may be admitted where this one was not).
   */
  shapeKey: string;
  /** Most tokens one call may take, and the option that says so ("capacity", "limit"). */
  most: { option: string; value: number };
  backendOf: (store: LimiterStore) => RateBackend<Shape, Snapshot>;
  /**
   * The balance a cached refusal answers: by default the balance the store gave, which
   * only a refund (that clears the entry) raises; a kind whose tokens come back over time
   * counts them in.
   */
  cachedBalance?: BalanceEstimate;
}

const storedBalance: BalanceEstimate = (refused, tokens) => Math.min(tokens - 1, refused.balance);

/**
 * What every rate kind's limiter does the same way (see RateLimiter): reserve, take, tryTake
 * and run through one call to the store, with the refusal cache and the events of its
 * outcome, and refunds. A kind adds its options, its shape and its backend.
 */
export abstract class BaseRateLimiter<Shape extends object, Snapshot> implements RateLimiter {
  readonly name: string;
  readonly maxSleep: number;
  readonly shape: Readonly<Shape>;
  /** True in shadow mode (option `mode: 'shadow'`): refusals are reported, never enforced. */
  readonly shadow: boolean;
  /** What every event of this limiter says of it (see events.ts). */
  readonly identity: LimitEvent;
  protected readonly backend: RateBackend<Shape, Snapshot>;
  private readonly kind: LimitKind;
  private readonly most: { option: string; value: number };
  /** The store's refusal cache: read and written only with option refusalCache, cleared by every refund. */
  private readonly refusals: RefusalCache;
  private readonly cacheRefusals: boolean;
  /** This limit in the refusal cache: kind, prefix, name and key kept apart whatever they hold. */
  private readonly cacheId: string;
  private readonly shapeKey: string;
  private readonly estimate: BalanceEstimate;

  protected constructor(store: StoreOrClient, parts: RateLimitParts<Shape, Snapshot>) {
    const { kind, reader, common } = parts;
    this.name = common.name;
    this.maxSleep = common.maxSleep;
    this.shape = parts.shape;
    this.shadow = common.shadow;
    this.kind = kind;
    this.most = parts.most;
    this.identity = { name: this.name, kind, keyId: common.keyId, shadow: this.shadow };
    this.cacheRefusals = reader.boolean('refusalCache', true);
    const resolved = resolveStore(store);
    this.backend = parts.backendOf(resolved);
    this.refusals = refusalCacheOf(resolved);
    this.cacheId = JSON.stringify([kind, common.keyPrefix, common.name, common.keyId ?? null]);
    this.shapeKey = parts.shapeKey;
    this.estimate = parts.cachedBalance ?? storedBalance;
  }

  /**
   * Reserves `tokens` at the earliest time they can be had, as take() does, but does not
   * sleep: the caller learns how long to wait and may spend that time as it likes
   * (schedule the work, tell its own client when to come back). Rejects at once with
   * MaxSleepExceededError, reserving nothing, if the wait is more than maxSleep. The tokens
   * are spent whether or not the caller goes, unless it calls the reservation's refund().
   */
  async reserve(tokens = 1, options: TakeOptions = {}): Promise<Reservation> {
    // Checked before Redis sees it: the scripts read a negative wait as "no limit".
    const maxSleep = OptionReader.callMaxSleep(options.maxSleep, this.name, this.maxSleep);
    const amount = this.validTokens(tokens);
    const reply = await this.takeFromStore(amount, maxSleep);
    const remaining = Math.max(0, reply.tokens);
    if (!reply.reserved) {
      // In shadow mode the refusal is reported and the call goes on at once, reserving nothing.
      if (this.shadow) return new RateReservation(0, remaining, reply.fullIn, 0, this, undefined);
      throw new MaxSleepExceededError(this.name, maxSleep, reply.wait, this.kind);
    }
    // In shadow mode the tokens are reserved as when enforced (so later calls see the same
    // limit), but nobody sleeps for them.
    return new RateReservation(this.shadow ? 0 : reply.wait, remaining, reply.fullIn, amount, this, reply.slot);
  }

  /**
   * Takes `tokens`, sleeping until the time reserved for them. Resolves with the ms
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
   * Takes `tokens` only if they can be had now; never waits and reserves nothing otherwise.
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
      const known = this.refusals.check(this.cacheId, this.shapeKey, amount, maxWait, sentAt, this.estimate);
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
            this.refusals.remember(this.cacheId, this.shapeKey, amount, reply, sentAt, performance.now());
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

  /** The limit's state on the store's clock, as its kind describes it. */
  state(): Promise<Snapshot> {
    return this.backend.inspect(this.shape);
  }

  /**
   * Gives `tokens` back, never above the limit: for calls that should not count (refund
   * what a call took when it turned out not to matter). Clears this process's cached
   * refusals of the limit. Resolves with the limit's state after it.
   */
  async refund(tokens = 1): Promise<Snapshot> {
    return this.adjust(this.validTokens(tokens));
  }

  /** @internal A reservation's refund: `tokens` back to where the store counted them (`slot`). */
  giveBack(tokens: number, slot: number | undefined): Promise<Snapshot> {
    return this.adjust(tokens, slot);
  }

  /** Changes the balance by `change` (> 0 given back, < 0 taken) through the store. */
  protected async adjust(change: number, slot?: number): Promise<Snapshot> {
    try {
      return await this.backend.adjust(this.shape, change, slot);
    } catch (error) {
      publishRedisError(this.identity, error);
      throw error;
    } finally {
      // Whether or not the answer came, the change may have been applied: a refusal sent
      // before now may predate it. A penalty only makes refusals truer; clearing costs one call.
      if (change > 0) this.forgetRefusals();
    }
  }

  /** Forgets this process's cached refusals of the limit, as a refund does. */
  protected forgetRefusals(): void {
    this.refusals.clear(this.cacheId, performance.now());
  }

  /**
   * @internal `tokens` when one call may take that many: a whole number from 1 to the
   * capacity (or limit); else InvalidOptionError. More could never be had, and a call would wait forever.
   */
  validTokens(tokens: unknown): number {
    const { option, value } = this.most;
    if (typeof tokens !== 'number' || !Number.isSafeInteger(tokens) || tokens < 1 || tokens > value) {
      throw new InvalidOptionError(
        'tokens',
        this.name,
        `must be a whole number from 1 to the ${option} (${value})`,
        tokens,
      );
    }
    return tokens;
  }
}
