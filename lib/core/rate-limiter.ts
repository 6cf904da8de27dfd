import type { LimitEvent } from './events';

export interface TakeOptions {
  /** Overrides the limiter's maxSleep for this call. */
  maxSleep?: number;
  /**
   * take() and run() stop sleeping when it aborts, and reject with its reason. The tokens
   * stay spent (to give them back, reserve() and refund the reservation).
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
   * Ms until the limit is whole again (after this take when allowed): when a client that
   * stops calling has its whole allowance back, e.g. for a RateLimit `reset`.
   */
  fullIn: number;
}

/**
 * Tokens reserved by reserve(). They are the caller's from the moment it resolves; the
 * wait is what the store computed, so it is already a round trip old when read.
 */
export interface Reservation {
  /** Ms until the reserved tokens exist; the caller may go then (0: at once). */
  readonly wait: number;
  /** Tokens left after this reservation, never below 0 (0 while tokens are promised to waiting callers). */
  readonly remaining: number;
  /** Ms until the limit is whole again, counting this reservation. */
  readonly fullIn: number;
  /**
   * Gives back exactly the tokens this reservation took (as the limiter's refund() does),
   * once: true when this call gave them back, false when an earlier call did or nothing was
   * taken (a refusal let through in shadow mode). A failed refund may be retried.
   */
  refund(): Promise<boolean>;
}

/**
 * What every rate kind (token bucket, fixed window, sliding window) offers, so the Nest
 * pipeline, refunds and stand-ins treat them alike: a rate kind admits `tokens` per call,
 * may make a call wait for a later slot within maxSleep, and can give tokens back.
 */
export interface RateLimiter {
  readonly name: string;
  readonly maxSleep: number;
  readonly shadow: boolean;
  readonly identity: LimitEvent;
  /** Reserves the earliest admission of `tokens` within maxSleep; rejects with MaxSleepExceededError past it. */
  reserve(tokens?: number, options?: TakeOptions): Promise<Reservation>;
  /** reserve(), then sleeps until the reservation's time; resolves with the ms slept. */
  take(tokens?: number, options?: TakeOptions): Promise<number>;
  /** Admits `tokens` only if they can be had now; never waits. */
  tryTake(tokens?: number): Promise<TryTakeResult>;
  run<T>(work: () => Promise<T> | T, options?: TakeOptions & { tokens?: number }): Promise<T>;
  /** Gives `tokens` back (never above the limit); resolves with the limit's state after it. */
  refund(tokens?: number): Promise<unknown>;
  state(): Promise<unknown>;
  /** @internal Sleeps a reservation's `wait`, publishing `cancel` when `signal` ends it. */
  sleepForTokens(wait: number, tokens: number, signal?: AbortSignal): Promise<void>;
  /** @internal `tokens` when one call may take that many; else InvalidOptionError. */
  validTokens(tokens: unknown): number;
}
