import { randomBytes } from 'node:crypto';
import { LimiterClosedError, MaxSleepExceededError, RedisUnavailableError } from './errors';
import { publish, publishRedisError, type LimitEvent } from './events';
import { closeOpenCalls } from './open-calls';
import { OptionReader, type CommonLimiterOptions } from './options';
import { Permit, type PermitSource } from './permit';
import { SemaphoreWait } from './semaphore-wait';
import type { LimiterStore, SemaphoreBackend, SemaphoreSnapshot } from './limiter-store';
import { resolveStore, type StoreOrClient } from './store-resolver';

export interface SemaphoreOptions extends CommonLimiterOptions {
  /** How many permits may be held at once (a holder of `permits: n` counts n). */
  capacity: number;
  /** Lease length (ms). A holder that dies frees its slot this long after its last renewal. Default 30 000. */
  expiry?: number;
}

export interface TryAcquireOptions {
  /**
   * How many of the capacity this call holds: a whole number from 1 (the default) to
   * `capacity`. Waiters are served strictly in arrival order: one asking for more than
   * is free waits at the head, and callers behind it wait too, even those that would fit
   * (so a large request is never starved by a stream of small ones).
   */
  permits?: number;
}

export interface AcquireOptions extends TryAcquireOptions {
  /** Overrides the limiter's maxSleep for this call. */
  maxSleep?: number;
  /** Gives up waiting when aborted; the call then rejects with the signal's reason. */
  signal?: AbortSignal;
}

export const SEMAPHORE_DEFAULTS = { expiry: 30_000 };

/** Drawn once per process: 96 random bits keep the ids of different processes apart. */
const ID_PREFIX = randomBytes(12).toString('base64url') + '.';
let idsMade = 0;

/**
 * A new permit (and waiter) id, unique across processes and clients: the process's prefix
 * and a counter. A randomUUID() per call was a measurable part of what an acquire costs.
 * Holds no ":", which ends the id in a grant message.
 */
function permitId(): string {
  idsMade += 1;
  return ID_PREFIX + idsMade.toString(36);
}

/**
 * A distributed counting semaphore: at most `capacity` permits of one name held at once,
 * across every process that shares the Redis. Waiters are served first come, first
 * served and are woken by the release that frees their room. Every grant carries a
 * fencing token (`permit.fencingToken`).
 */
export class SemaphoreLimiter implements PermitSource {
  readonly name: string;
  readonly capacity: number;
  readonly leaseMs: number;
  readonly maxSleep: number;
  /** @internal The store's side of this semaphore; the library's own code and tests reach it. */
  readonly backend: SemaphoreBackend;
  readonly store: LimiterStore;
  /** True in shadow mode (option `mode: 'shadow'`): a call that finds no slot is reported and goes on. */
  readonly shadow: boolean;
  /** What every event of this limiter says of it (see events.ts). */
  readonly identity: LimitEvent;
  private closed = false;

  constructor(store: StoreOrClient, options: SemaphoreOptions) {
    const reader = OptionReader.forLimiter(options, 'semaphore');
    const common = reader.common();
    this.name = common.name;
    this.maxSleep = common.maxSleep;
    this.capacity = reader.positiveInteger('capacity');
    this.leaseMs = reader.duration('expiry', SEMAPHORE_DEFAULTS.expiry, { min: 10 });
    this.shadow = common.shadow;
    this.identity = { name: this.name, kind: 'semaphore', keyId: common.keyId, shadow: this.shadow };
    this.store = resolveStore(store);
    this.backend = this.store.semaphore(common);
  }

  /**
   * Waits up to maxSleep for a slot; rejects with MaxSleepExceededError after that. In
   * shadow mode it never waits: without a free slot it reports the refusal and resolves
   * with a permit that holds nothing (`permit.held` false).
   */
  async acquire(options: AcquireOptions = {}): Promise<Permit> {
    const maxSleep = OptionReader.callMaxSleep(options.maxSleep, this.name, this.maxSleep);
    const signal = OptionReader.callSignal(options.signal, this.name);
    const permits = OptionReader.callPermits(options.permits, this.name, this.capacity);
    signal?.throwIfAborted();
    this.throwIfClosed();
    if (maxSleep === 0 || this.shadow) {
      const permit = await this.tryAcquire({ permits });
      if (!permit) throw new MaxSleepExceededError(this.name, 0, undefined, 'semaphore');
      return permit;
    }
    const id = permitId();
    const startedAt = performance.now();
    try {
      const grant = await new SemaphoreWait(this, id, permits, maxSleep, signal).wait();
      const permit = this.handOver(id, grant.leaseEndsAt, permits, grant.fencingToken);
      publish('admit', () => ({ ...this.identity, permits, waitedMs: performance.now() - startedAt }));
      return permit;
    } catch (error) {
      this.publishFailure(error, performance.now() - startedAt, permits, signal);
      throw error;
    }
  }

