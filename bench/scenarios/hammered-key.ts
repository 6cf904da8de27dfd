/** Scenario: one key hammered after it ran dry: what each refusal costs Redis and the client. */
import { runBenchWorker, type BenchContext, type Section } from '../support/context';
import { fmtSpread, num, spread, table } from '../support/stats';
import { verdict } from '../support/summary';
import type { HammeredResult, HammeredRound } from '../workers/hammered-key.worker';

export async function hammeredKey(ctx: BenchContext): Promise<Section> {
  const args = ctx.quick ? { url: ctx.url, iterations: 300, rounds: 2 } : { url: ctx.url, iterations: 3000, rounds: 5 };
  ctx.log(`hammered key: ${args.rounds} rounds × ${args.iterations} refused calls per contender`);
  const results = await runBenchWorker<HammeredResult[]>('hammered-key.worker.ts', args, 600_000);
  const column = (r: HammeredResult, pick: (round: HammeredRound) => number, decimals: number) =>
    'unavailable' in r ? r.unavailable : fmtSpread(spread(r.rounds.map(pick)), decimals);
  const rows = results.map((r) => [
    r.name,
    column(r, (x) => x.redisCommands, 3),
    column(r, (x) => x.redisCpuUs, 1),
    column(r, (x) => x.clientCpuUs, 1),
    column(r, (x) => x.p50, 4),
    'unavailable' in r ? '' : String(r.rounds.reduce((sum, x) => sum + x.admitted, 0)),
  ]);
  const markdown = [
    `A bucket of capacity 10 emptied, then called ${args.iterations} times in a row per round (one client, one call ` +
      `at a time), ${args.rounds} rounds, contenders interleaved, after 100 warm-up refusals each; no refill or window ` +
      'reset during the run (an hour away), so every call should be refused. Cells: median over rounds (min–max). ' +
      'Redis commands: INFO stats total_commands_processed per call (a script and each command it calls count one each); ' +
      "Redis CPU: the main thread's (INFO cpu). rate-limiter-flexible with `inMemoryBlockOnConsumed` (points + 1) " +
      'blocks the key in process memory until its window ends.',
    '',
    table(
      [
        'contender',
        'Redis commands / refusal',
        'Redis CPU µs / refusal',
        'client CPU µs / refusal',
        'p50 ms',
        'admitted (should be 0)',
      ],
      rows,
    ),
    ...(results.some((r) => 'unavailable' in r)
      ? [
          '',
          '"n/a (option not available)": the library measured rejects the option as unknown (the refusal cache is not in it).',
        ]
      : []),
  ].join('\n');
  const commands = (name: string) => {
    const r = results.find((x) => x.name === name)!;
    return 'unavailable' in r ? NaN : spread(r.rounds.map((x) => x.redisCommands)).median;
  };
  const ours = commands('nestjs-limiters tryTake(), default options');
  const summary = {
    scenario: '8. one key hammered',
    target: '≤ 0.05 Redis commands per refusal',
    result:
      `${verdict(ours <= 0.05)}: ${num(ours, 3)} per refusal with the default options (the refusal cache), ` +
      `${num(commands('nestjs-limiters tryTake(), refusalCache: false'), 2)} without it; rate-limiter-flexible ` +
      `${num(commands('rate-limiter-flexible consume()'), 2)}`,
  };
  return { id: 'hammered-key', title: '8. One key hammered: cost per refusal', markdown, summary, data: results };
}
