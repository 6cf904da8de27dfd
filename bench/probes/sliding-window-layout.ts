/**
 * The measurement that chose the sliding window's layout (BENCHMARKS.md, "Sliding window
 * layout"): counters per tenth of the window (lua/sliding-window-take-2.lua, as shipped)
 * against a sorted set of admissions (bench/probes/sliding-window-zset-2.lua).
 *
 *   node --import tsx bench/probes/sliding-window-layout.ts [--rounds 5]
 *
 * On a throwaway redis-server of its own, for limits 10, 100, 1 000 and 10 000:
 * - memory: MEMORY USAGE (SAMPLES 0: every member counted) of a key holding `limit`
 *   admissions spread evenly over most of a 2 s window, one a call;
 * - Redis time per call: INFO commandstats usec_per_call of EVALSHA (the script with every
 *   command it runs), for 500 admissions into a key of a one-minute window already holding
 *   limit - 500 (or none), then 500 refusals of the full key; the least of `--rounds`,
 *   because on a shared machine noise only ever adds;
 * - commands per admission: total_commands_processed over those 500 calls (the script and
 *   each command it calls count one).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { withIncludes } from '../../lib/store/redis/lua-scripts';
import { startRedis, stopAll } from '../../test/harness/redis-servers';
import { info } from '../support/redis-info';

const at = process.argv.indexOf('--rounds');
const ROUNDS = at > 0 ? Number(process.argv[at + 1]) : 5;
const REPO = join(__dirname, '..', '..');
const LIMITS = [10, 100, 1_000, 10_000];
const BATCH = 500;

async function main(): Promise<void> {
  const server = await startRedis();
  const redis = new Redis(server.url);
  try {
    const load = async (file: string) =>
      (await redis.script('LOAD', withIncludes(readFileSync(join(REPO, file), 'utf8'), file))) as string;
    const layouts = {
      'counters (10 sub-windows)': await load('lua/sliding-window-take-2.lua'),
      'sorted set': await load('bench/probes/sliding-window-zset-2.lua'),
    };
    let keys = 0;
    const take = (sha: string, key: string, limit: number, window: number) =>
      redis.evalsha(sha, 2, key, `${key}:blocked`, limit, window, Math.ceil(window / 10), 1, 0, 0);
    const batch = (sha: string, key: string, limit: number, window: number, calls: number) =>
      Promise.all(Array.from({ length: calls }, () => take(sha, key, limit, window)));
    console.log('| layout | limit | memory per key (bytes) | admit (µs) | refuse (µs) | commands per admission |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
    for (const [layout, sha] of Object.entries(layouts)) {
      for (const limit of LIMITS) {
        const spread = `{layout-${++keys}}`;
        const startedAt = Date.now();
        for (let i = 0; i < limit; i++) {
          while (Date.now() < startedAt + (i * 1_900) / limit) await new Promise((r) => setTimeout(r, 1));
          await take(sha, spread, limit, 2_000);
        }
        const memory = await redis.memory('USAGE', spread, 'SAMPLES', 0);
        let admit = Infinity;
        let refuse = Infinity;
        let commands = Infinity;
        for (let round = 0; round < ROUNDS; round++) {
          const key = `{layout-${++keys}}`;
          await batch(sha, key, limit, 60_000, Math.max(0, limit - BATCH));
          await redis.config('RESETSTAT');
          await batch(sha, key, limit, 60_000, Math.min(limit, BATCH));
          const stats = await info(redis, 'commandstats');
          const processed = Number((await info(redis, 'stats')).total_commands_processed) - 2;
          admit = Math.min(admit, Number(/usec_per_call=([\d.]+)/.exec(stats.cmdstat_evalsha)![1]));
          commands = Math.min(commands, processed / Math.min(limit, BATCH));
          await redis.config('RESETSTAT');
          await batch(sha, key, limit, 60_000, BATCH);
          refuse = Math.min(
            refuse,
            Number(/usec_per_call=([\d.]+)/.exec((await info(redis, 'commandstats')).cmdstat_evalsha)![1]),
          );
        }
        console.log(
          `| ${layout} | ${limit} | ${memory} | ${admit.toFixed(2)} | ${refuse.toFixed(2)} | ${commands.toFixed(1)} |`,
        );
      }
    }
  } finally {
    await redis.quit();
    await stopAll([server]);
  }
}

void main();
