import { LimiterError } from '../../core/errors';
import type {
  CalendarPeriods,
  FixedWindowBackend,
  FixedWindowShape,
  FixedWindowSnapshot,
  TakeReply,
} from '../../core/limiter-store';
import { blockKey } from './keys';
import { numbers, type ScriptRunner } from './script-runner';

/** A script's answer that it needs the calendar periods holding these instants (server ms). */
class MissingPeriods {
  constructor(readonly instants: number[]) {}
}

/**
 * A fixed window stored in one Redis key (lua/fixed-window-*.lua), and while a refusal
 * blocks it (option blockDuration) a second key beside it.
 */
export function redisFixedWindow(scripts: ScriptRunner, key: string): FixedWindowBackend {
  const keys = [key, blockKey(key)];
  return {
    take: (shape, tokens, maxWait) =>
      withPeriods(
        shape,
        [
          shape.limit,
          lengthOf(shape),
          tokens,
          maxWait === Infinity ? -1 : maxWait,
          shape.blockDuration,
          shape.clockOffset,
        ],
        (args) => scripts.run('fixedWindowTake', keys, args, takeReply),
      ),
    inspect: (shape) =>
      withPeriods(shape, [shape.limit, lengthOf(shape), shape.clockOffset], (args) =>
        scripts.run('fixedWindowInspect', keys, args, snapshot),
      ),
    adjust: (shape, tokens, slot) =>
      withPeriods(shape, [shape.limit, lengthOf(shape), tokens, slot ?? 0, shape.clockOffset], (args) =>
        scripts.run('fixedWindowAdjust', keys, args, snapshot),
      ),
  };
}

/** The scripts' window argument: the length in ms, or 0 for calendar windows (whose periods follow). */
function lengthOf(shape: FixedWindowShape): number {
  return typeof shape.window === 'number' ? shape.window : 0;
}

/**
 * Runs `call` with the arguments a calendar window needs after `args`: the periods around
 * this process's clock (the previous one to the one after next, so a server clock an hour
 * off still finds its own), and again with those the script asked for when they were not
 * enough (a reservation further ahead, a clock further off), each with the period after it,
 * which the script's next lookup usually needs. Windows of a length need none: their calls
 * are sent as they are.
 */
function withPeriods<T>(
  shape: FixedWindowShape,
  args: number[],
  call: (args: number[]) => Promise<T | MissingPeriods>,
): Promise<T> {
  const calendar = shape.window;
  if (typeof calendar === 'number') return call(args) as Promise<T>;
  const send = (periods: number[], attempts: number): Promise<T> =>
    call([...args, ...periods]).then((reply) => {
      if (!(reply instanceof MissingPeriods)) return reply;
      if (attempts === 0) {
        throw new LimiterError(
          `The calendar periods of ${calendar.id} holding ${reply.instants.join(', ')} were sent but not found.`,
        );
      }
      const asked = reply.instants.flatMap((t) => {
        const holding = calendar.at(t);
        return [...holding, ...calendar.at(holding[1])];
      });
      return send([...periods, ...asked], attempts - 1);
    });
  return send(periodsAround(calendar, Date.now() + shape.clockOffset), 3);
}

/** The periods before, holding, and the two after `t`, as start, end pairs. */
function periodsAround(calendar: CalendarPeriods, t: number): number[] {
  const now = calendar.at(t);
  const next = calendar.at(now[1]);
  return [...calendar.at(now[0] - 1), ...now, ...next, ...calendar.at(next[1])];
}

function missing(parts: Array<number | string>): MissingPeriods | undefined {
  return parts[0] === 'more' ? new MissingPeriods(parts.slice(1).map(Number)) : undefined;
}

/** The reply of fixed-window-take: as token-bucket-take's, with the window counted in (see the script's header). */
function takeReply(reply: unknown): TakeReply | MissingPeriods {
  const parts = reply as Array<number | string>;
  const more = missing(parts);
  if (more) return more;
  // Number(): a client made with stringNumbers hands integers over as strings (see numbers()).
  const tokens = Number(parts[0]);
  const wait = Number(parts[1]);
  const fullIn = Number(parts[2]);
  return wait < 0
    ? { reserved: false, tokens, wait: -wait, fullIn }
    : { reserved: true, tokens, wait, fullIn, slot: Number(parts[3]) };
}

/** The reply of fixed-window-inspect and fixed-window-adjust: {tokens left now, ms until the window ends, ms until whole}. */
function snapshot(reply: unknown): FixedWindowSnapshot | MissingPeriods {
  const more = missing(reply as Array<number | string>);
  if (more) return more;
  const [remaining, resetIn, fullIn] = numbers(reply);
  return { remaining, resetIn, fullIn };
}
