/** Scenario 1: uncontended latency and cost per call, one client, against the raw round-trip floor and the peers. */
import { runBenchWorker, type BenchContext, type Section } from '../support/context';
import { fmtSpread, num, pct, spread, table } from '../support/stats';
import { verdict } from '../support/summary';
import { WINDOW_KINDS, WINDOW_MS, WINDOW_PEERS, windowOpName } from '../support/window-kinds';

interface Round {
  p50: number;
  p99: number;
  mean: number;
  clientCpuUs: number;
  /** redis-server main thread (INFO cpu used_cpu_*_main_thread), µs per call */
  redisCpuUs: number;
  /** INFO stats total_commands_processed per call, the bench's own INFO calls taken off */
  redisCommands: number;
}

interface OpResult {
  group: 'floor' | 'semaphore' | 'rate' | 'refusal';
  name: string;
  rounds: Round[];
}

/** Per contender and round, what one call costs: the three figures the cost table compares. */
const COSTS = ['redisCpuUs', 'clientCpuUs', 'redisCommands'] as const;

/**
 * Ours against the best peer for each kind of call, every figure a median over rounds;
 * the ratio is taken within each round (ours / the best peer of that round), then its median.
 */
interface CostRow {
  kind: string;
  cost: (typeof COSTS)[number];
  ours: number;
  bestPeer: string;
  peer: number;
  ratio: number;
}

/** A row of the cost table: our contender against the best of its peers. */
interface CostKind {
  /** What the Summary calls it. */
  short: string;
  label: string;
  ours: string;
  group: OpResult['group'];
  /** The peers to compare with; every peer of the group when absent. */
  peers?: readonly string[];
}

/** The rows of the cost table, one per window kind the run measured among them. */
function costKinds(ops: OpResult[]): CostKind[] {
  const windows = WINDOW_KINDS.filter((kind) => ops.some((o) => o.name === windowOpName(kind))).map(
    (kind): CostKind => ({
      short: kind.short,
      label: kind.label,
      ours: windowOpName(kind),
      group: 'rate',
      peers: WINDOW_PEERS,
    }),
  );
  return [
    {
      short: 'token bucket',
      label: 'admission from a bucket that never runs dry',
      ours: 'nestjs-limiters tryTake()',
      group: 'rate',
    },
    ...windows,
    {
      short: 'refusal',
      label: 'refusal (refusal cache on, the default: a key refused before)',
      ours: 'nestjs-limiters tryTake() refused',
      group: 'refusal',
    },
    {
      short: 'refusal answered by Redis',
      label: 'refusal answered by Redis (refusalCache: false)',
      ours: 'nestjs-limiters tryTake() refused, refusalCache: false',
      group: 'refusal',
    },
    {
      short: 'acquire + release',
      label: 'acquire + release',
      ours: 'nestjs-limiters acquire() + release()',
      group: 'semaphore',
    },
  ];
}

function costTable(ops: OpResult[], kinds: CostKind[]): { markdown: string; rows: CostRow[] } {
  const isPeer = (o: OpResult) =>
    !o.name.startsWith('nestjs-limiters') && !o.name.startsWith('our ') && !o.name.startsWith('floor');
  const rows: CostRow[] = [];
  const lines = kinds.map(({ label, ours, group, peers: named }) => {
    const mine = ops.find((o) => o.name === ours)!;
    const peers = ops.filter((o) => o.group === group && isPeer(o) && (!named || named.includes(o.name)));
    const cells = COSTS.map((cost) => {
      const median = (o: OpResult) => spread(o.rounds.map((r) => r[cost])).median;
      const best = peers.reduce((a, b) => (median(b) < median(a) ? b : a));
      const ratio = spread(mine.rounds.map((r, i) => r[cost] / best.rounds[i][cost]));
      rows.push({
        kind: label,
        cost,
        ours: median(mine),
        bestPeer: best.name,
        peer: median(best),
        ratio: ratio.median,
      });
      const decimals = cost === 'redisCommands' ? 2 : 1;
      return `${num(median(mine), decimals)} / ${best.name.split(' ')[0]} ${num(median(best), decimals)} / **${num(ratio.median, 2)}×**`;
    });
    return [label, ...cells];
  });
  const header = [
    'operation',
    'Redis CPU µs: ours / best peer / ratio',
    'client CPU µs: ours / best peer / ratio',
    'Redis commands: ours / best peer / ratio',
  ];
  return { markdown: table(header, lines), rows };
}

