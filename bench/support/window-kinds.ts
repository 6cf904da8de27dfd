/**
 * The window kinds scenario 1 measures beside the token bucket, each one admission from a
 * window that never fills, against the peers that count in fixed windows. Adding a kind is
 * one entry here. The worker builds each from the compiled library by its class name and
 * skips a kind the library does not export yet, so an entry can wait here for its class
 * without the bench failing or publishing a row for it.
 */

export interface WindowKind {
  /** The class lib/index.ts exports; built as `new Class(redis, { name, limit, window })`. */
  className: string;
  /** Its row in the cost-per-call table, and its name in the Summary. */
  label: string;
  /** What the Summary calls it. */
  short: string;
}

export const WINDOW_KINDS: readonly WindowKind[] = [
  { className: 'FixedWindowLimiter', label: 'admission to a fixed window that never fills', short: 'fixed window' },
  {
    className: 'SlidingWindowLimiter',
    label: 'admission to a sliding window that never fills',
    short: 'sliding window',
  },
];

/** Long enough that no window rolls over during the scenario, as the throttler storage's 60 s ttl there. */
export const WINDOW_MS = 60_000;

/** The contender's name in the scenario's tables. */
export const windowOpName = (kind: WindowKind) => `nestjs-limiters ${kind.className} tryTake()`;

/** The peers a window admission is compared with: both count calls in fixed windows. */
export const WINDOW_PEERS = ['rate-limiter-flexible consume()', '@nest-lab/throttler-storage-redis increment()'];
