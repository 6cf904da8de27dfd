/** Scenario 7: the client CPU an admission costs with events and metrics, against the library before events. */
import { BEFORE_EVENTS, buildBefore } from '../support/build';
import { runBenchWorker, type BenchContext, type Section } from '../support/context';
import { fmtSpread, num, spread, table } from '../support/stats';

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
    table(['variant', 'tryTake() µs', 'vs before', 'acquire()+release() µs', 'vs before'], rows),
  ].join('\n');
  const vsBefore = (name: string) => {
    const r = results.find((x) => x.name.startsWith(name))!;
    const ratio = (values: number[], before: number[]) => num(spread(values.map((v, i) => v / before[i])).median, 2);
    return `${ratio(r.admit, base.admit)}× / ${ratio(r.acquireRelease, base.acquireRelease)}×`;
  };
  const summary = {
    scenario: '7. events and metrics',
    target: 'nobody listening costs nothing measurable',
    result:
      `client CPU vs before events, tryTake() / acquire()+release(): nobody subscribed ${vsBefore('events, nobody')}; ` +
      `a no-op subscriber ${vsBefore('events, a no-op')}; metrics on ${vsBefore('metrics')}`,
  };
  return {
    id: 'observability',
    title: '7. Events and metrics: client CPU per call',
    markdown,
    summary,
    data: results,
  };
}
