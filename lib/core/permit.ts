import { EventEmitter } from 'node:events';
import { LeaseLostError } from './errors';
import { LazyAbortController } from './lazy-abort-controller';
import type { SemaphoreBackend } from '../store/limiter-store';

/** What a Permit needs from the semaphore that granted it. */
export interface PermitSource {
  readonly name: string;
  readonly capacity: number;
  readonly leaseMs: number;
  readonly backend: SemaphoreBackend;
}

/**
 * One held slot of a semaphore: a lease with its own id, renewed in the background
 * while held, so work that outlives `expiry` is never joined by an extra holder.
 * If a renewal finds the lease gone, `signal` aborts and a 'lost' event fires with a
 * LeaseLostError: the work should stop, since the slot may be someone else's now.
 */
export class Permit extends EventEmitter implements AsyncDisposable {
  /** Aborted when the lease is lost; most permits are released without anyone reading its signal. */
  private readonly loss = new LazyAbortController();
  private readonly renewal: NodeJS.Timeout;
  private leaseEndsAt: number;
  private releasing?: Promise<boolean>;

  constructor(
    private readonly source: PermitSource,
    readonly id: string,
    leaseLeft: number,
  ) {
    super();
    this.leaseEndsAt = performance.now() + leaseLeft;
    // A third of the lease leaves two more tries before it runs out if one fails.
    this.renewal = setInterval(() => void this.renew(), Math.max(1, Math.floor(source.leaseMs / 3)));
    this.renewal.unref();
  }

  get limiter(): string {
    return this.source.name;
  }

  /** Aborts when the lease is lost; its reason is a LeaseLostError. */
  get signal(): AbortSignal {
    return this.loss.signal;
  }

  get released(): boolean {
    return this.releasing !== undefined;
  }

  /**
   * Gives the slot back; it goes straight to the oldest waiter. Idempotent: later calls
   * return the first call's result, true when the slot was still held.
   */
  release(): Promise<boolean> {
    if (!this.releasing) {
      clearInterval(this.renewal);
      this.releasing = this.source.backend.release(this.id, this.source.capacity);
    }
    return this.releasing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }

  private async renew(): Promise<void> {
    const startedAt = performance.now();
    try {
      if (await this.source.backend.renew(this.id, this.source.leaseMs)) {
        this.leaseEndsAt = startedAt + this.source.leaseMs;
      } else if (!this.released) {
        this.lose('it ran out before it could be renewed');
      }
    } catch {
      // A failed renewal is tried again on the next tick while the lease still runs.
      if (!this.released && performance.now() >= this.leaseEndsAt) {
        this.lose('Redis could not be reached to renew it before it ran out');
      }
    }
  }

  private lose(reason: string): void {
    if (this.loss.aborted) return;
    clearInterval(this.renewal);
    const error = new LeaseLostError(this.source.name, this.id, reason);
    this.loss.abort(error);
    this.emit('lost', error);
  }
}
