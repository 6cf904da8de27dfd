import type { ExecutionContext } from '@nestjs/common';
import type { LimitKind } from '../../core/limit-kind';

/**
 * What `key`, `skip` and per-call options are called with:
 * - on a controller handler, resolver or gateway: `(request, context)`. `request` is the
 *   HTTP request (for GraphQL, the one behind the GraphQL context; outside HTTP, the
 *   handler's first argument: RPC data, WebSocket client);
 * - on a service method: the method's own arguments.
 * `@TokenBucket<Request>({...})` types `request` (and so catches `req.usr`); without the type
 * argument the arguments are untyped.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- untyped on purpose: the app's functions name their own types
export type CallArgs<Req> = unknown extends Req ? any[] : [request: Req, context: ExecutionContext];

/** A value fixed in the decorator, or worked out for each call (sync or async: a plan lookup). */
export type PerCall<T, Args extends unknown[]> = T | ((...args: Args) => T | Promise<T>);

/**
 * Gives each caller (API token, user, tenant) its own limit. The key is hashed before it
 * goes anywhere (Redis keys, messages, logs). undefined or '' means the shared, unkeyed
 * limit; to exempt a caller use `skip`. A number (a user id) counts as its decimal string.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- as CallArgs: a bare LimitKey takes the app's own typed function
export type LimitKey<Args extends unknown[] = any[]> = (
  ...args: Args
) => string | number | undefined | Promise<string | number | undefined>;

/** True: this call is not limited by this limit (health checks, internal callers, an admin plan). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- as LimitKey
export type LimitSkip<Args extends unknown[] = any[]> = (...args: Args) => boolean | Promise<boolean>;

/** What a decorator adds to any limit, inline or registered. */
export interface CallLimitOptions<Req = unknown> {
  key?: LimitKey<CallArgs<Req>>;
  skip?: LimitSkip<CallArgs<Req>>;
  /** Overrides the limiter's maxSleep (ms) for calls of this method. 0: answer at once. */
  maxSleep?: PerCall<number, CallArgs<Req>>;
}

export interface TokenCost<Req = unknown> {
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

export interface SemaphoreCost<Req = unknown> {
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

/**
 * A limiter's options as a decorator takes them inline: those named in K may be worked out
 * per call, each keeping whether it is optional; `name` defaults to `Class.method` (or
 * `Class` on a class).
 */
export type InlineOptions<T, K extends keyof T, Req> = Omit<T, K | 'name' | 'key'> & {
  [P in keyof Pick<T, K>]: PerCall<T[P], CallArgs<Req>>;
} & { name?: string } & CallLimitOptions<Req>;

/** A class, as the decorators, the explorer and the pipeline see it. */
export type Class = abstract new (...args: never[]) => unknown;

/** A method, as they see it. */
export type Method = (...args: never[]) => unknown;

/** A function of the call, as the pipeline calls it. */
export type OfCall<T> = (...args: unknown[]) => T;

/** What a decorator records (see limit-metadata.ts): the pipeline reads nothing else. */
export interface LimitRecord {
  kind: LimitKind;
  /** A limiter registered with LimitersModule.forRoot/forFeature. */
  registered?: string;
  /** Options of a limiter made for this declaration; values may be functions of the call. */
  inline?: Record<string, unknown>;
  key?: OfCall<unknown>;
  skip?: OfCall<boolean | Promise<boolean>>;
  maxSleep?: PerCall<number, unknown[]>;
  /** What one call takes: a rate kind's `tokens`, a semaphore's `permits` (its kind's words.amount). */
  amount?: PerCall<number, unknown[]>;
  refundWhen?: RefundWhen;
  /** `Class.method` or `Class`: where it is written, for messages. */
  declaredAt: string;
  /** On a class (every handler of it) rather than on one method. */
  onClass: boolean;
}
