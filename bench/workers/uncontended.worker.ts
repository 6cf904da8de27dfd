/**
 * Scenario 1: one client, nobody else, one operation at a time. Latency and cost of each
 * library's acquire+release (semaphore), admission and refusal (rate limit), next to the
 * floor: raw EVALSHA calls of a trivial script on the same connection.
 */
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { runWorker } from '../../test/harness/processes';
import { hrnow } from '../support/clock';
import { rateLimit, semaphore, uniqueKey } from '../support/contenders';
import { lib, scriptCommand, windowClass } from '../support/limiters';
import { redisWorkMeter } from '../support/redis-info';
import { percentile } from '../support/stats';
import { WINDOW_KINDS, WINDOW_MS, windowOpName } from '../support/window-kinds';

interface Args {
  url: string;
  iterations: number;
  warmup: number;
  rounds: number;
}

type Op = { group: 'floor' | 'semaphore' | 'rate' | 'refusal'; name: string; once: () => Promise<unknown> };

runWorker<Args>(async ({ url, iterations, warmup, rounds }) => {
  const redis = new Redis(url);
  const sha = (await redis.script('LOAD', 'return 1')) as string;
  const floorKey = uniqueKey('floor');
  const evalsha = () => redis.evalsha(sha, 1, floorKey);

  const ours = new lib.SemaphoreLimiter(redis, { name: uniqueKey('sem'), capacity: 10, maxSleep: 10_000 });
  const redisSemaphore = semaphore('redis-semaphore', redis, url, { key: uniqueKey('rs'), capacity: 10 });
  const bottleneckSem = semaphore('bottleneck', redis, url, { key: uniqueKey('bn-sem'), capacity: 10 });
  const floorSem = semaphore('floor', redis, url, { key: uniqueKey('floor-sem'), capacity: 10 });

  // Buckets that never run dry here: the admission path, never a wait.
  const bucket = new lib.TokenBucketLimiter(redis, {
    name: uniqueKey('tb'),
    capacity: 1_000_000_000,
    refillFrequency: 1000,
    refillAmount: 1_000_000_000,
    maxSleep: 10_000,
  });
  const rlf = rateLimit('rate-limiter-flexible', redis, url, { key: uniqueKey('rlf'), capacity: 1e9, periodMs: 1e-6 });
  const bottleneckRate = rateLimit('bottleneck', redis, url, {
    key: uniqueKey('bn-res'),
    capacity: 1e9,
    periodMs: 1000,
  });
  // The same path with one token a refill: every take moves the moment the bucket is full
  // again, so each admission rewrites the key (SET … PX) instead of an INCR.
  const bucketOneToken = new lib.TokenBucketLimiter(redis, {
    name: uniqueKey('tb1'),
    capacity: 1_000_000_000,
    refillFrequency: 1,
    maxSleep: 10_000,
  });
  const throttler = new ThrottlerStorageRedisService(redis);
  const throttlerKey = uniqueKey('thr');

  // Windows that never fill: the admission path of each window kind the built library has.
  const windowOps: Op[] = WINDOW_KINDS.flatMap((kind) => {
    const Limiter = windowClass(kind.className);
    if (!Limiter) return [];
    const limiter = new Limiter(redis, { name: uniqueKey(kind.className), limit: 1_000_000_000, window: WINDOW_MS });
    const once = async () => {
      if (!(await limiter.tryTake()).allowed) throw new Error(`${kind.className} refused where it should admit`);
    };
    return [{ group: 'rate' as const, name: windowOpName(kind), once }];
  });

  // Refusals: buckets emptied before the warm-up, refilling only after the run.
  const dry = new lib.TokenBucketLimiter(redis, { name: uniqueKey('tb-dry'), capacity: 1, refillFrequency: 3_600_000 });
  // What a refusal costs when Redis answers it: a key refused for the first time, or a refund since.
  const dryUncached = new lib.TokenBucketLimiter(redis, {
    name: uniqueKey('tb-dry-uncached'),
    capacity: 1,
    refillFrequency: 3_600_000,
    refusalCache: false,
  });
  const rlfDry = new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: uniqueKey('rlf-dry'),
    points: 1,
    duration: 3600,
  });
  const refusedBy = (promise: Promise<unknown>) =>
    promise.then(
      () => {
        throw new Error('admitted where a refusal was expected');
      },
      (res: unknown) => {
        if (!(res instanceof RateLimiterRes)) throw res;
      },
    );
  const throttlerDryKey = uniqueKey('thr-dry');

  // Our two scripts called straight through ioredis (the commands the library defines on
  // the client): the script work without any of the library's JavaScript around it.
  const defined = redis as unknown as Record<string, (...a: Array<string | number>) => Promise<unknown>>;
  const scriptKeys = ['holders', 'queue', 'waiters', 'arrivals', 'weights'].map((k) => `{bench-raw}:${k}`);
  await ours.tryAcquire().then((p) => p?.release()); // defines the commands on this client
  const [acquireScript, releaseScript] = [scriptCommand('semaphoreAcquire'), scriptCommand('semaphoreRelease')];
  const rawScripts = async () => {
    // lua/semaphore-acquire-5.lua and semaphore-release-5.lua: one permit, never queued.
    await defined[acquireScript](...scriptKeys, 'raw', 10, 30_000, 0, 'none', 1, 'p');
    await defined[releaseScript](...scriptKeys, 'raw', 10, 1);
  };

  const noop = () => undefined;
  const ops: Op[] = [
    { group: 'floor', name: 'EVALSHA ×1 (one round trip)', once: evalsha },
    { group: 'floor', name: 'EVALSHA ×2 (two round trips)', once: async () => (await evalsha(), evalsha()) },
    {
      group: 'semaphore',
      name: 'floor semaphore run(noop): minimal scripts, no safety',
      once: () => floorSem.run(noop),
    },
    { group: 'semaphore', name: 'our acquire + release scripts, raw EVALSHA', once: rawScripts },
    {
      group: 'semaphore',
      name: 'nestjs-limiters acquire() + release()',
      once: async () => (await ours.acquire()).release(),
    },
    {
      group: 'semaphore',
      name: 'nestjs-limiters tryAcquire() + release()',
      once: async () => (await ours.tryAcquire())!.release(),
    },
    { group: 'semaphore', name: 'redis-semaphore acquire() + release()', once: () => redisSemaphore.run(noop) },
    { group: 'semaphore', name: 'bottleneck schedule(noop), maxConcurrent', once: () => bottleneckSem.run(noop) },
    { group: 'rate', name: 'nestjs-limiters tryTake()', once: () => bucket.tryTake() },
    { group: 'rate', name: 'nestjs-limiters take()', once: () => bucket.take() },
    {
      group: 'rate',
      name: 'nestjs-limiters tryTake(), refillAmount 1 every 1 ms',
      once: () => bucketOneToken.tryTake(),
    },
    ...windowOps,
    { group: 'rate', name: 'rate-limiter-flexible consume()', once: () => rlf.tryTake() },
    { group: 'rate', name: 'bottleneck schedule(noop), reservoir', once: () => bottleneckRate.take() },
    {
      group: 'rate',
      name: '@nest-lab/throttler-storage-redis increment()',
      once: () => throttler.increment(throttlerKey, 60_000, 1_000_000_000, 60_000, 'default'),
    },
    {
      group: 'refusal',
      name: 'nestjs-limiters tryTake() refused',
      once: async () => {
        if ((await dry.tryTake()).allowed) throw new Error('admitted where a refusal was expected');
      },
    },
    {
      group: 'refusal',
      name: 'nestjs-limiters tryTake() refused, refusalCache: false',
      once: async () => {
        if ((await dryUncached.tryTake()).allowed) throw new Error('admitted where a refusal was expected');
      },
    },
    { group: 'refusal', name: 'rate-limiter-flexible consume() refused', once: () => refusedBy(rlfDry.consume('k')) },
    {
      group: 'refusal',
      name: '@nest-lab/throttler-storage-redis increment() blocked',
      once: () => throttler.increment(throttlerDryKey, 3_600_000, 1, 3_600_000, 'default'),
    },
  ];
  // Empty the refusal buckets, so that every call of theirs measured is a refusal.
  await dry.tryTake();
  await dryUncached.tryTake();
  await rlfDry.consume('k');
  await throttler.increment(throttlerDryKey, 3_600_000, 1, 3_600_000, 'default');

  // Redis's work, read on a second connection, attributes server cost to each contender:
  // the main thread's CPU (where commands and scripts run) and the commands processed.
  const admin = new Redis(url);
  const meter = await redisWorkMeter(admin);
  type Round = {
    p50: number;
    p99: number;
    mean: number;
    clientCpuUs: number;
    redisCpuUs: number;
    redisCommands: number;
  };
  const results = ops.map((op) => ({ group: op.group, name: op.name, rounds: [] as Round[] }));
  for (const op of ops) for (let i = 0; i < warmup; i++) await op.once();
  for (let round = 0; round < rounds; round++) {
    // Rotate the order so that no contender always runs right after the same one.
    for (let k = 0; k < ops.length; k++) {
      const index = (k + round) % ops.length;
      const op = ops[index];
      const samples = new Float64Array(iterations);
      const redisBefore = await meter.read();
      const cpuBefore = process.cpuUsage();
      for (let i = 0; i < iterations; i++) {
        const start = hrnow();
        await op.once();
        samples[i] = hrnow() - start;
      }
      const cpu = process.cpuUsage(cpuBefore);
      const redisAfter = await meter.read();
      const values = Array.from(samples);
      results[index].rounds.push({
        p50: percentile(values, 50),
        p99: percentile(values, 99),
        mean: values.reduce((a, b) => a + b, 0) / values.length,
        clientCpuUs: (cpu.user + cpu.system) / iterations,
        redisCpuUs: (redisAfter.cpuUs - redisBefore.cpuUs) / iterations,
        redisCommands: (redisAfter.commands - redisBefore.commands - meter.readingCommands) / iterations,
      });
    }
  }
  await Promise.all([
    floorSem.close(),
    redisSemaphore.close(),
    bottleneckSem.close(),
    rlf.close(),
    bottleneckRate.close(),
  ]);
  redis.disconnect();
  admin.disconnect();
  return results;
});
