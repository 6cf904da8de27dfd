import { FixedWindowLimiter, type FixedWindowOptions } from '../../core/fixed-window-limiter';
import type { FixedWindowShape, FixedWindowSnapshot } from '../../core/limiter-store';
import { shareOf } from './limit-kind.descriptor';
import { amountCell, rateKind } from './rate-kind';

/** The fixed window (core/fixed-window-limiter.ts) in the Nest layer: @FixedWindow, module option `fixedWindows`. */
export const fixedWindowKind = rateKind({
  kind: 'fixed-window',
  words: {
    text: 'fixed window',
    optionsKey: 'fixedWindows',
    defaultsKey: 'fixedWindow',
    statusOption: 'fixedWindowStatus',
    decorator: '@FixedWindow',
  },
  prototype: FixedWindowLimiter.prototype,
  // 'day' rather than a length: valid with a timezone of the call as well as without one.
  placeholders: { limit: 1, window: 'day', timezone: 'UTC' },
  build: (store, options: FixedWindowOptions) => new FixedWindowLimiter(store, options),
  policy: ({ shape }) => fixedWindowPolicy(shape),
  // The reservation's window ends `fullIn` from now (a block ends before the call may go):
  // until then, what it left is all there is.
  nextIn: (_, reservation) => reservation.fullIn - reservation.wait,
  /**
   * The limit divided and rounded down, the window kept: each process counts its own windows,
   * so while Redis is away the fleet admits at most `instances` times the share per window,
   * never more than the limit; with a limit below `instances` each still admits 1, and the
   * fleet up to `instances` per window (a share is never 0: that would refuse every call).
   */
  localShare: ({ shape }, instances) => ({ limit: shareOf(shape.limit, instances) }),
  board: {
    title: 'Fixed windows',
    columns: [
      { field: 'used', heading: 'Used / limit' },
      { field: 'window', heading: 'Window' },
      { field: 'resetsIn', heading: 'Resets in' },
    ],
    cells: `{
      used: ${amountCell('row.limit - s.remaining', 'row.limit')},
      window: function (td, row) {
        td.appendChild(el('span', typeof row.window === 'number' ? ms(row.window) + ' from its first call' : row.window || '\\u2014', 'value'));
      },
      resetsIn: function (td, row, s) {
        td.appendChild(el('span', !s ? '\\u2014' : s.resetIn > 0 ? 'in ' + ms(s.resetIn) : 'no window open', 'value'));
      }
    }`,
    shape: ({ shape }) => ({
      limit: shape.limit,
      window: typeof shape.window === 'number' ? shape.window : shape.window.id,
    }),
    summary(snapshot, ageMs) {
      const { remaining, resetIn, fullIn } = snapshot as FixedWindowSnapshot;
      // The snapshot may be up to refreshMs old: count its times down to now.
      return { remaining, resetIn: Math.max(0, resetIn - ageMs), fullIn: Math.max(0, fullIn - ageMs) };
    },
  },
  remaining: (window) => window.state().then((state) => state.remaining),
});

/**
 * `limit` per window. A calendar window (a day, a week, a month) has no fixed length, 23 to
 * 25 hours for a day: any `w` would be wrong in some periods, and a `w` shorter than the
 * period would promise a client a quota back before it is. The draft makes `w` optional,
 * so the policy leaves it out; RateLimit's `t` still tells when the window now resets.
 */
export function fixedWindowPolicy(shape: Readonly<FixedWindowShape>): { quota: number; windowMs?: number } {
  return typeof shape.window === 'number' ? { quota: shape.limit, windowMs: shape.window } : { quota: shape.limit };
}
