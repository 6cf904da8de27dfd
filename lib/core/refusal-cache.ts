import type { LimiterStore, TakeReply, TokenBucketShape } from './limiter-store';
import { LruMap } from './lru-map';

/** Most buckets whose last refusal a process remembers, per store. */
const MAX_ENTRIES = 10_000;

/** What the store said when it refused `tokens`: they cannot exist before `until`. */
interface Refused {
  shape: Readonly<TokenBucketShape>;
  tokens: number;
  /** Local monotonic ms (performance.now()) before which those tokens cannot exist. */
  until: number;
  /** The balance the store reported, and the refills it said were still needed. */
  balance: number;
  refillsNeeded: number;
  /** Ms from `until` to a full bucket, as the store counted them. */
  fullAfter: number;
}

/** A refund went through at local time `clearedAt`: refusals sent before then may predate it. */
interface Cleared {
  clearedAt: number;
}

/**
 * The refusals a token bucket store gave, kept so that calls that cannot succeed either are
 * refused without asking it again (one caller hammering one key costs the store nothing).
 *
 * Exact, not a guess: tokens come back only with refills (and refunds). A store that refused
 * `tokens` with "they exist in `wait` ms" ran the script no earlier than the request was sent,
 * so on the local monotonic clock they cannot exist before `sent + wait`: the entry can only
 * end early, never late. Until then a call wanting at least as many tokens, with the same
 * capacity and refill, that may wait less than what is left, would be refused by the store too.
 * A call wanting fewer tokens, allowed to wait longer, or of another shape asks the store.
 *
 * One cache per store (so per Redis client, or per MemoryStore): limiters of one name on
 * one store share it, and a refund through any of them clears it.
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
    shape: Readonly<TokenBucketShape>,
    tokens: number,
    maxWait: number,
    now: number,
  ): TakeReply | undefined {
    const entry = this.entries.get(bucket);
    if (entry === undefined || 'clearedAt' in entry) return undefined;
    const left = entry.until - now;
    if (left <= 0) {
      this.entries.delete(bucket);
      this.known = this.entries.size;
      return undefined;
    }
    if (tokens < entry.tokens || left <= maxWait || !sameShape(entry.shape, shape)) return undefined;
    const retryAfter = Math.ceil(left);
    // Refills that landed since, if nobody took any: never as many as were asked for.
    const refillsLeft = Math.ceil(left / shape.refillFrequency);
    const balance = Math.min(tokens - 1, entry.balance + (entry.refillsNeeded - refillsLeft) * shape.refillAmount);
    return { reserved: false, tokens: balance, wait: retryAfter, fullIn: retryAfter + entry.fullAfter };
  }

  /** Keeps a refusal the store gave to a request sent at local time `sentAt`. */
  remember(
    bucket: string,
    shape: Readonly<TokenBucketShape>,
    tokens: number,
    reply: TakeReply,
    sentAt: number,
    now: number,
  ): void {
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
      sameShape(entry.shape, shape) &&
      entry.tokens <= tokens &&
      entry.until >= until
    ) {
      return;
    }
    this.put(bucket, {
      shape,
      tokens,
      until,
      balance: reply.tokens,
      refillsNeeded: Math.ceil((tokens - reply.tokens) / shape.refillAmount),
      fullAfter: reply.fullIn - reply.wait,
    });
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

/**
 * Same capacity and refill: another capacity may be admitted where this one was refused,
 * and another refill counts the same state back faster.
 */
function sameShape(a: Readonly<TokenBucketShape>, b: Readonly<TokenBucketShape>): boolean {
  return (
    a === b ||
    (a.capacity === b.capacity && a.refillFrequency === b.refillFrequency && a.refillAmount === b.refillAmount)
  );
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
