import type { LimitKind } from './limit-kind';

/** Base class of every error this library throws, so callers can catch them all at once. */
export class LimiterError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * A limiter option is missing or out of range. Thrown at construction, never mid-flight;
 * except for a decorator's `key`, whose result is only known when a call is made.
 */
export class InvalidOptionError extends LimiterError {
  constructor(
    readonly option: string,
    readonly limiter: string | undefined,
    requirement: string,
    received: unknown,
  ) {
    const owner = limiter === undefined ? '' : ` of limiter "${limiter}"`;
    super(`Option "${option}"${owner} ${requirement}; received ${describe(received)}.`);
  }
}

/**
 * The limit was not met within `maxSleep`. `wouldWait` is how long the caller would have
 * had to wait (ms) where the store could tell: always for a token bucket, and for a
 * semaphore the time until the earliest lease runs out (an upper bound, since a
 * release usually comes sooner).
 */
export class MaxSleepExceededError extends LimiterError {
  constructor(
    readonly limiter: string,
    readonly maxSleep: number,
    readonly wouldWait?: number,
    /** Which kind of limit refused: a semaphore's wait is not a retry time, a bucket's is. */
    readonly kind?: LimitKind,
  ) {
    const needed = wouldWait === undefined ? '' : ` (it would have needed ${wouldWait} ms)`;
    super(`Limiter "${limiter}" could not admit the call within maxSleep ${maxSleep} ms${needed}.`);
  }
}

/**
 * Redis did not answer in time or refused the command. The call had no effect the
 * caller can rely on: a permit it may have created is released or expires with its lease.
 * A refusal is the subclass RedisRefusedError, which says what Redis refused and why.
 */
export class RedisUnavailableError extends LimiterError {
  constructor(
    readonly limiter: string,
    cause: unknown,
    message = `Limiter "${limiter}" could not reach Redis: ${reasonOf(cause)}`,
    /** The kind of limiter whose call failed. */
    readonly kind?: LimitKind,
  ) {
    super(message, { cause });
  }
}

/**
 * The circuit breaker in front of the limiter's Redis is open: the call was not sent.
 * Transient by nature (a probe closes it): a waiter already queued keeps waiting.
 */
export class BreakerOpenError extends RedisUnavailableError {}

/**
 * Redis answered, but with an error: out of memory (OOM), a user without the permission
 * (NOPERM), a replica after a failover (READONLY), a restart still loading its data
 * (LOADING), a script that blocks the server (BUSY), a cluster missing a slot
 * (CLUSTERDOWN). Retrying soon rarely helps: the deployment needs a change. A subclass of
 * RedisUnavailableError, so code that fails open or closed on Redis errors treats it alike.
 */
export class RedisRefusedError extends RedisUnavailableError {
  constructor(
    limiter: string,
    /** What the limiter asked for, e.g. `release a permit of semaphore "x"`. */
    readonly operation: string,
    /** The error code Redis answered with: 'OOM', 'NOPERM', 'READONLY', 'ERR', ... */
    readonly code: string,
    explanation: string,
    /** Redis's own reply, with limiter key and channel names left out. */
    readonly reply: string,
    cause: unknown,
    kind?: LimitKind,
  ) {
    super(limiter, cause, `Redis refused to ${operation}: ${explanation} (Redis said: ${reply})`, kind);
  }
}

/** Why a permit's AbortSignal fired: its lease could not be kept, so the slot may be someone else's. */
export class LeaseLostError extends LimiterError {
  constructor(
    readonly limiter: string,
    readonly permitId: string,
    reason: string,
  ) {
    super(`Permit ${permitId} of semaphore "${limiter}" lost its lease: ${reason}.`);
  }
}

/** A bad value that must not be shown (a caller's key, a secret): messages give only its type. */
export class Withheld {
  constructor(readonly value: unknown) {}
}

function reasonOf(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

/**
 * The limiter was closed (`semaphore.close()`, `limiters.close()`, or the Nest app shutting
 * down) before the call was admitted; a waiting call was taken out of the queue in Redis.
 * A RedisUnavailableError, since to the caller the store has gone away: code that handles
 * a lost Redis (HTTP 503, `whenRedisFails`) handles a closing app the same way.
 */
export class LimiterClosedError extends RedisUnavailableError {
  constructor(limiter: string) {
    super(limiter, new Error('the limiter was closed'), undefined, 'semaphore');
    this.message = `Limiter "${limiter}" was closed: the call was not admitted and left the queue.`;
  }
}

function describe(value: unknown): string {
  if (value instanceof Withheld) return `a value of type ${typeof value.value} (not shown)`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  return typeof value;
}
