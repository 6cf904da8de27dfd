import { MaxSleepExceededError, type RedisUnavailableError } from '../../core/errors';
import type { LimitKind } from '../../core/limit-kind';
import type { CallOutcome } from '../decorators/limit-options.interface';
import type { Limiter } from '../kinds/limit-kind.descriptor';
import type { DeclaredLimit } from './declared-limits';

/**
 * Gives a call's limits back; safe to call more than once. Given how the call ended, it
 * also refunds the limits whose refundWhen asks for it (the first outcome given counts).
 */
export type Release = (outcome?: CallOutcome) => void;

/** A limit as one call uses it: its declaration and the limiter it was worked out to. */
export interface LimitInUse {
  limit: DeclaredLimit;
  limiter: Limiter;
}

/**
 * A limit a call entered, and what its kind granted it (a reservation, a permit). No grant:
 * Redis failed and whenRedisFails let the call through.
 */
export interface Entered extends LimitInUse {
  grant?: unknown;
}

/** What the pipeline hands a call it admitted: what the transport needs for its answer, and the way back. */
export interface Admitted {
  release: Release;
  /** In the order entered. */
  entered: Entered[];
  /** True when the call holds a slot (a limit of the 'slot' phase) until release. */
  holds?: boolean;
  /** True when a limit's refundWhen waits for the outcome: release must be given it. */
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
    readonly limiter: Limiter,
    readonly error: MaxSleepExceededError | RedisUnavailableError,
    /** The limits entered before it: spent, and reported in the answer's fields. */
    readonly entered: Entered[],
    /** Every limit of its phase worked out for the call, entered or not (itself too): the answer states each one's policy. */
    readonly phase: LimitInUse[],
  ) {}

  get kind(): LimitKind {
    return this.limit.kind;
  }

  /** 'limit': the limit was not met within maxSleep; 'redis-unavailable': it could not be checked. */
  get reason(): 'limit' | 'redis-unavailable' {
    return this.error instanceof MaxSleepExceededError ? 'limit' : 'redis-unavailable';
  }

  /** Ms until the call could be admitted, where its kind knows that (see knowsRetryAfter). */
  get retryAfterMs(): number | undefined {
    return this.limit.type.knowsRetryAfter && this.error instanceof MaxSleepExceededError
      ? this.error.wouldWait
      : undefined;
  }
}
