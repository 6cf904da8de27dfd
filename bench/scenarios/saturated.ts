/** Scenario 3: a saturated semaphore shared by four processes. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { SemaphoreContenderName } from '../support/contenders';
import { runBenchWorker, type BenchContext, type Section } from '../support/context';
import { openGate } from '../support/gate';
import { commandCounts, info } from '../support/redis-info';
import { fmtSpread, num, pct, spread, table } from '../support/stats';
import { verdict } from '../support/summary';
import { lineChart, type Series } from '../support/svg';

type Job = [waitFrom: number, started: number, ended: number];

const CONTENDERS: SemaphoreContenderName[] = ['floor', 'nestjs-limiters', 'redis-semaphore', 'bottleneck'];
const CAPACITY = 10;
const JOB_MS = 5;
const PROCESSES = 4;
const WAITERS = 200;

/** Time-weighted slots in use per bin, from job intervals. */
function concurrencyBins(jobs: Job[], from: number, to: number, binMs: number): number[] {
  const bins = new Array(Math.ceil((to - from) / binMs)).fill(0);
  for (const [, started, ended] of jobs) {
    const a = Math.max(started, from);
    const b = Math.min(ended, to);
    for (let t = a; t < b;) {
      const bin = Math.floor((t - from) / binMs);
      const binEnd = from + (bin + 1) * binMs;
      const until = Math.min(b, binEnd);
      bins[bin] += (until - t) / binMs;
      t = until;
    }
  }
  return bins;
}

function peakConcurrency(jobs: Job[]): number {
  const events = jobs
    .flatMap(([, s, e]) => [[s, 1] as const, [e, -1] as const])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let peak = 0;
  for (const [, d] of events) peak = Math.max(peak, (now += d));
  return peak;
}

async function redisCpuMs(ctx: BenchContext): Promise<number> {
  const cpu = await info(ctx.admin, 'cpu');
  return (Number(cpu.used_cpu_user) + Number(cpu.used_cpu_sys)) * 1000;
}

