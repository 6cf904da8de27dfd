import { Inject, Injectable } from '@nestjs/common';
import type { LimitKind } from '../../core/limit-kind';
import type { BoardShape } from '../kinds/limit-kind.descriptor';
import type { AnyKind } from '../kinds/limit-kinds';
import { BoardActivity, RATE_WINDOW_SECONDS, type Activity } from './board-activity';
import { BOARD_OPTIONS, type ResolvedBoardOptions } from './board-options.interface';
import { BoardState, type LimiterState, type RegisteredLimiter } from './board-state';

/**
 * A row's state, as its kind's board summary makes it: a semaphore's holders and waiters
 * now; a token bucket's tokens now and ms to the next refill and until full.
 */
export type BoardRowState = ReturnType<AnyKind['board']['summary']>;

/** One row of the board: a declared name with all its keys, never a key. */
export interface BoardRow extends BoardShape {
  kind: LimitKind;
  name: string;
  registered: boolean;
  shadow: boolean;
  state?: BoardRowState;
  /** Why there is no state: Redis down or slow, or the limit is used per key. */
  stateNote?: string;
  /** A rate known only from events: tokens left after the last call admitted here. */
  remaining?: number;
  admittedPerSecond: number;
  refusedPerSecond: number;
  admitted: number;
  refused: number;
  redisErrors: number;
  /** Distinct keys used in the last recentMs (0: unkeyed). */
  keys: number;
  /** Ms since this process last saw a call of it; absent when never. */
  lastSeenMs?: number;
}

export interface BoardData {
  generatedAt: string;
  refreshMs: number;
  rateWindowMs: number;
  recentMs: number;
  rows: BoardRow[];
}

const PER_KEY_NOTE = 'per key';

@Injectable()
export class BoardDataSource {
  constructor(
    private readonly activity: BoardActivity,
    private readonly state: BoardState,
    @Inject(BOARD_OPTIONS) private readonly options: ResolvedBoardOptions,
  ) {}

  async data(): Promise<BoardData> {
    const states = await this.state.read();
    const now = Date.now();
    const rows: BoardRow[] = [];
    const shown = new Set<string>();
    for (const registered of this.state.registered()) {
      const { kind } = registered.type;
      const { name } = registered.limiter;
      const id = `${kind} ${name}`;
      if (shown.has(id)) continue;
      shown.add(id);
      rows.push(this.row(kind, name, now, this.activity.get(kind, name), registered, states.get(id)));
    }
    for (const activity of this.activity.recent(now)) {
      if (shown.has(`${activity.kind} ${activity.name}`)) continue;
      rows.push(this.row(activity.kind, activity.name, now, activity));
    }
    return {
      generatedAt: new Date(now).toISOString(),
      refreshMs: this.options.refreshMs,
      rateWindowMs: RATE_WINDOW_SECONDS * 1000,
      recentMs: this.options.recentMs,
      rows,
    };
  }

  private row(
    kind: LimitKind,
    name: string,
    now: number,
    activity?: Activity,
    registered?: RegisteredLimiter,
    state?: LimiterState,
  ): BoardRow {
    const keys = activity ? this.activity.keyCount(activity, now) : 0;
    const row: BoardRow = {
      kind,
      name,
      registered: registered !== undefined,
      shadow: registered?.limiter.shadow ?? activity?.shadow ?? false,
      admittedPerSecond: round(activity?.admitted.rate(now, this.activity.startedAt) ?? 0),
      refusedPerSecond: round(activity?.refused.rate(now, this.activity.startedAt) ?? 0),
      admitted: activity?.admitted.total ?? 0,
      refused: activity?.refused.total ?? 0,
      redisErrors: activity?.redisErrors ?? 0,
      keys,
      lastSeenMs: activity ? now - activity.lastSeen : undefined,
    };
    if (registered) Object.assign(row, registered.type.board.shape(registered.limiter));
    // Only a rate's admits tell what they left.
    if (activity?.remaining !== undefined) row.remaining = activity.remaining;
    if (!registered) return row;
    // Per-key calls each have their own state in Redis: the unkeyed limiter's would mislead.
    if (keys > 0 && !activity?.unkeyed) row.stateNote = PER_KEY_NOTE;
    else if (state && !state.ok) row.stateNote = state.error;
    else if (state?.ok) row.state = registered.type.board.summary(state.snapshot, now - state.readAt) as BoardRowState;
    return row;
  }
}

function round(perSecond: number): number {
  return Math.round(perSecond * 10) / 10;
}
