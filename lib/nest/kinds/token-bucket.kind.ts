import type { TokenBucketShape, TokenBucketSnapshot } from '../../core/limiter-store';
import { TokenBucketLimiter, type TokenBucketOptions } from '../../core/token-bucket-limiter';
import { shareOf } from './limit-kind.descriptor';
import { amountCell, rateKind } from './rate-kind';

/** The token bucket (core/token-bucket-limiter.ts) in the Nest layer: @TokenBucket, module option `tokenBuckets`. */
export const tokenBucketKind = rateKind({
  kind: 'token-bucket',
  words: {
    text: 'token bucket',
    optionsKey: 'tokenBuckets',
    defaultsKey: 'tokenBucket',
    statusOption: 'tokenBucketStatus',
    decorator: '@TokenBucket',
  },
  prototype: TokenBucketLimiter.prototype,
  placeholders: { capacity: 1, refillFrequency: 1_000, refillAmount: 1 },
  build: (store, options: TokenBucketOptions) => new TokenBucketLimiter(store, options),
  policy: ({ shape }) => tokenBucketPolicy(shape),
  nextIn: ({ shape }, reservation) => nextRefillIn(reservation.fullIn - reservation.wait, shape.refillFrequency),
  /**
   * Capacity divided and rounded down, and the rate (refillAmount per refillFrequency)
   * divided by stretching the period rather than rounding the amount, so 1 token every
   * 100 ms over 3 instances is 1 every 300 ms each, not 0 or 1 every 100 ms.
   */
  localShare({ shape: { capacity, refillAmount, refillFrequency } }, instances) {
    const amount = shareOf(refillAmount, instances);
    return {
      capacity: shareOf(capacity, instances),
      refillAmount: amount,
      refillFrequency: Math.ceil((refillFrequency * instances * amount) / refillAmount),
    };
  },
  board: {
    title: 'Token buckets',
    columns: [
      { field: 'tokens', heading: 'Tokens / capacity' },
      { field: 'nextRefill', heading: 'Next refill' },
    ],
    cells: `{
      tokens: ${amountCell('s.tokens', 'row.capacity')},
      nextRefill: function (td, row, s) {
        td.appendChild(el('span', s ? 'in ' + ms(s.nextRefillIn) + (s.fullIn > 0 ? ', full in ' + ms(s.fullIn) : ', full') : row.refill ? '+' + row.refill.amount + ' every ' + ms(row.refill.everyMs) : '\\u2014', 'value'));
      }
    }`,
    shape: ({ shape }) => ({
      capacity: shape.capacity,
      refill: { amount: shape.refillAmount, everyMs: shape.refillFrequency },
    }),
    summary(snapshot, ageMs) {
      const { tokens, nextRefillIn, fullIn } = snapshot as TokenBucketSnapshot;
      // The snapshot may be up to refreshMs old: count its times down to now.
      return { tokens, nextRefillIn: Math.max(0, nextRefillIn - ageMs), fullIn: Math.max(0, fullIn - ageMs) };
    },
  },
  remaining: (bucket) => bucket.state().then((state) => state.tokens),
});

/** The quota is the bucket's capacity, and the window the time an empty bucket takes to fill again. */
export function tokenBucketPolicy(shape: Readonly<TokenBucketShape>): { quota: number; windowMs: number } {
  return { quota: shape.capacity, windowMs: Math.ceil(shape.capacity / shape.refillAmount) * shape.refillFrequency };
}

/**
 * Ms until the next refill, from the ms until the bucket is full. Refills land every
 * refillFrequency, and a bucket fills at one of them, so the next refill is `fullIn`
 * less the whole periods that follow it; a full bucket's next refill is a period away.
 * (Not the time until full: refills before it already add tokens.)
 */
export function nextRefillIn(fullIn: number, refillFrequency: number): number {
  return fullIn - (Math.ceil(fullIn / refillFrequency) - 1) * refillFrequency;
}
