/** Scenario 4: token bucket accuracy under saturation from four processes. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BucketContenderName } from '../support/contenders';
import { runBenchWorker, type BenchContext, type Section } from '../support/context';
import { openGate } from '../support/gate';
import { num, pct, percentile, table } from '../support/stats';
import { verdict } from '../support/summary';
import { lineChart, type Series } from '../support/svg';

const RATE = 200;
const CAPACITY = 10;
const PERIOD_MS = 1000 / RATE;
const PROCESSES = 4;
const CALLERS = 25;

const CONTENDERS: Array<{ name: BucketContenderName; config: string; allowed: (windowMs: number) => number }> = [
  {
    name: 'nestjs-limiters',
    config: `TokenBucketLimiter capacity ${CAPACITY}, 1 token / ${PERIOD_MS} ms`,
    allowed: (w) => CAPACITY + Math.ceil(w / PERIOD_MS),
  },
  {
    name: 'bottleneck',
    config: `reservoir ${CAPACITY}, +1 / ${PERIOD_MS} ms (reservoirIncrease*), max ${CAPACITY}`,
    allowed: (w) => CAPACITY + Math.ceil(w / PERIOD_MS),
  },
  {
    name: 'rate-limiter-flexible',
    config: `RateLimiterRedis ${RATE} points / 1 s (fixed window); callers retry after msBeforeNext`,
    // A fixed window admits `points` per calendar window: any sliding window may hold two windows' worth.
    allowed: (w) => RATE * (Math.ceil(w / 1000) + 1),
  },
];

/** Most admissions in any window [t, t + w) over sorted times. */
function worstWindow(sorted: number[], w: number): number {
  let worst = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i] - sorted[j] >= w) j++;
    worst = Math.max(worst, i - j + 1);
  }
  return worst;
}

