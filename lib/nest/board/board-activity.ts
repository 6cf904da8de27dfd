import diagnosticsChannel from 'node:diagnostics_channel';
import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { CHANNEL_NAMES, type LimitEvent, type LimitEvents } from '../../core/events';
import type { LimitKind } from '../../core/limit-kind';
import { BOARD_OPTIONS, type ResolvedBoardOptions } from './board-options.interface';

/** Rates are counted over the last this many seconds, one slot per second. */
export const RATE_WINDOW_SECONDS = 10;
/** Names tracked at most: limiters made at run time for arbitrary names must not grow memory without end. */
const MAX_TRACKED_NAMES = 1_000;
/** Distinct keys counted per name at most; beyond it the board says "1000+". */
const MAX_COUNTED_KEYS = 1_000;

/** Counts per second in a ring of RATE_WINDOW_SECONDS slots, each stamped with the second it counts. */
class PerSecond {
  private readonly counts = new Array<number>(RATE_WINDOW_SECONDS).fill(0);
  private readonly seconds = new Array<number>(RATE_WINDOW_SECONDS).fill(-1);
  total = 0;

  add(now: number, amount = 1): void {
    const second = Math.floor(now / 1000);
    const slot = second % RATE_WINDOW_SECONDS;
    if (this.seconds[slot] !== second) {
      this.seconds[slot] = second;
      this.counts[slot] = 0;
    }
    this.counts[slot] += amount;
    this.total += amount;
  }

  /** Per second over the window, or over the time since `since` when that is shorter. */
  rate(now: number, since: number): number {
    const second = Math.floor(now / 1000);
    let sum = 0;
    for (let slot = 0; slot < RATE_WINDOW_SECONDS; slot++) {
      if (this.seconds[slot] > second - RATE_WINDOW_SECONDS) sum += this.counts[slot];
    }
    const seconds = Math.min(RATE_WINDOW_SECONDS, Math.max(1, (now - since) / 1000));
    return sum / seconds;
  }
}

/** What the process saw of one declared name (all its keys together). */
export interface Activity {
  kind: LimitKind;
  name: string;
  shadow: boolean;
  lastSeen: number;
  admitted: PerSecond;
  refused: PerSecond;
  redisErrors: number;
  /** keyIds seen with their last time: only counted, never shown. */
  keys: Map<string, number>;
  /** Whether calls without a key were seen: only then is the unkeyed limiter's state the one in use. */
  unkeyed: boolean;
  /** Tokens left after the last admitted call (token bucket). */
  remaining?: number;
}

/**
 * Subscribes to the limiters' channels while the board module runs and counts, per declared
 * name, admitted and refused calls in this process. Keys are grouped under their name.
 */
@Injectable()
export class BoardActivity implements OnModuleInit, OnModuleDestroy {
  readonly startedAt = Date.now();
  private readonly seen = new Map<string, Activity>();
  private readonly handlers: Array<[string, (message: unknown) => void]> = [
    [CHANNEL_NAMES.admit, (m) => this.onAdmit(m as LimitEvents['admit'])],
    [CHANNEL_NAMES.refuse, (m) => this.entry(m as LimitEvent).refused.add(Date.now())],
    [CHANNEL_NAMES.redisError, (m) => (this.entry(m as LimitEvent).redisErrors += 1)],
  ];

  constructor(@Inject(BOARD_OPTIONS) private readonly options: ResolvedBoardOptions) {}

  onModuleInit(): void {
    for (const [name, handler] of this.handlers) diagnosticsChannel.subscribe(name, handler);
  }

  onModuleDestroy(): void {
    for (const [name, handler] of this.handlers) diagnosticsChannel.unsubscribe(name, handler);
  }

  /** Names seen in the last recentMs, most recent first; older ones are forgotten. */
  recent(now = Date.now()): Activity[] {
    for (const [id, activity] of this.seen) if (now - activity.lastSeen > this.options.recentMs) this.seen.delete(id);
    return [...this.seen.values()].reverse();
  }

  get(kind: LimitKind, name: string): Activity | undefined {
    return this.seen.get(`${kind} ${name}`);
  }

  /** Distinct keys active in the last recentMs. */
  keyCount(activity: Activity, now = Date.now()): number {
    for (const [keyId, at] of activity.keys) if (now - at > this.options.recentMs) activity.keys.delete(keyId);
    return activity.keys.size;
  }

  private onAdmit(event: LimitEvents['admit']): void {
    const activity = this.entry(event);
    activity.admitted.add(activity.lastSeen);
    if (event.remaining !== undefined) activity.remaining = event.remaining;
  }

  /** The name's entry, moved to the end of the map so that the map stays ordered by last use. */
  private entry(event: LimitEvent): Activity {
    const now = Date.now();
    const id = `${event.kind} ${event.name}`;
    let activity = this.seen.get(id);
    if (activity) this.seen.delete(id);
    else {
      activity = {
        kind: event.kind,
        name: event.name,
        shadow: event.shadow,
        lastSeen: now,
        admitted: new PerSecond(),
        refused: new PerSecond(),
        redisErrors: 0,
        keys: new Map(),
        unkeyed: false,
      };
      if (this.seen.size >= MAX_TRACKED_NAMES) this.seen.delete(this.seen.keys().next().value!);
    }
    this.seen.set(id, activity);
    activity.lastSeen = now;
    activity.shadow = event.shadow;
    if (event.keyId === undefined) activity.unkeyed = true;
    else {
      activity.keys.delete(event.keyId);
      if (activity.keys.size >= MAX_COUNTED_KEYS) activity.keys.delete(activity.keys.keys().next().value!);
      activity.keys.set(event.keyId, now);
    }
    return activity;
  }
}
