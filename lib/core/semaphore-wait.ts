import { BreakerOpenError, MaxSleepExceededError } from './errors';
import { publish } from './events';
import type { AcquireReply, Grant } from './limiter-store';
import { openCalls, type OpenWait } from './open-calls';
import { renewalPeriod, type PermitSource } from './permit';

/** What a wait ends with: the lease's local end (performance.now() clock) and the grant's fencing token. */
export interface HeldGrant {
  leaseEndsAt: number;
  fencingToken: bigint;
}

/**
 * One caller waiting in a semaphore's queue. It is woken by the release that granted it
 * (already holding its permits, no second call needed). Its only timer is a safety net,
 * never a poll: it fires at the caller's own deadline, when the earliest lease would run
 * out (a crashed holder), or after one lease period to keep its queue entry alive,
 * whichever comes first.
 *
 * A grant is only handed over with enough of its lease left, on this process's clock:
 * a process that stalled (or read the grant late) confirms it with one renewal first,
 * so it never resolves with a lease Redis has already given to someone else.
 */
/** How soon a queued waiter looks again after its look met an open circuit breaker. */
const BREAKER_RETRY_MS = 250;

export class SemaphoreWait implements OpenWait {
  private readonly deadline: number;
  private timer?: NodeJS.Timeout;
  /** Told once the call is queued: the 'wait' event. */
  private queued = false;
  private settled = false;
  private leaving?: Promise<void>;
  /** A renewal is confirming a grant: nothing else may settle the wait meanwhile. */
  private confirming = false;
  /** Set when news may have been missed while a call was on its way: look once more after it. */
  private lookAgainAfter = false;
  /**
   * When the latest answered queueing call was sent (local ms) and what the store clock
   * read when it ran: a store time t is then no earlier than sentAt + (t - storeNow) here.
   */
  private clockPair?: { sentAt: number; storeNow: number };
  private stopListening?: () => void;
  private settle!: { resolve: (grant: HeldGrant) => void; reject: (error: unknown) => void };

  constructor(
    readonly semaphore: PermitSource,
    private readonly id: string,
    private readonly permits: number,
    private readonly maxSleep: number,
    private readonly signal?: AbortSignal,
  ) {
    this.deadline = performance.now() + maxSleep;
  }

  /** Not an async function: it runs on every acquire(), and each async frame and promise between the reply and the caller counts. */
  wait(): Promise<HeldGrant> {
    this.signal?.throwIfAborted();
    const result = new Promise<HeldGrant>((resolve, reject) => (this.settle = { resolve, reject }));
    openCalls(this.semaphore.store).waits.add(this);
    // Listen before queueing, so a grant published right after the queueing call is not missed.
    const listening = this.semaphore.backend.listen(
      this.id,
      (grant) => this.granted(grant),
      () => this.lookAgain(),
    );
    this.stopListening = listening.stop;
    if (!listening.ready) return this.start(result);
    return listening.ready.then(
      () => this.start(result),
      (error: unknown) => {
        this.cleanUp();
        throw error;
      },
    );
  }

  private start(result: Promise<HeldGrant>): Promise<HeldGrant> {
    if (this.settled) return result; // closed while subscribing
    this.signal?.addEventListener('abort', this.onAbort);
    this.attempt();
    return result;
  }

  /** Leaves the queue in the store and rejects with `error`; see closeOpenCalls. */
  close(error: Error): Promise<void> {
    return this.giveUp('close', error);
  }

  private readonly onAbort = () => void this.giveUp('abort');

  private busy(): boolean {
    return this.settled || this.leaving !== undefined || this.confirming;
  }

  private attempt(): void {
    // A timer or a second call left over from a confirmation must never queue a waiter that is done.
    if (this.busy()) return;
    const { backend, capacity, leaseMs } = this.semaphore;
    // The queue entry lives at most two lease periods unless refreshed: a waiter whose
    // process died stops blocking the queue soon, even when it meant to wait forever.
    const waitMs = Math.ceil(Math.max(1, Math.min(this.remaining(), 2 * leaseMs)));
    const sentAt = performance.now();
    let asked: Promise<AcquireReply>;
    try {
      asked = backend.acquire({ id: this.id, capacity, leaseMs, waitMs, permits: this.permits });
    } catch (error) {
      asked = Promise.reject(error);
    }
    asked.then(
      (reply) => {
        try {
          this.answered(reply, sentAt);
        } catch (error) {
          this.attemptFailed(error);
        }
      },
      (error: unknown) => this.attemptFailed(error),
    );
  }

  private answered(reply: AcquireReply, sentAt: number): void {
    if (this.busy()) return;
    if (reply.status === 'held') return void this.confirm(sentAt + reply.leaseLeft, reply.fencingToken);
    if (reply.now !== undefined) this.clockPair = { sentAt, storeNow: reply.now };
    if (this.lookAgainAfter) {
      this.lookAgainAfter = false;
      return this.attempt();
    }
    this.arm(reply.retryIn);
  }

  private attemptFailed(error: unknown): void {
    if (this.busy()) return;
    // Queued already, and Redis only briefly away (a failover): the entry waits in Redis
    // for up to two lease periods, so look again soon rather than give up the place.
    if (error instanceof BreakerOpenError && this.queued && this.remaining() > 0) return this.arm(BREAKER_RETRY_MS);
    this.fail(error);
    this.releaseAfterFailure();
  }

