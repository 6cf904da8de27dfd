import type { Grant, Listening } from '../../core/limiter-store';
import type { GrantSubscriber, RedisConnection } from './clients/redis-connection';

/**
 * How a waiter hears of its grant: the channel it names when it queues, and how the
 * script must send to it ('p' PUBLISH, 's' SPUBLISH; see lua/includes/semaphore-grant.lua).
 */
export interface GrantRoute {
  channel: string;
  how: 'p' | 's';
}

/**
 * One subscriber connection per client (on a Cluster, the client's set of them), shared by
 * every waiter of that client. Waiting happens here and never on the client's command
 * connection, so other callers' commands are not held up behind a blocked waiter.
 * Scripts send "<waiter id>:<lease end in server ms>:<fencing token>" on the channel the
 * waiter named when it queued ("<id>:<lease end>", or a bare id, from earlier versions).
 *
 * Where the client does it (RedisConnection.shardedPubSub) the grants go by sharded pub/sub
 * (Redis 7): a channel in the semaphore's own slot, SSUBSCRIBEd on the master that owns it,
 * so a grant never crosses the cluster bus to the other masters as a plain PUBLISH does. A
 * server that refuses SSUBSCRIBE (Redis 6, or an ACL user without it) turns this client back
 * to PUBLISH for good.
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
  /** Channels subscribed by SSUBSCRIBE. */
  private readonly shardedChannels = new Set<string>();
  private readonly waiters = new Map<string, { granted: (grant: Grant) => void; missed?: () => void }>();
  /** Whether grants go by sharded pub/sub: clients that can try, until a server refuses. */
  private sharded: boolean;

  constructor(private readonly client: RedisConnection) {
    this.sharded = client.shardedPubSub;
    client.onceClosed(() => {
      this.close();
      // Closed for good (quit, or the app shutting down): no grant can come any more.
      // Each waiter looks for itself, which fails at once on the closed connection,
      // instead of sleeping out its maxSleep and holding the process open meanwhile.
      this.tellEveryWaiterToLook();
    });
  }

  /**
   * Where a waiter of a semaphore listens: `sharded` is its channel in the semaphore's own
   * slot, `plain` the client's channel for PUBLISH. Read after `listen`'s ready settled.
   */
  route(plain: string, sharded: string): GrantRoute {
    return this.live.has(sharded) && this.shardedChannels.has(sharded)
      ? { channel: sharded, how: 's' }
      : { channel: plain, how: 'p' };
  }

  listen(
    route: { plain: string; sharded: string },
    id: string,
    onGranted: (grant: Grant) => void,
    onMissed?: () => void,
  ): Listening {
    this.waiters.set(id, { granted: onGranted, missed: onMissed });
    const stop = () => {
      if (this.waiters.delete(id) && this.waiters.size === 0) this.closeWhenIdle();
    };
    const sharded = this.sharded;
    const channel = sharded ? route.sharded : route.plain;
    if (this.live.has(channel)) return { stop };
    const subscribing = this.subscribe(channel, sharded);
    return {
      ready: sharded ? subscribing.catch((error: unknown) => this.unlessRefused(error, route.plain)) : subscribing,
      stop,
    };
  }

  /**
   * A server that answered SSUBSCRIBE with an error does not do it: back to PUBLISH, for
   * this waiter and every later one (waiters that asked at the same time each come here).
   */
  private unlessRefused(error: unknown, plain: string): Promise<void> {
    if (this.client.serverReply(error) === undefined) throw error;
    this.sharded = false;
    return this.subscribe(plain, false);
  }

  close(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.subscriber?.close();
    this.subscriber = undefined;
    this.subscribed.clear();
    this.live.clear();
    this.shardedChannels.clear();
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
  private subscribe(channel: string, sharded: boolean): Promise<void> {
    let done = this.subscribed.get(channel);
    if (!done) {
      const connection = this.connection();
      if (sharded) this.shardedChannels.add(channel);
      const subscribing = connection.subscribe(channel, sharded).then(() => {
        // Unless the subscriber was closed meanwhile.
        if (this.subscribed.get(channel) === subscribing) this.live.add(channel);
      });
      done = subscribing;
      // A failed subscribe is retried by the next waiter instead of being cached.
      done.catch(() => {
        this.subscribed.delete(channel);
        this.shardedChannels.delete(channel);
      });
      this.subscribed.set(channel, done);
    }
    return done;
  }

  private connection(): GrantSubscriber {
    // After a reconnect grants published while the subscriber was away were lost: once
    // subscribed again, every waiter looks for itself whether it was granted meanwhile.
    this.subscriber ??= this.client.subscriber(
      {
        message: (message) => this.delivered(message),
        resubscribed: () => this.tellEveryWaiterToLook(),
      },
      this.sharded,
    );
    return this.subscriber;
  }

  private delivered(message: string): void {
    const grant = /^(.+?):(\d+)(?::(\d+))?$/.exec(message);
    const waiter = grant && this.waiters.get(grant[1]);
    if (waiter)
      waiter.granted({
        leaseEndsAt: Number(grant[2]),
        fencingToken: grant[3] === undefined ? undefined : BigInt(grant[3]),
      });
    else this.waiters.get(message)?.granted({});
  }

  private tellEveryWaiterToLook(): void {
    for (const { missed } of [...this.waiters.values()]) missed?.();
  }
}