export async function uncontended(ctx: BenchContext): Promise<Section> {
  const args = ctx.quick
    ? { url: ctx.url, iterations: 200, warmup: 50, rounds: 2 }
    : { url: ctx.url, iterations: 3000, warmup: 300, rounds: 5 };
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
      fmtSpread(spread(op.rounds.map((r) => r.redisCpuUs)), 1),
      fmtSpread(spread(op.rounds.map((r) => r.redisCommands)), 2),
    ];
  };
  const header = (floorName: string) => [
    'operation',
    'p50 ms',
    'p99 ms',
    `p50 vs ${floorName}`,
    `p99 vs ${floorName}`,
    'client CPU µs/op',
    'Redis main-thread CPU µs/op',
    'Redis commands/op',
  ];
  const semRows = [floor1, floor2, ...ops.filter((o) => o.group === 'semaphore')].map((o) => row(o, floor2));
  const rateRows = [floor1, ...ops.filter((o) => o.group === 'rate')].map((o) => row(o, floor1));
  const refusalRows = [floor1, ...ops.filter((o) => o.group === 'refusal')].map((o) => row(o, floor1));
  const kinds = costKinds(ops);
  const costs = costTable(ops, kinds);
  const skipped = WINDOW_KINDS.filter((kind) => !ops.some((o) => o.name === windowOpName(kind)));
  if (skipped.length) ctx.log(`uncontended: not in lib/, skipped: ${skipped.map((k) => k.className).join(', ')}`);

  const oursAcquire = ops.find((o) => o.name === 'nestjs-limiters acquire() + release()')!;
  const overFloor = spread(oursAcquire.rounds.map((r, i) => r.p50 / floor2.rounds[i].p50 - 1));
  const targetLine =
    overFloor.median <= 0.1
      ? `**Target met**: acquire()+release() p50 is ${pct(overFloor.median, 1)} over two raw round trips (target ≤ 10%).`
      : `**Target missed**: acquire()+release() p50 is ${pct(overFloor.median, 1)} over two raw round trips (target ≤ 10%).`;

  const markdown = [
    `One process, one ioredis connection, one call at a time; ${args.iterations} calls per contender per round, ` +
      `${args.rounds} rounds (contenders interleaved, order rotated each round), after ${args.warmup} warm-up calls each. ` +
      'Cells: median over rounds of the per-round percentile (min–max over rounds). Ratios are taken within a round. ' +
      'CPU columns: CPU time of the client process (process.cpuUsage) and of the redis-server main thread ' +
      '(INFO cpu used_cpu_user_main_thread + used_cpu_sys_main_thread) per operation, which says where the time beyond ' +
      'the network goes; Redis commands: INFO stats total_commands_processed per operation (a script counts once, and so does each command it calls; ' +
      "the bench's own INFO calls taken off).",
    '',
    '**Cost per call: ours against the best peer** (each figure the median over rounds; the ratio is ours / that peer ' +
      'within each round, then the median; the best peer is chosen per column among those of the same kind of call: ' +
      'a window admission among the peers that count in fixed windows, rate-limiter-flexible (a 1 s window here) and ' +
      `the throttler storage (60 s); our windows are ${WINDOW_MS / 1000} s)`,
    '',
    costs.markdown,
    '',
    '**Semaphore: acquire + release, capacity 10, uncontended** (ratios against two raw EVALSHA round trips)',
    '',
    table(header('2 RTT'), semRows),
    '',
    targetLine,
    '',
    '**Rate limit: one admission, from a bucket never empty or a window never full** (ratios against one raw EVALSHA round trip)',
    '',
    table(header('1 RTT'), rateRows),
    '',
    '**Rate limit: one refusal, bucket empty** (ratios against one raw EVALSHA round trip)',
    '',
    table(header('1 RTT'), refusalRows),
    '',
    'Bottleneck resolves schedule() before its "free" script has run (the slot is freed in the background); ' +
      '@nest-lab/throttler-storage-redis sends the script text with EVAL on every call.',
  ].join('\n');
  const redisSemaphore = ops.find((o) => o.name === 'redis-semaphore acquire() + release()')!;
  const overTwoTrips = (op: OpResult) => spread(op.rounds.map((r, i) => r.p50 / floor2.rounds[i].p50)).median;
  const costRatio = (kind: CostKind, cost: CostRow['cost']) =>
    costs.rows.find((r) => r.kind === kind.label && r.cost === cost)!.ratio;
  const cpuRatios = (kind: CostKind) => [costRatio(kind, 'redisCpuUs'), costRatio(kind, 'clientCpuUs')];
  // A cached refusal costs Redis nothing: its ratio says nothing about the scripts.
  const judged = kinds.filter((kind) => kind.short !== 'refusal');
  const costsMet = judged.every((kind) => cpuRatios(kind).every((r) => r <= 1));
  const times = (ratio: number) => `${num(ratio, 2)}×`;
  const costText = (kind: CostKind) => `${kind.short} ${cpuRatios(kind).map(times).join(' / ')}`;
  const summary = {
    scenario: '1. uncontended, one client',
    target: 'acquire+release p50 within 10% of two round trips; Redis and client CPU per call ≤ 1.00× the best peer',
    result:
      `latency ${verdict(overFloor.median <= 0.1)}: acquire()+release() ${num(overTwoTrips(oursAcquire), 2)}× two ` +
      `round trips (redis-semaphore ${num(overTwoTrips(redisSemaphore), 2)}×); cost ${verdict(costsMet)}, Redis / ` +
      `client CPU vs the best peer: ${judged.map(costText).join(', ')}`,
  };
  return {
    id: 'uncontended',
    title: '1. Uncontended latency and cost per call (one client)',
    markdown,
    summary,
    data: { ops, costs: costs.rows },
  };
}
