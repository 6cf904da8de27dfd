/**
 * Scenario 6, second part: the memory one limit holds in Redis when it is full, by its
 * limit. Each rate kind of the library (the token bucket and every window kind it exports)
 * is made with limit (capacity) n and taken n times, one token a call, so that a kind that
 * keeps one entry per admission holds all of them; then MEMORY USAGE (SAMPLES 0: every
 * element counted) of each of its keys, found by its name's hash tag.
 */
import { Redis } from 'ioredis';
import { runWorker } from '../../test/harness/processes';
import { lib, windowClass } from '../support/limiters';
import { WINDOW_KINDS, WINDOW_MS } from '../support/window-kinds';

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
  const results: MemoryByLimit[] = [];
  for (const { kind, make } of kinds) {
    const row: MemoryByLimit = { kind, bytes: [], keys: [] };
    for (const limit of limits) {
      const name = `memory-${kind.split(' ')[0]}-${limit}`;
      const limiter = make(name, limit);
      for (let taken = 0; taken < limit; taken += IN_FLIGHT) {
        const calls = Array.from({ length: Math.min(IN_FLIGHT, limit - taken) }, () => limiter.tryTake());
        if ((await Promise.all(calls)).some((r) => !r.allowed)) throw new Error(`${name} refused below its limit`);
      }
      // Every key of one limiter carries its name in the hash tag (lib/store/redis/keys.ts).
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, found] = await redis.scan(cursor, 'MATCH', `*{=${name}}*`, 'COUNT', 1000);
        cursor = next;
        keys.push(...found);
      } while (cursor !== '0');
      let bytes = 0;
      for (const key of keys) bytes += Number(await redis.memory('USAGE', key, 'SAMPLES', 0));
      row.bytes.push(bytes);
      row.keys.push(keys.length);
    }
    results.push(row);
  }
  redis.disconnect();
  return results;
});
