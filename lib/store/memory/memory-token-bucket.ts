import type { TakeReply, TokenBucketBackend, TokenBucketShape, TokenBucketSnapshot } from '../../core/limiter-store';
import type { ExpiringMap } from './expiring-map';
import type { MemoryBlocks } from './memory-blocks';

/**
 * A bucket as lua/token-bucket-take-2.lua stores it: the tokens spent as of the last
 * refill boundary `at`, not a balance, so limiters of one name with different capacities
 * each see their own capacity minus what was spent (more spent than that: promised to
 * callers sleeping until their refill). Redis keeps the two in one string
 * (lua/includes/token-bucket-refill.lua); here they need no packing.
 */
export interface BucketState {
  spent: number;
  at: number;
  expiresAt: number;
}

export interface TokenBucketContext {
  buckets: ExpiringMap<BucketState>;
  blocks: MemoryBlocks;
  clock: () => number;
}

/** One token bucket's operations, each a port of its script in lua/ (token-bucket-*.lua: take, inspect, adjust), and its block. */
export class MemoryTokenBucket implements TokenBucketBackend {
  constructor(
    private readonly context: TokenBucketContext,
    private readonly key: string,
  ) {}

  async take(shape: TokenBucketShape, wanted: number, maxWait: number): Promise<TakeReply> {
    const now = this.context.clock();
    const { tokens, at } = this.refill(shape, now);
    const blockMs = shape.blockDuration ?? 0;
    let blocked = blockMs > 0 ? this.context.blocks.until(this.key, now) - now : 0;
    const wait = Math.max(blocked, timeUntil(shape, tokens, wanted, at, now));
    // A refused call writes nothing: it owes no tokens and moves no refill. Outside a
    // block it starts one, as lua/token-bucket-take-2.lua does.
    if (wait > maxWait) {
      if (blockMs > 0 && blocked <= 0) blocked = this.context.blocks.start(this.key, now, blockMs) - now;
      const fullIn = timeUntil(shape, tokens, shape.capacity, at, now);
      if (blocked > 0)
        return {
          reserved: false,
          tokens: Math.min(0, tokens),
          wait: Math.max(wait, blocked),
          fullIn: Math.max(fullIn, blocked),
        };
      return { reserved: false, tokens, wait, fullIn };
    }
    const left = tokens - wanted;
    const fullIn = timeUntil(shape, left, shape.capacity, at, now);
    // Once full again the bucket is the same as a missing one; one more period of life
    // keeps any window from seeing two refill phases closer than a period.
    this.context.buckets.set(this.key, {
      spent: shape.capacity - left,
      at,
      expiresAt: now + fullIn + shape.refillFrequency,
    });
    if (blocked > 0) return { reserved: true, tokens: Math.min(0, left), wait, fullIn: Math.max(fullIn, blocked) };
    return { reserved: true, tokens: left, wait, fullIn };
  }

  async inspect(shape: TokenBucketShape): Promise<TokenBucketSnapshot> {
    const now = this.context.clock();
    const { tokens, at } = this.refill(shape, now);
    return snapshot(shape, tokens, at, now);
  }

  async adjust(shape: TokenBucketShape, change: number): Promise<TokenBucketSnapshot> {
    const now = this.context.clock();
    const { tokens, at } = this.refill(shape, now);
    const after = Math.min(shape.capacity, tokens + change);
    // A refund to a full (or missing) bucket changes nothing; otherwise the phase is kept.
    if (after !== tokens) {
      const expiresAt = now + timeUntil(shape, after, shape.capacity, at, now) + shape.refillFrequency;
      this.context.buckets.set(this.key, { spent: shape.capacity - after, at, expiresAt });
    }
    return snapshot(shape, after, at, now);
  }

  /**
   * The balance this capacity sees and the refill boundary as of `now`
   * (lua/includes/token-bucket-refill.lua). Refills pay what was spent back toward 0 and
   * land on at + k * period, so the phase never drifts with when callers arrive.
   */
  private refill({ capacity, refillFrequency, refillAmount }: TokenBucketShape, now: number) {
    const state = this.context.buckets.get(this.key, now);
    if (!state) return { tokens: capacity, at: now };
    const periods = Math.max(0, Math.floor((now - state.at) / refillFrequency));
    return {
      tokens: capacity - Math.max(0, state.spent - periods * refillAmount),
      at: state.at + periods * refillFrequency,
    };
  }
}

/** A bucket of balance `tokens` at boundary `at`, as of `now`. */
function snapshot(shape: TokenBucketShape, tokens: number, at: number, now: number): TokenBucketSnapshot {
  return {
    tokens,
    nextRefillIn: at + shape.refillFrequency - now,
    fullIn: timeUntil(shape, tokens, shape.capacity, at, now),
  };
}

/** Ms from now until the balance is back at `target`. */
function timeUntil(shape: TokenBucketShape, tokens: number, target: number, at: number, now: number): number {
  if (tokens >= target) return 0;
  return at + Math.ceil((target - tokens) / shape.refillAmount) * shape.refillFrequency - now;
}
