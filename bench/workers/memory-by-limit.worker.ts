/**
 * Scenario 6, second part: the memory one limit holds in Redis when it is full, by its
 * limit. Each rate kind of the library (the token bucket and every window kind it exports)
 * is made with limit (capacity) n and takes n tokens, one a call, in ten equal batches a
 * tenth of a window apart, so that a kind that keeps its admissions by time (the sliding
 * window's sub-windows) holds them all, spread as a steady caller spreads them; then
 * MEMORY USAGE (SAMPLES 0: every element counted) of each of its keys, found by its name's
 * hash tag, before the first batch leaves the window.
 */
import { Redis } from 'ioredis';
import { runWorker } from '../../test/harness/processes';
import { hrnow, sleep } from '../support/clock';
import { lib, windowClass } from '../support/limiters';
import { WINDOW_KINDS } from '../support/window-kinds';

interface Args {
  url: string;
  limits: number[];
}

export interface MemoryByLimit {
  kind: string;
  /** Bytes of the limit's keys, one entry per limit in Args.limits. */
  bytes: number[];
  /** Keys the limit held when full, per limit. */
  keys: number[];
}

type Limit = { tryTake(): Promise<{ allowed: boolean }> };

const IN_FLIGHT = 100;
/** Long enough for a tenth of every limit of every kind to be taken within a tenth of it on a busy machine. */
const WINDOW_MS = 10_000;
const BATCHES = 10;

async function keysOf(redis: Redis, name: string): Promise<string[]> {
  // Every key of one limiter carries its name in the hash tag (lib/store/redis/keys.ts).
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `*{=${name}}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...found);
  } while (cursor !== '0');
  return keys;
}

runWorker<Args>(async ({ url, limits }) => {
  const redis = new Redis(url);
  const kinds: Array<{ kind: string; make: (name: string, limit: number) => Limit }> = [
    {
      kind: 'TokenBucketLimiter (capacity n)',
      make: (name, limit) =>
        new lib.TokenBucketLimiter(redis, { name, capacity: limit, refillFrequency: WINDOW_MS, maxSleep: 0 }),
    },
    ...WINDOW_KINDS.flatMap((k) => {
      const Limiter = windowClass(k.className);
      return Limiter
        ? [
            {
              kind: `${k.className} (limit n, ${WINDOW_MS / 1000} s)`,
              make: (name: string, limit: number) => new Limiter(redis, { name, limit, window: WINDOW_MS }),
            },
          ]
        : [];
    }),
  ];
  const limitsToFill = kinds.flatMap(({ kind, make }) =>
    limits.map((limit) => {
      const name = `memory-${kind.split(' ')[0]}-${limit}`;
      return { kind, limit, name, limiter: make(name, limit) };
    }),
  );
  const started = hrnow();
  for (let batch = 0; batch < BATCHES; batch++) {
    await sleep(started + (batch * WINDOW_MS) / BATCHES - hrnow());
    for (const { limit, name, limiter } of limitsToFill) {
      const share = Math.floor((limit * (batch + 1)) / BATCHES) - Math.floor((limit * batch) / BATCHES);
      for (let taken = 0; taken < share; taken += IN_FLIGHT) {
        const calls = Array.from({ length: Math.min(IN_FLIGHT, share - taken) }, () => limiter.tryTake());
        if ((await Promise.all(calls)).some((r) => !r.allowed)) throw new Error(`${name} refused below its limit`);
      }
    }
  }
  const results: MemoryByLimit[] = kinds.map(({ kind }) => ({ kind, bytes: [], keys: [] }));
  for (const { kind, name } of limitsToFill) {
    const keys = await keysOf(redis, name);
    let bytes = 0;
    for (const key of keys) bytes += Number(await redis.memory('USAGE', key, 'SAMPLES', 0));
    const row = results.find((r) => r.kind === kind)!;
    row.bytes.push(bytes);
    row.keys.push(keys.length);
  }
  // Measured after the first batch left the window, a kind that forgets by time would read light.
  if (hrnow() - started >= WINDOW_MS) throw new Error(`filling took longer than the ${WINDOW_MS} ms window`);
  redis.disconnect();
  return results;
});
