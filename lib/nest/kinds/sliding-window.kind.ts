import type { SlidingWindowSnapshot } from '../../core/limiter-store';
import { SlidingWindowLimiter, type SlidingWindowOptions } from '../../core/sliding-window-limiter';
import { shareOf } from './limit-kind.descriptor';
import { amountCell, rateKind } from './rate-kind';

/** The sliding window (core/sliding-window-limiter.ts) in the Nest layer: @SlidingWindow, module option `slidingWindows`. */
export const slidingWindowKind = rateKind({
  kind: 'sliding-window',
  words: {
    text: 'sliding window',
    optionsKey: 'slidingWindows',
    defaultsKey: 'slidingWindow',
    statusOption: 'slidingWindowStatus',
    decorator: '@SlidingWindow',
  },
  prototype: SlidingWindowLimiter.prototype,
  placeholders: { limit: 1, window: 1_000 },
  build: (store, options: SlidingWindowOptions) => new SlidingWindowLimiter(store, options),
  // `limit` in any `window`: a client that spends no more than that never waits.
  policy: ({ shape }) => ({ quota: shape.limit, windowMs: shape.window }),
  // Tokens come back one sub-window at a time, and the store answers only when the last
  // admission stops counting: the whole limit is back then, so a client told this is never
  // told too early (it may be told up to a window late for a single token).
  nextIn: (_, reservation) => reservation.fullIn - reservation.wait,
  /**
   * The limit divided and rounded down, the window kept: while Redis is away each process
   * admits its share in any window, the fleet at most the limit (with a limit below
   * `instances`, 1 each: a share is never 0).
   */
  localShare: ({ shape }, instances) => ({ limit: shareOf(shape.limit, instances) }),
  board: {
    title: 'Sliding windows',
    columns: [
      { field: 'used', heading: 'Counted / limit' },
      { field: 'window', heading: 'Any window of' },
      { field: 'wholeIn', heading: 'Whole again in' },
    ],
    cells: `{
      used: ${amountCell('row.limit - s.remaining', 'row.limit')},
      window: function (td, row) {
        td.appendChild(el('span', ms(row.window), 'value'));
      },
      wholeIn: function (td, row, s) {
        td.appendChild(el('span', !s ? '\\u2014' : s.fullIn > 0 ? 'in ' + ms(s.fullIn) : 'whole', 'value'));
      }
    }`,
    shape: ({ shape }) => ({ limit: shape.limit, window: shape.window }),
    summary(snapshot, ageMs) {
      const { remaining, fullIn } = snapshot as SlidingWindowSnapshot;
      // The snapshot may be up to refreshMs old: count its time down to now.
      return { remaining, fullIn: Math.max(0, fullIn - ageMs) };
    },
  },
  remaining: (window) => window.state().then((state) => state.remaining),
});
