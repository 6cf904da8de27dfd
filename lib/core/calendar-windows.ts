import type { CalendarPeriods } from './limiter-store';

/** A calendar window: a day, a week (from Monday) or a month, in a time zone. */
export type CalendarPeriod = 'day' | 'week' | 'month';

export const CALENDAR_PERIODS: readonly CalendarPeriod[] = ['day', 'week', 'month'];

/** How many periods are remembered: the few around now that every call asks for. */
const REMEMBERED = 8;

const DAY_MS = 86_400_000;

/**
 * The periods of a calendar window in an IANA time zone, as instants (Unix ms): each starts
 * at local midnight of its first day (a Monday for weeks, the 1st for months), so a day
 * across a daylight-saving change lasts 23 or 25 hours, and a month as long as it is.
 *
 * Worked out here with Intl, which has the time zone database, because the Lua scripts
 * have none: the stores are given the periods around the instants they need (see
 * lua/includes/fixed-window.lua).
 */
export class CalendarWindows implements CalendarPeriods {
  readonly id: string;
  private readonly local: Intl.DateTimeFormat;
  /** Periods already worked out, the latest first: Intl is slow next to a script call. */
  private readonly remembered: Array<readonly [number, number]> = [];

  /** Throws RangeError when the time zone is unknown (the caller names the option). */
  constructor(
    readonly period: CalendarPeriod,
    timeZone: string,
  ) {
    this.local = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      hourCycle: 'h23',
    });
    this.id = `${period} in ${this.local.resolvedOptions().timeZone}`;
  }

  /** [start, end) of the period that holds `t`. */
  at(t: number): readonly [number, number] {
    for (const known of this.remembered) if (known[0] <= t && t < known[1]) return known;
    const day = this.localDay(t);
    const first = this.firstDayOf(day);
    const found = [this.startOfDay(first), this.startOfDay(this.nextFirstDay(first))] as const;
    this.remembered.unshift(found);
    if (this.remembered.length > REMEMBERED) this.remembered.pop();
    return found;
  }

  /** The local calendar day of instant `t`, as the UTC midnight of that date (a day number times DAY_MS). */
  private localDay(t: number): number {
    const wall = this.wallClock(t);
    return wall - (((wall % DAY_MS) + DAY_MS) % DAY_MS);
  }

  /** The local wall-clock time at `t` (whole seconds), written as if it were UTC. */
  private wallClock(t: number): number {
    const parts: Record<string, number> = {};
    for (const { type, value } of this.local.formatToParts(t)) parts[type] = Number(value);
    return Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
  }

  private firstDayOf(day: number): number {
    const date = new Date(day);
    if (this.period === 'month') return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
    if (this.period === 'week') return day - ((date.getUTCDay() + 6) % 7) * DAY_MS;
    return day;
  }

  private nextFirstDay(first: number): number {
    const date = new Date(first);
    if (this.period === 'month') return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
    // Calendar days, not 24-hour spans: UTC has no daylight saving.
    return first + (this.period === 'week' ? 7 : 1) * DAY_MS;
  }

  /**
   * The first instant whose local date is `day`: midnight there, found from the zone's
   * offset (read twice, as the guess may lie across a change from the answer); where a
   * change skips midnight (some zones start summer time at 00:00), the instant the day begins.
   */
  private startOfDay(day: number): number {
    let guess = day - (this.wallClock(day) - day);
    guess = day - (this.wallClock(guess) - guess);
    if (this.localDay(guess) === day && this.localDay(guess - 1) < day) return guess;
    // The first instant at or after which the local date is `day`, within the widest offsets (±14 h) and a change.
    let low = day - 16 * 3_600_000;
    let high = day + 16 * 3_600_000;
    while (high - low > 1) {
      const middle = Math.floor((low + high) / 2);
      if (this.localDay(middle) >= day) high = middle;
      else low = middle;
    }
    return high;
  }
}
