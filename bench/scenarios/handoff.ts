/** Scenario 2: release in one process to the next waiter starting in another. */
import type { SemaphoreContenderName } from '../support/contenders';
import { runBenchWorker, type BenchContext, type Section } from '../support/context';
import { openGate } from '../support/gate';
import { fmtSpread, num, percentile, spread, table, type Spread } from '../support/stats';

type Job = [waitFrom: number, started: number, ended: number];

const CONTENDERS: Array<{ name: SemaphoreContenderName; how: string }> = [
  {
    name: 'floor',
    how: 'floor (bench/support/floor-semaphore.ts): a minimal script hands over, PUBLISH wakes; no leases',
  },
  { name: 'nestjs-limiters', how: 'release script grants the oldest waiter, PUBLISH wakes it' },
  { name: 'redis-semaphore', how: 'waiters poll every retryInterval (default 10 ms)' },
  { name: 'bottleneck', how: 'maxConcurrent 1; "free" script publishes capacity, waiter registers again' },
];

export async function handoff(ctx: BenchContext): Promise<Section> {
  const jobsPerProcess = ctx.quick ? 60 : 220;
  const warmup = 20;
  const blocks = 4;
  const rows: Array<Array<string>> = [];
  let floorP50 = NaN;
  const data: Record<string, { latencies: number[]; sameProcess: number; p50: Spread; p99: Spread }> = {};
  for (const contender of CONTENDERS) {
    ctx.log(`handoff: ${contender.name}, 2 processes × ${jobsPerProcess} jobs`);
    const gate = `bench:gate:handoff:${contender.name}`;
    const key = `bench:handoff:${contender.name}`;
    const args = {
      url: ctx.url,
      contender: contender.name,
      key,
      capacity: 1,
      callers: 1,
      holdMs: 5,
      holdJitterMs: 10,
      pauseMs: 2,
      jobsPerCaller: jobsPerProcess,
      gate,
    };
    const workers = [0, 1].map(() => runBenchWorker<{ jobs: Job[] }>('semaphore-load.worker.ts', args, 300_000));
    await openGate(ctx.admin, gate, 2);
    const results = await Promise.all(workers);
    // Holds of both processes in order; a hand-off is a hold that follows one of the
    // other process, whose caller was already waiting when that one ended.
    const holds = results.flatMap((r, proc) =>
      r.jobs.map(([waitFrom, started, ended]) => ({ proc, waitFrom, started, ended })),
    );
    holds.sort((a, b) => a.started - b.started);
    const latencies: number[] = [];
    let sameProcess = 0;
    for (let i = 1; i < holds.length; i++) {
      const prev = holds[i - 1];
      const next = holds[i];
      if (next.proc === prev.proc) sameProcess++;
      else if (next.waitFrom < prev.ended) latencies.push(next.started - prev.ended);
    }
    const measured = latencies.slice(warmup);
    const size = Math.floor(measured.length / blocks);
    const perBlock = Array.from({ length: blocks }, (_, b) => measured.slice(b * size, (b + 1) * size));
    const p50 = spread(perBlock.map((l) => percentile(l, 50)));
    const p99 = spread(perBlock.map((l) => percentile(l, 99)));
    if (contender.name === 'floor') floorP50 = p50.median;
    rows.push([
      contender.name,
      contender.how,
      String(measured.length),
      fmtSpread(p50, 2),
      `${num(p50.median / floorP50, 2)}×`,
      fmtSpread(p99, 2),
      num(Math.max(...measured), 1),
      String(sameProcess),
    ]);
    data[contender.name] = { latencies, sameProcess, p50, p99 };
  }
  const markdown = [
    `Capacity 1, two warm processes taking turns: each holds for 5–15 ms (random, so that pollers cannot lock onto ` +
      `the rhythm), then pauses 2 ms before waiting again, so ` +
      `the other process is always queued when a slot is released. Latency = next holder's start − previous ` +
      `holder's end (both timestamps on the machine-wide monotonic clock), over ${jobsPerProcess * 2} holds after ` +
      `${warmup} warm-up hand-offs, split into ${blocks} consecutive blocks: median of the block percentiles (min–max over blocks).`,
    '',
    'The floor is the least a Redis semaphore with hand-off can do here (one minimal script call, one PUBLISH, no ' +
      'safety at all): it includes the time the machine takes to wake an idle Redis and an idle process.',
    '',
    table(
      [
        'library',
        'how a waiter learns of the release',
        'hand-offs',
        'p50 ms',
        'p50 vs floor',
        'p99 ms',
        'max ms',
        'same process re-took the slot',
      ],
      rows,
    ),
  ].join('\n');
  const p50 = (name: SemaphoreContenderName) => `${num(data[name].p50.median, 2)} ms`;
  const summary = {
    scenario: '2. hand-off between processes',
    target: 'about one round trip',
    result:
      `${p50('nestjs-limiters')} p50, ${num(data['nestjs-limiters'].p50.median / floorP50, 2)}× the floor semaphore ` +
      `(${p50('floor')}); redis-semaphore ${p50('redis-semaphore')}, bottleneck ${p50('bottleneck')}`,
  };
  return { id: 'handoff', title: '2. Hand-off latency between processes', markdown, summary, data };
}
