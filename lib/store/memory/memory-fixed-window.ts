import type {
  CalendarPeriods,
  FixedWindowBackend,
  FixedWindowShape,
  FixedWindowSnapshot,
  TakeReply,
} from '../../core/limiter-store';
import type { ExpiringMap } from './expiring-map';
import type { MemoryBlocks } from './memory-blocks';

/**
 * A fixed window as lua/includes/fixed-window.lua keeps it: the tokens counted in the last
 * window that holds admissions, and that window's end; windows before it are closed. Times
 * are on the limiter's clock (the store's, moved by its clockOffset); `expiresAt` on the
 * store's, as the map reads it.
 */
export interface WindowState {
  count: number;
  ends: number;
  expiresAt: number;
}

export interface FixedWindowContext {
  windows: ExpiringMap<WindowState>;
  blocks: MemoryBlocks;
  clock: () => number;
}

/** The windows of a length (from their first admission) or of the calendar, as the script's layout. */
interface Layout {
  /** When the window ending at `ends` began. */
  startOf(ends: number): number;
  /** The end of a window first counted in at `t`. */
  endFrom(t: number): number;
  /** The end of the window holding `now`, the last one ending at `ends`. */
  currentEnd(ends: number, now: number): number;
}

/** One fixed window's operations, each a port of its script in lua/ (fixed-window-*.lua: take, inspect, adjust). */
export class MemoryFixedWindow implements FixedWindowBackend {
  constructor(
    private readonly context: FixedWindowContext,
    private readonly key: string,
  ) {}

  async take(shape: FixedWindowShape, wanted: number, maxWait: number): Promise<TakeReply> {
    const { raw, now, layout, count, ends, lastStart } = this.read(shape);
    const { limit, blockDuration, clockOffset } = shape;
    let blocked = blockDuration > 0 ? this.blockedUntil(raw, clockOffset) : 0;
    let placed = place(layout, count, ends, lastStart, Math.max(now, blocked), wanted, limit);
    if (placed.at - now > maxWait) {
      // Refused: a refusal outside a block starts one, which may only push the wait further.
      if (blockDuration > 0 && blocked <= now) {
        blocked = this.context.blocks.start(this.key, raw, blockDuration) + clockOffset;
        placed = place(layout, count, ends, lastStart, blocked, wanted, limit);
      }
      return {
        reserved: false,
        tokens: remainingNow(count, ends, lastStart, blocked, now, limit),
        wait: placed.at - now,
        fullIn: Math.max(ends, blocked, now) - now,
      };
    }
    this.context.windows.set(this.key, {
      count: placed.count,
      ends: placed.ends,
      expiresAt: placed.ends - clockOffset,
    });
    return {
      reserved: true,
      tokens: placed.at === now ? limit - placed.count : 0,
      wait: placed.at - now,
      fullIn: Math.max(placed.ends, blocked) - now,
      slot: placed.ends,
    };
  }

  async inspect(shape: FixedWindowShape): Promise<FixedWindowSnapshot> {
    const { raw, now, layout, count, ends, lastStart } = this.read(shape);
    return snapshot(layout, count, ends, lastStart, this.blockedUntil(raw, shape.clockOffset), now, shape.limit);
  }

  async adjust(shape: FixedWindowShape, tokens: number, slot?: number): Promise<FixedWindowSnapshot> {
    const { raw, now, layout, count, ends, lastStart } = this.read(shape);
    let after = count;
    // Only to the last window: see lua/fixed-window-adjust-2.lua.
    if (ends > 0 && (slot === ends || (slot === undefined && lastStart <= now))) {
      after = Math.max(0, count - tokens);
      this.context.windows.set(this.key, { count: after, ends, expiresAt: ends - shape.clockOffset });
    }
    return snapshot(layout, after, ends, lastStart, this.blockedUntil(raw, shape.clockOffset), now, shape.limit);
  }

  /** The state as of now: count and end of the last window (0, 0: none), and when it began. */
  private read(shape: FixedWindowShape) {
    const raw = this.context.clock();
    const now = raw + shape.clockOffset;
    const layout = layoutOf(shape.window);
    const state = this.context.windows.get(this.key, raw);
    if (!state || state.ends <= now) return { raw, now, layout, count: 0, ends: 0, lastStart: now };
    return { raw, now, layout, count: state.count, ends: state.ends, lastStart: layout.startOf(state.ends) };
  }

  private blockedUntil(raw: number, clockOffset: number): number {
    const until = this.context.blocks.until(this.key, raw);
    return until === 0 ? 0 : until + clockOffset;
  }
}

function layoutOf(window: number | CalendarPeriods): Layout {
  if (typeof window === 'number') {
    return {
      startOf: (ends) => ends - window,
      endFrom: (t) => t + window,
      currentEnd: (ends, now) => {
        const behind = ends - 1 - now;
        return ends - (behind - (behind % window));
      },
    };
  }
  return {
    // A calendar end that is no boundary (another zone's) ends a window begun at the boundary before it.
    startOf: (ends) => window.at(ends - 1)[0],
    endFrom: (t) => window.at(t)[1],
    currentEnd: (_ends, now) => window.at(now)[1],
  };
}

/** Where `wanted` tokens are counted (see place in lua/includes/fixed-window.lua). */
function place(
  layout: Layout,
  count: number,
  ends: number,
  lastStart: number,
  earliest: number,
  wanted: number,
  limit: number,
): { at: number; ends: number; count: number } {
  if (ends > earliest && count + wanted <= limit)
    return { at: Math.max(lastStart, earliest), ends, count: count + wanted };
  const at = Math.max(ends, earliest);
  return { at, ends: layout.endFrom(at), count: wanted };
}

function remainingNow(count: number, ends: number, lastStart: number, blocked: number, now: number, limit: number) {
  if (blocked > now) return 0;
  if (ends === 0) return limit;
  return lastStart <= now ? limit - count : 0;
}

function snapshot(
  layout: Layout,
  count: number,
  ends: number,
  lastStart: number,
  blocked: number,
  now: number,
  limit: number,
): FixedWindowSnapshot {
  return {
    remaining: remainingNow(count, ends, lastStart, blocked, now, limit),
    resetIn: ends > 0 ? layout.currentEnd(ends, now) - now : 0,
    fullIn: Math.max(ends, blocked, now) - now,
  };
}
