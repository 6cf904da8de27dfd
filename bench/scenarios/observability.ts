/** Scenario 7: the client CPU an admission costs with events and metrics, against the library before events. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runBenchWorker, type BenchContext, type Section } from '../support/context';
import { fmtSpread, spread, table } from '../support/stats';

/** The last commit before events were published (issue 11). */
const BEFORE_EVENTS = '15fd5e7';

const repoRoot = path.resolve(__dirname, '..', '..');

/** Compiles lib/ as it was at `commit` into bench/.build-before (inside the repository, so it finds node_modules). */
function buildBefore(commit: string): string {
  const dir = path.join(repoRoot, 'bench', '.build-before');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'src'), { recursive: true });
  const archive = execFileSync('git', ['archive', commit, 'lib', 'lua', 'package.json', 'tsconfig.json', 'tsconfig.build.json'], { cwd: repoRoot });
  execFileSync('tar', ['-x', '-C', path.join(dir, 'src')], { input: archive });
  const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  // prettier-ignore
  execFileSync(process.execPath, [
    tsc, '-p', path.join(dir, 'src', 'tsconfig.build.json'), '--outDir', path.join(dir, 'dist'),
    '--declaration', 'false', '--sourceMap', 'false',
  ], { stdio: 'inherit' });
  fs.symlinkSync(path.join(dir, 'src', 'lua'), path.join(dir, 'lua'));
  fs.copyFileSync(path.join(dir, 'src', 'package.json'), path.join(dir, 'package.json'));
  return dir;
}

interface Result {
  name: string;
  admit: number[];
  acquireRelease: number[];
}

export async function observability(ctx: BenchContext): Promise<Section> {
  const beforeDir = buildBefore(BEFORE_EVENTS);
  const args = ctx.quick
    ? { url: ctx.url, iterations: 300, warmup: 50, rounds: 2, beforeDir }
    : { url: ctx.url, iterations: 3000, warmup: 300, rounds: 5, beforeDir };
  ctx.log(`observability: ${args.rounds} rounds × ${args.iterations} calls per variant`);
  const results = await runBenchWorker<Result[]>('observability.worker.ts', args, 900_000);
  const base = results[0];
  const rows = results.map((r) => [
    r.name,
    fmtSpread(spread(r.admit), 1),
    fmtSpread(spread(r.admit.map((v, i) => v / base.admit[i])), 3, '×'),
    fmtSpread(spread(r.acquireRelease), 1),
    fmtSpread(spread(r.acquireRelease.map((v, i) => v / base.acquireRelease[i])), 3, '×'),
  ]);
  const markdown = [
    `Client CPU (process.cpuUsage) per call, one connection, one call at a time: ${args.iterations} calls per ` +
      `variant per round, ${args.rounds} rounds, variants interleaved and rotated each round, in one process. ` +
      `"Before events" is lib/ at ${BEFORE_EVENTS}, compiled on its own. Ratios are taken within a round.`,
    '',
    table(
      ['variant', 'tryTake() µs', 'vs before', 'acquire()+release() µs', 'vs before'],
      rows,
    ),
  ].join('\n');
  return { id: 'observability', title: '7. Events and metrics: client CPU per call', markdown, data: results };
}
