/**
 * One rate limit (a fixed or sliding window) shared by worker processes
 * (workers/rate-limiter.worker.ts) that start together on a barrier, each reporting its
 * admissions on the clock the barrier aligned. The workers connect with ioredis whatever
 * client the test process uses: a test that makes no call of its own runs once per deployment.
 */
import type { LimitKind } from '../../lib/core/limit-kind';
import { spawnWorker } from './processes';
import { uniqueName, type TargetName } from './redis-targets';
import type { RateRun } from './workers/rate-limiter.worker';

/** What one worker does: `take` sleeps for its turn `takes` times, `tryTake` calls in a loop for `durationMs`. */
export interface RateWorkerRun {
  mode: 'take' | 'tryTake';
  callers: number;
  takes?: number;
  durationMs?: number;
  pauseMs?: number;
  weights?: number[];
}

/** One worker per entry of `runs`, all on one new limit of `kind` with `options` on `deployment`. */
export function rateFromProcesses(
  deployment: TargetName,
  kind: Extract<LimitKind, 'fixed-window' | 'sliding-window'>,
  options: object,
  runs: RateWorkerRun[],
): Promise<RateRun[]> {
  const barrier = { key: uniqueName('barrier'), parties: runs.length };
  const name = uniqueName(kind);
  return Promise.all(
    runs.map((run) =>
      spawnWorker('test/harness/workers/rate-limiter.worker.ts', {
        target: deployment,
        kind,
        options: { name, ...options },
        barrier,
        ...run,
      }),
    ),
  );
}
