import { HttpException, HttpStatus } from '@nestjs/common';
import { MaxSleepExceededError, RedisUnavailableError } from '../../core/errors';
import type { LimitersHttpOptions } from '../limiters-options.interface';

export type LimitKind = 'semaphore' | 'tokenBucket';

/**
 * The one place a limiter error becomes an HTTP answer. A limit not met within maxSleep
 * is 429 (or the status configured per kind); Redis unreachable with whenRedisFails
 * 'reject' is 503. Bodies name the policy (the declared limit), never the caller's key.
 * Any other error is not ours and passes through unchanged.
 */
export function toHttpException(
  error: unknown,
  kind: LimitKind,
  policy: string,
  http: Required<LimitersHttpOptions>,
): unknown {
  if (error instanceof MaxSleepExceededError) {
    const status = kind === 'tokenBucket' ? http.tokenBucketStatus : http.semaphoreStatus;
    const what = kind === 'tokenBucket' ? 'Rate limit' : 'Concurrency limit';
    return answer(status, `${what} "${policy}" exceeded.`, error);
  }
  if (error instanceof RedisUnavailableError) {
    return answer(HttpStatus.SERVICE_UNAVAILABLE, `Limit "${policy}" cannot be checked right now.`, error);
  }
  return error;
}

function answer(status: number, message: string, cause: Error): HttpException {
  const error = status === HttpStatus.TOO_MANY_REQUESTS ? 'Too Many Requests' : statusText(status);
  // An answer, not a fault: Nest logs no stack for an HttpException, and this one would only
  // show the library's own frames (the cause keeps its stack). Capturing it is a measurable
  // share of what a refusal costs, paid on every 429 of a client hammering a limit.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new HttpException({ statusCode: status, error, message }, status, { cause });
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}

function statusText(status: number): string {
  const name = HttpStatus[status] as string | undefined;
  return name ? name.toLowerCase().replace(/(^|_)(\w)/g, (_, gap: string, c: string) => (gap ? ' ' : '') + c.toUpperCase()) : 'Error';
}
