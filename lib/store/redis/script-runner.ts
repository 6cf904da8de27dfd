import type { LimitKind } from '../../core/limit-kind';
import { BreakerOpenError, RedisRefusedError, RedisUnavailableError } from '../../core/errors';
import type { LimiterRef } from '../../core/limiter-store';
import { PROBE, type Breaker } from './breaker';
import type { RedisConnection } from './clients/redis-connection';
import { script, type ScriptName } from './lua-scripts';
import { isOutage } from './outage';

/** What each call asks Redis for, in the words of a refusal: "Redis refused to <operation>". */
const OPERATIONS: Record<string, (name: string) => string> = {
  semaphoreAcquire: (name) => `acquire a permit of semaphore "${name}"`,
  semaphoreRelease: (name) => `release a permit of semaphore "${name}"`,
  semaphoreRenew: (name) => `renew a permit of semaphore "${name}"`,
  semaphoreCancel: (name) => `cancel a wait for semaphore "${name}"`,
  semaphoreInspect: (name) => `read the state of semaphore "${name}"`,
  healthProbe: () => 'answer the health probe (a script that only reads TIME)',
  subscribe: (name) => `subscribe to the grants of semaphore "${name}" (SUBSCRIBE)`,
};

/**
 * What every rate kind's scripts (<kind>-take, -adjust, -inspect) ask for, before the
 * kind's own words: a new rate kind's scripts are named without a line here.
 */
const RATE_OPERATIONS: Record<string, string> = {
  Take: 'take tokens from',
  Adjust: 'give back or take extra tokens of',
  Inspect: 'read the state of',
};

/** "Redis refused to <this>": what `operation` of a limiter of `kind` asked for. */
function describeOperation(operation: Operation, name: string, kind: LimitKind | undefined): string {
  const phrase = OPERATIONS[operation];
  if (phrase) return phrase(name);
  const verb = /(Take|Adjust|Inspect)$/.exec(operation)?.[1];
  if (verb !== undefined && kind !== undefined) return `${RATE_OPERATIONS[verb]} ${kind.replace(/-/g, ' ')} "${name}"`;
  // A script added to lua/ without a phrase is still named, by its script name.
  return `run ${operation} for limiter "${name}"`;
}

export type Operation = ScriptName | 'subscribe';

/**
 * Calls the breaker never stops: giving a slot back or leaving a queue must not be lost to
 * an open breaker. They go to the client, which queues them until Redis is back; if it never
 * is in time, the lease or the queue entry runs out on its own.
 */
const ALWAYS_SENT = new Set<Operation>(['semaphoreRelease', 'semaphoreCancel']);

/**
 * Runs a limiter's scripts on one client, each call bounded by the limiter's commandTimeout
 * and, unless `breaker` is absent (the health probe), gated by its server's circuit breaker.
 */
export class ScriptRunner {
  constructor(
    private readonly connection: RedisConnection,
    private readonly ref: LimiterRef,
    /** Absent for the health probe, which belongs to no limiter. */
    private readonly kind?: LimitKind,
    /** The breaker in front of this limiter's server, looked up per call (a Cluster slot may move). */
    private readonly breaker?: () => Breaker,
  ) {}

  /**
   * Runs the script `name`, and gives its reply through `read` (as it comes when absent).
   * Reading the reply here, in the one callback every answer goes through anyway, spares
   * each store call a promise and an async frame of its own: this is the hot path.
   */
  run<T = unknown>(
    name: ScriptName,
    keys: string[],
    args: Array<string | number>,
    read?: (reply: unknown) => T,
  ): Promise<T> {
    try {
      const breaker = this.breaker?.();
      const gate = ALWAYS_SENT.has(name) ? undefined : breaker?.admit();
      if (typeof gate === 'string') return refusedSoon(this.breakerOpen(gate));
      return this.settle(this.connection.runScript(script(name), keys, args), name, breaker, gate === PROBE, read);
    } catch (error) {
      // As from the async functions that called this before: a failure to send is a rejection.
      return Promise.reject(error);
    }
  }

  /**
   * The client queues commands while it reconnects, possibly for a long time. Callers get a
   * clear error after commandTimeout instead; the command may still run later, which
   * every script tolerates (a stray lease expires, a stray reservation only under-admits).
   * Besides the scripts, the one call bounded here is a waiter's SUBSCRIBE: the default.
   */
  bounded<T>(call: Promise<T>, operation: Operation = 'subscribe'): Promise<T> {
    const breaker = this.breaker?.();
    const gate = breaker?.admit();
    if (typeof gate === 'string') {
      // Already sent: its outcome no longer matters to anyone.
      call.catch(() => undefined);
      return refusedSoon(this.breakerOpen(gate));
    }
    return this.settle<T>(call, operation, breaker, gate === PROBE);
  }

