import { MaxSleepExceededError, type RedisUnavailableError } from '../../core/errors';
import type { LimitKind } from '../../core/limit-kind';
import type { SemaphoreLimiter } from '../../core/semaphore-limiter';
import type { Reservation } from '../../core/rate-limiter';
import type { TokenBucketLimiter } from '../../core/token-bucket-limiter';
import type { CallOutcome } from '../decorators/limit-options.interface';
import type { DeclaredLimit } from './declared-limits';

/**
 * Gives a call's limits back; safe to call more than once. Given how the call ended, it
 * also refunds the buckets whose refundWhen asks for it (the first outcome given counts).
 */
export type Release = (outcome?: CallOutcome) => void;

/** Tokens a call took from one bucket. No reservation: Redis failed and whenRedisFails let it through. */
export interface TokensTaken {
  limit: DeclaredLimit;
  limiter: TokenBucketLimiter;
  reservation?: Reservation;
}

/** What the pipeline hands a call it admitted: what the transport needs for its answer, and the way back. */
export interface Admitted {
  release: Release;
  tokens: TokensTaken[];
  /** The semaphore the call holds a slot of, if it has one. */
  slot?: { limit: DeclaredLimit; limiter: SemaphoreLimiter };
  /** True when a bucket's refundWhen waits for the outcome: release must be given it. */
  refunds?: boolean;
}

/**
 * Why the pipeline did not admit a call: which limit, of which kind, and the limiter's own
 * error. Never leaves the library: the explorer rethrows `error` to a service method's
 * caller, and the transport layer (transport/outcome-mapping.ts) turns it into its answer.
 * Not an Error: it is thrown on every refusal, and a stack would be a measurable part of
 * a refusal's cost.
 */
export class Refusal {
  constructor(
    readonly limit: DeclaredLimit,
    readonly limiter: SemaphoreLimiter | TokenBucketLimiter,
    readonly error: MaxSleepExceededError | RedisUnavailableError,
    /** Tokens taken before it from earlier buckets: spent, and reported in the answer's fields. */
    readonly tokens: TokensTaken[],
    /** Every bucket of the call, taken or not: the answer states each one's policy. */
    readonly buckets: TokensTaken[],
  ) {}

  get kind(): LimitKind {
    return this.limit.kind;
  }

  /** 'limit': the limit was not met within maxSleep; 'redis-unavailable': it could not be checked. */
  get reason(): 'limit' | 'redis-unavailable' {
    return this.error instanceof MaxSleepExceededError ? 'limit' : 'redis-unavailable';
  }

  /**
   * Ms until the call could be admitted, where that is known: a token bucket's exact wait.
   * A semaphore only knows when its oldest lease would run out, an upper bound that would
   * make polite clients wait far longer than needed, so it tells none.
   */
  get retryAfterMs(): number | undefined {
    return this.kind === 'token-bucket' && this.error instanceof MaxSleepExceededError
      ? this.error.wouldWait
      : undefined;
  }
}
