import { publish } from '../../core/events';
import type { BreakerSettings } from '../../core/limiter-store';
import type { RedisConnection } from './clients/redis-connection';
import { keySlot } from './key-slot';

/** What a breaker tells its client's listeners (the Nest module logs it). */
export type BreakerChange =
  | { state: 'open'; server: string; failures: number; reason: string }
  | { state: 'closed'; server: string; openMs: number };

/** admit()'s answer for the one call that may try Redis while the breaker is open. */
export const PROBE = Symbol('probe');

/**
 * A circuit breaker in front of one Redis server, as one client reaches it. While closed,
 * calls go to Redis and failures for connection reasons (timeouts, a lost connection, an
 * outage reply: see isOutage) are counted; `failures` of them in a row open it. While
 * open, calls fail at once instead of each waiting commandTimeout in the client's offline
 * queue; every `probeInterval` ms one call (the probe) is let through, and any answer
 * from Redis closes the breaker again. Time is the monotonic clock.
 */
export class Breaker {
  private failures = 0;
  private lastReason = '';
  /** When it opened; undefined while closed. */
  private openedAt?: number;
  private probeAt = 0;
  private probing = false;

  constructor(
    readonly server: string,
    private readonly settings: BreakerSettings,
    private readonly tell: (change: BreakerChange) => void,
  ) {}

  get open(): boolean {
    return this.openedAt !== undefined;
  }

  /** undefined: go to Redis. PROBE: go, as the probe. A string: fail at once, for that reason. */
  admit(): undefined | typeof PROBE | string {
    if (this.openedAt === undefined) return undefined;
    const now = performance.now();
    if (!this.probing && now >= this.probeAt) {
      this.probing = true;
      return PROBE;
    }
    const next = this.probing
      ? 'a probe call is on its way'
      : `the next probe goes in ${Math.ceil(this.probeAt - now)} ms`;
    return `the circuit breaker for ${this.server} is open after ${this.failures} failed calls in a row (the last: ${this.lastReason}); ${next}`;
  }

  /** Redis answered (also with an error that is not an outage): it is reachable. */
  answered(): void {
    this.failures = 0;
    if (this.openedAt === undefined) return;
    const openMs = Math.round(performance.now() - this.openedAt);
    this.openedAt = undefined;
    this.probing = false;
    publish('breakerClose', () => ({ server: this.server, openMs }));
    this.tell({ state: 'closed', server: this.server, openMs });
  }

  /** A call failed for a connection reason. `probe`: it was the probe, so the next one waits probeInterval. */
  failed(reason: string, probe: boolean): void {
    if (this.openedAt !== undefined) {
      if (probe) {
        this.probing = false;
        this.probeAt = performance.now() + this.settings.probeInterval;
      }
      return;
    }
    this.failures += 1;
    this.lastReason = reason;
    if (this.failures < this.settings.failures) return;
    this.openedAt = performance.now();
    this.probeAt = this.openedAt + this.settings.probeInterval;
    const { server, failures } = this;
    publish('breakerOpen', () => ({ server, failures, reason }));
    this.tell({ state: 'open', server, failures, reason });
  }
}

/**
 * The breakers of one client: one per server and settings, shared by every limiter whose
 * calls go there, so an outage opens one breaker, not one per limiter or caller key. On a
 * Cluster a limiter's server is the master of its hash slot, looked up per call (a
 * failover moves the slot to a new master, whose breaker is closed).
 */
export class ClientBreakers {
  private readonly bySettings = new Map<string, Map<string, Breaker>>();
  private readonly listeners = new Set<(change: BreakerChange) => void>();
  private readonly tell = (change: BreakerChange) => {
    for (const listener of this.listeners) listener(change);
  };

  constructor(private readonly client: RedisConnection) {}

  /** Told each time one of this client's breakers opens or closes; returns what stops it. */
  onChange(listener: (change: BreakerChange) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** The breaker of the server holding `slotKey`, read at each call. */
  lookup(settings: BreakerSettings, slotKey: string): () => Breaker {
    const id = `${settings.failures}/${settings.probeInterval}`;
    let servers = this.bySettings.get(id);
    if (!servers) this.bySettings.set(id, (servers = new Map()));
    const known = servers;
    const breakerOf = (server: string) => {
      let breaker = known.get(server);
      if (!breaker) known.set(server, (breaker = new Breaker(server, settings, this.tell)));
      return breaker;
    };
    if (!this.client.isCluster) {
      const breaker = breakerOf(this.client.serverFor(0));
      return () => breaker;
    }
    const slot = keySlot(slotKey);
    return () => breakerOf(this.client.serverFor(slot));
  }
}
