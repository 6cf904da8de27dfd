import type { TokenBucketSnapshot } from './limiter-store';

/**
 * Tokens reserved by reserve(). They are the caller's from the moment it resolves; the
 * wait is what the store computed, so it is already a round trip old when read.
 */
export interface Reservation {
  /** Ms until the reserved tokens exist; the caller may go then (0: at once). */
  readonly wait: number;
  /** Tokens left after this reservation, never below 0 (0 while tokens are promised to waiting callers). */
  readonly remaining: number;
  /** Ms until the bucket is full again, counting this reservation. */
  readonly fullIn: number;
  /**
   * Gives back exactly the tokens this reservation took (as the bucket's refund() does),
   * once: true when this call gave them back, false when an earlier call did or nothing was
   * taken (a refusal let through in shadow mode). A failed refund may be retried.
   */
  refund(): Promise<boolean>;
}

/** What a reservation needs of its bucket. */
interface Refunds {
  refund(tokens: number): Promise<TokenBucketSnapshot>;
}

export class TokenReservation implements Reservation {
  // Private fields (#) are no own properties: a reservation still compares equal to
  // { wait, remaining, fullIn }, and spreads to its figures alone.
  readonly #bucket: Refunds;
  #tokens: number;
  #refunding: Promise<boolean> | undefined;

  constructor(
    readonly wait: number,
    readonly remaining: number,
    readonly fullIn: number,
    tokens: number,
    bucket: Refunds,
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
