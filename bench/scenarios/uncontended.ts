/** Scenario 1: uncontended latency, one client, against the raw round-trip floor. */
import { runBenchWorker, type BenchContext, type Section } from '../support/context';
import { fmtSpread, pct, spread, table } from '../support/stats';

interface OpResult {
  group: 'floor' | 'semaphore' | 'rate';
  name: string;
  rounds: Array<{ p50: number; p99: number; mean: number; clientCpuUs: number; redisCpuUs: number }>;
}

export async function uncontended(ctx: BenchContext): Promise<Section> {
  const args = ctx.quick
    ? { url: ctx.url, iterations: 200, warmup: 50, rounds: 2 }
    : { url: ctx.url, iterations: 2000, warmup: 300, rounds: 5 };
  ctx.log(`uncontended: ${args.rounds} rounds × ${args.iterations} calls per contender`);
  const ops = await runBenchWorker<OpResult[]>('uncontended.worker.ts', args, 600_000);

  const floor1 = ops.find((o) => o.name.startsWith('EVALSHA ×1'))!;
  const floor2 = ops.find((o) => o.name.startsWith('EVALSHA ×2'))!;
  const row = (op: OpResult, floor: OpResult) => {
    const ratio50 = op.rounds.map((r, i) => r.p50 / floor.rounds[i].p50);
    const ratio99 = op.rounds.map((r, i) => r.p99 / floor.rounds[i].p99);
    return [
      op.name,
      fmtSpread(spread(op.rounds.map((r) => r.p50)), 3),
      fmtSpread(spread(op.rounds.map((r) => r.p99)), 3),
      fmtSpread(spread(ratio50), 2, '×'),
      fmtSpread(spread(ratio99), 2, '×'),
      fmtSpread(spread(op.rounds.map((r) => r.clientCpuUs)), 0),
      fmtSpread(spread(op.rounds.map((r) => r.redisCpuUs)), 0),
    ];
  };
  const header = (floorName: string) => [
    'operation',
    'p50 ms',
    'p99 ms',
    `p50 vs ${floorName}`,
    `p99 vs ${floorName}`,
    'client CPU µs/op',
    'Redis CPU µs/op',
  ];
  const semRows = [floor1, floor2, ...ops.filter((o) => o.group === 'semaphore')].map((o) => row(o, floor2));
  const rateRows = [floor1, ...ops.filter((o) => o.group === 'rate')].map((o) => row(o, floor1));

  const oursAcquire = ops.find((o) => o.name === 'nestjs-limiters acquire() + release()')!;
  const overFloor = spread(oursAcquire.rounds.map((r, i) => r.p50 / floor2.rounds[i].p50 - 1));
  const verdict =
    overFloor.median <= 0.1
      ? `**Target met**: acquire()+release() p50 is ${pct(overFloor.median, 1)} over two raw round trips (target ≤ 10%).`
      : `**Target missed**: acquire()+release() p50 is ${pct(overFloor.median, 1)} over two raw round trips (target ≤ 10%).`;

  const markdown = [
    `One process, one ioredis connection, one call at a time; ${args.iterations} calls per contender per round, ` +
      `${args.rounds} rounds (contenders interleaved, order rotated each round), after ${args.warmup} warm-up calls each. ` +
      'Cells: median over rounds of the per-round percentile (min–max over rounds). Ratios are taken within a round. ' +
      'CPU columns: CPU time of the client process (process.cpuUsage) and of redis-server (INFO cpu) per operation, ' +
      'which says where the time beyond the network goes.',
    '',
    '**Semaphore: acquire + release, capacity 10, uncontended** (ratios against two raw EVALSHA round trips)',
    '',
    table(header('2 RTT'), semRows),
    '',
    verdict,
    '',
    '**Rate limit: one admission, bucket never empty** (ratios against one raw EVALSHA round trip)',
    '',
    table(header('1 RTT'), rateRows),
    '',
    'Bottleneck resolves schedule() before its "free" script has run (the slot is freed in the background); ' +
      '@nest-lab/throttler-storage-redis sends the script text with EVAL on every call.',
  ].join('\n');
  return { id: 'uncontended', title: '1. Uncontended latency (one client)', markdown, data: ops };
}
