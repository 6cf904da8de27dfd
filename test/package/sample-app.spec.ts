/**
 * The sample app and its load tool end to end, as `npm run demo` runs them: the app
 * starts, takes a short load and stops, and the figures it prints show the limits held.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Summary } from '../../sample-app/load/figures';
import { buildApp, builtAfterSources } from '../../sample-app/load/demo';
import { MEMORY_STORE_WARNING } from '../../lib/nest/limiters.messages';
import { ENV_REDIS_URL } from '../harness/connect';
import { killOnExit } from '../harness/processes';

const ROOT = join(__dirname, '..', '..');
/**
 * How far a measured rate may stray from the configured one: all keys together, and one
 * key (about 80 admissions in a 4 s run, so one refill more or less is already 1.5 %).
 */
const RATE_TOLERANCE = { total: 0.1, perKey: 0.15 };

interface DemoRun {
  summary: Summary;
  output: string;
}

/** Runs the demo with a 4 s load and returns the figures it printed as its last line (--json). */
function demo(env: Record<string, string | undefined>): Promise<DemoRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'sample-app/load/demo.ts', '--duration', '4', '--json'], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  killOnExit(child);
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
  return new Promise((resolve, reject) => {
    child.once('close', (code) => {
      // The app's own lines (its shutdown) may follow the summary.
      const json = output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .pop();
      if (code !== 0 || json === undefined) return reject(new Error(`the demo exited with ${code}:\n${output}`));
      resolve({ summary: JSON.parse(json) as Summary, output });
    });
  });
}

/** A failed expectation shows what the demo printed, where the figures are explained. */
function explained(run: DemoRun, expectations: () => void): void {
  try {
    expectations();
  } catch (error) {
    (error as Error).message += `\n\nThe demo printed:\n${run.output
      .split('\n')
      .filter((l) => !l.startsWith('app │'))
      .join('\n')}`;
    throw error;
  }
}

describe('the sample app under its load tool (npm run demo)', () => {
  beforeAll(async () => {
    if (!builtAfterSources()) await buildApp();
  }, 60_000);

  // One after another: on a small machine, apps competing for the CPU would measure the CPU.
  describe.each([
    [
      'Redis from REDIS_URL',
      { REDIS_URL: process.env[ENV_REDIS_URL], SAMPLE_STORE: undefined },
      'Redis at redis://127.0.0.1',
    ],
    ['the in-memory store', { REDIS_URL: undefined, SAMPLE_STORE: 'memory' }, 'this process’s memory'],
  ])('on %s', (_, env, store) => {
    let run: DemoRun;
    beforeAll(async () => {
      run = await demo(env);
    }, 30_000);

    it('keeps its limits where the app says', () => {
      expect(run.summary.store).toContain(store);
      if (env.SAMPLE_STORE === 'memory') expect(run.output).toContain(MEMORY_STORE_WARNING);
      else expect(run.output).not.toContain(MEMORY_STORE_WARNING);
    });

    it('never has more slow-API calls in flight than the capacity, and reaches it under load', () => {
      const { concurrency } = run.summary;
      explained(run, () => {
        expect(concurrency.capacity).toBe(5);
        expect(concurrency.peak).toBe(concurrency.capacity);
      });
    });

    it('refuses the excess with 429 and fails nothing else', () => {
      const { status, appAdmissions } = run.summary;
      explained(run, () => {
        expect(status.tooMany).toBeGreaterThan(0);
        expect(status.other + status.failed).toBe(0);
        expect(appAdmissions).toBe(status.ok);
      });
    });

    it("counts every 429 from the library's refuse events too, and answers GET /health with 200", () => {
      const { status, refusedByEvents, health } = run.summary;
      explained(run, () => {
        const total = Object.values(refusedByEvents).reduce((a, b) => a + b, 0);
        expect(total).toBe(status.tooMany);
        expect(health).toBe(200);
      });
    });

    it('admits the keys at their configured rate', () => {
      const { rate } = run.summary;
      explained(run, () => {
        expect(Math.abs(rate.admitted! - rate.configured) / rate.configured).toBeLessThan(RATE_TOLERANCE.total);
        for (const keyRate of Object.values(rate.byKey)) {
          expect(Math.abs(keyRate! - rate.perKeyConfigured) / rate.perKeyConfigured).toBeLessThan(
            RATE_TOLERANCE.perKey,
          );
        }
      });
    });

    it('prints its metrics from GET /metrics, counting each request once: the run’s answers plus the warm-up’s', () => {
      const { status, warmUp } = run.summary;
      const count = (labels: string) => {
        const line = run.output.split('\n').find((l) => l.startsWith(`limiters_requests_total{${labels}`));
        return line === undefined ? undefined : Number(line.split(' ').pop());
      };
      explained(run, () => {
        expect(warmUp.ok + warmUp.tooMany).toBe(30);
        const perKey = 'limiters_name="per-key",limiters_kind="token-bucket",limiters_result=';
        expect(count(`${perKey}"admitted"`)).toBe(status.ok + warmUp.ok);
        expect(count(`${perKey}"refused",limiters_reason="limit"`)).toBe(status.tooMany + warmUp.tooMany);
        // Every admitted request called the slow API once, through its semaphore.
        expect(count('limiters_name="slow-api",limiters_kind="semaphore",limiters_result="admitted"')).toBe(
          status.ok + warmUp.ok,
        );
      });
    });

    it('prints a progress line and the summary with latency percentiles, and stops the app', () => {
      expect(run.output).toMatch(/\d+% \d+\.\ds │ sent \d+ · 2xx \d+ · 429 \d+/);
      expect(run.output).toMatch(/latency 2xx +p50 [\d.]+ ms · p90 [\d.]+ ms · p99 [\d.]+ ms/);
      expect(run.output).toContain('SIGTERM: closing.');
    });
  });
});
