import { randomUUID } from 'node:crypto';
import { MaxSleepExceededError } from './errors';
import { OptionReader, type CommonLimiterOptions } from './options';
import { Permit, type PermitSource } from './permit';
import { SemaphoreWait } from './semaphore-wait';
import type { SemaphoreBackend, SemaphoreSnapshot } from '../store/limiter-store';
import { resolveStore, type StoreOrClient } from '../store/resolve-store';

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

  constructor(store: StoreOrClient, options: SemaphoreOptions) {
    const reader = OptionReader.forLimiter(options);
    const common = reader.common();
    this.name = common.name;
    this.maxSleep = common.maxSleep;
    this.capacity = reader.positiveInteger('capacity');
    this.leaseMs = reader.duration('expiry', SEMAPHORE_DEFAULTS.expiry, { min: 10 });
    this.backend = resolveStore(store).semaphore(common);
  }

  /** Waits up to maxSleep for a slot; rejects with MaxSleepExceededError after that. */
  async acquire(options: AcquireOptions = {}): Promise<Permit> {
    const maxSleep = OptionReader.callMaxSleep(options.maxSleep, this.name, this.maxSleep);
    const signal = OptionReader.callSignal(options.signal, this.name);
    signal?.throwIfAborted();
    if (maxSleep === 0) {
      const permit = await this.tryAcquire();
      if (!permit) throw new MaxSleepExceededError(this.name, 0);
      return permit;
    }
    const id = randomUUID();
    const leaseLeft = await new SemaphoreWait(this, id, maxSleep, signal).wait();
    return new Permit(this, id, leaseLeft);
  }

  /** Takes a slot if one is free and nobody is queued for it; never waits. */
  async tryAcquire(): Promise<Permit | null> {
    const id = randomUUID();
    const reply = await this.backend
      .acquire({ id, capacity: this.capacity, leaseMs: this.leaseMs, waitMs: 0 })
      .catch((error: unknown) => {
        // A call that timed out may still take the slot when Redis runs it late: the release follows it.
        void this.backend.release(id, this.capacity).catch(() => undefined);
        throw error;
      });
    return reply.status === 'held' ? new Permit(this, id, reply.leaseLeft) : null;
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