  /** Takes the permits if they are free and nobody is queued for them; never waits. In shadow mode, see acquire(). */
  async tryAcquire(options: TryAcquireOptions = {}): Promise<Permit | null> {
    const permits = OptionReader.callPermits(options.permits, this.name, this.capacity);
    this.throwIfClosed();
    const id = permitId();
    const sentAt = performance.now();
    const reply = await this.backend
      .acquire({ id, capacity: this.capacity, leaseMs: this.leaseMs, waitMs: 0, permits })
      .catch((error: unknown) => {
        // A call that timed out may still take the permits when Redis runs it late: the release follows it.
        void this.backend.release(id, this.capacity, permits).catch(() => undefined);
        publishRedisError(this.identity, error);
        throw error;
      });
    if (reply.status !== 'held') {
      this.publishFailure(new MaxSleepExceededError(this.name, 0, undefined, 'semaphore'), 0, permits);
      return this.shadow ? new Permit(this, id, sentAt, { held: false, permits }) : null;
    }
    const permit = this.handOver(id, sentAt + reply.leaseLeft, permits, reply.fencingToken);
    publish('admit', () => ({ ...this.identity, permits, waitedMs: 0 }));
    return permit;
  }

  /** The event of a call that got no permit: refused by the limit, Redis could not be asked, or it gave up. */
  private publishFailure(error: unknown, waitedMs: number, permits: number, signal?: AbortSignal): void {
    if (error instanceof MaxSleepExceededError) {
      publish('refuse', () => ({ ...this.identity, permits, reason: 'limit', waitedMs }));
    } else if (error instanceof RedisUnavailableError) {
      publishRedisError(this.identity, error);
    } else if (signal?.aborted && error === signal.reason) {
      publish('cancel', () => ({ ...this.identity, permits, waitedMs }));
    }
  }

  /**
   * Cancels this limiter's waiting calls (their queue entries leave Redis, and they reject
   * with LimiterClosedError), releases its permits still held (their `signal` aborts with
   * a LeaseLostError) and awaits releases in flight. Later calls reject with
   * LimiterClosedError. Call it before quitting a client you own.
   */
  async close(): Promise<void> {
    this.markClosed();
    await closeOpenCalls(
      this.store,
      (s) => s === this,
      () => new LimiterClosedError(this.name),
    );
  }

  /** @internal Refuses calls from now on; closing the open ones is up to the caller (LimitersService). */
  markClosed(): void {
    this.closed = true;
  }

  private throwIfClosed(): void {
    if (this.closed) throw new LimiterClosedError(this.name);
  }

  /** A grant that arrives after close() began is handed back rather than left running. */
  private handOver(id: string, leaseEndsAt: number, permits: number, fencingToken: bigint): Permit {
    const permit = new Permit(this, id, leaseEndsAt, { permits, fencingToken });
    if (this.closed) {
      void permit.close();
      throw new LimiterClosedError(this.name);
    }
    return permit;
  }

  /**
   * Runs `work` while holding the permits (`options.permits`, default 1) and releases them
   * afterwards, also when `work` throws.
   * `work` gets the permit's signal, which aborts if the lease is lost.
   */
  async run<T>(work: (signal: AbortSignal) => Promise<T> | T, options?: AcquireOptions): Promise<T> {
    const permit = await this.acquire(options);
    try {
      return await work(permit.signal);
    } finally {
      // A release that cannot reach Redis must not hide work that succeeded: the lease
      // stops being renewed and runs out on its own.
      await permit.release().catch(() => undefined);
    }
  }

  /** Current holders and waiters, read on the server's clock. */
  state(): Promise<SemaphoreSnapshot> {
    return this.backend.inspect();
  }
}
