/**
 * Client CPU per call of the hot paths, on one ioredis connection to a throwaway
 * redis-server (127.0.0.1, free port): tryTake(), take(), acquire()+release(),
 * tryAcquire()+release(), next to the floor (raw EVALSHA of `return 1`, and our two
 * semaphore scripts sent raw) and two peers. Least of `--rounds` rounds, the operations
 * interleaved (rotated each round) so that no one always runs after the same other.
 * The library is compiled by tsc first, as the bench does (tsx's output differs: it
 * names every function it makes, which costs a call per closure).
 *
 *   node --import tsx bench/probes/client-cpu.ts [--n 20000] [--rounds 5] [--only tryTake,acquire]
 *        [--compare <commit>]   the library's operations also as of <commit>, interleaved with
 *                               these: on a busy machine only figures of one run compare
 *   node --cpu-prof --cpu-prof-dir /tmp/prof --import tsx bench/probes/client-cpu.ts --only tryTake
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { Semaphore as RedisSemaphore } from 'redis-semaphore';
import { startRedis, stopRedis } from '../../test/harness/redis-servers';
import { buildBefore, buildLibrary } from '../support/build';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '5' },
    only: { type: 'string' },
    compare: { type: 'string' },
  },
});
const N = Number(values.n);
const ROUNDS = Number(values.rounds);

type Lib = typeof import('../../lib');
type Scripts = typeof import('../../lib/store/redis/lua-scripts');

type Op = { name: string; once: () => Promise<unknown> };

/** The library's own operations, from the copy of lib/ in `dir`, their names ending in `label`. */
async function libraryOps(dir: string, label: string, redis: Redis): Promise<Op[]> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const lib = require(dir) as Lib;
  const bucket = new lib.TokenBucketLimiter(redis, {
    name: `probe-tb${label}`,
    capacity: 1_000_000_000,
    refillFrequency: 1000,
    refillAmount: 1_000_000_000,
    maxSleep: 10_000,
  });
  const sem = new lib.SemaphoreLimiter(redis, { name: `probe-sem${label}`, capacity: 10, maxSleep: 10_000 });
  // Define the script commands on this client, which the raw calls below use.
  await (await sem.acquire()).release();
  await bucket.tryTake();
  return [
    { name: `tryTake${label}`, once: () => bucket.tryTake() },
    { name: `take${label}`, once: () => bucket.take() },
    { name: `acquire+release${label}`, once: async () => (await sem.acquire()).release() },
    { name: `tryAcquire+release${label}`, once: async () => (await sem.tryAcquire())!.release() },
  ];
}

async function main(): Promise<void> {
  buildLibrary();
  // bench/support/limiters.ts's BUILD_DIR, not imported: that module loads the build it names.
  const here = path.resolve(__dirname, '..', '.build', 'dist');
  const compared = values.compare === undefined ? undefined : path.join(buildBefore(values.compare), 'dist');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { loadScripts } = require(path.join(here, 'store', 'redis', 'lua-scripts')) as Scripts;
  const server = await startRedis();
  const redis = new Redis(server.url);
  try {
    const sha = (await redis.script('LOAD', 'return 1')) as string;
    const library = await libraryOps(here, '', redis);
    const other = compared === undefined ? [] : await libraryOps(compared, ` (${values.compare})`, redis);
    const defined = redis as unknown as Record<string, (...a: Array<string | number>) => Promise<unknown>>;
    const acquireCommand = loadScripts().get('semaphoreAcquire')!.command;
    const releaseCommand = loadScripts().get('semaphoreRelease')!.command;
    const takeCommand = loadScripts().get('tokenBucketTake')!.command;
    const rawKeys = ['holders', 'queue', 'waiters', 'arrivals', 'weights'].map((k) => `{probe-raw}:${k}`);
    const rlf = new RateLimiterRedis({ storeClient: redis, keyPrefix: 'probe-rlf', points: 1e9, duration: 1 });
    const ops: Op[] = [
      { name: 'raw EVALSHA (return 1)', once: () => redis.evalsha(sha, 1, 'probe-floor') },
      // lua/token-bucket-take-2.lua as tryTake() sends it, to a bucket of its own that never runs dry.
      {
        name: 'raw take script',
        once: () => defined[takeCommand]('{probe-raw-tb}', '{probe-raw-tb}:blocked', 1e9, 1000, 1e9, 1, 0, 0),
      },
      {
        name: 'raw acquire+release scripts',
        once: async () => {
          await defined[acquireCommand](...rawKeys, 'raw', 10, 30_000, 0, 'none', 1, 'p');
          await defined[releaseCommand](...rawKeys, 'raw', 10, 1);
        },
      },
      ...library.flatMap((op, i) => (other[i] ? [op, other[i]] : [op])),
      { name: 'rate-limiter-flexible consume', once: () => rlf.consume('k') },
      {
        name: 'redis-semaphore acquire+release',
        once: async () => {
          const s = new RedisSemaphore(redis, 'probe-rs', 10, { acquireTimeout: 120_000, lockTimeout: 30_000 });
          await s.acquire();
          await s.release();
        },
      },
    ];
    const only = values.only?.split(',');
    const chosen = only ? ops.filter((op) => only.some((o) => op.name.startsWith(o))) : ops;
    for (const op of chosen) for (let i = 0; i < 2_000; i++) await op.once();
    const best = new Map(chosen.map((op) => [op.name, Infinity]));
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < chosen.length; k++) {
        const op = chosen[(k + round) % chosen.length];
        const before = process.cpuUsage();
        for (let i = 0; i < N; i++) await op.once();
        const cpu = process.cpuUsage(before);
        best.set(op.name, Math.min(best.get(op.name)!, (cpu.user + cpu.system) / N));
      }
    }
    for (const [name, us] of best)
      console.log(`${name.padEnd(45)} ${us.toFixed(1).padStart(7)} µs client CPU per call`);
  } finally {
    redis.disconnect();
    await stopRedis(server);
  }
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
