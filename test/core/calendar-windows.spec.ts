/**
 * Calendar windows: days, weeks from Monday and months in a time zone, across
 * daylight-saving changes and month ends. First the periods themselves, then a
 * FixedWindowLimiter on every store with its clock moved to those moments
 * (FixedWindowLimiter.shiftClock, which moves "now" inside the Redis scripts too).
 */
import { CalendarWindows, type CalendarPeriod } from '../../lib/core/calendar-windows';
import { InvalidOptionError } from '../../lib/core/errors';
import { FixedWindowLimiter, type FixedWindowOptions } from '../../lib/core/fixed-window-limiter';
import '../../lib/store/resolve-store';
import { MemoryStore } from '../../lib/store/memory/memory-store';
import { uniqueName } from '../harness/redis-targets';
import { storeTargets } from '../harness/store-targets';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const at = (iso: string) => Date.parse(iso);

/** The period holding `iso`, as ISO strings, and its length in hours. */
function period(kind: CalendarPeriod, timeZone: string, iso: string) {
  const [start, end] = new CalendarWindows(kind, timeZone).at(at(iso));
  return { start: new Date(start).toISOString(), end: new Date(end).toISOString(), hours: (end - start) / HOUR };
}

describe('calendar periods', () => {
  it('a day in Europe/Berlin lasts 23 hours on the spring change and 25 on the autumn one', () => {
    expect(period('day', 'Europe/Berlin', '2026-03-29T12:00:00Z')).toEqual({
      start: '2026-03-28T23:00:00.000Z',
      end: '2026-03-29T22:00:00.000Z',
      hours: 23,
    });
    expect(period('day', 'Europe/Berlin', '2026-10-25T12:00:00Z')).toEqual({
      start: '2026-10-24T22:00:00.000Z',
      end: '2026-10-25T23:00:00.000Z',
      hours: 25,
    });
    // The instants either side of local midnight belong to the two days.
    expect(period('day', 'Europe/Berlin', '2026-10-24T21:59:59.999Z').end).toBe('2026-10-24T22:00:00.000Z');
    expect(period('day', 'Europe/Berlin', '2026-10-24T22:00:00.000Z').start).toBe('2026-10-24T22:00:00.000Z');
  });

  it('a week starts on Monday at local midnight', () => {
    // 2026-03-01 is a Sunday.
    expect(period('week', 'UTC', '2026-03-01T23:59:59.999Z')).toEqual({
      start: '2026-02-23T00:00:00.000Z',
      end: '2026-03-02T00:00:00.000Z',
      hours: 168,
    });
    expect(period('week', 'UTC', '2026-03-02T00:00:00.000Z').start).toBe('2026-03-02T00:00:00.000Z');
    // The week of the spring change in Berlin is an hour short.
    expect(period('week', 'Europe/Berlin', '2026-03-25T12:00:00Z').hours).toBe(167);
  });

  it('a month runs from the 1st to the 1st: 31 days in January, 28 or 29 in February', () => {
    expect(period('month', 'UTC', '2026-01-31T23:59:59.999Z')).toEqual({
      start: '2026-01-01T00:00:00.000Z',
      end: '2026-02-01T00:00:00.000Z',
      hours: 31 * 24,
    });
    expect(period('month', 'UTC', '2026-02-01T00:00:00.000Z').hours).toBe(28 * 24);
    expect(period('month', 'UTC', '2028-02-29T12:00:00Z').hours).toBe(29 * 24);
    // In Berlin, March loses the hour of its change: from 23:00 UTC on Feb 28 to 22:00 UTC on Mar 31.
    expect(period('month', 'Europe/Berlin', '2026-03-15T12:00:00Z')).toEqual({
      start: '2026-02-28T23:00:00.000Z',
      end: '2026-03-31T22:00:00.000Z',
      hours: 31 * 24 - 1,
    });
  });

  it('a day whose midnight a change skips starts when the day does', () => {
    // Chile starts summer time at 00:00 on 2026-09-06: the day begins at 01:00 local, 04:00 UTC.
    expect(period('day', 'America/Santiago', '2026-09-06T12:00:00Z')).toEqual({
      start: '2026-09-06T04:00:00.000Z',
      end: '2026-09-07T03:00:00.000Z',
      hours: 23,
    });
  });
});

describe('calendar window options', () => {
  const build = (options: Partial<FixedWindowOptions>) =>
    new FixedWindowLimiter(new MemoryStore(), { name: 'n', limit: 5, window: 'day', ...options } as FixedWindowOptions);

  it.each([['Mars/Olympus_Mons'], [''], ['Europe/Berlin ']])(
    'timezone %p: InvalidOptionError naming it',
    (timezone) => {
      expect(() => build({ timezone })).toThrow(InvalidOptionError);
      expect(() => build({ timezone })).toThrow(/"timezone"/);
    },
  );

  it('timezone with a window of a length: InvalidOptionError, as it would be ignored', () => {
    expect(() => build({ window: 60_000, timezone: 'UTC' })).toThrow(
      /"timezone" of limiter "n" applies only to calendar windows/,
    );
  });

  it.each([['year'], ['Day'], ['monthly']])('window %p: InvalidOptionError naming it', (window) => {
    expect(() => build({ window: window as never })).toThrow(
      /"window" of limiter "n" must be .*"day", "week" or "month"/,
    );
  });

  it('takes any zone Intl knows, and UTC by default', () => {
    for (const timezone of ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Etc/GMT+5', undefined]) {
      expect(() => build({ timezone })).not.toThrow();
    }
  });
});

