/**
 * The pinned names of what the module measures, after OpenTelemetry's semantic
 * conventions for ASP.NET Core rate limiting (`aspnetcore.rate_limiting.requests`,
 * `request.time_in_queue`, `request_lease.duration`, `active_request_leases`,
 * `queued_requests`). Dashboards and alerts are written against these: renaming one is a
 * breaking change.
 */
export const METRIC_NAMES = {
  /** Counter: limited calls decided, by `limiters.result` (and `limiters.reason`). */
  requests: 'limiters.requests',
  /** Histogram, seconds: how long a call queued for a slot or slept for its tokens. */
  waitDuration: 'limiters.wait.duration',
  /** Histogram, seconds: how long a semaphore permit was held, from grant to release. */
  leaseDuration: 'limiters.lease.duration',
  /** Up-down counter: semaphore permits held now (granted minus released or lost). */
  leasesActive: 'limiters.leases.active',
  /** Up-down counter: calls waiting now, queued for a slot or sleeping for tokens. */
  queueWaiting: 'limiters.queue.waiting',
  /** Observable gauge: tokens left in each registered rate limit (token bucket, fixed window), read at collection. */
  tokensRemaining: 'limiters.tokens.remaining',
} as const;

/** The attributes of those metrics. The caller's key is never one of them (cardinality, secrecy). */
export const METRIC_ATTRIBUTES = {
  /** The limit's declared name. */
  name: 'limiters.name',
  /** The limit's kind (LimitKind): 'semaphore', 'token-bucket', 'fixed-window'. */
  kind: 'limiters.kind',
  /** 'admitted', 'refused', or 'cancelled' (a semaphore call that gave up in the queue: its signal aborted). */
  result: 'limiters.result',
  /** Why, where the result alone does not say: 'limit', 'shadow', 'redis_unavailable'. */
  reason: 'limiters.reason',
} as const;

export type MetricResult = 'admitted' | 'refused' | 'cancelled';
export type MetricReason = 'limit' | 'shadow' | 'redis_unavailable';

/** What every histogram of waits and holds uses: ASP.NET Core's request-duration buckets, in seconds. */
export const DURATION_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/** Longest a collection waits for one bucket's state: a Redis that does not answer must not hold up the scrape. */
export const STATE_TIMEOUT_MS = 1_000;
