import { EventEmitter } from 'node:events';
import { LeaseLostError } from './errors';
import { LazyAbortController } from './lazy-abort-controller';
import { publish, type LimitEvent } from './events';
import { openCalls } from './open-calls';
import type { SemaphoreBackend } from './limiter-store';

/** What a Permit needs from the semaphore that granted it. */
export interface PermitSource {
  readonly name: string;
  readonly capacity: number;
  readonly leaseMs: number;
  /** @internal */
  readonly backend: SemaphoreBackend;
  /** Where the limiter's open waits and permits are listed, so that closing it finds them all. */
  readonly store: object;
  /** What the permit's events say of its semaphore. */
  readonly identity: LimitEvent;
}

const LEASE_RAN_OUT = 'no renewal was confirmed before it ran out (Redis unreachable or too slow)';

/**
 * A timer's delay in whole ms, rounded down (a lease end is never passed): Node keeps one
 * list per distinct duration, made and dropped for a timer alone in it, and fractions
 * would make every permit's duration distinct.
 */
function wholeMs(ms: number): number {
  return Math.max(0, Math.floor(ms));
}

/** How often a held lease is renewed: a third of it leaves two more tries if one fails. */
export function renewalPeriod(leaseMs: number): number {
  return Math.max(1, Math.floor(leaseMs / 3));
}

/**
 * Permits held in a semaphore (one, or `permits` of them): a lease with its own id, renewed
 * in the background while held, so work that outlives `expiry` is never joined by an extra holder.
 * If the lease is lost, `signal` aborts and a 'lost' event fires with a LeaseLostError:
 * the work should stop, since the slot may be someone else's now.
 *
 * The lease is kept on this process's monotonic clock, counted from when the request
 * that granted or renewed it was sent: Redis granted it no earlier, so the local end
 * can only come before the server's, never after.
 */
export class Permit extends EventEmitter implements AsyncDisposable {
  /** Aborted when the lease is lost; most permits are released without anyone reading its signal. */
  private readonly loss = new LazyAbortController();
  private renewal?: NodeJS.Timeout;
  private deadline?: NodeJS.Timeout;
  private releasing?: Promise<boolean>;
  /** False for a shadow-mode permit that holds no slot: releasing it does nothing. */
  readonly held: boolean;
  /** How many of the semaphore's capacity this permit holds (option `permits`, default 1). */
  readonly permits: number;
  /**
   * Above the token of every earlier grant of this semaphore's name, by any client or
   * process: give it to a downstream store with each write, and let the store refuse a
   * write whose token is below one it has already seen (a holder whose lease ran out
   * while it was paused). A bigint, since the numbers pass 2^32; send it as
   * `String(token)` in JSON. 0n for a shadow-mode permit that holds nothing. See the
   * README, "Fencing tokens", for how long tokens keep increasing.
   */
  readonly fencingToken: bigint;

  private readonly grantedAt = performance.now();

  /**
   * `leaseEndsAt`: the lease's local end, on the performance.now() clock. `held` false: a
   * shadow-mode permit, which stands for a slot that was not free and holds nothing.
   */
  constructor(
    private readonly source: PermitSource,
    readonly id: string,
    private leaseEndsAt: number,
    { held = true, permits = 1, fencingToken = 0n }: { held?: boolean; permits?: number; fencingToken?: bigint } = {},
  ) {
    super();
    this.held = held;
    this.permits = permits;
    this.fencingToken = fencingToken;
    if (!held) {
      this.releasing = Promise.resolve(false);
      return;
    }
    const period = renewalPeriod(source.leaseMs);
    // Counted from when the lease began, so a permit confirmed late in its lease renews at once.
    // The deadline's timer is armed by the first renewal, which always comes before it: most
    // permits are released sooner, and a timer less is a good part of what a permit costs.
    this.scheduleRenewal(leaseEndsAt - source.leaseMs + period);
    openCalls(source.store).permits.add(this);
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

  /** The semaphore that granted it. */
  get semaphore(): PermitSource {
    return this.source;
  }

  /**
   * Gives the permits back; they go straight to the oldest waiters that fit. Idempotent: later calls
   * return the first call's result, true when the slot was still held.
   */
  release(): Promise<boolean> {
    if (!this.releasing) {
      this.stopTimers();
      const releasing = this.source.backend.release(this.id, this.source.capacity, this.permits);
      const forget = () => void openCalls(this.source.store).permits.delete(this);
      releasing.then(forget, forget);
      this.releasing = releasing;
      publish('release', () => ({
        ...this.source.identity,
        permits: this.permits,
        heldMs: performance.now() - this.grantedAt,
      }));
    }
    return this.releasing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }

  /**
   * The limiter is closing: a permit still held aborts its signal, since its work must
   * stop, and is released; a release in flight is awaited. Never rejects.
   */
  async close(): Promise<void> {
    if (!this.released) this.lose('the limiter was closed');
    await this.release().catch(() => undefined);
  }

  private scheduleRenewal(at: number): void {
    this.renewal = setTimeout(
      () => {
        if (this.deadline === undefined) {
          // The first renewal: a process stalled past the lease end loses it here, as the deadline would have.
          if (performance.now() >= this.leaseEndsAt) return this.lose(LEASE_RAN_OUT);
          this.armDeadline();
        }
        // The next one is not held up by this one's answer: a renewal stuck in a queue must
        // not stop the others that could still reach Redis in time.
        this.scheduleRenewal(performance.now() + renewalPeriod(this.source.leaseMs));
        void this.renew();
      },
      wholeMs(at - performance.now()),
    );
    this.renewal.unref();
  }

  /** A partitioned holder must stop at its lease end, not when its renewal finally times out. */
  private armDeadline(): void {
    clearTimeout(this.deadline);
    this.deadline = setTimeout(
      () => {
        if (!this.released) this.lose(LEASE_RAN_OUT);
      },
      wholeMs(this.leaseEndsAt - performance.now()),
    );
    this.deadline.unref();
  }

  private async renew(): Promise<void> {
    const sentAt = performance.now();
    try {
      if (await this.source.backend.renew(this.id, this.source.leaseMs)) {
        if (this.released || this.loss.aborted) return;
        // Answers may come out of order: an older renewal never moves the end back.
        this.leaseEndsAt = Math.max(this.leaseEndsAt, sentAt + this.source.leaseMs);
        this.armDeadline();
      } else if (!this.released) {
        this.lose('it ran out before it could be renewed');
      }
    } catch {
      // A failed renewal is tried again on the next tick; the deadline timer ends the lease if none gets through.
    }
  }

  private stopTimers(): void {
    clearTimeout(this.renewal);
    clearTimeout(this.deadline);
  }

  private lose(reason: string): void {
    if (this.loss.aborted) return;
    this.stopTimers();
    // Nothing is left to close: a lost permit is not kept alive for a release that may never come.
    openCalls(this.source.store).permits.delete(this);
    const error = new LeaseLostError(this.source.name, this.id, reason);
    publish('leaseLost', () => ({ ...this.source.identity, heldMs: performance.now() - this.grantedAt, reason }));
    this.loss.abort(error);
    this.emit('lost', error);
  }
}
