/**
 * "One key hammered": a bucket that ran dry, called again and again, one call at a
 * time, by one client. Every call is a refusal; what each costs Redis (commands, main
 * thread CPU) and the client is what a caller that ignores Retry-After costs the shard
 * that owns the key. Ours with and without the refusal cache, rate-limiter-flexible with
 * and without its in-memory block.
 */
import { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { runWorker } from '../../test/harness/processes';
import { hrnow } from '../support/clock';
import { uniqueKey } from '../support/contenders';
import { lib } from '../support/limiters';
import { redisWorkMeter } from '../support/redis-info';
import { percentile } from '../support/stats';

interface Args {
  url: string;
  iterations: number;
  rounds: number;
}

/** `refuse()` resolves true when refused, false when admitted (which a hammered key should not be). */
type Contender = { name: string; refuse: () => Promise<boolean> } | { name: string; unavailable: string };

export interface HammeredRound {
  p50: number;
  clientCpuUs: number;
  redisCpuUs: number;
  redisCommands: number;
  admitted: number;
}

export type HammeredResult = { name: string; rounds: HammeredRound[] } | { name: string; unavailable: string };

// Far longer than the run: no refill, no window reset, while it is measured.
const DRY_FOR_MS = 3_600_000;
const CAPACITY = 10;

runWorker<Args>(async ({ url, iterations, rounds }) => {
  const redis = new Redis(url);

  /**
   * Our bucket with `extra` options. The refusal cache's option may not exist in the
   * library being measured (it is rejected as unknown): that row then says so.
   */
  const ours = async (name: string, extra: object): Promise<Contender> => {
    let bucket: InstanceType<typeof lib.TokenBucketLimiter>;
    try {
      bucket = new lib.TokenBucketLimiter(redis, {
        name: uniqueKey('hammered'),
        capacity: CAPACITY,
        refillFrequency: DRY_FOR_MS,
        ...extra,
      } as ConstructorParameters<typeof lib.TokenBucketLimiter>[1]);
    } catch (error) {
      if (error instanceof lib.InvalidOptionError) return { name, unavailable: 'n/a (option not available)' };
      throw error;
    }
    await bucket.tryTake(CAPACITY);
    return { name, refuse: async () => !(await bucket.tryTake()).allowed };
  };

  const flexible = async (name: string, extra: object): Promise<Contender> => {
    const limiter = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: uniqueKey('hammered-rlf'),
      points: CAPACITY,
      duration: DRY_FOR_MS / 1000,
      ...extra,
    });
    const refuse = () =>
      limiter.consume('k').then(
        () => false,
        (res: unknown) => {
          if (res instanceof RateLimiterRes) return true;
          throw res;
        },
      );
    for (let i = 0; i < CAPACITY; i++) await limiter.consume('k');
    return { name, refuse };
  };

  const contenders: Contender[] = [
    await ours('nestjs-limiters tryTake(), default options', {}),
    await ours('nestjs-limiters tryTake(), refusalCache: true', { refusalCache: true }),
    await ours('nestjs-limiters tryTake(), refusalCache: false', { refusalCache: false }),
    await flexible('rate-limiter-flexible consume()', {}),
    // Blocks a key in process memory once it has consumed more than its points, until its window ends.
    await flexible('rate-limiter-flexible consume(), inMemoryBlockOnConsumed', {
      inMemoryBlockOnConsumed: CAPACITY + 1,
    }),
  ];

  const admin = new Redis(url);
  const meter = await redisWorkMeter(admin);
  const results: HammeredResult[] = contenders.map((c) =>
    'unavailable' in c ? c : { name: c.name, rounds: [] as HammeredRound[] },
  );
  const live = contenders.flatMap((c, index) => ('refuse' in c ? [{ c, index }] : []));
  // Warm-up: the first refusals fill whatever a contender keeps in memory.
  for (const { c } of live) for (let i = 0; i < 100; i++) await c.refuse();
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < live.length; k++) {
      const { c, index } = live[(k + round) % live.length];
      const samples = new Float64Array(iterations);
      let admitted = 0;
      const before = await meter.read();
      const cpuBefore = process.cpuUsage();
      for (let i = 0; i < iterations; i++) {
        const start = hrnow();
        if (!(await c.refuse())) admitted++;
        samples[i] = hrnow() - start;
      }
      const cpu = process.cpuUsage(cpuBefore);
      const after = await meter.read();
      (results[index] as { rounds: HammeredRound[] }).rounds.push({
        p50: percentile(Array.from(samples), 50),
        clientCpuUs: (cpu.user + cpu.system) / iterations,
        redisCpuUs: (after.cpuUs - before.cpuUs) / iterations,
        redisCommands: (after.commands - before.commands - meter.readingCommands) / iterations,
        admitted,
      });
    }
  }
  redis.disconnect();
  admin.disconnect();
  return results;
});
