import { BaseRateLimiter } from './base-rate-limiter';
import { CALENDAR_PERIODS, CalendarWindows, type CalendarPeriod } from './calendar-windows';
import { InvalidOptionError } from './errors';
import type { FixedWindowShape, FixedWindowSnapshot } from './limiter-store';
import { MAX_TIMER_MS, OptionReader, type CommonLimiterOptions } from './options';
import type { StoreOrClient } from './store-resolver';

export interface FixedWindowOptions extends CommonLimiterOptions {
  /** Most tokens counted in one window (one per call unless a call takes more). */
  limit: number;
  /**
   * Ms of a window that starts at the key's first hit, as @nestjs/throttler's, its count
   * gone when it ends; or `'day'`, `'week'` (from Monday) or `'month'`: calendar windows
   * that start at local midnight in `timezone` (a day across a daylight-saving change
   * lasts 23 or 25 hours).
   */
  window: number | CalendarPeriod;
  /** IANA time zone of calendar windows, e.g. `'Europe/Berlin'`. Default `'UTC'`. */
  timezone?: string;
  /**
   * Ms a refused key stays refused after the refusal, though a new window begins meanwhile
   * (as @nestjs/throttler's option): a refused call's retryAfter says when it ends, and a
   * take() may sleep until then. Refusals during the block do not lengthen it. Default: none.
   */
  blockDuration?: number;
  /** As the token bucket's: remembers refusals in this process and answers them without Redis. Default true. */
  refusalCache?: boolean;
}

/**
 * A distributed fixed window: at most `limit` tokens are counted in each window, and the
 * count starts again at 0 when it ends. A call that finds its window full may wait
 * (take(), within maxSleep) for the next one: it is counted there at once, and callers
 * after it queue behind it. In Redis, one integer per key, with the window's end in it
 * and a TTL that ends with it (lua/includes/fixed-window.lua).
 */
export class FixedWindowLimiter extends BaseRateLimiter<FixedWindowShape, FixedWindowSnapshot> {
  constructor(store: StoreOrClient, options: FixedWindowOptions) {
    const reader = OptionReader.forLimiter(options, 'fixed-window');
    const common = reader.common();
    const window = readWindow(options, common.name);
    const shape: FixedWindowShape = {
      limit: reader.positiveInteger('limit'),
      window,
      blockDuration: reader.blockDuration(),
      clockOffset: 0,
    };
    const windowId = typeof window === 'number' ? window : window.id;
    super(store, {
      kind: 'fixed-window',
      reader,
      common,
      shape,
      shapeKey: `${shape.limit}/${windowId}/${shape.blockDuration}`,
      most: { option: 'limit', value: shape.limit },
      backendOf: (resolved) => resolved.fixedWindow(common),
    });
  }

  /**
   * Tokens a call could take now, ms until the window that holds now ends, and until every
   * window holding admissions (and any block) is over.
   */
  state(): Promise<FixedWindowSnapshot> {
    return super.state();
  }

  /**
   * Gives `tokens` back to the window now, never below 0: for calls taken in it that
   * should not count. Tokens counted in a window that has ended are not given back, nor
   * while later windows hold reservations (those windows opened because this one was
   * full): a reservation's own refund() gives back to the window it was counted in.
   * Clears this process's cached refusals of the limit. Resolves with the state after it.
   */
  async refund(tokens = 1): Promise<FixedWindowSnapshot> {
    return super.refund(tokens);
  }

  /**
   * @internal Moves this limiter's "now" by `ms` on the store's clock (and on the clock its
   * calendar periods are worked out around), so a test can put it at a daylight-saving
   * change or a month's end. Limiters sharing a key must be moved alike. Refusals cached
   * on the old clock are forgotten.
   */
  shiftClock(ms: number): void {
    (this.shape as FixedWindowShape).clockOffset = ms;
    this.forgetRefusals();
  }
}

/** The window option: whole ms, or a calendar period in option `timezone`. */
function readWindow(options: FixedWindowOptions, name: string): number | CalendarWindows {
  const { window, timezone } = options;
  if (window === undefined) throw new InvalidOptionError('window', name, 'is required', window);
  if (typeof window === 'string' && (CALENDAR_PERIODS as readonly string[]).includes(window)) {
    if (timezone !== undefined && (typeof timezone !== 'string' || timezone.length === 0)) {
      throw new InvalidOptionError(
        'timezone',
        name,
        'must be an IANA time zone name such as "Europe/Berlin"',
        timezone,
      );
    }
    try {
      return new CalendarWindows(window as CalendarPeriod, timezone ?? 'UTC');
    } catch {
      throw new InvalidOptionError(
        'timezone',
        name,
        'must be an IANA time zone name such as "Europe/Berlin"',
        timezone,
      );
    }
  }
  if (typeof window !== 'number' || !Number.isSafeInteger(window) || window < 1 || window > MAX_TIMER_MS) {
    throw new InvalidOptionError(
      'window',
      name,
      `must be a whole number of milliseconds from 1 to ${MAX_TIMER_MS}, or "day", "week" or "month"`,
      window,
    );
  }
  if (timezone !== undefined) {
    throw new InvalidOptionError(
      'timezone',
      name,
      'applies only to calendar windows ("day", "week" or "month")',
      timezone,
    );
  }
  return window;
}
