/**
 * npm run demo [-- --build] [load options: --duration 10 --rate 120 --keys 3 --json]
 *
 * Everything a newcomer needs in one go: builds the sample app (when its sources are
 * newer than the last build, or with --build), starts it on a free
 * loopback port (its output prefixed "app │"), waits until it answers, runs the load,
 * prints the summary and the app's limiters_requests_total from GET /metrics, and stops the app. The app picks its store as `npm run sample`
 * does (REDIS_URL, else a throwaway redis-server, else memory; SAMPLE_STORE=memory).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseLoadArgs, printSummary, runLoad } from './load';

const ROOT = resolve(__dirname, '..', '..');
const APP_MAIN = join(ROOT, 'sample-app', 'dist', 'sample-app', 'src', 'main.js');
const START_TIMEOUT_MS = 30_000;

async function demo(argv: string[]): Promise<void> {
  const { json, ...load } = parseLoadArgs(argv.filter((a) => a !== '--build' && !a.startsWith('--url')));
  if (argv.includes('--build') || !builtAfterSources()) await buildApp();
  const { child, url: listening } = startApp();
  try {
    const url = await listening;
    await answering(url, child);
    printSummary(await runLoad({ ...load, url }), json);
    process.stdout.write(`${await requestCounts(url)}\n`);
  } finally {
    await stopApp(child);
  }
}

/** The app's count of limited requests, as Prometheus scrapes it from GET /metrics (warm-up included). */
export async function requestCounts(url: string): Promise<string> {
  const response = await fetch(`${url}/metrics`);
  if (!response.ok) throw new Error(`GET /metrics answered ${response.status}`);
  const lines = (await response.text()).split('\n').filter((line) => line.startsWith('limiters_requests_total{'));
  return ['GET /metrics (warm-up included):', ...lines].join('\n');
}

/**
 * `npm run sample:build` (`nest build`, nest-cli.json): compiles with tsc, which (unlike esbuild-based
 * runners) emits the decorator metadata Nest injects by, and copies lua/ where the compiled library looks for it.
 */
export async function buildApp(): Promise<void> {
  process.stdout.write('Building the sample app (npm run sample:build)...\n');
  const build = spawn('npm', ['run', '--silent', 'sample:build'], { cwd: ROOT, stdio: 'inherit' });
  const [code, signal] = (await once(build, 'exit')) as [number | null, NodeJS.Signals | null];
  if (code !== 0) throw new Error(`npm run sample:build failed (${signal ?? `exit ${code}`})`);
}

interface StartedApp {
  child: ChildProcess;
  /** The address the app logs once it listens (it is started with PORT=0, any free port). */
  url: Promise<string>;
}

/** True when the compiled app is newer than every source it is built from. */
export function builtAfterSources(): boolean {
  const built = statSync(APP_MAIN, { throwIfNoEntry: false })?.mtimeMs;
  if (built === undefined) return false;
  const sources = [
    'sample-app/src',
    'lib',
    'lua',
    'sample-app/tsconfig.json',
    'sample-app/tsconfig.app.json',
    'nest-cli.json',
    'package.json',
  ];
  return sources.every((source) => newestChange(join(ROOT, source)) < built);
}

function newestChange(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((entry) => newestChange(join(path, entry))));
}

function startApp(): StartedApp {
  const child = spawn(process.execPath, [APP_MAIN], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', ...(process.stdout.isTTY ? {} : { NO_COLOR: '1' }) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Ctrl-C reaches the app too (same process group); a plain kill of the demo must not leave it running.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void stopApp(child).then(() => process.exit(130)));
  }
  const url = new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the app did not listen within ${START_TIMEOUT_MS / 1_000} s`)),
      START_TIMEOUT_MS,
    );
    child.once('exit', (code) => reject(new Error(`the app exited (${code ?? child.signalCode}) before it listened`)));
    for (const stream of [child.stdout!, child.stderr!]) {
      let partial = '';
      stream.setEncoding('utf8').on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop()!;
        for (const line of lines) {
          process.stdout.write(`app │ ${line}\n`);
          const listening = /Listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
          if (listening) {
            clearTimeout(timer);
            resolveUrl(listening[1]);
          }
        }
      });
    }
  });
  url.catch(() => undefined);
  return { child, url };
}

async function answering(url: string, app: ChildProcess): Promise<void> {
  for (const deadline = Date.now() + START_TIMEOUT_MS; Date.now() < deadline; await sleep(100)) {
    if (app.exitCode !== null) throw new Error(`the app exited with ${app.exitCode}`);
    const status = await fetch(`${url}/stats`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
  }
  throw new Error(`the app did not answer GET /stats within ${START_TIMEOUT_MS / 1_000} s`);
}

async function stopApp(app: ChildProcess): Promise<void> {
  if (app.exitCode !== null || app.signalCode !== null) return;
  const exited = once(app, 'exit');
  app.kill('SIGTERM');
  const killer = setTimeout(() => app.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(killer);
}

if (require.main === module) {
  demo(process.argv.slice(2)).catch((error: unknown) => {
    console.error(`Demo failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
}
