import type { TokenBucketShape } from '../../core/limiter-store';

/**
 * Members of the RateLimit-Policy and RateLimit header fields of
 * draft-ietf-httpapi-ratelimit-headers (-11): Structured Field lists whose items are a
 * policy name as an sf-string, with integer parameters in whole seconds.
 *   RateLimit-Policy: "api";q=100;w=60      100 requests, the bucket refills in 60 s
 *   RateLimit: "api";r=42;t=1               42 left; no more than that in the next 1 s
 * The policy is the limiter's base name, never the caller's key: keys are often secrets.
 */
export const RATELIMIT_POLICY = 'RateLimit-Policy';
export const RATELIMIT = 'RateLimit';
export const RETRY_AFTER = 'Retry-After';

/**
 * q is the bucket's capacity and w the time an empty bucket takes to fill again, so a
 * client that spends no more than q per w never waits.
 */
export function tokenBucketPolicy(policy: string, shape: Readonly<TokenBucketShape>): string {
  const refillMs = Math.ceil(shape.capacity / shape.refillAmount) * shape.refillFrequency;
  return `${sfString(policy)};q=${shape.capacity};w=${Math.max(1, seconds(refillMs))}`;
}

/**
 * r tokens left now; t seconds until the next refill adds any. That is the draft's
 * "effective window": until then the client can use no more than r. (Not the time until
 * full: refills before it already add tokens.)
 */
export function tokenBucketLimit(policy: string, remaining: number, nextRefillMs: number): string {
  return `${sfString(policy)};r=${Math.max(0, Math.floor(remaining))};t=${seconds(nextRefillMs)}`;
}

/**
 * Ms until the next refill, from the ms until the bucket is full. Refills land every
 * refillFrequency, and a bucket fills at one of them, so the next refill is `fullIn`
 * less the whole periods that follow it; a full bucket's next refill is a period away.
 */
export function nextRefillIn(fullIn: number, refillFrequency: number): number {
  return fullIn - (Math.ceil(fullIn / refillFrequency) - 1) * refillFrequency;
}

/** A semaphore's quota is in the draft's "concurrent-requests" unit and has no window. */
export function semaphorePolicy(policy: string, capacity: number): string {
  return `${sfString(policy)};q=${capacity};qu="concurrent-requests"`;
}

/** Whole seconds, rounded up: a client told to come back sooner would be refused again. */
export function seconds(ms: number): number {
  return Math.max(0, Math.ceil(ms / 1_000));
}

/** An sf-string allows printable ASCII only, with `"` and `\` escaped (RFC 9651 section 3.3.3). */
function sfString(text: string): string {
  // Names rarely need either change: one test spares every request two replacements.
  if (!/[^\x20\x21\x23-\x5b\x5d-\x7e]/.test(text)) return `"${text}"`;
  const printable = text.replace(/[^\x20-\x7e]/g, '?');
  return `"${printable.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
