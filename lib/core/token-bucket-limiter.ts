import { InvalidOptionError, MaxSleepExceededError } from './errors';
import { OptionReader, type CommonLimiterOptions } from './options';
import { sleepFor } from './sleep-for';
import { publish, publishRedisError, type LimitEvent } from './events';
import type { TakeReply, TokenBucketBackend, TokenBucketShape, TokenBucketSnapshot } from './limiter-store';
import { resolveStore, type StoreOrClient } from './store-resolver';

export interface TokenBucketOptions extends CommonLimiterOptions {
  /** Most tokens the bucket holds; it starts full. */
  capacity: number;
  /** Ms between refills. */
  refillFrequency: number;
  /** Tokens added at each refill, never above capacity. Default 1. */
  refillAmount?: number;
}

export interface TakeOptions {
  /** Overrides the limiter's maxSleep for this call. */
  maxSleep?: number;
  /**
   * take() and run() stop sleeping when it aborts, and reject with its reason. The tokens
   * stay spent: a reservation cannot be handed back (see reserve()).
   */
  signal?: AbortSignal;
}

export interface TryTakeResult {
  allowed: boolean;
  /** Tokens left right now (0 while every token is promised to waiting callers). */
  remaining: number;
  /** Ms until the tokens asked for will exist; 0 when allowed. */
  retryAfter: number;
  /**
   * Ms until the bucket is full again (after this take when allowed): when a client that
   * stops calling has its whole burst back, e.g. for a RateLimit `reset`.
   */
  fullIn: number;
}

/**
 * Tokens reserved by reserve(). They are the caller's from the moment it resolves; the
 * wait is what the store computed, so it is already a round trip old when read.
 */
export interface Reservation {
  /** Ms until the reserved tokens exist; the caller may go then (0: at once). */
  wait: number;
  /** Tokens left after this reservation, never below 0 (0 while tokens are promised to waiting callers). */
  remaining: number;
  /** Ms until the bucket is full again, counting this reservation. */
  fullIn: number;
}

/**
 * A distributed, scheduling token bucket. take() reserves the earliest refill at which
 * its tokens exist and sleeps until then, so under saturation callers are admitted at
 * exactly refillAmount per refillFrequency, and no window sees more than the bucket allows.
 */
export class TokenBucketLimiter {
  readonly name: string;
  readonly maxSleep: number;
  readonly shape: Readonly<TokenBucketShape>;
  /** True in shadow mode (option `mode: 'shadow'`): refusals are reported, never enforced. */
  readonly shadow: boolean;
  /** What every event of this limiter says of it (see events.ts). */
  readonly identity: LimitEvent;
  private readonly backend: TokenBucketBackend;

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
    this.backend = resolveStore(store).tokenBucket(common);
  }

  /**
   * Reserves `tokens` at the earliest refill that pays for them, as take() does, but
   * does not sleep: the caller learns how long to wait and may spend that time as it
   * likes (schedule the work, tell its own client when to come back). Rejects at once
   * with MaxSleepExceededError, reserving nothing, if the wait is more than maxSleep.
   * A reservation cannot be handed back: the tokens are spent whether or not the caller goes.
   */
  async reserve(tokens = 1, options: TakeOptions = {}): Promise<Reservation> {
    // Checked before Redis sees it: the script reads a negative wait as "no limit".
    const maxSleep = OptionReader.callMaxSleep(options.maxSleep, this.name, this.maxSleep);
    const amount = this.validTokens(tokens);
    const reply = await this.takeFromStore(amount, maxSleep);
    const remaining = Math.max(0, reply.tokens);
    if (!reply.reserved) {
      // In shadow mode the refusal is reported and the call goes on at once, reserving nothing.
      if (this.shadow) return { wait: 0, remaining, fullIn: reply.fullIn };
      throw new MaxSleepExceededError(this.name, maxSleep, reply.wait, 'token-bucket');
    }
    // In shadow mode the tokens are reserved as when enforced (so later calls see the same
    // bucket), but nobody sleeps for them.
    return { wait: this.shadow ? 0 : reply.wait, remaining, fullIn: reply.fullIn };
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
    await sleepFor(wait, signal);
    return Math.round(performance.now() - startedAt);
  }

  /** Takes `tokens` only if they exist now; never waits and reserves nothing otherwise. */
  async tryTake(tokens = 1): Promise<TryTakeResult> {
    const reply = await this.takeFromStore(this.validTokens(tokens), 0);
    const allowed = reply.reserved || this.shadow;
    return { allowed, remaining: Math.max(0, reply.tokens), retryAfter: allowed ? 0 : reply.wait, fullIn: reply.fullIn };
  }

  /**
   * The one call to the store of take, reserve and tryTake, and the events of its outcome.
   * A plain promise chain rather than an async function: it runs on every admission, and
   * one more async frame is a measurable part of what an admission costs the client.
   */
  private takeFromStore(amount: number, maxWait: number): Promise<TakeReply> {
    return this.backend.take(this.shape, amount, maxWait).then(
      (reply) => {
        if (!reply.reserved) {
          publish('refuse', () => ({ ...this.identity, tokens: amount, reason: 'limit', retryAfterMs: reply.wait, waitedMs: 0 }));
          return reply;
        }
        if (reply.wait > 0) publish('wait', () => ({ ...this.identity, tokens: amount, maxWaitMs: reply.wait }));
        publish('admit', () => ({ ...this.identity, tokens: amount, waitedMs: reply.wait, remaining: Math.max(0, reply.tokens) }));
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

  /** `tokens` when one call may take that many: a whole number from 1 to the capacity; else InvalidOptionError. */
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
