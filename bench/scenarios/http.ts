/** Scenario 5: HTTP, a Nest route with @TokenBucket vs the same route under @nestjs/throttler (Redis storage). */
import * as net from 'node:net';
import { startWorker } from '../../test/harness/processes';
import { BEFORE_EVENTS, buildBefore } from '../support/build';
import { sleep } from '../support/clock';
import { processCpuMicros } from '../support/process-cpu';
import type { BenchContext, Section } from '../support/context';
import { fmtSpread, num, spread, table } from '../support/stats';
import type { HttpVariant } from '../workers/http-app.worker';

// autocannon ships no types; its result is read field by field below.
// eslint-disable-next-line @typescript-eslint/no-require-imports, @typescript-eslint/no-explicit-any
const autocannon = require('autocannon') as (opts: object) => Promise<any>;

const VARIANTS: Array<{ variant: HttpVariant; label: string }> = [
  { variant: 'none', label: 'no limiter (baseline)' },
  { variant: 'nestjs-limiters-unlimited-route', label: 'LimitersModule imported, this route not limited' },
  { variant: 'throttler', label: '@nestjs/throttler + @nest-lab/throttler-storage-redis' },
  { variant: 'nestjs-limiters', label: 'nestjs-limiters @TokenBucket (RateLimit headers on, the default)' },
  { variant: 'nestjs-limiters-no-headers', label: 'nestjs-limiters @TokenBucket, http.headers: false' },
  {
    variant: 'nestjs-limiters-before-events',
    label: `nestjs-limiters @TokenBucket before events (${BEFORE_EVENTS}, own build), headers on`,
  },
];

/** Variants whose route has no limit: measured only in the admit-everything mode. */
const UNLIMITED: HttpVariant[] = ['none', 'nestjs-limiters-unlimited-route'];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForHttp(port: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/hit`);
      await res.arrayBuffer();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(100);
    }
  }
}

export async function http(ctx: BenchContext): Promise<Section> {
  const durationS = ctx.quick ? 2 : 4;
  const rounds = ctx.quick ? 1 : 5;
  // The library as it was before it published events, to show what they cost a request.
  const beforeDir = buildBefore();
  const connections = 20;
  const sections: string[] = [];
  const data: Record<string, Array<{ variant: HttpVariant; runs: Array<{ cpuPerRequestUs: number }> }>> = {};
  for (const mode of [
    { limit: 0, title: 'Every request admitted (the cost of the limit itself)' },
    { limit: 100, title: 'Limit 100 per minute per client: after the first 100, every request is refused (429)' },
  ]) {
    const apps = await Promise.all(
      VARIANTS.filter((v) => mode.limit === 0 || !UNLIMITED.includes(v.variant)).map(async (v) => {
        const port = await freePort();
        const worker = startWorker(
          'bench/workers/http-app.worker.ts',
          {
            url: ctx.url,
            variant: v.variant,
            port,
            limit: mode.limit,
            libDir: v.variant === 'nestjs-limiters-before-events' ? beforeDir : undefined,
          },
          { timeoutMs: 600_000 },
        );
        // eslint-disable-next-line @typescript-eslint/no-explicit-any -- autocannon's untyped results
        return { ...v, port, worker, runs: [] as any[] };
      }),
    );
    try {
      await Promise.all(apps.map((a) => waitForHttp(a.port)));
      for (const app of apps) await autocannon({ url: `http://127.0.0.1:${app.port}/hit`, connections, duration: 1 }); // warm-up
      for (let round = 0; round < rounds; round++) {
        for (let k = 0; k < apps.length; k++) {
          const app = apps[(k + round) % apps.length];
          ctx.log(`http (limit ${mode.limit || 'none'}): ${app.variant}, round ${round + 1}/${rounds}, ${durationS} s`);
          const cpuBefore = processCpuMicros(app.worker.child.pid!);
          const run = await autocannon({ url: `http://127.0.0.1:${app.port}/hit`, connections, duration: durationS });
          app.runs.push({
            ...run,
            cpuPerRequest: (processCpuMicros(app.worker.child.pid!) - cpuBefore) / run.requests.total,
          });
        }
      }
    } finally {
      for (const app of apps) app.worker.child.kill('SIGTERM');
      await Promise.all(apps.map((a) => a.worker.result.catch(() => undefined)));
    }
    const rows = apps.map((app) => {
      const rps = spread(app.runs.map((r) => r.requests.average));
      const statuses = app.runs.reduce(
        (acc, r) => ({
          ok: acc.ok + r['2xx'],
          other: acc.other + r.non2xx,
          errors: acc.errors + r.errors + r.timeouts,
        }),
        { ok: 0, other: 0, errors: 0 },
      );
      return [
        app.label,
        fmtSpread(rps, 0),
        fmtSpread(spread(app.runs.map((r) => r.cpuPerRequest)), 0),
        fmtSpread(spread(app.runs.map((r) => r.latency.p50)), 1),
        fmtSpread(spread(app.runs.map((r) => r.latency.p99)), 1),
        `${statuses.ok} / ${statuses.other} / ${statuses.errors}`,
      ];
    });
    data[`limit-${mode.limit}`] = apps.map((a) => ({
      variant: a.variant,
      runs: a.runs.map((r) => ({
        rps: r.requests.average,
        cpuPerRequestUs: r.cpuPerRequest,
        p50: r.latency.p50,
        p99: r.latency.p99,
        ok: r['2xx'],
        non2xx: r.non2xx,
      })),
    }));
    sections.push(
      `**${mode.title}**`,
      '',
      table(
        [
          'route limited by',
          'req/s',
          'app CPU µs per request',
          'latency p50 ms',
          'latency p99 ms',
          '2xx / non-2xx / errors',
        ],
        rows,
      ),
      '',
    );
  }
  const markdown = [
    `Nest 12 on Express, one GET route, the app in its own process; autocannon in the bench process, ${connections} ` +
      `connections, ${durationS} s per run, ${rounds} runs per variant interleaved (median, min–max over runs), after a 1 s warm-up. ` +
      'Both limiters key by client IP (one key here) and keep their state in the same redis-server. ' +
      "App CPU per request is the app process's user + system time (from /proc) over the requests of the run: " +
      'steadier than req/s, which also moves with what else the two cores are running.',
    '',
    ...sections,
  ].join('\n');
  // Runs are interleaved round by round, so run i of one variant sits beside run i of another.
  const ratio = (limit: number, variant: HttpVariant, over: HttpVariant) => {
    const runs = (v: HttpVariant) => data[`limit-${limit}`].find((a) => a.variant === v)!.runs;
    const base = runs(over);
    return `${num(spread(runs(variant).map((r, i) => r.cpuPerRequestUs / base[i].cpuPerRequestUs)).median, 2)}×`;
  };
  const summary = {
    scenario: '5. HTTP, one Nest route',
    target: 'app CPU per request level with @nestjs/throttler; a route not limited costs nothing more',
    result:
      `ours / the throttler: admitted ${ratio(0, 'nestjs-limiters', 'throttler')}, refused ` +
      `${ratio(100, 'nestjs-limiters', 'throttler')} (headers on; ${ratio(0, 'nestjs-limiters-no-headers', 'throttler')} ` +
      `and ${ratio(100, 'nestjs-limiters-no-headers', 'throttler')} without); a route not limited ` +
      `${ratio(0, 'nestjs-limiters-unlimited-route', 'none')} the app without the module`,
  };
  return { id: 'http', title: '5. HTTP: @TokenBucket vs @nestjs/throttler (Redis storage)', markdown, summary, data };
}
