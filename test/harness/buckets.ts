/**
 * What the token bucket specs (test/core/token-bucket*.spec.ts) share: buckets with names of
 * their own, and the check of a saturated bucket's admissions against its refill rate.
 */
import { TokenBucketLimiter, type TokenBucketOptions } from '../../lib';
import type { StoreOrClient } from '../../lib/store/resolve-store';
import { busiestWindow, steadyRate } from './admissions';
import { uniqueName } from './redis-targets';

/**
 * Checks admissions under saturation: after the first burst of `capacity`, every token
 * was paid for by a refill, at the bucket's rate, and no second saw more than it allows.
 */
export function expectRefillRate(
  admitted: number[],
  shape: { capacity: number; refillFrequency: number; refillAmount: number },
) {
  const paid = admitted.slice(shape.capacity);
  const perSecond = (shape.refillAmount * 1000) / shape.refillFrequency;
  // Taken from first to last, a process stalled at the end (a busy 2-core machine) moved
  // the rate by all of its stall: the median over pairs of admissions does not.
  const rate = steadyRate(paid);
  expect(rate).toBeGreaterThan(perSecond * 0.95);
  expect(rate).toBeLessThan(perSecond * 1.05);
  // Over the whole run, no more than the refills due in it (plus one at each end).
  const span = (paid[paid.length - 1] - paid[0]) / 1000;
  expect(paid.length).toBeLessThanOrEqual(span * perSecond + 2 * shape.refillAmount);
  // No second holds more than a full bucket plus the refills due in it; one extra
  // refill's worth covers timers waking late on a busy machine.
  const allowed = shape.capacity + shape.refillAmount * (Math.floor(1000 / shape.refillFrequency) + 1);
  expect(busiestWindow(admitted, 1000)).toBeLessThanOrEqual(allowed + shape.refillAmount);
}

/** Builds buckets on `store`, each with a name no other test uses. */
export const bucketsOn =
  (store: StoreOrClient) =>
  (options: Partial<TokenBucketOptions> = {}) =>
    new TokenBucketLimiter(store, { name: uniqueName('bucket'), capacity: 3, refillFrequency: 200, ...options });