  private settle<T>(
    call: Promise<unknown>,
    operation: Operation,
    breaker: Breaker | undefined,
    probe: boolean,
    read?: (reply: unknown) => T,
  ): Promise<T> {
    const { name, commandTimeout } = this.ref;
    // This wraps every command on the hot path: one promise, and a place in the one deadline
    // queue of its commandTimeout rather than a timer of its own.
    return new Promise<T>((resolve, reject) => {
      const deadline = expireAfter(commandTimeout, () => {
        const reason = `no answer within commandTimeout ${commandTimeout} ms`;
        breaker?.failed(reason, probe);
        reject(new RedisUnavailableError(name, new Error(reason), undefined, this.kind));
      });
      call.then(
        (value) => {
          deadline.settled();
          breaker?.answered();
          if (!read) return resolve(value as T);
          try {
            resolve(read(value));
          } catch (error) {
            reject(error);
          }
        },
        (error: unknown) => {
          deadline.settled();
          const failure = error instanceof RedisUnavailableError ? error : this.failure(operation, error);
          if (!breaker) return reject(failure);
          if (isOutage(failure)) breaker.failed(reasonOf(failure), probe);
          else breaker.answered();
          reject(failure);
        },
      );
    });
  }

  private breakerOpen(reason: string): RedisUnavailableError {
    return new BreakerOpenError(this.ref.name, new Error(reason), undefined, this.kind);
  }

  private failure(operation: Operation, error: unknown): RedisUnavailableError {
    const { name, keyPrefix } = this.ref;
    const replied = this.connection.serverReply(error);
    if (replied === undefined) return new RedisUnavailableError(name, error, undefined, this.kind);
    const reply = withoutLimiterNames(replied, keyPrefix);
    const code = /^[A-Z]+/.exec(reply)?.[0] ?? 'ERR';
    const what = describeOperation(operation, name, this.kind);
    return new RedisRefusedError(name, what, code, explain(code, reply, keyPrefix), reply, error, this.kind);
  }
}

/** A failure's own reason, without the "Limiter … could not reach Redis:" around it. */
function reasonOf(error: RedisUnavailableError): string {
  return error instanceof RedisRefusedError || !(error.cause instanceof Error) ? error.message : error.cause.message;
}

/**
 * Redis 7.2 and later quote the key or channel a user may not touch. Our names carry the
 * limiter's (or a caller key's) encoded name, which must not reach logs and HTTP
 * answers through an error message: only the prefix is kept.
 */
function withoutLimiterNames(message: string, keyPrefix: string): string {
  // A client's own ioredis keyPrefix may come before ours.
  const quoted = new RegExp(`'[^']*${keyPrefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:[^']*'`, 'g');
  return message.replace(quoted, `'${keyPrefix}:…'`);
}

/** Why Redis said no, in terms of what to change. */
function explain(code: string, reply: string, keyPrefix: string): string {
  switch (code) {
    case 'OOM':
      return (
        'Redis is out of memory: it reached maxmemory and, under maxmemory-policy noeviction, refuses ' +
        'writes until memory is freed or maxmemory is raised'
      );
    case 'NOPERM':
      return noPermission(reply, keyPrefix);
    case 'READONLY':
      return 'the server is a read-only replica (after a failover the client is still connected to the demoted master)';
    case 'LOADING':
      return 'Redis is loading its data set into memory after a restart and serves no command until it is done';
    case 'BUSY':
      return 'Redis is busy running a script or function, and answers nothing else until it ends or is killed';
    case 'CLUSTERDOWN':
      return 'the Cluster is down: a hash slot of this limiter is not served by any master';
    case 'WRONGPASS':
    case 'NOAUTH':
      return 'the client is not logged in: wrong username or password, or the user is disabled';
    case 'TRYAGAIN':
      return 'a hash slot of this limiter is being migrated and its keys are split between two nodes';
    case 'MASTERDOWN':
      return 'the replica lost its link to the master and does not serve stale data';
    default:
      // Inside a script, Redis 7 reports a command the user may not run as a plain ERR.
      if (/can't run this command/.test(reply)) {
        return `the Redis user may not run one of the commands the script calls (${SCRIPT_COMMANDS})`;
      }
      return 'Redis answered with an error';
  }
}

function noPermission(reply: string, keyPrefix: string): string {
  const command = /the '([^']+)' command/.exec(reply)?.[1];
  if (command !== undefined) return `the Redis user may not run the command ${command.toUpperCase()}`;
  if (/channel/.test(reply))
    return `the Redis user may not use this limiter's channels (it needs the rule &${keyPrefix}:*)`;
  if (/key/.test(reply)) return `the Redis user may not access this limiter's keys (it needs the rule ~${keyPrefix}:*)`;
  return 'the Redis user lacks a permission the limiter needs';
}

