import { Inject, Injectable } from '@nestjs/common';
import type { SemaphoreSnapshot, TokenBucketSnapshot } from '../../core/limiter-store';
import type { LimitKind } from '../../core/limit-kind';
import { BoardActivity, RATE_WINDOW_SECONDS, type Activity } from './board-activity';
import { BOARD_OPTIONS, type ResolvedBoardOptions } from './board-options.interface';
import { BoardState, type LimiterState, type RegisteredLimiter } from './board-state';

/** One row of the board: a declared name with all its keys, never a key. */
export interface BoardRow {
  kind: LimitKind;
  name: string;
  registered: boolean;
  shadow: boolean;
  capacity?: number;
  /** Token bucket: tokens added each refill and ms between refills. */
  refill?: { amount: number; everyMs: number };
  /** Semaphore: holders and waiters now; token bucket: tokens now and ms to the next refill. */
  state?: { holders: number; waiters: number } | { tokens: number; nextRefillIn: number; fullIn: number };
  /** Why there is no state: Redis down or slow, or the limit is used per key. */
  stateNote?: string;
  /** Token bucket known only from events: tokens left after the last call admitted here. */
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
      const id = `${registered.kind} ${registered.limiter.name}`;
      if (shown.has(id)) continue;
      shown.add(id);
      rows.push(
        this.row(
          registered.kind,
          registered.limiter.name,
          now,
          this.activity.get(registered.kind, registered.limiter.name),
          registered,
          states.get(id),
        ),
      );
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
    if (registered?.kind === 'semaphore') row.capacity = registered.limiter.capacity;
    if (registered?.kind === 'token-bucket') {
      const { capacity, refillAmount, refillFrequency } = registered.limiter.shape;
      row.capacity = capacity;
      row.refill = { amount: refillAmount, everyMs: refillFrequency };
    }
    if (kind === 'token-bucket' && activity?.remaining !== undefined) row.remaining = activity.remaining;
    if (!registered) return row;
    // Per-key calls each have their own state in Redis: the unkeyed limiter's would mislead.
    if (keys > 0 && !activity?.unkeyed) row.stateNote = PER_KEY_NOTE;
    else if (state && !state.ok) row.stateNote = state.error;
    else if (state?.ok) row.state = summary(kind, state.snapshot, now - state.readAt);
    return row;
  }
}

function summary(kind: LimitKind, snapshot: SemaphoreSnapshot | TokenBucketSnapshot, ageMs: number): BoardRow['state'] {
  if (kind === 'semaphore') {
    const { holders, waiters } = snapshot as SemaphoreSnapshot;
    // Permits held, out of the capacity: a weighted holder counts as what it holds.
    return { holders: holders.reduce((sum, h) => sum + h.permits, 0), waiters: waiters.length };
  }
  const { tokens, nextRefillIn, fullIn } = snapshot as TokenBucketSnapshot;
  // The snapshot may be up to refreshMs old: count its times down to now.
  return { tokens, nextRefillIn: Math.max(0, nextRefillIn - ageMs), fullIn: Math.max(0, fullIn - ageMs) };
}

function round(perSecond: number): number {
  return Math.round(perSecond * 10) / 10;
}