  /** The call may still reach Redis later; make sure it leaves no slot behind. */
  private releaseAfterFailure(): void {
    const { backend, capacity } = this.semaphore;
    void backend
      .cancel(this.id)
      .then(
        (state) => state === 'held' && backend.release(this.id, capacity, this.permits),
        // The cancel timed out too and may run late as well: a release sent after it runs after it.
        () => backend.release(this.id, capacity, this.permits),
      )
      .catch(() => undefined);
  }

  private arm(retryIn = Infinity): void {
    if (!this.queued) {
      this.queued = true;
      publish('wait', () => ({ ...this.semaphore.identity, permits: this.permits, maxWaitMs: this.maxSleep }));
    }
    const delay = Math.min(this.remaining(), this.semaphore.leaseMs, retryIn + 1);
    // Two calls may be answered after a failed confirmation: one safety net is enough.
    clearTimeout(this.timer);
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        if (this.remaining() <= 0) void this.giveUp('timeout');
        else this.attempt();
      },
      Math.max(0, delay),
    );
  }

  /** The grant news may have been lost (the subscriber reconnected): ask Redis now instead of at the timer. */
  private lookAgain(): void {
    if (this.busy()) return;
    // No timer armed: a call is on its way (or about to start) and may have been answered before the loss.
    if (this.timer === undefined) return void (this.lookAgainAfter = true);
    clearTimeout(this.timer);
    this.timer = undefined;
    this.attempt();
  }

  /** The lease end is on the store's clock; either part is unknown from a store (or script) that does not say. */
  private granted({ leaseEndsAt, fencingToken }: Grant): void {
    // While giving up, the cancel call's answer decides what happens to a grant.
    if (this.busy()) return;
    const pair = this.clockPair;
    const local = leaseEndsAt === undefined || !pair ? -Infinity : pair.sentAt + (leaseEndsAt - pair.storeNow);
    void this.confirm(local, fencingToken);
  }

  /**
   * Hands over a grant whose lease ends at `leaseEndsAt` (local), after one more acquire
   * call when less than a renewal period is left, or the end or the fencing token is
   * unknown: asked again, the store renews the lease of a waiter that holds and gives it
   * a fresh token. A lease found gone means the waiter holds nothing: it queues again
   * while its maxSleep allows.
   */
  private confirm(leaseEndsAt: number, fencingToken: bigint | undefined, whileLeaving = false): Promise<void> | void {
    // The common case, settled at once: the grant came straight back to the acquire call.
    if (fencingToken !== undefined && leaseEndsAt - performance.now() >= renewalPeriod(this.semaphore.leaseMs)) {
      return this.finish({ leaseEndsAt, fencingToken });
    }
    return this.reconfirm(whileLeaving);
  }

  private async reconfirm(whileLeaving: boolean): Promise<void> {
    const { backend, capacity, leaseMs, name } = this.semaphore;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.confirming = true;
    const sentAt = performance.now();
    let reply: AcquireReply;
    try {
      // waitMs 0: a waiter found holding nothing is not queued by this call.
      reply = await backend.acquire({ id: this.id, capacity, leaseMs, waitMs: 0, permits: this.permits });
    } catch (error) {
      this.confirming = false;
      if (this.settled || (this.leaving && !whileLeaving)) return;
      this.fail(error);
      return this.releaseAfterFailure();
    }
    this.confirming = false;
    // Given up meanwhile: its cancel, sent after this renewal on the same connection, decides.
    if (this.settled || (this.leaving && !whileLeaving)) return;
    if (reply.status === 'held')
      return this.finish({ leaseEndsAt: sentAt + reply.leaseLeft, fencingToken: reply.fencingToken });
    if (whileLeaving || this.remaining() <= 0)
      return this.fail(new MaxSleepExceededError(name, this.maxSleep, undefined, 'semaphore'));
    this.attempt();
  }

  private giveUp(reason: 'timeout' | 'abort' | 'close', error?: Error): Promise<void> {
    if (this.settled) return Promise.resolve();
    this.leaving ??= this.leave(reason, error);
    return this.leaving;
  }

  private async leave(reason: 'timeout' | 'abort' | 'close', closing?: Error): Promise<void> {
    clearTimeout(this.timer);
    const { backend, capacity, name } = this.semaphore;
    try {
      const state = await backend.cancel(this.id);
      if (state === 'held' && reason === 'timeout') {
        // Granted in the same instant as the deadline: taking it wastes nothing.
        return await this.confirm(-Infinity, undefined, true);
      }
      if (state === 'held') await backend.release(this.id, capacity, this.permits);
      if (reason === 'close') this.fail(closing);
      else
        this.fail(
          reason === 'abort'
            ? this.signal!.reason
            : new MaxSleepExceededError(name, this.maxSleep, undefined, 'semaphore'),
        );
    } catch (error) {
      this.fail(reason === 'close' ? closing : error);
      // The cancel may still run late and find this waiter granted: the release follows it.
      void backend.release(this.id, capacity, this.permits).catch(() => undefined);
    }
  }

  private remaining(): number {
    return this.deadline - performance.now();
  }

  private finish(grant: HeldGrant): void {
    this.cleanUp();
    this.settle.resolve(grant);
  }

  private fail(error: unknown): void {
    this.cleanUp();
    this.settle.reject(error);
  }

  private cleanUp(): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.stopListening?.();
    this.signal?.removeEventListener('abort', this.onAbort);
    openCalls(this.semaphore.store).waits.delete(this);
  }
}
