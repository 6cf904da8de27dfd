import type { ExecutionContext } from '@nestjs/common';
import type { LimitKind } from '../../core/limit-kind';
import type { SemaphoreOptions } from '../../core/semaphore-limiter';
import type { TokenBucketOptions } from '../../core/token-bucket-limiter';

/**
 * What `key`, `skip` and per-call options are called with:
 * - on a controller handler, resolver or gateway: `(request, context)`. `request` is the
 *   HTTP request (for GraphQL, the one behind the GraphQL context; outside HTTP, the
 *   handler's first argument: RPC data, WebSocket client);
 * - on a service method: the method's own arguments.
 * `@TokenBucket<Request>({...})` types `request` (and so catches `req.usr`); without the type
 * argument the arguments are untyped.
 */
export type CallArgs<Req> = unknown extends Req ? any[] : [request: Req, context: ExecutionContext];

/** A value fixed in the decorator, or worked out for each call (sync or async: a plan lookup). */
export type PerCall<T, Args extends unknown[]> = T | ((...args: Args) => T | Promise<T>);

/**
 * Gives each caller (API token, user, tenant) its own limit. The key is hashed before it
 * goes anywhere (Redis keys, messages, logs). undefined or '' means the shared, unkeyed
 * limit; to exempt a caller use `skip`. A number (a user id) counts as its decimal string.
 */
export type LimitKey<Args extends unknown[] = any[]> = (
  ...args: Args
) => string | number | undefined | Promise<string | number | undefined>;

/** True: this call is not limited by this limit (health checks, internal callers, an admin plan). */
export type LimitSkip<Args extends unknown[] = any[]> = (...args: Args) => boolean | Promise<boolean>;

/** What a decorator adds to any limit, inline or registered. */
export interface CallLimitOptions<Req = any> {
  key?: LimitKey<CallArgs<Req>>;
  skip?: LimitSkip<CallArgs<Req>>;
  /** Overrides the limiter's maxSleep (ms) for calls of this method. 0: answer at once. */
  maxSleep?: PerCall<number, CallArgs<Req>>;
}

export interface TokenCost<Req = any> {
  /** Tokens one call takes (a query's cost, say). Default 1. */
  tokens?: PerCall<number, CallArgs<Req>>;
  /**
   * Called once the call has settled; true gives back the tokens it took from this bucket,
   * so that only some outcomes count (count only failed logins: refund when the login
   * succeeded). Sync or async; one that throws, or a refund that fails, keeps the tokens
   * spent and is logged. See CallOutcome for what it is given.
   */
  refundWhen?: RefundWhen;
}

export interface SemaphoreCost<Req = any> {
  /**
   * Permits one call holds (a heavy job takes several of the semaphore's capacity). Default
   * 1; at most the capacity. Waiters are served in arrival order (see SemaphoreLimiter).
   */
  permits?: PerCall<number, CallArgs<Req>>;
}

/**
 * How a limited call ended, as `refundWhen` sees it: the method's or handler's `result`
 * (an Observable's last value), or the `error` it threw. For an HTTP handler (and a
 * resolver served over HTTP) also `status`, the HTTP status code of the answer, read once
 * it has been sent: exception filters have had their say (a thrown UnauthorizedException
 * is a 401). A call whose caller went away before it settled (an unsubscribed
 * Observable) has no outcome: nothing is refunded.
 */
export type CallOutcome = ({ result: unknown; error?: never } | { error: unknown; result?: never }) & {
  status?: number;
};

export type RefundWhen = (outcome: CallOutcome) => boolean | Promise<boolean>;

/** Options that may be worked out per call, keeping whether each is optional. */
type Dynamic<T, K extends keyof T, Args extends unknown[]> = Omit<T, K | 'name' | 'key'> & {
  [P in keyof Pick<T, K>]: PerCall<T[P], Args>;
};

/** `@Semaphore({...})`: a semaphore made for this method (or class); `name` defaults to `Class.method` (or `Class`). */
export type InlineSemaphoreOptions<Req = any> = Dynamic<SemaphoreOptions, 'capacity', CallArgs<Req>> & {
  name?: string;
} & CallLimitOptions<Req> &
  SemaphoreCost<Req>;

/** `@TokenBucket({...})`: a bucket made for this method (or class); `name` defaults to `Class.method` (or `Class`). */
export type InlineTokenBucketOptions<Req = any> = Dynamic<
  TokenBucketOptions,
  'capacity' | 'refillFrequency' | 'refillAmount',
  CallArgs<Req>
> & { name?: string } & CallLimitOptions<Req> &
  TokenCost<Req>;

/** What a decorator records (see limit-metadata.ts): the pipeline reads nothing else. */
export interface LimitRecord {
  kind: LimitKind;
  /** A limiter registered with LimitersModule.forRoot/forFeature. */
  registered?: string;
  /** Options of a limiter made for this declaration; values may be functions of the call. */
  inline?: Record<string, unknown>;
  key?: LimitKey;
  skip?: LimitSkip;
  maxSleep?: PerCall<number, any[]>;
  tokens?: PerCall<number, any[]>;
  refundWhen?: RefundWhen;
  permits?: PerCall<number, any[]>;
  /** `Class.method` or `Class`: where it is written, for messages. */
  declaredAt: string;
  /** On a class (every handler of it) rather than on one method. */
  onClass: boolean;
}

/** Options of the decorators that are not the limiter's own. */
export const CALL_OPTIONS = ['key', 'skip', 'maxSleep', 'tokens'] as const;

/** The call options only a token bucket takes. */
export const BUCKET_CALL_OPTIONS = [...CALL_OPTIONS, 'refundWhen'] as const;

/** The call options only a semaphore takes. */
export const SEMAPHORE_CALL_OPTIONS = [...CALL_OPTIONS, 'permits'] as const;
