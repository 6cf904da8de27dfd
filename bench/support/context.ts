import type { Redis } from 'ioredis';
import { startWorker } from '../../test/harness/processes';

export interface BenchContext {
  /** redis://127.0.0.1:port of the bench's own redis-server. */
  url: string;
  /** An admin connection for INFO, CONFIG RESETSTAT, FLUSHALL, gates. */
  admin: Redis;
  /** bench/results */
  resultsDir: string;
  /** `BENCH_QUICK=1`: shorter runs, to check the bench itself works. */
  quick: boolean;
  log(message: string): void;
}

/**
 * A scenario's line in the Summary table (bench/support/summary.ts): its target and what
 * this run measured against it, worked out from the section's own figures, never typed in.
 */
export interface SummaryRow {
  /** Numbered as the section is in BENCHMARKS.md, e.g. "2. hand-off". */
  scenario: string;
  target: string;
  result: string;
}

export interface Section {
  id: string;
  title: string;
  /** Markdown: tables and a few lines of explanation, from this run only. */
  markdown: string;
  summary: SummaryRow;
  data: unknown;
}

/** Runs a bench worker (TypeScript, through tsx) to completion; resolves with the JSON it printed last. */
export function runBenchWorker<T>(script: string, args: object, timeoutMs: number): Promise<T> {
  return startWorker(`bench/workers/${script}`, args, { timeoutMs }).result as Promise<T>;
}