describe.each(storeTargets)('calendar windows on $name store', (target) => {
  const store = target.store();
  /** A limiter whose clock reads `iso` now; `move(iso)` moves it again. */
  function windowAt(iso: string, options: Partial<FixedWindowOptions>) {
    const limiter = new FixedWindowLimiter(store, {
      name: uniqueName('calendar'),
      limit: 2,
      window: 'day',
      ...options,
    } as FixedWindowOptions);
    const move = (to: string) => limiter.shiftClock(at(to) - Date.now());
    move(iso);
    return { limiter, move };
  }
  /**
   * `ms`, or up to a few seconds less: "now" moves on while the test runs (and the memory
   * store's clock, counted from the process's start, may stand a little apart from Date.now()).
   */
  const about = (ms: number) => ({
    asymmetricMatch: (actual: unknown) => typeof actual === 'number' && actual > ms - 5_000 && actual <= ms + 100,
    toAsymmetricMatcher: () => `about(${ms})`,
  });

  it('a day across the spring change in Europe/Berlin: 23 hours, then the next day starts at local midnight', async () => {
    // 00:30 on March 29, Berlin time.
    const { limiter, move } = windowAt('2026-03-28T23:30:00Z', { timezone: 'Europe/Berlin' });
    expect(await limiter.tryTake()).toMatchObject({ allowed: true, remaining: 1, fullIn: about(22.5 * HOUR) });
    move('2026-03-29T21:59:58Z'); // 23:59:58 local, summer time
    expect(await limiter.tryTake()).toMatchObject({ allowed: true, remaining: 0, fullIn: about(2_000) });
    const refused = await limiter.tryTake();
    expect(refused).toMatchObject({ allowed: false, retryAfter: about(2_000) });
    move('2026-03-29T22:00:00.500Z'); // 00:00:00.5 on March 30
    expect(await limiter.tryTake()).toMatchObject({ allowed: true, remaining: 1, fullIn: about(DAY - 500) });
  });

  it('a day across the autumn change in Europe/Berlin: 25 hours', async () => {
    const { limiter, move } = windowAt('2026-10-24T22:00:00.500Z', { timezone: 'Europe/Berlin' });
    expect(await limiter.tryTake()).toMatchObject({ allowed: true, fullIn: about(25 * HOUR - 500) });
    move('2026-10-25T22:59:59Z'); // 23:59:59 local, winter time: still the same day
    expect(await limiter.tryTake()).toMatchObject({ allowed: true, remaining: 0, fullIn: about(1_000) });
    expect((await limiter.tryTake()).allowed).toBe(false);
  });

  it('a month ends at midnight of its last day: January 31 to February 1, February 28 to March 1', async () => {
    const { limiter, move } = windowAt('2026-01-31T23:59:59Z', { limit: 1, window: 'month' });
    expect(await limiter.tryTake()).toMatchObject({ allowed: true, fullIn: about(1_000) });
    expect(await limiter.tryTake()).toMatchObject({ allowed: false, retryAfter: about(1_000) });
    move('2026-02-01T00:00:00.500Z');
    expect(await limiter.tryTake()).toMatchObject({ allowed: true, fullIn: about(28 * DAY - 500) });
    move('2026-02-28T23:59:59.500Z');
    expect(await limiter.tryTake()).toMatchObject({ allowed: false, retryAfter: about(500) });
    move('2026-03-01T00:00:00.100Z');
    expect(await limiter.tryTake()).toMatchObject({ allowed: true, fullIn: about(31 * DAY - 100) });
  });

  it('in a leap year February has a 29th', async () => {
    const { limiter } = windowAt('2028-02-28T12:00:00Z', { window: 'month' });
    expect(await limiter.tryTake()).toMatchObject({ allowed: true, fullIn: about(1.5 * DAY) });
  });

  it('a week ends on Sunday at local midnight and the next starts on Monday', async () => {
    // Sunday 2026-03-01, 23:59:59 in Berlin (winter time, UTC+1).
    const { limiter, move } = windowAt('2026-03-01T22:59:59Z', { limit: 1, window: 'week', timezone: 'Europe/Berlin' });
    expect(await limiter.tryTake()).toMatchObject({ allowed: true, fullIn: about(1_000) });
    expect((await limiter.tryTake()).allowed).toBe(false);
    move('2026-03-01T23:00:00.500Z'); // Monday 00:00:00.5
    expect(await limiter.tryTake()).toMatchObject({ allowed: true, fullIn: about(7 * DAY - 500) });
  });

  it('take() sleeps into the next day when today is used up', async () => {
    const { limiter } = windowAt('2026-06-30T23:59:59.200Z', { limit: 1, maxSleep: 5_000 });
    await limiter.take();
    const waited = await limiter.take();
    expect(waited).toBeGreaterThan(300);
    expect(waited).toBeLessThan(2_500);
  });

  it('reservations days ahead are counted in their own days', async () => {
    // Further ahead than the periods sent with a call: the Redis store sends the ones asked for.
    const { limiter } = windowAt('2026-07-01T10:00:00Z', { limit: 1, maxSleep: Infinity });
    const waits = [];
    for (let i = 0; i < 6; i++) waits.push((await limiter.reserve()).wait);
    expect(waits[0]).toBe(0);
    expect(waits[1]).toEqual(about(14 * HOUR));
    for (let i = 2; i < waits.length; i++) expect(waits[i] - waits[i - 1]).toEqual(about(DAY));
    expect((await limiter.state()).fullIn).toEqual(about(14 * HOUR + 5 * DAY));
  });
});
