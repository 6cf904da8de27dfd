import { randomUUID } from 'node:crypto';
import { LimiterClosedError, MaxSleepExceededError, RedisUnavailableError } from './errors';
import { publish, publishRedisError, type LimitEvent } from './events';
import { closeOpenCalls } from './open-calls';
import { OptionReader, type CommonLimiterOptions } from './options';
import { Permit, type PermitSource } from './permit';
import { SemaphoreWait } from './semaphore-wait';
import type { LimiterStore, SemaphoreBackend, SemaphoreSnapshot } from './limiter-store';
import { resolveStore, type StoreOrClient } from './store-resolver';

export interface SemaphoreOptions extends CommonLimiterOptions {
  /** How many holders may run at once. */
  capacity: number;
  /** Lease length (ms). A holder that dies frees its slot this long after its last renewal. Default 30 000. */
  expiry?: number;
}

export interface AcquireOptions {
  /** Overrides the limiter's maxSleep for this call. */
  maxSleep?: number;
  /** Gives up waiting when aborted; the call then rejects with the signal's reason. */
  signal?: AbortSignal;
}

export const SEMAPHORE_DEFAULTS = { expiry: 30_000 };

/**
 * A distributed counting semaphore: at most `capacity` holders of one name at once,
 * across every process that shares the Redis. Waiters are served first come, first
 * served and are woken by the release that frees their slot.
 */
export class SemaphoreLimiter implements PermitSource {
  readonly name: string;
  readonly capacity: number;
  readonly leaseMs: number;
  readonly maxSleep: number;
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
    signal?.throwIfAborted();
    this.throwIfClosed();
    if (maxSleep === 0 || this.shadow) {
      const permit = await this.tryAcquire();
      if (!permit) throw new MaxSleepExceededError(this.name, 0, undefined, 'semaphore');
      return permit;
    }
    const id = randomUUID();
    const startedAt = performance.now();
    try {
      const leaseEndsAt = await new SemaphoreWait(this, id, maxSleep, signal).wait();
      const permit = this.handOver(id, leaseEndsAt);
      publish('admit', () => ({ ...this.identity, permits: 1, waitedMs: performance.now() - startedAt }));
      return permit;
    } catch (error) {
      this.publishFailure(error, performance.now() - startedAt);
      throw error;
    }
  }

  /** Takes a slot if one is free and nobody is queued for it; never waits. In shadow mode, see acquire(). */
  async tryAcquire(): Promise<Permit | null> {
    this.throwIfClosed();
    const id = randomUUID();
    const sentAt = performance.now();
    const reply = await this.backend
      .acquire({ id, capacity: this.capacity, leaseMs: this.leaseMs, waitMs: 0 })
      .catch((error: unknown) => {
        // A call that timed out may still take the slot when Redis runs it late: the release follows it.
        void this.backend.release(id, this.capacity).catch(() => undefined);
        publishRedisError(this.identity, error);
        throw error;
      });
    if (reply.status !== 'held') {
      this.publishFailure(new MaxSleepExceededError(this.name, 0, undefined, 'semaphore'), 0);
      return this.shadow ? new Permit(this, id, sentAt, { held: false }) : null;
    }
    const permit = this.handOver(id, sentAt + reply.leaseLeft);
    publish('admit', () => ({ ...this.identity, permits: 1, waitedMs: 0 }));
    return permit;
  }

  /** The event of a call that got no slot: refused by the limit, or Redis could not be asked. */
  private publishFailure(error: unknown, waitedMs: number): void {
    if (error instanceof MaxSleepExceededError) {
      publish('refuse', () => ({ ...this.identity, permits: 1, reason: 'limit', waitedMs }));
    } else if (error instanceof RedisUnavailableError) {
      publishRedisError(this.identity, error);
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
    await closeOpenCalls(this.store, (s) => s === this, () => new LimiterClosedError(this.name));
  }

  /** @internal Refuses calls from now on; closing the open ones is up to the caller (LimitersService). */
  markClosed(): void {
    this.closed = true;
  }

  private throwIfClosed(): void {
    if (this.closed) throw new LimiterClosedError(this.name);
  }

  /** A grant that arrives after close() began is handed back rather than left running. */
  private handOver(id: string, leaseEndsAt: number): Permit {
    const permit = new Permit(this, id, leaseEndsAt);
    if (this.closed) {
      void permit.close();
      throw new LimiterClosedError(this.name);
    }
    return permit;
  }

  /**
   * Runs `work` while holding a slot and releases it afterwards, also when `work` throws.
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
