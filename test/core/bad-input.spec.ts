import { createServer, type AddressInfo } from 'node:net';
import Redis, { Cluster } from 'ioredis';
import { InvalidOptionError, RedisUnavailableError, SemaphoreLimiter, TokenBucketLimiter } from '../../lib';
import { now } from '../harness/timing';
import { closeClient } from '../harness/connect';

// Options are checked before any Redis call, so a client that never connects will do.
const offline = new Redis({ lazyConnect: true });
afterAll(() => offline.disconnect());

const semaphore = (options: Record<string, unknown>) =>
  new SemaphoreLimiter(offline, { name: 'n', capacity: 1, ...options } as never);
const bucket = (options: Record<string, unknown>) =>
  new TokenBucketLimiter(offline, { name: 'n', capacity: 1, refillFrequency: 1000, ...options } as never);

describe('bad options throw at construction, naming the option', () => {
  const cases: Array<[string, () => unknown, string]> = [
    ['capacity 0', () => semaphore({ capacity: 0 }), 'capacity'],
    ['negative capacity', () => semaphore({ capacity: -1 }), 'capacity'],
    ['fractional capacity', () => semaphore({ capacity: 1.5 }), 'capacity'],
    ['NaN capacity', () => semaphore({ capacity: NaN }), 'capacity'],
    ['string capacity', () => semaphore({ capacity: '5' }), 'capacity'],
    ['missing capacity', () => semaphore({ capacity: undefined }), 'capacity'],
    ['Infinity capacity', () => bucket({ capacity: Infinity }), 'capacity'],
    ['missing name', () => semaphore({ name: undefined }), 'name'],
    ['empty name', () => bucket({ name: '' }), 'name'],
    ['numeric name', () => bucket({ name: 42 }), 'name'],
    ['negative maxSleep', () => semaphore({ maxSleep: -1 }), 'maxSleep'],
    ['NaN maxSleep', () => bucket({ maxSleep: NaN }), 'maxSleep'],
    ['expiry 0', () => semaphore({ expiry: 0 }), 'expiry'],
    ['Infinity expiry', () => semaphore({ expiry: Infinity }), 'expiry'],
    ['expiry beyond the longest Node timer', () => semaphore({ expiry: 2 ** 31 }), 'expiry'],
    ['finite maxSleep beyond the longest Node timer', () => bucket({ maxSleep: 2 ** 31 }), 'maxSleep'],
    ['refillFrequency 0', () => bucket({ refillFrequency: 0 }), 'refillFrequency'],
    ['missing refillFrequency', () => bucket({ refillFrequency: undefined }), 'refillFrequency'],
    ['fractional refillAmount', () => bucket({ refillAmount: 0.5 }), 'refillAmount'],
    ['braces in keyPrefix', () => bucket({ keyPrefix: 'a{b}' }), 'keyPrefix'],
    ['commandTimeout 0', () => bucket({ commandTimeout: 0 }), 'commandTimeout'],
  ];
  it.each(cases)('%s', (_, build, option) => {
    let error: unknown;
    try {
      build();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).option).toBe(option);
    expect((error as Error).message).toContain(`"${option}"`);
  });

  it.each([-1, NaN, -Infinity, 2 ** 31, 1.5, '5', null])(
    'rejects per-call maxSleep %p at once, before any Redis call',
    async (maxSleep) => {
      const calls = [
        () => semaphore({}).acquire({ maxSleep: maxSleep as number }),
        () => semaphore({}).run(() => undefined, { maxSleep: maxSleep as number }),
        () => bucket({}).take(1, { maxSleep: maxSleep as number }),
        () => bucket({}).run(() => undefined, { maxSleep: maxSleep as number }),
      ];
      for (const call of calls) {
        const error = await call().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(InvalidOptionError);
        expect((error as InvalidOptionError).option).toBe('maxSleep');
      }
    },
  );

  it('rejects tokens null in bucket.run() as take(null) does', async () => {
    const error = await bucket({})
      .run(() => undefined, { tokens: null as never })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).option).toBe('tokens');
  });

  it('accepts maxSleep 0 and Infinity', () => {
    expect(semaphore({ maxSleep: 0 }).maxSleep).toBe(0);
    expect(bucket({ maxSleep: Infinity }).maxSleep).toBe(Infinity);
  });

  it('rejects something that is not a Redis client', () => {
    expect(() => new SemaphoreLimiter({} as never, { name: 'n', capacity: 1 })).toThrow(/ioredis/);
  });
});

/** A loopback port nothing listens on: taken from the OS, then closed. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

describe.each(['standalone', 'cluster'])('Redis unreachable (%s client)', (kind) => {
  it('rejects every call within commandTimeout with RedisUnavailableError', async () => {
    const port = await closedPort();
    // ioredis keeps reconnecting in the background and queues commands meanwhile.
    const redis =
      kind === 'standalone'
        ? new Redis({ port, host: '127.0.0.1' })
        : new Cluster([{ host: '127.0.0.1', port }], { clusterRetryStrategy: () => 100 });
    redis.on('error', () => undefined);
    const options = { name: 'down', capacity: 1, commandTimeout: 300 };
    const calls = [
      () => new SemaphoreLimiter(redis, options).acquire(),
      () => new SemaphoreLimiter(redis, options).tryAcquire(),
      () => new TokenBucketLimiter(redis, { ...options, refillFrequency: 100 }).take(),
      () => new TokenBucketLimiter(redis, { ...options, refillFrequency: 100 }).tryTake(),
    ];
    try {
      for (const call of calls) {
        const startedAt = now();
        const error = await call().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(RedisUnavailableError);
        expect(now() - startedAt).toBeLessThan(300 + 1_000);
      }
    } finally {
      await closeClient(redis);
    }
  });
});
