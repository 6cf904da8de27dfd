import type { LimiterStore, TakeReply } from './limiter-store';
import { LruMap } from './lru-map';

/** Most buckets whose last refusal a process remembers, per store. */
const MAX_ENTRIES = 10_000;

/** What the store said when it refused `tokens`: they cannot exist before `until`. */
export interface Refused {
  /** The limit's shape (capacity and refill, limit and window...) as a string: another shape may be admitted. */
  shape: string;
  tokens: number;
  /** Local monotonic ms (performance.now()) before which those tokens cannot exist. */
  until: number;
  /** The balance the store reported. */
  balance: number;
  /** Ms from `until` to a full limit, as the store counted them. */
  fullAfter: number;
}

/**
 * A kind's estimate of the balance a cached refusal of `tokens` leaves `left` ms before it
 * ends, for the answer's `remaining`: never as many as were asked for.
 */
export type BalanceEstimate = (refused: Refused, tokens: number, left: number) => number;

/** A refund went through at local time `clearedAt`: refusals sent before then may predate it. */
interface Cleared {
  clearedAt: number;
}

/**
 * The refusals a token bucket store gave, kept so that calls that cannot succeed either are
 * refused without asking it again (one caller hammering one key costs the store nothing).
 *
 * Exact, not a guess: tokens come back only with time (a bucket's refills, a window's end)
 * and with refunds. A store that refused
 * `tokens` with "they exist in `wait` ms" ran the script no earlier than the request was sent,
 * so on the local monotonic clock they cannot exist before `sent + wait`: the entry can only
 * end early, never late. Until then a call wanting at least as many tokens, with the same
 * shape, that may wait less than what is left, would be refused by the store too.
 * A call wanting fewer tokens, allowed to wait longer, or of another shape asks the store.
 *
 * One cache per store (so per Redis client, or per MemoryStore): limiters of one kind and
 * name on one store share it, and a refund through any of them clears it. The ids name
 * the kind too: a bucket and a window of one name are two limits.
 */
export class RefusalCache {
  /**
   * How many buckets have an entry: 0 lets a limiter skip the lookup, a function call on
   * every admission, while nothing was ever refused or refunded.
   */
  known = 0;
  private readonly entries = new LruMap<string, Refused | Cleared>(MAX_ENTRIES);
  /** The latest refund among the entries dropped for room: refusals sent before it are not kept. */
  private droppedClearAt = -Infinity;

  /** The refusal the store would answer now, or undefined when the store must be asked. */
  check(
    bucket: string,
    shape: string,
    tokens: number,
    maxWait: number,
    now: number,
    estimate: BalanceEstimate,
  ): TakeReply | undefined {
    const entry = this.entries.get(bucket);
    if (entry === undefined || 'clearedAt' in entry) return undefined;
    const left = entry.until - now;
    if (left <= 0) {
      this.entries.delete(bucket);
      this.known = this.entries.size;
      return undefined;
    }
    if (tokens < entry.tokens || left <= maxWait || entry.shape !== shape) return undefined;
    const retryAfter = Math.ceil(left);
    return {
      reserved: false,
      tokens: estimate(entry, tokens, left),
      wait: retryAfter,
      fullIn: retryAfter + entry.fullAfter,
    };
  }

  /** Keeps a refusal the store gave to a request sent at local time `sentAt`. */
  remember(bucket: string, shape: string, tokens: number, reply: TakeReply, sentAt: number, now: number): void {
    const entry = this.entries.get(bucket);
    // The store may have answered before a refund that has since been made: that answer is stale.
    if (sentAt <= this.droppedClearAt || (entry !== undefined && 'clearedAt' in entry && sentAt <= entry.clearedAt))
      return;
    // The store's clock counts whole ms, floored: its "now" may be up to 1 ms behind the
    // moment it ran, so its wait up to 1 ms long.
    const until = sentAt + reply.wait - 1;
    if (until <= now) return;
    // A refusal of fewer tokens that lasts longer says more; keep it.
    if (
      entry !== undefined &&
      !('clearedAt' in entry) &&
      entry.shape === shape &&
      entry.tokens <= tokens &&
      entry.until >= until
    ) {
      return;
    }
    this.put(bucket, { shape, tokens, until, balance: reply.tokens, fullAfter: reply.fullIn - reply.wait });
  }

  /**
   * Forgets the bucket's refusals: tokens were given back. Called once the refund has
   * settled, so that any refusal sent before it is known to be stale.
   */
  clear(bucket: string, now: number): void {
    this.put(bucket, { clearedAt: now });
  }

  private put(bucket: string, entry: Refused | Cleared): void {
    const dropped = this.entries.set(bucket, entry);
    this.known = this.entries.size;
    if (dropped !== undefined && 'clearedAt' in dropped)
      this.droppedClearAt = Math.max(this.droppedClearAt, dropped.clearedAt);
  }
}

const caches = new WeakMap<LimiterStore, RefusalCache>();

/** The refusal cache of `store`, made on first use. */
export function refusalCacheOf(store: LimiterStore): RefusalCache {
  let cache = caches.get(store);
  if (cache === undefined) {
    cache = new RefusalCache();
    caches.set(store, cache);
  }
  return cache;
}
