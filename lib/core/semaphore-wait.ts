import { MaxSleepExceededError } from './errors';
import type { PermitSource } from './permit';

/**
 * One caller waiting in a semaphore's queue. It is woken by the release that granted it
 * (already holding the slot, no second call needed). Its only timer is a safety net,
 * never a poll: it fires at the caller's own deadline, when the earliest lease would run
 * out (a crashed holder), or after one lease period to keep its queue entry alive,
 * whichever comes first.
 */
export class SemaphoreWait {
  private readonly deadline: number;
  private timer?: NodeJS.Timeout;
  private settled = false;
  private givingUp = false;
  /** Set when news may have been missed while a call was on its way: look once more after it. */
  private lookAgainAfter = false;
  private stopListening?: () => void;
  private settle!: { resolve: (leaseLeft: number) => void; reject: (error: unknown) => void };

  constructor(
    private readonly semaphore: PermitSource,
    private readonly id: string,
    private readonly maxSleep: number,
    private readonly signal?: AbortSignal,
  ) {
    this.deadline = performance.now() + maxSleep;
  }

  /** Resolves with the ms left on the granted lease. */
  async wait(): Promise<number> {
    this.signal?.throwIfAborted();
    const result = new Promise<number>((resolve, reject) => (this.settle = { resolve, reject }));
    // Listen before queueing, so a grant published right after the queueing call is not missed.
    const listening = this.semaphore.backend.listen(
      this.id,
      () => this.granted(),
      () => this.lookAgain(),
    );
    this.stopListening = listening.stop;
    if (listening.ready) {
      try {
        await listening.ready;
      } catch (error) {
        listening.stop();
        throw error;
      }
    }
    this.signal?.addEventListener('abort', this.onAbort);
    void this.attempt();
    return result;
  }

  private readonly onAbort = () => void this.giveUp('abort');

  private async attempt(): Promise<void> {
    const { backend, capacity, leaseMs } = this.semaphore;
    // The queue entry lives at most two lease periods unless refreshed: a waiter whose
    // process died stops blocking the queue soon, even when it meant to wait forever.
    const waitMs = Math.ceil(Math.max(1, Math.min(this.remaining(), 2 * leaseMs)));
    try {
      const reply = await backend.acquire({ id: this.id, capacity, leaseMs, waitMs });
      if (this.settled || this.givingUp) return;
      if (reply.status === 'held') return this.finish(reply.leaseLeft);
      if (this.lookAgainAfter) {
        this.lookAgainAfter = false;
        return void this.attempt();
      }
      this.arm(reply.retryIn);
    } catch (error) {
      if (this.settled || this.givingUp) return;
      this.fail(error);
      // The call may still reach Redis later; make sure it leaves no slot behind.
      void backend
        .cancel(this.id)
        .then(
          (state) => state === 'held' && backend.release(this.id, capacity),
          // The cancel timed out too and may run late as well: a release sent after it runs after it.
          () => backend.release(this.id, capacity),
        )
        .catch(() => undefined);
    }
  }

  private arm(retryIn = Infinity): void {
    const delay = Math.min(this.remaining(), this.semaphore.leaseMs, retryIn + 1);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.remaining() <= 0) void this.giveUp('timeout');
      else void this.attempt();
    }, Math.max(0, delay));
  }

  /** The grant news may have been lost (the subscriber reconnected): ask Redis now instead of at the timer. */
  private lookAgain(): void {
    if (this.settled || this.givingUp) return;
    // No timer armed: a call is on its way (or about to start) and may have been answered before the loss.
    if (this.timer === undefined) return void (this.lookAgainAfter = true);
    clearTimeout(this.timer);
    this.timer = undefined;
    void this.attempt();
  }

  private granted(): void {
    // While giving up, the cancel call's answer decides what happens to a grant.
    if (!this.settled && !this.givingUp) this.finish(this.semaphore.leaseMs);
  }

  private async giveUp(reason: 'timeout' | 'abort'): Promise<void> {
    if (this.settled || this.givingUp) return;
    this.givingUp = true;
    clearTimeout(this.timer);
    const { backend, capacity, name } = this.semaphore;
    try {
      const state = await backend.cancel(this.id);
      if (state === 'held' && reason === 'timeout') {
        // Granted in the same instant as the deadline: taking it wastes nothing.
        return this.finish(this.semaphore.leaseMs);
      }
      if (state === 'held') await backend.release(this.id, capacity);
      this.fail(reason === 'abort' ? this.signal!.reason : new MaxSleepExceededError(name, this.maxSleep));
    } catch (error) {
      this.fail(error);
      // The cancel may still run late and find this waiter granted: the release follows it.
      void backend.release(this.id, capacity).catch(() => undefined);
    }
  }

  private remaining(): number {
    return this.deadline - performance.now();
  }

  private finish(leaseLeft: number): void {
    this.cleanUp();
    this.settle.resolve(leaseLeft);
  }

  private fail(error: unknown): void {
    this.cleanUp();
    this.settle.reject(error);
  }

  private cleanUp(): void {
    this.settled = true;
    clearTimeout(this.timer);
    this.stopListening?.();
    this.signal?.removeEventListener('abort', this.onAbort);
  }
}
