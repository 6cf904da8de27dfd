import { HttpException } from '@nestjs/common';
import type { LimitKind } from '../../core/limit-kind';

/** A refused limit as the transport layer reports it: never the caller's key. */
export interface RefusedLimit {
  /** The limit's declared name (registered, inline, or `Class.method`). */
  limit: string;
  kind: LimitKind;
  /** 'limit': not met within maxSleep; 'redis-unavailable': Redis could not check it and whenRedisFails rejects. */
  reason: 'limit' | 'redis-unavailable';
  /** Ms until a retry can succeed, where known (a token bucket's exact wait). */
  retryAfterMs?: number;
}

/**
 * What an HTTP call refused by a limit answers: 429 (or the status configured per kind),
 * 503 when Redis could not check the limit. `@Catch(LimitExceededException)` to shape
 * the answer yourself, or set `http.exceptionFactory`.
 */
export class LimitExceededException extends HttpException implements RefusedLimit {
  readonly limit: string;
  readonly kind: LimitKind;
  readonly reason: RefusedLimit['reason'];
  readonly retryAfterMs?: number;

  constructor(refused: RefusedLimit, status: number, body: object, cause?: unknown) {
    // An answer, not a fault: Nest logs no stack for an HttpException, and this one would
    // only show the library's frames. Capturing it is a measurable share of what a refusal
    // costs, paid on every 429 of a client hammering a limit.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(body, status, { cause });
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    this.limit = refused.limit;
    this.kind = refused.kind;
    this.reason = refused.reason;
    this.retryAfterMs = refused.retryAfterMs;
  }
}