/** Every command lua/ calls, as an ACL user needs them (kept in step by test/acl.spec.ts). */
export const SCRIPT_COMMANDS =
  'TIME GET SET INCR PEXPIRE PTTL PUBLISH SPUBLISH HGET HSET HDEL HINCRBY ZADD ZCARD ZRANGE ZRANGEBYSCORE ZREM ZREMRANGEBYSCORE ZSCORE';

/**
 * A script's integer array reply as numbers. A client made with `stringNumbers: true`
 * (ioredis's guard against integers past 2^53) hands integers over as strings, and
 * "1" === 1 is false: every grant would read as a refusal.
 */
export function numbers(reply: unknown): number[] {
  return (reply as Array<number | string>).map(Number);
}

/**
 * An open breaker's answer, on the next turn of the event loop rather than as a microtask:
 * a caller that retries at once in a loop (a worker's `while (true) await sem.run(job)`)
 * would otherwise never yield to I/O, so neither the probe's reply nor anything else of
 * the process would ever be read, and the breaker could never close.
 */
function refusedSoon(error: Error): Promise<never> {
  return new Promise((_, reject) => setImmediate(reject, error));
}

/** A call in flight, as its commandTimeout sees it. */
interface Deadline {
  /** The call got its answer (or its error) in time: it will not expire. Idempotent. */
  settled(): void;
}

/**
 * The deadlines of every call in flight with one commandTimeout, kept by one timer instead
 * of a timer per call: arming and clearing a Node timer (whose list of that duration is
 * made and dropped again when it is the only one) was the largest part of what the library
 * itself spent on a call. Calls sent later expire later, so the deadlines form a FIFO and
 * the timer waits for the oldest one still in flight. The timer holds the process open
 * while a call is in flight, as a timer per call did, and not once they have all settled.
 */
class DeadlineQueue {
  private head?: Entry;
  private tail?: Entry;
  /** Entries not yet settled nor expired. */
  private live = 0;
  private timer?: NodeJS.Timeout;

  constructor(private readonly timeoutMs: number) {}

  add(expire: () => void): Deadline {
    const entry = new Entry(this, performance.now() + this.timeoutMs, expire);
    if (this.tail) this.tail.next = entry;
    else this.head = entry;
    this.tail = entry;
    this.live += 1;
    if (!this.timer) this.arm(this.timeoutMs);
    else if (this.live === 1) this.timer.ref();
    return entry;
  }

  settledEntry(entry: Entry): void {
    entry.expire = undefined;
    this.live -= 1;
    // In the common case the call that settles is the oldest: drop it at once.
    this.dropSettled();
    if (this.live === 0) this.timer?.unref();
  }

  private dropSettled(): void {
    while (this.head && this.head.expire === undefined) this.head = this.head.next;
    if (!this.head) this.tail = undefined;
  }

  private arm(delay: number): void {
    // Whole ms, rounded up: never early, and timers of one duration share Node's list for it.
    this.timer = setTimeout(() => this.sweep(), Math.max(1, Math.ceil(delay)));
    if (this.live === 0) this.timer.unref();
  }

  private sweep(): void {
    this.timer = undefined;
    const now = performance.now();
    while (this.head && (this.head.expire === undefined || this.head.at <= now)) {
      const entry = this.head;
      this.head = entry.next;
      if (!this.head) this.tail = undefined;
      const expire = entry.expire;
      if (expire) {
        entry.expire = undefined;
        this.live -= 1;
        expire();
      }
    }
    // An expiry's listeners may have sent a call meanwhile, and armed the timer for it.
    if (this.head && !this.timer) this.arm(this.head.at - performance.now());
    if (!this.head && !this.timer && queues.get(this.timeoutMs) === this) queues.delete(this.timeoutMs);
  }
}

class Entry implements Deadline {
  next?: Entry;

  constructor(
    private readonly queue: DeadlineQueue,
    /** performance.now() at which the call expires. */
    readonly at: number,
    /** What expiring does; undefined once settled or expired. */
    public expire: (() => void) | undefined,
  ) {}

  settled(): void {
    if (this.expire !== undefined) this.queue.settledEntry(this);
  }
}

/** One queue per commandTimeout in use; a queue left empty when its timer fires is dropped. */
const queues = new Map<number, DeadlineQueue>();

/**
 * Calls `expire` once `timeoutMs` have passed, unless the returned deadline is settled first.
 * Never early; at most about a millisecond late, as a timer of its own would be.
 */
function expireAfter(timeoutMs: number, expire: () => void): Deadline {
  let queue = queues.get(timeoutMs);
  if (!queue) queues.set(timeoutMs, (queue = new DeadlineQueue(timeoutMs)));
  return queue.add(expire);
}