export async function tokenBucket(ctx: BenchContext): Promise<Section> {
  const durationMs = ctx.quick ? 3_000 : 10_000;
  const rows: string[][] = [];
  const series: Series[] = [];
  const data: Record<
    string,
    { count: number; rate: number; steady: number; worst1s: number; worst100ms: number; bins: number[] }
  > = {};
  for (const contender of CONTENDERS) {
    ctx.log(`token bucket: ${contender.name}, ${PROCESSES} processes × ${CALLERS} callers, ${durationMs} ms`);
    const gate = `bench:gate:bucket:${contender.name}`;
    const args = {
      url: ctx.url,
      contender: contender.name,
      key: `bench:bucket:${contender.name}`,
      capacity: CAPACITY,
      periodMs: PERIOD_MS,
      callers: CALLERS,
      durationMs,
      gate,
    };
    const workers = Array.from({ length: PROCESSES }, () =>
      runBenchWorker<{ admitted: number[]; planned: number[] }>('rate-load.worker.ts', args, durationMs + 180_000),
    );
    const start = await openGate(ctx.admin, gate, PROCESSES);
    const results = await Promise.all(workers);
    const end = start + durationMs;
    const admitted = results
      .flatMap((r) => r.admitted)
      .filter((t) => t >= start && t < end)
      .sort((a, b) => a - b);
    const rate = admitted.length / (durationMs / 1000);
    // The first second includes the initial burst (the bucket starts full): steady rate is measured after it.
    const steady = admitted.filter((t) => t >= start + 1000).length / ((durationMs - 1000) / 1000);
    const w1s = worstWindow(admitted, 1000);
    const w100 = worstWindow(admitted, 100);
    // Where the library says when it planned each admission: windows on that schedule, and
    // how late the timers carrying it out woke (the gap between the two sets of windows).
    const planned = results
      .flatMap((r) => r.planned)
      .filter((t) => t >= start && t < end)
      .sort((a, b) => a - b);
    const lateness = results.flatMap((r) => r.planned.map((p, i) => r.admitted[i] - p)).sort((a, b) => a - b);
    const onSchedule = planned.length
      ? `${worstWindow(planned, 1000)} / ${contender.allowed(1000)}; ${worstWindow(planned, 100)} / ${contender.allowed(100)}`
      : '—';
    const late = lateness.length ? `${num(percentile(lateness, 50), 2)} / ${num(percentile(lateness, 99), 1)}` : '—';
    rows.push([
      contender.name,
      contender.config,
      String(admitted.length),
      `${num(rate, 1)} (${pct(rate / RATE, 1)})`,
      `${num(steady, 1)} (${pct(steady / RATE, 1)})`,
      `${w1s} / ${contender.allowed(1000)}`,
      `${w100} / ${contender.allowed(100)}`,
      onSchedule,
      late,
    ]);
    const bins = new Array(Math.ceil(durationMs / 100)).fill(0);
    for (const t of admitted) bins[Math.floor((t - start) / 100)]++;
    series.push({ name: contender.name, points: bins.map((n, i) => [(i * 100) / 1000, n]), step: false });
    data[contender.name] = { count: admitted.length, rate, steady, worst1s: w1s, worst100ms: w100, bins };
  }
  series.push({
    name: `configured (${RATE * 0.1} per 100 ms)`,
    points: [
      [0, RATE / 10],
      [durationMs / 1000, RATE / 10],
    ],
    dashed: true,
  });
  fs.writeFileSync(
    path.join(ctx.resultsDir, 'token-bucket-admitted.svg'),
    lineChart({
      title: `Token bucket ${RATE}/s under saturation (${PROCESSES} processes × ${CALLERS} callers): admitted per 100 ms`,
      xLabel: 'seconds since start',
      yLabel: 'admitted per 100 ms',
      series,
      yMin: 0,
    }),
  );
  const markdown = [
    `${RATE} tokens/s (1 token every ${PERIOD_MS} ms, capacity ${CAPACITY} where the library has one), ` +
      `${PROCESSES} processes × ${CALLERS} callers each taking one token at a time in a loop for ${durationMs / 1000} s. ` +
      'Admission time = when take() returned in the caller (client clock, so timer lateness shows up as bunching). ' +
      '"Allowed" for a window of w ms = capacity + refills due in w (for the fixed window of rate-limiter-flexible: ' +
      'the points of every calendar window the sliding window touches). ' +
      'nestjs-limiters plans each admission on the Redis clock, at refill boundaries exactly capacity + one per period ' +
      'apart; take() is reserve() and a sleep, so the bench also records when each caller meant to go: when its ' +
      'reservation came back plus the wait it named. Windows over those planned times show how much of the excess comes ' +
      'before the timers (replies read late by a busy event loop), and the lateness column how much the timers add.',
    '',
    table(
      [
        'library',
        'configuration',
        'admitted',
        'admitted/s (vs 200)',
        'after the first second',
        'worst 1 s window / allowed',
        'worst 100 ms window / allowed',
        'planned times (reply + wait): worst 1 s; 100 ms',
        'timer lateness p50 / p99 ms',
      ],
      rows,
    ),
    '',
    '![admitted per 100 ms](token-bucket-admitted.svg)',
  ].join('\n');
  const ours = data['nestjs-limiters'];
  const allowed = CONTENDERS.find((c) => c.name === 'nestjs-limiters')!.allowed;
  const met =
    Math.abs(ours.steady / RATE - 1) <= 0.01 && ours.worst1s <= allowed(1000) && ours.worst100ms <= allowed(100);
  const summary = {
    scenario: '4. token bucket under saturation',
    target: 'rate within 1%, no window over the bound',
    result:
      `${verdict(met)}: ${pct(ours.steady / RATE, 1)} of ${RATE}/s after the first second (${pct(ours.rate / RATE, 1)} ` +
      `over the run with the initial burst); worst 1 s window ${ours.worst1s} / ${allowed(1000)}, ` +
      `100 ms ${ours.worst100ms} / ${allowed(100)}`,
  };
  return { id: 'token-bucket', title: '4. Token bucket accuracy under saturation', markdown, summary, data };
}
