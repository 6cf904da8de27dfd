/**
 * Scenario "outage": sequential calls to a service method limited by @TokenBucket, before,
 * during and after a SIGKILL of its Redis (a redis-server of the scenario's own, not the
 * bench's), once per whenRedisFails policy. What the breaker changes: without it every call
 * during an outage would wait commandTimeout; with it only the calls that open it and the
 * probes do.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Injectable, Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Redis } from 'ioredis';
import { restartRedis, startRedis, stopRedis } from '../../test/harness/redis-servers';
import { sleep } from '../support/clock';
import type { BenchContext, Section } from '../support/context';
import { lineChart } from '../support/svg';
import { num, table } from '../support/stats';
import { verdict } from '../support/summary';

type Library = typeof import('../../lib');

const POLICIES = ['reject', 'allow', 'local'] as const;
type Policy = (typeof POLICIES)[number];

const COMMAND_TIMEOUT = 1_000;
/** 50 calls a second allowed in Redis; with 'local' and instances 2, half of that here. */
const BUCKET = { capacity: 50, refillFrequency: 100, refillAmount: 5 };

interface Call {
  /** Ms since the kill (negative: before it). */
  at: number;
  ms: number;
  outcome: 'admitted' | 'refused' | 'unavailable';
}

// tsx emits TC39 decorators and Nest needs the legacy kind: applied with Reflect.decorate, as tsc would.
function limitedService(lib: Library, name: string): Type<{ call(): string }> {
  class OutageService {
    call(): string {
      return 'ran';
    }
  }
  const proto = OutageService.prototype;
  const decorator = lib.TokenBucket({ name, ...BUCKET, maxSleep: 0 });
  const descriptor = Object.getOwnPropertyDescriptor(proto, 'call')!;
  Object.defineProperty(proto, 'call', Reflect.decorate([decorator], proto, 'call', descriptor) as PropertyDescriptor);
  return Reflect.decorate([Injectable()], OutageService) as Type<{ call(): string }>;
}

async function runPolicy(
  ctx: BenchContext,
  policy: Policy,
  phases: { before: number; down: number; after: number },
): Promise<Call[]> {
  const server = await startRedis();
  const redis = new Redis(server.url);
  redis.on('error', () => undefined);
  // Loaded here, not at import: bench/run.ts compiles the library after loading every scenario.
  const { lib } = await import('../support/limiters');
  const Service = limitedService(lib, `bench-outage-${policy}`);
  class AppModule {}
  const imports = [
    lib.LimitersModule.forRoot({
      redis,
      whenRedisFails: policy,
      instances: 2,
      defaults: { tokenBucket: { commandTimeout: COMMAND_TIMEOUT } },
    }),
  ];
  Reflect.decorate([Module({ imports, providers: [Service] })], AppModule);
  const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
  const service = app.get(Service);
  const calls: Call[] = [];
  let killedAt = Infinity;
  const startedAt = performance.now();
  const total = phases.before + phases.down + phases.after;
  let restarted = false;
  try {
    while (performance.now() - startedAt < total) {
      const elapsed = performance.now() - startedAt;
      if (killedAt === Infinity && elapsed >= phases.before) {
        server.process.kill('SIGKILL');
        killedAt = performance.now();
      }
      if (!restarted && elapsed >= phases.before + phases.down) {
        restarted = true;
        await restartRedis(server);
      }
      const sentAt = performance.now();
      let outcome: Call['outcome'] = 'admitted';
      try {
        await service.call();
      } catch (error) {
        outcome = error instanceof lib.MaxSleepExceededError ? 'refused' : 'unavailable';
      }
      const now = performance.now();
      calls.push({
        at: sentAt - (killedAt === Infinity ? startedAt + phases.before : killedAt),
        ms: now - sentAt,
        outcome,
      });
      // 100 calls a second at most: twice the Redis limit.
      await sleep(Math.max(0, 10 - (performance.now() - sentAt)));
    }
  } finally {
    await app.close();
    redis.disconnect();
    await stopRedis(server);
  }
  ctx.log(`outage ${policy}: ${calls.length} calls`);
  return calls;
}

