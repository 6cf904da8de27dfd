import type { LimitEvent } from './events';
import type { Reservation, TakeOptions, TryTakeResult } from './token-bucket-limiter';

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
