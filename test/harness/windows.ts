/** What the window specs (test/core/fixed-window*.spec.ts, sliding-window*.spec.ts) share: limiters with names of their own. */
import { FixedWindowLimiter, type FixedWindowOptions } from '../../lib/core/fixed-window-limiter';
import { SlidingWindowLimiter, type SlidingWindowOptions } from '../../lib/core/sliding-window-limiter';
import type { StoreOrClient } from '../../lib/core/store-resolver';
import '../../lib/store/resolve-store';
import { uniqueName } from './redis-targets';

/** Builds fixed windows on `store` (3 a minute unless told), each with a name no other test uses. */
export const fixedWindowsOn =
  (store: StoreOrClient) =>
  (options: Partial<FixedWindowOptions> = {}) =>
    new FixedWindowLimiter(store, { name: uniqueName('window'), limit: 3, window: 60_000, ...options });

/** Builds sliding windows on `store` (3 a minute unless told), each with a name no other test uses. */
export const slidingWindowsOn =
  (store: StoreOrClient) =>
  (options: Partial<SlidingWindowOptions> = {}) =>
    new SlidingWindowLimiter(store, { name: uniqueName('sliding'), limit: 3, window: 60_000, ...options });

/**
 * At least the tokens a window of `limit` per `windowMs` must admit over `durationMs` to
 * callers that never stop asking: the limit at once, then the limit again each time a
 * window and its sub-window (a tenth) have passed, one turn short for a late start.
 */
export function slidingWindowMinimum(
  { limit, windowMs }: { limit: number; windowMs: number },
  durationMs: number,
): number {
  return limit * Math.floor(durationMs / (windowMs * 1.1 + 50));
}
