/**
 * Child processes for tests: worker scripts run as separate OS processes (so tests
 * exercise real cross-process coordination through Redis), plus the worker-side helpers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { LIMITER_OPTIONS } from '../../lib/core/known-options';
import type { LimitKind } from '../../lib/core/limit-kind';
import { connect, type RedisClient, type TargetName } from './connect';

/** Live children and the synchronous cleanup to run if this process exits before they do. */
const live = new Map<ChildProcess, () => void>();

function reapAll(): void {
  for (const [child, cleanup] of live) {
    child.kill('SIGKILL');
    cleanup();
  }
  live.clear();
}

let exitHookInstalled = false;

/**
 * SIGKILLs `child` (then runs `cleanup`) when this process exits, so redis-servers and
 * workers never outlive jest even when teardown is skipped (crash, timeout, SIGTERM).
 * Also unrefs it so a forgotten child never keeps jest from exiting.
 */
export function killOnExit(child: ChildProcess, cleanup: () => void = () => {}): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', reapAll);
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.once(signal, () => {
        reapAll();
        // Our listener cancelled Node's default "terminate"; restore it unless someone else handles the signal.
        if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
      });
    }
  }
  live.set(child, cleanup);
  child.once('exit', () => live.delete(child));
  child.unref();
}

export class WorkerExitError extends Error {
  constructor(
    readonly script: string,
    readonly code: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly stderr: string,
  ) {
    super(`worker ${script} exited with ${signal ?? `code ${code}`}${stderr ? `:\n${stderr}` : ''}`);
  }
}

export interface WorkerHandle {
  child: ChildProcess;
  /** The JSON the worker printed as its last stdout line; rejects with WorkerExitError otherwise. */
  // A worker's JSON is its own: each test reads the shape its worker prints.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  result: Promise<any>;
}

const repoRoot = path.resolve(__dirname, '../..');

/**
 * Starts a TypeScript worker script; `child.kill('SIGKILL')` simulates a crash. `env` adds to
 * this process's. `nest`: a worker that starts a Nest app, compiled with decorator metadata
 * (see ts-require.cjs) instead of by tsx.
 */
export function startWorker(
  scriptPath: string,
  args: object = {},
  { timeoutMs = 30_000, env = {}, nest = false }: { timeoutMs?: number; env?: NodeJS.ProcessEnv; nest?: boolean } = {},
): WorkerHandle {
  const script = path.resolve(repoRoot, scriptPath);
  // tsx's CommonJS hook alone: `--import tsx` also starts its ES-module loader thread, which
  // workers (CommonJS, as the package is) never use: 0.95 s of CPU time per start, 0.55 s so.
  const loader = nest ? ['--require', path.join(repoRoot, 'test/harness/ts-require.cjs')] : ['--require', 'tsx/cjs'];
  const child = spawn(process.execPath, [...loader, script], {
    cwd: repoRoot, // `tsx/cjs` is resolved from here
    env: { ...process.env, ...env, WORKER_ARGS: JSON.stringify(args) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  killOnExit(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  // A hung worker would otherwise hang the test until jest's own timeout, with a less useful message.
  const timer = setTimeout(() => {
    stderr += `\n[harness] killed after ${timeoutMs} ms`;
    child.kill('SIGKILL');
  }, timeoutMs);
  timer.unref();

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as WorkerHandle.result
  const result = new Promise<any>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new WorkerExitError(script, code, signal, stderr.trim()));
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(last));
      } catch {
        reject(new Error(`worker ${script} did not print JSON as its last line; stdout:\n${stdout}`));
      }
    });
  });
  // Crash tests may kill a worker and never look at its result: that must not be an unhandled rejection.
  result.catch(() => {});
  return { child, result };
}

/** Runs a worker to completion and resolves with what it reported. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- as WorkerHandle.result
export function spawnWorker(scriptPath: string, args: object = {}): Promise<any> {
  return startWorker(scriptPath, args).result;
}

// ---- worker side ----

/**
 * The limiter options among a worker's arguments: a limiter refuses options it does not
 * take, and workers get their test's parameters (target, counters...) in the same object.
 */
export function limiterOptions<T extends object>(kind: LimitKind, args: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(args).filter(([option]) => LIMITER_OPTIONS[kind].includes(option)),
  ) as Partial<T>;
}

export function readWorkerArgs<T = Record<string, unknown>>(): T {
  return JSON.parse(process.env.WORKER_ARGS ?? '{}') as T;
}

/** The same client the specs get from `targets`, built from the env the harness published. */
export function connectFromEnv(targetName: TargetName): RedisClient {
  return connect(targetName);
}

/**
 * Worker entry point: prints `main`'s result as the last stdout line and exits, even if
 * the worker left connections open. Errors go to stderr with a non-zero exit code.
 */
export function runWorker<T = Record<string, unknown>>(main: (args: T) => Promise<unknown>): void {
  main(readWorkerArgs<T>()).then(
    (result) => process.stdout.write(`${JSON.stringify(result ?? null)}\n`, () => process.exit(0)),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
