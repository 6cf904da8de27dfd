import type { Listening } from '../../core/limiter-store';
import type { GrantSubscriber, RedisConnection } from './clients/redis-connection';

/**
 * One subscriber connection per client, shared by every waiter of that client.
 * Waiting happens here and never on the client's command connection, so other
 * callers' commands are not held up behind a blocked waiter.
 * Scripts PUBLISH "<waiter id>:<lease end in server ms>" on the channel the waiter named
 * when it queued (a bare id from scripts of versions before the lease end was sent).
 */
// How long the subscriber stays connected after its last waiter, so steady contention
// does not reconnect for every wait, while an idle process still closes it soon.
const IDLE_CLOSE_MS = 2_000;

export class GrantListener {
  private subscriber?: GrantSubscriber;
  private idleTimer?: NodeJS.Timeout;
  private idleSince = 0;
  private readonly subscribed = new Map<string, Promise<void>>();
  /** Channels whose SUBSCRIBE was answered: a wait on them needs no set-up at all. */
  private readonly live = new Set<string>();
  private readonly waiters = new Map<string, { granted: (leaseEndsAt?: number) => void; missed?: () => void }>();

  constructor(private readonly client: RedisConnection) {
    client.onceClosed(() => {
      this.close();
      // Closed for good (quit, or the app shutting down): no grant can come any more.
      // Each waiter looks for itself, which fails at once on the closed connection,
      // instead of sleeping out its maxSleep and holding the process open meanwhile.
      this.tellEveryWaiterToLook();
    });
  }

  listen(channel: string, id: string, onGranted: (leaseEndsAt?: number) => void, onMissed?: () => void): Listening {
    this.waiters.set(id, { granted: onGranted, missed: onMissed });
    const stop = () => {
      if (this.waiters.delete(id) && this.waiters.size === 0) this.closeWhenIdle();
    };
    return { ready: this.live.has(channel) ? undefined : this.subscribe(channel), stop };
  }

  close(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.subscriber?.close();
    this.subscriber = undefined;
    this.subscribed.clear();
    this.live.clear();
  }

  /**
   * The subscriber must not keep the process alive once nobody waits: a client does not
   * always say it was closed (ioredis emits no 'end' on a disconnect() while it reconnects),
   * and a subscriber to an unreachable Redis would otherwise retry forever.
   * One timer checks for idleness instead of a timer per wait: waits end by the
   * thousand per second under contention.
   */
  private closeWhenIdle(): void {
    this.idleSince = performance.now();
    if (this.idleTimer) return;
    const check = (delay: number) => {
      this.idleTimer = setTimeout(() => {
        this.idleTimer = undefined;
        if (this.waiters.size > 0) return; // the wait that ends last arms the check again
        const idleFor = performance.now() - this.idleSince;
        if (idleFor >= IDLE_CLOSE_MS) this.close();
        else check(IDLE_CLOSE_MS - idleFor);
      }, delay);
      this.idleTimer.unref();
    };
    check(IDLE_CLOSE_MS);
  }

  /** Resolves once grants on `channel` can arrive; already settled while subscribed. */
  private subscribe(channel: string): Promise<void> {
    let done = this.subscribed.get(channel);
    if (!done) {
      const subscribing = this.connection()
        .subscribe(channel)
        .then(() => {
          // Unless the subscriber was closed meanwhile.
          if (this.subscribed.get(channel) === subscribing) this.live.add(channel);
        });
      done = subscribing;
      // A failed subscribe is retried by the next waiter instead of being cached.
      done.catch(() => this.subscribed.delete(channel));
      this.subscribed.set(channel, done);
    }
    return done;
  }

  private connection(): GrantSubscriber {
    // After a reconnect grants published while the subscriber was away were lost: once
    // subscribed again, every waiter looks for itself whether it was granted meanwhile.
    this.subscriber ??= this.client.subscriber({
      message: (message) => this.delivered(message),
      resubscribed: () => this.tellEveryWaiterToLook(),
    });
    return this.subscriber;
  }

  private delivered(message: string): void {
    const grant = /^(.+):(\d+)$/.exec(message);
    const waiter = grant && this.waiters.get(grant[1]);
    if (waiter) waiter.granted(Number(grant[2]));
    else this.waiters.get(message)?.granted();
  }

  private tellEveryWaiterToLook(): void {
    for (const { missed } of [...this.waiters.values()]) missed?.();
  }
}
