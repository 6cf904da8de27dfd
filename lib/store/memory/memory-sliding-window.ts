import type {
  SlidingWindowBackend,
  SlidingWindowShape,
  SlidingWindowSnapshot,
  TakeReply,
} from '../../core/limiter-store';
import type { ExpiringMap } from './expiring-map';
import type { MemoryBlocks } from './memory-blocks';

/**
 * A sliding window as lua/includes/sliding-window.lua keeps it: the counts of consecutive
 * sub-windows of `subWindow` ms from sub-window `first` (its index: store ms divided by
 * the length), with a count at either end.
 */
export interface CountsState {
  subWindow: number;
  first: number;
  counts: number[];
  expiresAt: number;
}

export interface SlidingWindowContext {
  windows: ExpiringMap<CountsState>;
  blocks: MemoryBlocks;
  clock: () => number;
}

/** One sliding window's operations, each a port of its script in lua/ (sliding-window-*.lua: take, inspect, adjust). */
export class MemorySlidingWindow implements SlidingWindowBackend {
  constructor(
    private readonly context: SlidingWindowContext,
    private readonly key: string,
  ) {}

  async take(shape: SlidingWindowShape, wanted: number, maxWait: number): Promise<TakeReply> {
    const now = this.context.clock();
    const counts = this.read(shape, now);
    const { limit, blockDuration } = shape;
    let blocked = blockDuration > 0 ? this.context.blocks.until(this.key, now) : 0;
    let placed = counts.place(Math.max(now, blocked), wanted, limit);
    if (placed.at - now > maxWait) {
      // Refused: a refusal outside a block starts one, which may only push the wait further.
      if (blockDuration > 0 && blocked <= now) {
        blocked = this.context.blocks.start(this.key, now, blockDuration);
        placed = counts.place(blocked, wanted, limit);
      }
      return {
        reserved: false,
        tokens: counts.remaining(now, blocked, limit),
        wait: placed.at - now,
        fullIn: counts.wholeIn(now, blocked),
      };
    }
    counts.add(placed.b, wanted);
    this.write(counts);
    return {
      reserved: true,
      tokens: placed.at === now ? limit - counts.sum(placed.b - counts.span, placed.b) : 0,
      wait: placed.at - now,
      fullIn: counts.wholeIn(now, blocked),
      slot: placed.b,
    };
  }

  async inspect(shape: SlidingWindowShape): Promise<SlidingWindowSnapshot> {
    const now = this.context.clock();
    return this.read(shape, now).snapshot(now, this.context.blocks.until(this.key, now), shape.limit);
  }

  async adjust(shape: SlidingWindowShape, tokens: number, slot?: number): Promise<SlidingWindowSnapshot> {
    const now = this.context.clock();
    const counts = this.read(shape, now);
    const top = counts.top();
    if (top !== undefined) {
      if (slot !== undefined) {
        if (slot >= counts.first && slot <= top) counts.add(slot, -tokens);
      } else {
        // Off the oldest sub-windows up to now: see lua/sliding-window-adjust-2.lua.
        const last = Math.min(top, Math.floor(now / counts.subWindow));
        for (let b = counts.first, left = tokens; left > 0 && b <= last; b++) {
          const taken = Math.min(left, counts.at(b));
          counts.add(b, -taken);
          left -= taken;
        }
      }
      this.write(counts);
    }
    return counts.snapshot(now, this.context.blocks.until(this.key, now), shape.limit);
  }

  private read(shape: SlidingWindowShape, now: number): SubWindowCounts {
    return SubWindowCounts.of(this.context.windows.get(this.key, now), shape, now);
  }

  private write(counts: SubWindowCounts): void {
    const state = counts.state();
    if (state) this.context.windows.set(this.key, state);
    else this.context.windows.delete(this.key);
  }
}

/** The counts as one call sees them (read_counts and the helpers of lua/includes/sliding-window.lua). */
class SubWindowCounts {
  private constructor(
    readonly subWindow: number,
    readonly span: number,
    public first: number,
    private readonly counts: number[],
  ) {}

  static of(stored: CountsState | undefined, shape: SlidingWindowShape, now: number): SubWindowCounts {
    const { subWindow } = shape;
    const span = Math.ceil(shape.window / subWindow);
    if (!stored) return new SubWindowCounts(subWindow, span, 0, []);
    let { first, counts } = stored;
    if (stored.subWindow !== subWindow) {
      // Another sub-window length: every count at the end of its last sub-window.
      first = Math.floor(((first + counts.length) * stored.subWindow - 1) / subWindow);
      counts = [counts.reduce((sum, c) => sum + c, 0)];
    }
    const lo = Math.floor(now / subWindow) - span;
    let from = 0;
    let to = counts.length - 1;
    while (from <= to && (first + from < lo || counts[from] === 0)) from++;
    while (to >= from && counts[to] === 0) to--;
    return new SubWindowCounts(subWindow, span, first + from, counts.slice(from, to + 1));
  }

  at(b: number): number {
    return this.counts[b - this.first] ?? 0;
  }

  top(): number | undefined {
    return this.counts.length === 0 ? undefined : this.first + this.counts.length - 1;
  }

  sum(lo: number, hi: number): number {
    let sum = 0;
    for (let b = lo; b <= hi; b++) sum += this.at(b);
    return sum;
  }

  place(earliest: number, wanted: number, limit: number): { b: number; at: number } {
    const from = Math.floor(earliest / this.subWindow);
    let b = Math.max(from, this.top() ?? from);
    let sum = this.sum(b - this.span, b);
    while (sum + wanted > limit) {
      sum -= this.at(b - this.span);
      b++;
      sum += this.at(b);
    }
    return { b, at: b === from ? earliest : b * this.subWindow };
  }

  add(b: number, tokens: number): void {
    if (this.counts.length === 0) this.first = b;
    while (this.counts.length <= b - this.first) this.counts.push(0);
    this.counts[b - this.first] = Math.max(0, this.counts[b - this.first] + tokens);
  }

  remaining(now: number, blocked: number, limit: number): number {
    if (blocked > now) return 0;
    const b = Math.floor(now / this.subWindow);
    const top = this.top();
    if (top !== undefined && top > b) return 0;
    return limit - this.sum(b - this.span, b);
  }

  wholeIn(now: number, blocked: number): number {
    const top = this.top();
    const whole = Math.max(blocked, top === undefined ? 0 : (top + this.span + 1) * this.subWindow);
    return Math.max(0, whole - now);
  }

  snapshot(now: number, blocked: number, limit: number): SlidingWindowSnapshot {
    return { remaining: this.remaining(now, blocked, limit), fullIn: this.wholeIn(now, blocked) };
  }

  /** What the store keeps, with no empty sub-window at either end; undefined when nothing counts. */
  state(): CountsState | undefined {
    let from = 0;
    let to = this.counts.length - 1;
    while (from <= to && this.counts[from] === 0) from++;
    while (to >= from && this.counts[to] === 0) to--;
    if (from > to) return undefined;
    const first = this.first + from;
    const counts = this.counts.slice(from, to + 1);
    return {
      subWindow: this.subWindow,
      first,
      counts,
      expiresAt: (first + counts.length + this.span) * this.subWindow,
    };
  }
}