export async function saturated(ctx: BenchContext): Promise<Section> {
  const durationMs = ctx.quick ? 3_000 : Number(process.env.BENCH_SATURATED_MS ?? 20_000);
  const ideal = CAPACITY / (JOB_MS / 1000);
  const rows: string[][] = [];
  const cmdRows: string[][] = [];
  const series: Series[] = [];
  const data: Record<string, { rate: number } & Record<string, unknown>> = {};
  let floorRate = NaN;
  for (const contender of CONTENDERS) {
    ctx.log(`saturated: ${contender}, ${PROCESSES} processes × ${WAITERS / PROCESSES} waiters, ${durationMs} ms`);
    const gate = `bench:gate:saturated:${contender}`;
    const args = {
      url: ctx.url,
      contender,
      key: `bench:saturated:${contender}`,
      capacity: CAPACITY,
      callers: WAITERS / PROCESSES,
      holdMs: JOB_MS,
      pauseMs: 0,
      durationMs,
      gate,
    };
    const workers = Array.from({ length: PROCESSES }, () =>
      runBenchWorker<{ jobs: Job[]; sent: number; start: number; cpuMs: number }>(
        'semaphore-load.worker.ts',
        args,
        durationMs + 180_000,
      ),
    );
    const start = await openGate(ctx.admin, gate, PROCESSES);
    await ctx.admin.config('RESETSTAT');
    const redisCpu0 = await redisCpuMs(ctx);
    const results = await Promise.all(workers);
    const redisCpu = (await redisCpuMs(ctx)) - redisCpu0;
    const stats = await commandCounts(ctx.admin);
    const end = start + durationMs;
    const jobs = results.flatMap((r) => r.jobs);
    const inWindow = jobs.filter(([, s, e]) => s >= start && e <= end);
    const perSecond = Array.from(
      { length: Math.floor(durationMs / 1000) },
      (_, k) => inWindow.filter(([, , e]) => e >= start + k * 1000 && e < start + (k + 1) * 1000).length,
    );
    const rate = inWindow.length / (durationMs / 1000);
    if (contender === 'floor') floorRate = rate;
    const busy = concurrencyBins(jobs, start, end, durationMs).reduce((a, b) => a + b, 0);
    const meanHold = spread(inWindow.map(([, s, e]) => e - s)).median;
    const waits = inWindow.map(([w, s]) => s - w).sort((a, b) => a - b);
    // All jobs (also those finishing after the window) pay for the commands counted.
    const jobsCounted = jobs.filter(([, s]) => s >= start).length;
    const scriptCalls = (stats.perCommand.evalsha ?? 0) + (stats.perCommand.eval ?? 0);
    const sent = results.reduce((a, r) => a + r.sent, 0);
    const clientCpu = results.reduce((a, r) => a + r.cpuMs, 0);
    rows.push([
      contender,
      num(rate, 0),
      pct(rate / ideal, 1),
      pct(rate / floorRate, 1),
      fmtSpread(spread(perSecond), 0),
      pct(busy / CAPACITY, 1),
      num(meanHold, 2),
      num(waits[Math.floor(waits.length / 2)] ?? NaN, 0),
      num(waits[Math.floor(waits.length * 0.99)] ?? NaN, 0),
      String(peakConcurrency(jobs)),
    ]);
    const top = Object.entries(stats.perCommand)
      .filter(([name]) => !name.startsWith('config') && !name.startsWith('info'))
      .sort((a, b) => b[1] - a[1])
      .slice(0, 6)
      .map(([name, calls]) => `${name} ${num(calls / jobsCounted, 2)}`)
      .join(', ');
    cmdRows.push([
      contender,
      num(sent / jobsCounted, 2),
      num(scriptCalls / jobsCounted, 2),
      num(stats.clientCommands / jobsCounted, 2),
      num((clientCpu * 1000) / jobsCounted, 0),
      num((redisCpu * 1000) / jobsCounted, 0),
      top,
    ]);
    const bins = concurrencyBins(jobs, start, end, 100);
    series.push({ name: contender, points: bins.map((c, i) => [(i * 100) / 1000, c]) });
    data[contender] = {
      rate,
      perSecond,
      busy,
      meanHold,
      jobs: jobs.length,
      sent,
      stats,
      bins,
      clientCpu,
      redisCpu,
      loadavg: os.loadavg(),
    };
  }
  series.push({
    name: 'capacity',
    points: [
      [0, CAPACITY],
      [durationMs / 1000, CAPACITY],
    ],
    dashed: true,
  });
  const svg = lineChart({
    title: `Saturated semaphore: slots in use (capacity ${CAPACITY}, ${WAITERS} waiters in ${PROCESSES} processes, ${JOB_MS} ms jobs)`,
    xLabel: 'seconds since start',
    yLabel: 'slots in use (time-weighted, 100 ms bins)',
    series,
    yMin: 0,
    yMax: CAPACITY * 1.15,
  });
  fs.writeFileSync(path.join(ctx.resultsDir, 'saturated-concurrency.svg'), svg);
  const markdown = [
    `Capacity ${CAPACITY}, jobs that sleep ${JOB_MS} ms, ${WAITERS} waiters spread over ${PROCESSES} processes, ` +
      `${durationMs / 1000} s. Ideal = capacity / job time = ${ideal} jobs/s. Jobs counted when they start and end inside the window. ` +
      '"Slots busy" is the time-weighted share of the capacity occupied by running jobs: a 5 ms setTimeout lasts ' +
      'longer than 5 ms on a loaded machine, so ideal/actual job length bounds what any limiter can reach. ' +
      'The floor row is a minimal script semaphore with no safety (bench/support/floor-semaphore.ts): what this machine ' +
      'allows a Redis semaphore with hand-off to reach.',
    '',
    table(
      [
        'library',
        'jobs/s',
        'share of ideal',
        'share of the floor',
        'jobs per 1 s window, median (min–max)',
        'slots busy',
        'median job ms',
        'wait p50 ms',
        'wait p99 ms',
        'peak holders',
      ],
      rows,
    ),
    '',
    '**Redis commands per job** (sent: counted on every ioredis connection of the worker processes; scripts: EVAL/EVALSHA calls; ' +
      'server total: INFO stats total_commands_processed, which also counts the calls scripts make; then the six most-called commands per job from INFO commandstats)',
    '',
    table(
      [
        'library',
        'sent by clients',
        'script calls',
        'server total (incl. inside scripts)',
        'client CPU µs/job (4 processes)',
        'Redis CPU µs/job',
        'top commandstats per job',
      ],
      cmdRows,
    ),
    '',
    '![slots in use over time](saturated-concurrency.svg)',
  ].join('\n');
  const ofIdeal = (name: SemaphoreContenderName) => pct(data[name].rate / ideal, 1);
  const ours = data['nestjs-limiters'].rate;
  const summary = {
    scenario: '3. saturated semaphore',
    target: '≥ 90% of ideal',
    result:
      `${verdict(ours / ideal >= 0.9)}: ${ofIdeal('nestjs-limiters')} of ideal = ${pct(ours / floorRate, 1)} of the ` +
      `floor semaphore (${ofIdeal('floor')}); redis-semaphore ${ofIdeal('redis-semaphore')}, bottleneck ${ofIdeal('bottleneck')}`,
  };
  return { id: 'saturated', title: '3. Saturated semaphore', markdown, summary, data };
}
