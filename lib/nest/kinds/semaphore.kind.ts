import { LIMITER_OPTIONS } from '../../core/known-options';
import type { SemaphoreSnapshot } from '../../core/limiter-store';
import { OptionReader } from '../../core/options';
import type { Permit } from '../../core/permit';
import { SemaphoreLimiter, type SemaphoreOptions } from '../../core/semaphore-limiter';
import { CALL_OPTIONS, defineKind, shareOf } from './limit-kind.descriptor';

/** The semaphore (core/semaphore-limiter.ts) in the Nest layer: @Semaphore, module option `semaphores`. */
export const semaphoreKind = defineKind({
  kind: 'semaphore',
  words: {
    text: 'semaphore',
    optionsKey: 'semaphores',
    defaultsKey: 'semaphore',
    statusOption: 'semaphoreStatus',
    decorator: '@Semaphore',
    amount: 'permits',
    refusal: 'Concurrency limit',
  },
  phase: 'slot',
  options: LIMITER_OPTIONS.semaphore,
  callOptions: [...CALL_OPTIONS, 'permits'],
  placeholders: { capacity: 1 },
  prototype: SemaphoreLimiter.prototype,
  build: (store, options: SemaphoreOptions) => new SemaphoreLimiter(store, options),
  checkAmount: (semaphore, permits) => OptionReader.callPermits(permits, semaphore.name, semaphore.capacity),
  enter: (semaphore, permits, maxSleep, giveUp): Promise<Permit> =>
    semaphore.acquire({ maxSleep, permits, signal: giveUp?.signal }),
  // A release that cannot reach Redis must not fail the call: the lease runs out on its own.
  release: (permit) => void permit.release().catch(() => undefined),
  /**
   * A semaphore only knows when its oldest lease would run out, an upper bound that would
   * make polite clients wait far longer than needed, so it tells no retry time.
   */
  knowsRetryAfter: false,
  // The draft's "concurrent-requests" unit, which has no window.
  policy: (semaphore) => ({ quota: semaphore.capacity, unit: 'concurrent-requests' }),
  localShare: (semaphore, instances) => ({ capacity: shareOf(semaphore.capacity, instances) }),
  close: (semaphore) => semaphore.markClosed(),
  board: {
    title: 'Semaphores',
    columns: [
      { field: 'holders', heading: 'Holders / capacity' },
      { field: 'waiters', heading: 'Waiters' },
    ],
    cells: `{
      holders: function (td, row, s) {
        if (s) fraction(td, s.holders, row.capacity); else noState(td, row);
      },
      waiters: function (td, row, s) {
        td.appendChild(el('span', s ? s.waiters : '\\u2014', 'value')); td.className = 'num';
      }
    }`,
    shape: (semaphore) => ({ capacity: semaphore.capacity }),
    summary(snapshot) {
      const { holders, waiters } = snapshot as SemaphoreSnapshot;
      // Permits held, out of the capacity: a weighted holder counts as what it holds.
      return { holders: holders.reduce((sum, h) => sum + h.permits, 0), waiters: waiters.length };
    },
  },
  metrics: { waits: 'queue', leases: true },
});
