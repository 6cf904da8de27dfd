/**
 * The rate kinds of the Nest layer, one row each, so a spec of what every rate kind does
 * (`describe.each(RATE_KINDS)('$text', ...)`) runs on each of them: a new rate kind gets the
 * Nest specs by adding its row. A row says only what is its own: its public names, and how
 * to write "n per ms" in its options.
 */
import type { LimitKind } from '../../lib/core/limit-kind';
import type { RateLimiter } from '../../lib/core/rate-limiter';
import type { StoreOrClient } from '../../lib/core/store-resolver';
import { FixedWindowLimiter, type FixedWindowOptions } from '../../lib/core/fixed-window-limiter';
import { SlidingWindowLimiter, type SlidingWindowOptions } from '../../lib/core/sliding-window-limiter';
import { TokenBucketLimiter, type TokenBucketOptions } from '../../lib/core/token-bucket-limiter';
import { FixedWindow, getFixedWindowToken, InjectFixedWindow } from '../../lib/nest/decorators/fixed-window.decorator';
import type { LimitDecorator } from '../../lib/nest/decorators/limit-metadata';
import {
  getSlidingWindowToken,
  InjectSlidingWindow,
  SlidingWindow,
} from '../../lib/nest/decorators/sliding-window.decorator';
import { getTokenBucketToken, InjectTokenBucket, TokenBucket } from '../../lib/nest/decorators/token-bucket.decorator';
import type {
  LimiterDefaults,
  LimitersFeatureOptions,
  RefusalStatusOptions,
} from '../../lib/nest/limiters-options.interface';

/** A rate kind's decorator, untyped: each row's options are its own. */
type RateDecorator = (target: string | object, extra?: object) => LimitDecorator;

export interface RateKind {
  kind: LimitKind;
  /** As messages say it: 'token bucket'. */
  text: string;
  decorator: RateDecorator;
  inject: (name: string) => PropertyDecorator & ParameterDecorator;
  token: (name: string) => string;
  optionsKey: keyof LimitersFeatureOptions;
  defaultsKey: keyof LimiterDefaults;
  statusOption: keyof RefusalStatusOptions;
  /** The option that says how many per period ('capacity', 'limit'): the one a plan decides per call. */
  limitOption: string;
  /**
   * Options of a limit that admits `n` tokens, then none until `ms` after the first, when
   * all `n` are back: a token bucket refilled whole every `ms`, a window of `ms`. Both state
   * their policy as `q=n;w=ms/1000`, and after a take tell `t` = the rest of `ms`.
   */
  per(n: number, ms: number): Record<string, number>;
  /**
   * The most a spent token may come back after per()'s `ms`, as a share of `ms`: 0, or a tenth
   * for the sliding window, whose admissions count per tenth of the window (so its `t` and
   * Retry-After may be up to a tenth of the period longer).
   */
  late: number;
  /** Its limiter on `store`, to read a limit's state as the app's own sees it. */
  limiter(store: StoreOrClient, options: { name: string } & Record<string, unknown>): RateLimiter;
  /** Tokens a call could take now. */
  remaining(limiter: RateLimiter): Promise<number>;
  /** A misspelt option of its limiter, and the one its message must suggest. */
  misspelt: { option: string; nearest: string };
  /** What a board row of per(n, ms) shows of the options, and the fields of its state. */
  boardRow(n: number, ms: number): { shape: object; state: Record<string, unknown> };
}

export const RATE_KINDS: RateKind[] = [
  {
    kind: 'token-bucket',
    text: 'token bucket',
    decorator: TokenBucket as RateDecorator,
    inject: InjectTokenBucket,
    token: getTokenBucketToken,
    optionsKey: 'tokenBuckets',
    defaultsKey: 'tokenBucket',
    statusOption: 'tokenBucketStatus',
    limitOption: 'capacity',
    per: (n, ms) => ({ capacity: n, refillAmount: n, refillFrequency: ms }),
    late: 0,
    limiter: (store, options) => new TokenBucketLimiter(store, options as unknown as TokenBucketOptions),
    remaining: (limiter) => (limiter as TokenBucketLimiter).state().then((s) => s.tokens),
    misspelt: { option: 'refillAmmount', nearest: 'refillAmount' },
    boardRow: (n, ms) => ({
      shape: { capacity: n, refill: { amount: n, everyMs: ms } },
      state: { tokens: expect.any(Number), nextRefillIn: expect.any(Number) },
    }),
  },
  {
    kind: 'fixed-window',
    text: 'fixed window',
    decorator: FixedWindow as RateDecorator,
    inject: InjectFixedWindow,
    token: getFixedWindowToken,
    optionsKey: 'fixedWindows',
    defaultsKey: 'fixedWindow',
    statusOption: 'fixedWindowStatus',
    limitOption: 'limit',
    per: (n, ms) => ({ limit: n, window: ms }),
    late: 0,
    limiter: (store, options) => new FixedWindowLimiter(store, options as unknown as FixedWindowOptions),
    remaining: (limiter) => (limiter as FixedWindowLimiter).state().then((s) => s.remaining),
    misspelt: { option: 'windw', nearest: 'window' },
    boardRow: (n, ms) => ({
      shape: { limit: n, window: ms },
      state: { remaining: expect.any(Number), resetIn: expect.any(Number) },
    }),
  },
  {
    kind: 'sliding-window',
    text: 'sliding window',
    decorator: SlidingWindow as RateDecorator,
    inject: InjectSlidingWindow,
    token: getSlidingWindowToken,
    optionsKey: 'slidingWindows',
    defaultsKey: 'slidingWindow',
    statusOption: 'slidingWindowStatus',
    limitOption: 'limit',
    per: (n, ms) => ({ limit: n, window: ms }),
    late: 0.1,
    limiter: (store, options) => new SlidingWindowLimiter(store, options as unknown as SlidingWindowOptions),
    remaining: (limiter) => (limiter as SlidingWindowLimiter).state().then((s) => s.remaining),
    misspelt: { option: 'windw', nearest: 'window' },
    boardRow: (n, ms) => ({
      shape: { limit: n, window: ms },
      state: { remaining: expect.any(Number), fullIn: expect.any(Number) },
    }),
  },
];

/** Module options registering `limiters` (name to options) of `kind`. */
export function registered(kind: RateKind, limiters: Record<string, object>): LimitersFeatureOptions {
  return { [kind.optionsKey]: limiters };
}

/**
 * A pattern of the whole seconds a header may say for a period of `ms` on `kind`: from
 * `earliest` (a busy machine may let time pass) to the period's end, counting the kind's
 * lateness (see RateKind.late).
 */
export function secondsUpTo(kind: RateKind, earliest: number, ms: number): string {
  const latest = Math.ceil((ms * (1 + kind.late)) / 1_000);
  return `(${Array.from({ length: latest - earliest + 1 }, (_, i) => earliest + i).join('|')})`;
}
