/**
 * The order jest hands spec files to its workers. Jest's own puts the files that took longest
 * in an earlier run first, from durations in its cache; a fresh clone (CI) has none, and then
 * it goes by file size. The longest files are short ones that wait on worker processes or
 * real windows, so by size they came last, each running alone at the end while the other
 * workers had nothing left (jest's wall time was the slowest file's start plus its length).
 * Without cached durations the files below, the longest in a profile of the whole suite
 * (jest --json, -w 2), start first, longest first; every other file in jest's order.
 */
const Sequencer = require('@jest/test-sequencer').default;

const LONGEST_FIRST = [
  'test/nest/transport/http.spec.ts',
  'test/core/semaphore-handoff.spec.ts',
  'test/nest/caller-keys.spec.ts',
  'test/core/semaphore-processes.spec.ts',
  'test/nest/outage.spec.ts',
  'test/nest/app-processes.spec.ts',
  'test/core/capacity-change.spec.ts',
  'test/package/readme.spec.ts',
  'test/package/sample-app.spec.ts',
  'test/package/package.spec.ts',
  'test/store/redis/deployments/sentinel.spec.ts',
  'test/core/token-bucket.spec.ts',
  'test/core/semaphore-crashes.spec.ts',
  'test/core/fixed-window-processes.spec.ts',
  'test/core/sliding-window.spec.ts',
  'test/nest/pipeline/request-path.spec.ts',
  'test/core/fixed-window.spec.ts',
  'test/package/without-ioredis.spec.ts',
];

class LongestFirst extends Sequencer {
  sort(tests) {
    const ordered = super.sort(tests);
    // Jest knows durations from an earlier run here: its order is the better informed one.
    if (ordered.some((test) => test.duration != null)) return ordered;
    const rank = (test) => {
      const index = LONGEST_FIRST.findIndex((file) => test.path.endsWith(`/${file}`));
      return index < 0 ? LONGEST_FIRST.length : index;
    };
    // Array.prototype.sort is stable: the files not listed keep jest's order among themselves.
    return ordered.sort((a, b) => rank(a) - rank(b));
  }
}

module.exports = LongestFirst;
