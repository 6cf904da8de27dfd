/**
 * Scenario 7: what events and metrics cost per call. One process, one connection, one call
 * at a time, variants interleaved round by round: the library as it was before events
 * existed (its own build), the current one with nobody subscribed, with a no-op subscriber
 * on every channel, and with OpenTelemetry metrics recording (an SDK MeterProvider).
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import * as path from 'node:path';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { Redis } from 'ioredis';
import { runWorker } from '../../test/harness/processes';
import { uniqueKey } from '../support/contenders';
import { BUILD_DIR, lib } from '../support/limiters';

interface Args {
  url: string;
  iterations: number;
  warmup: number;
  rounds: number;
  /** The build of the library from before events (see scenarios/observability.ts). */
  beforeDir: string;
}

type Library = typeof lib;

runWorker<Args>(async ({ url, iterations, warmup, rounds, beforeDir }) => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const before = require(path.join(beforeDir, 'dist')) as Library;
  const redis = new Redis(url);
  const admissions = (library: Library) => {
    // A bucket that never runs dry: the admission path, never a wait.
    const bucket = new library.TokenBucketLimiter(redis, {
      name: uniqueKey('obs-tb'),
      capacity: 1_000_000_000,
      refillFrequency: 1_000,
      refillAmount: 1_000_000_000,
    });
    const semaphore = new library.SemaphoreLimiter(redis, { name: uniqueKey('obs-sem'), capacity: 10 });
    return {
      admit: () => bucket.tryTake(),
      acquireRelease: async () => (await semaphore.acquire()).release(),
    };
  };
  const noop = () => undefined;
  const channels = Object.values(lib.CHANNEL_NAMES);
  const subscribe = () => channels.forEach((c) => diagnosticsChannel.subscribe(c, noop));
  const unsubscribe = () => channels.forEach((c) => diagnosticsChannel.unsubscribe(c, noop));
  const meterProvider = new MeterProvider();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { recordLimiterMetrics } = require(path.join(BUILD_DIR, 'dist')) as {
    recordLimiterMetrics: (meter: unknown) => () => void;
  };
  let stopMetrics = () => undefined as void;

  const variants = [
    { name: 'before events (own build)', ops: admissions(before), setUp: noop, tearDown: noop },
    { name: 'events, nobody subscribed', ops: admissions(lib), setUp: noop, tearDown: noop },
    {
      name: 'events, a no-op subscriber on every channel',
      ops: admissions(lib),
      setUp: subscribe,
      tearDown: unsubscribe,
    },
    {
      name: 'metrics: true (OpenTelemetry SDK recording)',
      ops: admissions(lib),
      setUp: () => (stopMetrics = recordLimiterMetrics(meterProvider.getMeter('bench'))),
      tearDown: () => stopMetrics(),
    },
  ];
  const results = variants.map((v) => ({ name: v.name, admit: [] as number[], acquireRelease: [] as number[] }));
  const cpuPerCall = async (op: () => Promise<unknown>) => {
    const start = process.cpuUsage();
    for (let i = 0; i < iterations; i++) await op();
    const used = process.cpuUsage(start);
    return (used.user + used.system) / iterations;
  };
  for (const v of variants)
    for (let i = 0; i < warmup; i++) {
      await v.ops.admit();
      await v.ops.acquireRelease();
    }
  for (let round = 0; round < rounds; round++) {
    // Rotated each round, so no variant always runs first or last.
    for (let k = 0; k < variants.length; k++) {
      const index = (k + round) % variants.length;
      const v = variants[index];
      v.setUp();
      results[index].admit.push(await cpuPerCall(v.ops.admit));
      results[index].acquireRelease.push(await cpuPerCall(v.ops.acquireRelease));
      v.tearDown();
    }
  }
  await meterProvider.shutdown();
  await redis.quit();
  return results;
});