function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

export async function outage(ctx: BenchContext): Promise<Section> {
  const phases = ctx.quick
    ? { before: 1_000, down: 3_000, after: 2_000 }
    : { before: 3_000, down: 8_000, after: 5_000 };
  const data: Record<string, Call[]> = {};
  const rows: string[][] = [];
  const whileDown: Array<{ policy: Policy; p90: number; slow: number }> = [];
  for (const policy of POLICIES) {
    const calls = await runPolicy(ctx, policy, phases);
    data[policy] = calls;
    for (const [phase, from, to] of [
      ['before', -Infinity, 0],
      ['down', 0, phases.down],
      ['after', phases.down, Infinity],
    ] as const) {
      const inPhase = calls.filter((c) => c.at >= from && c.at < to);
      const ms = inPhase.map((c) => c.ms);
      const count = (o: Call['outcome']) => inPhase.filter((c) => c.outcome === o).length;
      const slow = inPhase.filter((c) => c.ms >= COMMAND_TIMEOUT - 5).length;
      if (phase === 'down') whileDown.push({ policy, p90: quantile(ms, 0.9), slow });
      rows.push([
        policy,
        phase,
        String(inPhase.length),
        quantile(ms, 0.5).toFixed(2),
        quantile(ms, 0.9).toFixed(2),
        Math.max(...ms).toFixed(0),
        String(slow),
        `${count('admitted')} / ${count('refused')} / ${count('unavailable')}`,
      ]);
    }
  }
  const chart = lineChart({
    title: `Sequential calls around a Redis SIGKILL (down ${phases.down / 1000} s, commandTimeout ${COMMAND_TIMEOUT} ms)`,
    xLabel: 'ms since the kill',
    yLabel: 'call latency (ms)',
    series: POLICIES.map((policy) => ({
      name: `whenRedisFails '${policy}'`,
      points: data[policy].map((c) => [Math.round(c.at), Number(c.ms.toFixed(2))] as [number, number]),
    })),
    note: 'each spike is a call that waited commandTimeout: the ones that open the breaker, then one probe a second',
  });
  fs.writeFileSync(path.join(ctx.resultsDir, 'outage-latency.svg'), chart);
  const markdown = [
    `Sequential calls (at most 100 a second) to a service method with \`@TokenBucket\` (${BUCKET.capacity} + ${BUCKET.refillAmount} per ${BUCKET.refillFrequency} ms, \`maxSleep\` 0), `,
    `\`commandTimeout\` ${COMMAND_TIMEOUT} ms, default breaker (3 failures, probe every 1 000 ms), \`instances: 2\`. `,
    `Its own redis-server is killed (SIGKILL) after ${phases.before / 1000} s and restarted empty ${phases.down / 1000} s later.`,
    '',
    table(
      [
        'policy',
        'phase',
        'calls',
        'p50 ms',
        'p90 ms',
        'max ms',
        `calls ≥ commandTimeout`,
        'admitted / refused (limit) / unavailable',
      ],
      rows,
    ),
    '',
    '![latency around the kill](outage-latency.svg)',
  ].join('\n');
  const summary = {
    scenario: '9. outage',
    target: '90% of calls answered in under 50 ms while Redis is down',
    result:
      `${verdict(whileDown.every((d) => d.p90 < 50))}: p90 while down ` +
      `${whileDown.map((d) => `${num(d.p90, 2)} ms (${d.policy})`).join(', ')}; calls that waited commandTimeout ` +
      `${whileDown.map((d) => d.slow).join(', ')}`,
  };
  return {
    id: 'outage',
    title: '9. Outage: latency before, during and after a Redis kill, per whenRedisFails policy',
    markdown,
    summary,
    data: { phases, rows },
  };
}
