import { BaseRateLimiter } from './base-rate-limiter';
import type { SlidingWindowShape, SlidingWindowSnapshot } from './limiter-store';
import { OptionReader, type CommonLimiterOptions } from './options';
import type { StoreOrClient } from './store-resolver';

export interface SlidingWindowOptions extends CommonLimiterOptions {
  /** Most tokens admitted in any interval of `window` ms (one per call unless a call takes more). */
  limit: number;
  /** Ms of the interval the limit holds in, wherever it starts. */
  window: number;
  /**
   * Ms a refused key stays refused after the refusal (as @nestjs/throttler's option): a
   * refused call's retryAfter says when it ends, and a take() may sleep until then.
   * Refusals during the block do not lengthen it. Default: none.
   */
  blockDuration?: number;
  /** As the token bucket's: remembers refusals in this process and answers them without Redis. Default true. */
  refusalCache?: boolean;
}

/**
 * Sub-windows a window is counted in. Measured against a sorted set of admissions (see
 * BENCHMARKS.md, "Sliding window layout"): ten counters keep a key near 130 bytes whatever
 * the limit (a sorted set takes about 100 bytes an admission, 1 MB at a limit of 10 000) and
 * cost less Redis time per call, for a limit that is met within a tenth of a window.
 */
const SUB_WINDOWS = 10;

/**
 * A distributed sliding window: in any interval of `window` ms, wherever it starts, at most
 * `limit` tokens are admitted, exactly (no estimate from the previous window's count,
 * which lets bursts through). Admissions are counted per tenth of the window, each as long
 * as any part of its tenth lies in the last `window` ms: never more than the limit, and a
 * token comes back at most a tenth of a window later than it would by the exact instant.
 * A call that finds no room may wait (take(), within maxSleep) for the earliest sub-window
 * that has it; callers after it queue behind it. In Redis, one short string per key.
 */
export class SlidingWindowLimiter extends BaseRateLimiter<SlidingWindowShape, SlidingWindowSnapshot> {
  constructor(store: StoreOrClient, options: SlidingWindowOptions) {
    const reader = OptionReader.forLimiter(options, 'sliding-window');
    const common = reader.common();
    const window = reader.duration('window', undefined, { min: 1 });
    const shape: SlidingWindowShape = {
      limit: reader.positiveInteger('limit'),
      window,
      subWindow: Math.ceil(window / SUB_WINDOWS),
      blockDuration: reader.blockDuration(),
    };
    super(store, {
      kind: 'sliding-window',
      reader,
      common,
      shape,
      shapeKey: `${shape.limit}/${shape.window}/${shape.blockDuration}`,
      most: { option: 'limit', value: shape.limit },
      backendOf: (resolved) => resolved.slidingWindow(common),
    });
  }

  /** Tokens a call could take now, and ms until no admission counts any more. */
  state(): Promise<SlidingWindowSnapshot> {
    return super.state();
  }

  /**
   * Gives `tokens` taken within the last window back, never below 0: for calls that should
   * not count. They come off the oldest admissions that still count, which frees no more
   * than giving back the call's own would. A reservation's own refund() gives back to the
   * sub-window it was counted in. Clears this process's cached refusals of the limit.
   * Resolves with the state after it.
   */
  async refund(tokens = 1): Promise<SlidingWindowSnapshot> {
    return super.refund(tokens);
  }
}
