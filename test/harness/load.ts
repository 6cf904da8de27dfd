/**
 * In-process load for fault tests: loops that call a limiter until stopped, recording
 * every call (when it started and ended, how it failed) and every work interval, so a
 * test can ask what happened in each phase of a fault. Work intervals are counted
 * independently of the library: work starts after the limiter admitted it and ends
 * before the permit is released.
 */
import { now, sleep } from './timing';
import { peakConcurrency } from './semaphore-chaos';

export interface CallRecord {
  loop: string;
  startedAt: number;
  endedAt: number;
  error?: unknown;
}

export class Load {
  readonly calls: CallRecord[] = [];
  readonly work: Array<[number, number]> = [];
  private readonly loops: Promise<void>[] = [];
  private stopping = false;

  /** Runs `call` over and over in `count` loops, `pauseMs` apart, until stop(). */
  loop(name: string, count: number, call: () => Promise<unknown>, pauseMs = 0): void {
    for (let i = 0; i < count; i++) {
      this.loops.push(
        (async () => {
          while (!this.stopping) {
            const record: CallRecord = { loop: name, startedAt: now(), endedAt: 0 };
            try {
              await call();
            } catch (error) {
              record.error = error;
            }
            record.endedAt = now();
            this.calls.push(record);
            if (pauseMs > 0) await sleep(pauseMs);
          }
        })(),
      );
    }
  }

  /** Work done while admitted: records its interval. Given the permit's signal, it stops when the lease is lost. */
  async working(ms: number, signal?: AbortSignal): Promise<void> {
    const start = now();
    await (signal ? sleepUnlessAborted(ms, signal) : sleep(ms));
    this.work.push([start, now()]);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
  }

  /** Calls that started within [from, to). */
  callsStarted(from: number, to = Infinity): CallRecord[] {
    return this.calls.filter((c) => c.startedAt >= from && c.startedAt < to);
  }

  /** Most work intervals open at once within [from, to], plus any `extra` intervals. */
  peak(from = -Infinity, to = Infinity, extra: Array<[number, number]> = []): number {
    const clipped = [...this.work, ...extra]
      .filter(([start, end]) => end > from && start < to)
      .map(([start, end]): [number, number] => [Math.max(start, from), Math.min(end, to)]);
    return peakConcurrency(clipped);
  }
}

/** Work that honours its permit's signal, as the docs ask: it ends when the lease is lost. */
function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    if (signal.aborted) done();
    else signal.addEventListener('abort', done);
  });
}

/** Counts errors by class name, e.g. { RedisUnavailableError: 12 }. */
export function errorKinds(calls: CallRecord[]): Record<string, number> {
  const kinds: Record<string, number> = {};
  for (const { error } of calls) {
    if (error === undefined) continue;
    const kind = error instanceof Error ? error.name : typeof error;
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  return kinds;
}
