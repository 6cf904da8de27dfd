/**
 * `npm run bench`: starts a throwaway redis-server (test/harness/redis-servers.ts), compiles
 * the library, runs each scenario against it and writes bench/results/ (results.json,
 * results.md with the machine, a Summary table of every scenario's target and result and
 * each scenario's section, SVG charts), then fills BENCHMARKS.md's tables and Summary from
 * that results.md (bench/support/docs.ts; `npm run bench:docs` does the fill alone).
 * `npm run bench -- handoff http` runs only those scenarios (results-handoff-http.*) and
 * leaves BENCHMARKS.md alone: its figures all come from one run of every scenario.
 * BENCH_QUICK=1 shortens everything (to check the bench itself, not for figures).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Redis } from 'ioredis';
import { startRedis, stopRedis } from '../test/harness/redis-servers';
import { buildLibrary } from './support/build';
import type { BenchContext, Section } from './support/context';
import { info } from './support/redis-info';
import { block, fillBenchmarksMd } from './support/docs';
import { machineMarkdown, summaryMarkdown } from './support/summary';
import { hammeredKey } from './scenarios/hammered-key';
import { handoff } from './scenarios/handoff';
import { http } from './scenarios/http';
import { manyKeys } from './scenarios/many-keys';
import { observability } from './scenarios/observability';
import { outage } from './scenarios/outage';
import { saturated } from './scenarios/saturated';
import { tokenBucket } from './scenarios/token-bucket';
import { uncontended } from './scenarios/uncontended';

const SCENARIOS: Record<string, (ctx: BenchContext) => Promise<Section>> = {
  uncontended,
  handoff,
  saturated,
  'token-bucket': tokenBucket,
  http,
  'many-keys': manyKeys,
  observability,
  'hammered-key': hammeredKey,
  outage,
};

const resultsDir = path.resolve(__dirname, 'results');

function version(pkg: string): string {
  try {
    return JSON.parse(fs.readFileSync(require.resolve(`${pkg}/package.json`), 'utf8')).version;
  } catch {
    const dir = path.resolve(__dirname, '..', 'node_modules', pkg, 'package.json');
    return JSON.parse(fs.readFileSync(dir, 'utf8')).version;
  }
}

function cpuModel(): string {
  const line = fs
    .readFileSync('/proc/cpuinfo', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('model name'));
  return line ? line.split(':')[1].trim() : (os.cpus()[0]?.model ?? 'unknown');
}

async function main() {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !SCENARIOS[w]);
  if (unknown.length)
    throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${Object.keys(SCENARIOS).join(', ')}`);
  const selected = wanted.length ? wanted : Object.keys(SCENARIOS);
  const started = Date.now();
  const log = (m: string) => console.log(`[bench +${((Date.now() - started) / 1000).toFixed(0)}s] ${m}`);

  log('compiling lib/ into bench/.build');
  buildLibrary();
  const server = await startRedis();
  const admin = new Redis(server.url);
  const ctx: BenchContext = { url: server.url, admin, resultsDir, quick: process.env.BENCH_QUICK === '1', log };
  fs.mkdirSync(resultsDir, { recursive: true });
  const sections: Section[] = [];
  try {
    const redisInfo = { ...(await info(admin, 'server')), ...(await info(admin, 'memory')) };
    const machine = {
      date: new Date().toISOString(),
      commit: execFileSync('git', ['rev-parse', '--short', 'HEAD']).toString().trim(),
      // The bench measures the working tree: say when lib/ or lua/ differ from the commit.
      uncommittedLibChanges: execFileSync('git', ['status', '--porcelain', 'lib', 'lua'])
        .toString()
        .trim()
        .split('\n')
        .filter(Boolean),
      nproc: Number(execFileSync('nproc').toString().trim()),
      cpu: cpuModel(),
      loadAverageAtStart: os.loadavg().map((l) => Number(l.toFixed(2))),
      node: process.version,
      redis: `${redisInfo.redis_version} (${redisInfo.mem_allocator})`,
      packages: Object.fromEntries(
        [
          'ioredis',
          'redis-semaphore',
          'bottleneck',
          'rate-limiter-flexible',
          '@nestjs/throttler',
          '@nest-lab/throttler-storage-redis',
          '@nestjs/core',
          'autocannon',
        ].map((p) => [p, version(p)]),
      ),
      quick: ctx.quick,
    };
    log(`machine: ${JSON.stringify(machine)}`);
    for (const id of selected) {
      await admin.flushall();
      const t0 = Date.now();
      const section = await SCENARIOS[id](ctx);
      log(`${id} done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      console.log(`\n## ${section.title}\n\n${section.markdown}\n`);
      sections.push(section);
    }
    const suffix = wanted.length ? `-${selected.join('-')}` : '';
    const totalSeconds = Math.round((Date.now() - started) / 1000);
    // Each part between markers, so that BENCHMARKS.md can take it as it is (bench/support/docs.ts).
    const md = [
      `# Bench results${ctx.quick ? ' (QUICK run: not for quoting)' : ''}`,
      '',
      '## Machine and run',
      '',
      block('machine', machineMarkdown(machine, selected, totalSeconds)),
      '',
      '## Summary',
      '',
      block('summary', summaryMarkdown(machine, sections)),
      '',
      ...sections.map((s) => `## ${s.title}\n\n${block(s.id, s.markdown)}\n`),
    ].join('\n');
    fs.writeFileSync(path.join(resultsDir, `results${suffix}.md`), md);
    fs.writeFileSync(
      path.join(resultsDir, `results${suffix}.json`),
      JSON.stringify(
        {
          machine,
          totalSeconds,
          sections: sections.map(({ id, title, summary, data }) => ({ id, title, summary, data })),
        },
        null,
        1,
      ),
    );
    log(`wrote bench/results/results${suffix}.md and .json in ${totalSeconds} s total`);
    if (!wanted.length) log(`filled ${fillBenchmarksMd()} from bench/results/results.md`);
  } finally {
    admin.disconnect();
    await stopRedis(server);
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
