import type { Listening } from '../../core/limiter-store';
import type { Cluster, Redis } from 'ioredis';
import type { RedisClient } from './lua-scripts';

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
  private subscriber?: RedisClient;
  private idleTimer?: NodeJS.Timeout;
  private idleSince = 0;
  private readonly subscribed = new Map<string, Promise<void>>();
  /** Channels whose SUBSCRIBE was answered: a wait on them needs no set-up at all. */
  private readonly live = new Set<string>();
  private readonly waiters = new Map<string, { granted: (leaseEndsAt?: number) => void; missed?: () => void }>();

  constructor(private readonly client: RedisClient) {
    client.once('end', () => {
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
    // disconnect() on an ended connection arms ioredis's 2 s force-close timer for a socket
    // that is already gone, which holds the process open for nothing.
    if (this.subscriber?.status !== 'end') this.subscriber?.disconnect();
    this.subscriber = undefined;
    this.subscribed.clear();
    this.live.clear();
  }

  /**
   * The subscriber must not keep the process alive once nobody waits: ioredis does not
   * always emit 'end' on the user's client (a disconnect() while it reconnects), and a
   * subscriber to an unreachable Redis would otherwise retry forever.
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

  private connection(): RedisClient {
    if (!this.subscriber) {
      const subscriber = subscriberFor(this.client);
      subscriber.on('message', (_channel: string, message: string) => this.delivered(message));
      let connectedBefore = false;
      subscriber.on('ready', () => {
        if (connectedBefore) void this.resubscribed(subscriber);
        connectedBefore = true;
      });
      // Connection errors surface to waiters through their own timers and calls;
      // without a listener ioredis would print them as unhandled.
      subscriber.on('error', () => undefined);
      if ((this.client as Redis).options?.sentinels) subscriber.once('end', () => this.replaceEnded(subscriber));
      this.subscriber = subscriber;
    }
    return this.subscriber;
  }

  /**
   * ioredis can end a connection for good without being asked: a Sentinel client with
   * failoverDetector that sees +switch-master while it reconnects after its master
   * crashed. Every wait would then fail on it; a new subscriber takes over its channels.
   * Only there: elsewhere an end comes from the client's own retryStrategy giving up.
   */
  private replaceEnded(subscriber: RedisClient): void {
    if (this.subscriber !== subscriber || this.client.status === 'end') return; // closed by us, or with the client
    const channels = [...this.subscribed.keys()];
    this.subscriber = undefined;
    this.subscribed.clear();
    this.live.clear();
    if (this.waiters.size === 0) return;
    void Promise.all(channels.map((channel) => this.subscribe(channel))).then(
      () => this.tellEveryWaiterToLook(),
      () => undefined, // each waiter's own timer still looks
    );
  }

  /**
   * After a reconnect: grants published while the subscriber was away were lost. ioredis
   * subscribes again by itself; once our own SUBSCRIBE is answered, news can arrive again
   * and every waiter looks for itself whether it was granted meanwhile.
   */
  private async resubscribed(subscriber: RedisClient): Promise<void> {
    const channels = [...this.subscribed.keys()];
    try {
      if (channels.length > 0) await subscriber.subscribe(...channels);
    } catch {
      return; // gone again: the next 'ready' tries once more
    }
    this.tellEveryWaiterToLook();
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

/**
 * A connection like `client`'s for SUBSCRIBE. It queues commands until it is connected,
 * whatever the client does: a client set to fail fast (enableOfflineQueue: false) would
 * make its fresh duplicate refuse the first SUBSCRIBE, and every first wait with it.
 * Told apart by `isCluster`, not instanceof: the app may load another copy of ioredis.
 */
function subscriberFor(client: RedisClient): RedisClient {
  const queueUntilConnected = { enableOfflineQueue: true };
  return client.isCluster
    ? (client as Cluster).duplicate([], queueUntilConnected)
    : (client as Redis).duplicate(queueUntilConnected);
}
