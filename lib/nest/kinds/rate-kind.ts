import { LIMITER_OPTIONS } from '../../core/known-options';
import type { LimitKind } from '../../core/limit-kind';
import type { RateLimiter, Reservation } from '../../core/rate-limiter';
import type { StoreOrClient } from '../../core/store-resolver';
import {
  CALL_OPTIONS,
  defineKind,
  type KindBoard,
  type KindWords,
  type LimitKindDescriptor,
} from './limit-kind.descriptor';

/** What a rate kind says for itself; rateKind() adds what every rate kind does alike. */
export interface RateKindSpec<L extends RateLimiter, O extends object, W, S, K extends LimitKind> {
  kind: K;
  words: W;
  prototype: object;
  placeholders: Readonly<Record<string, unknown>>;
  build(store: StoreOrClient, options: O): L;
  /**
   * Its RateLimit-Policy: `quota` tokens per `windowMs`, so a client that spends no more never
   * waits; no `windowMs` for a window of no fixed length (see PolicyFields).
   */
  policy(limiter: L): { quota: number; windowMs?: number };
  /** Ms until more can be had than what `reservation` left: RateLimit's t (the reservation's wait is behind us). */
  nextIn(limiter: L, reservation: Reservation): number;
  localShare(limiter: L, instances: number): Record<string, number>;
  board: KindBoard<L, S>;
  /** Tokens left now, for limiters.tokens.remaining. */
  remaining(limiter: L): Promise<number>;
}

/** The words every rate kind shares. */
type RateWords = { readonly amount: 'tokens'; readonly refusal: 'Rate limit' };

/**
 * A rate kind's descriptor: everything it does through core's RateLimiter (reserve, the
 * sleep until the reservation's time, refund, the refusal's exact wait), so that a new
 * rate kind only says what is its own.
 */
export function rateKind<
  L extends RateLimiter,
  O extends object,
  const W extends Omit<KindWords, keyof RateWords>,
  S,
  const K extends LimitKind,
>(spec: RateKindSpec<L, O, W, S, K>): LimitKindDescriptor<L, Reservation, O, W & RateWords, S, K> {
  const { nextIn, remaining, words, ...own } = spec;
  return defineKind({
    ...own,
    words: { ...words, amount: 'tokens', refusal: 'Rate limit' } as W & RateWords,
    phase: 'rate',
    options: LIMITER_OPTIONS[spec.kind],
    callOptions: [...CALL_OPTIONS, 'tokens', 'refundWhen'],
    checkAmount: (limiter, tokens) => limiter.validTokens(tokens),
    async enter(limiter, tokens, maxSleep, giveUp) {
      const reservation = await limiter.reserve(tokens, { maxSleep });
      // The signal only when there is a wait to give up: making one costs more than the rest.
      if (reservation.wait > 0) await limiter.sleepForTokens(reservation.wait, tokens, giveUp?.signal);
      return reservation;
    },
    refund: (reservation) => reservation.refund(),
    knowsRetryAfter: true,
    // What the reservation left: 0 after a wait, the tokens having been promised before they existed.
    left: (limiter, reservation) => ({ remaining: reservation.remaining, nextMs: nextIn(limiter, reservation) }),
    metrics: { waits: 'sleep', leases: false, remaining },
  });
}

/**
 * A rate kind's board cell of `now / of` (source of expressions over the row `row` and its
 * state `s`, as KindBoard.cells runs them): with no state (an inline limit, or Redis away),
 * what the last admitted call left, or why there is no state.
 */
export function amountCell(now: string, of: string): string {
  return `function (td, row, s) {
        if (s) fraction(td, ${now}, ${of});
        else if (row.remaining !== undefined) td.appendChild(el('span', row.remaining + ' left after last call', 'value'));
        else noState(td, row);
      }`;
}
