/**
 * `metrics` of LimitersModule: what limited calls did, as OpenTelemetry metrics under the
 * pinned names, counted once per call, never with the caller's key, and nothing
 * listening when metrics are off.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import {
  Controller,
  Get,
  Injectable,
  type INestApplication,
  type INestApplicationContext,
  type Type,
} from '@nestjs/common';
import { MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Request } from 'express';
import { Redis } from 'ioredis';
import request from 'supertest';
import {
  CHANNEL_NAMES,
  LimitersService,
  METRIC_NAMES,
  recordLimiterMetrics,
  TokenBucket,
  TokenBucketLimiter,
  type LimitEvent,
  type RateLimiter,
} from '../../../lib';
import type { LimitersModuleOptions } from '../../../lib';
import { RATE_KINDS, registered, type RateKind } from '../../harness/rate-kinds';
import { targets, uniqueName, useClients } from '../../harness/redis-targets';
import { sleep, waitUntil } from '../../harness/timing';
import { startContext, startHttpApp, unreachableRedis } from '../../harness/nest/limited-app';

/** A reader the test collects from when it wants to look. */
class TestReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

interface Point {
  metric: string;
  attributes: Record<string, unknown>;
  /** A sum's or gauge's value, a histogram's count. */
  value: number;
}

/** A MeterProvider with a reader, and its data points of the limit `name` (all limits: `name` left out). */
function meters() {
  const reader = new TestReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  afterEachShutdown.push(meterProvider);
  const collect = async (): Promise<Point[]> => {
    const { resourceMetrics, errors } = await reader.collect();
    expect(errors).toEqual([]);
    return points(resourceMetrics);
  };
  /** Sum of the values of `metric` for `name` whose attributes include `attributes`. */
  const value = async (metric: string, name: string, attributes: Record<string, unknown> = {}) =>
    (await collect())
      .filter((p) => p.metric === metric && p.attributes['limiters.name'] === name)
      .filter((p) => Object.entries(attributes).every(([k, v]) => p.attributes[k] === v))
      .reduce((sum, p) => sum + p.value, 0);
  return { meterProvider, collect, value };
}

const afterEachShutdown: MeterProvider[] = [];
afterEach(async () => {
  await Promise.all(afterEachShutdown.splice(0).map((p) => p.shutdown()));
});

function points(resourceMetrics: ResourceMetrics): Point[] {
  return resourceMetrics.scopeMetrics.flatMap((scope) =>
    scope.metrics.flatMap((metric) =>
      metric.dataPoints.map((p) => ({
        metric: metric.descriptor.name,
        attributes: p.attributes,
        value: typeof p.value === 'number' ? p.value : (p.value as { count: number }).count,
      })),
    ),
  );
}

/** The keyIds of every event published while the test runs: none of them may show up on a metric. */
function recordKeyIds(): Set<string> {
  const seen = new Set<string>();
  const listener = (message: unknown) => {
    const { keyId } = message as LimitEvent;
    if (keyId) seen.add(keyId);
  };
  beforeEach(() => {
    seen.clear();
    for (const channel of Object.values(CHANNEL_NAMES)) diagnosticsChannel.subscribe(channel, listener);
  });
  afterEach(() => {
    for (const channel of Object.values(CHANNEL_NAMES)) diagnosticsChannel.unsubscribe(channel, listener);
  });
  return seen;
}

const SECRET = 'sk_live_METRICSKEY7';
const minute = { refillFrequency: 60_000, maxSleep: 0 } as const;

/** A route limited to 3 a minute per API key by `rate`'s decorator. */
function quoteController(rate: RateKind): Type {
  @Controller('quote')
  class QuoteController {
    @Get()
    @rate.decorator({
      name: 'm-http',
      ...rate.per(3, 60_000),
      maxSleep: 0,
      key: (req: Request) => req.headers['x-api-key'] as string,
    })
    quote(): string {
      return 'ok';
    }
  }
  return QuoteController;
}

@Injectable()
class Upstream {
  @TokenBucket({ name: 'm-down', capacity: 3, ...minute })
  async call(): Promise<string> {
    return 'ran';
  }
}

describe.each(targets)('Metrics on $name', (target) => {
  const { client } = useClients(target);
  const keyIds = recordKeyIds();
  const started: Array<INestApplication | INestApplicationContext> = [];
  afterEach(async () => {
    for (const app of started.splice(0)) await app.close();
  });

  async function context(options: Omit<LimitersModuleOptions, 'redis'>) {
    const app = await startContext({ redis: client(), options: { keyPrefix: uniqueName('metrics'), ...options } });
    started.push(app);
    return app.get(LimitersService);
  }

  it('counts a semaphore’s active leases up to 2 and back to 0, with one lease duration per release', async () => {
    const { meterProvider, value } = meters();
    const limiters = await context({ metrics: { meterProvider }, semaphores: { 'm-sem': { capacity: 3 } } });
    const semaphore = limiters.getSemaphore('m-sem');
    const permits = [await semaphore.acquire(), await semaphore.acquire()];
    expect(await value(METRIC_NAMES.leasesActive, 'm-sem')).toBe(2);
    await sleep(30);
    await Promise.all(permits.map((p) => p.release()));
    expect(await value(METRIC_NAMES.leasesActive, 'm-sem')).toBe(0);
    expect(await value(METRIC_NAMES.leaseDuration, 'm-sem')).toBe(2);
    expect(await value(METRIC_NAMES.requests, 'm-sem', { 'limiters.result': 'admitted' })).toBe(2);
  });

  it('counts 3 calls queued for a semaphore slot, and records one wait duration for each', async () => {
    const { meterProvider, value, collect } = meters();
    const limiters = await context({
      metrics: { meterProvider },
      semaphores: { 'm-queue': { capacity: 1, maxSleep: 10_000 } },
    });
    const semaphore = limiters.getSemaphore('m-queue');
    const holder = await semaphore.acquire();
    const queued = [semaphore.run(() => sleep(20)), semaphore.run(() => sleep(20)), semaphore.run(() => sleep(20))];
    await sleep(150);
    expect(await value(METRIC_NAMES.queueWaiting, 'm-queue')).toBe(3);
    await holder.release();
    await Promise.all(queued);
    expect(await value(METRIC_NAMES.queueWaiting, 'm-queue')).toBe(0);
    expect(await value(METRIC_NAMES.waitDuration, 'm-queue', { 'limiters.result': 'admitted' })).toBe(3);
    const waits = (await collect()).filter(
      (p) => p.metric === METRIC_NAMES.waitDuration && p.attributes['limiters.name'] === 'm-queue',
    );
    expect(waits).toHaveLength(1);
    expect(await value(METRIC_NAMES.leasesActive, 'm-queue')).toBe(0);
    expect(await value(METRIC_NAMES.leaseDuration, 'm-queue')).toBe(4);
  });

  it('takes a call that gives up waiting off the queue gauge at once: a queued semaphore call counted cancelled, a bucket sleeper early', async () => {
    const { meterProvider, value } = meters();
    const limiters = await context({
      metrics: { meterProvider },
      semaphores: { 'm-cancel-sem': { capacity: 1, maxSleep: 30_000 } },
      tokenBuckets: { 'm-cancel-bucket': { capacity: 1, refillFrequency: 30_000, maxSleep: 60_000 } },
    });
    const semaphore = limiters.getSemaphore('m-cancel-sem');
    const holder = await semaphore.acquire();
    const leaving = [new AbortController(), new AbortController()];
    const queued = leaving.map((c) => semaphore.acquire({ signal: c.signal }).catch((e: unknown) => e));
    const bucket = limiters.getTokenBucket('m-cancel-bucket');
    await bucket.take();
    const sleeping = new AbortController();
    const asleep = bucket.take(1, { signal: sleeping.signal }).catch((e: unknown) => e);
    await waitUntil(
      'both semaphore calls queue',
      async () => (await value(METRIC_NAMES.queueWaiting, 'm-cancel-sem')) === 2,
    );
    await waitUntil(
      'the bucket call sleeps',
      async () => (await value(METRIC_NAMES.queueWaiting, 'm-cancel-bucket')) === 1,
    );

    leaving[0].abort(new Error('left'));
    await queued[0];
    expect(await value(METRIC_NAMES.queueWaiting, 'm-cancel-sem')).toBe(1);
    leaving[1].abort(new Error('left'));
    sleeping.abort(new Error('left'));
    await Promise.all([...queued, asleep]);
    // Long before the bucket's 30 s sleep would have ended.
    expect(await value(METRIC_NAMES.queueWaiting, 'm-cancel-sem')).toBe(0);
    expect(await value(METRIC_NAMES.queueWaiting, 'm-cancel-bucket')).toBe(0);
    expect(await value(METRIC_NAMES.requests, 'm-cancel-sem', { 'limiters.result': 'cancelled' })).toBe(2);
    expect(await value(METRIC_NAMES.waitDuration, 'm-cancel-sem', { 'limiters.result': 'cancelled' })).toBe(2);
    expect(await value(METRIC_NAMES.requests, 'm-cancel-sem')).toBe(3); // the holder's admit, and the two
    // The bucket's call was admitted with its reservation; giving up does not count it again.
    expect(await value(METRIC_NAMES.requests, 'm-cancel-bucket', { 'limiters.result': 'admitted' })).toBe(2);
    expect(await value(METRIC_NAMES.requests, 'm-cancel-bucket')).toBe(2);
    expect(await value(METRIC_NAMES.leasesActive, 'm-cancel-sem')).toBe(1);
    await holder.release();
  });

  describe.each(RATE_KINDS)('every rate kind: $text', (rate) => {
    /** An app context whose module registers `limiters` of this kind, with metrics on `meterProvider`. */
    async function withLimits(meterProvider: MeterProvider, limiters: Record<string, object>, more: object = {}) {
      const app = await startContext({
        redis: client(),
        options: {
          keyPrefix: uniqueName('metrics'),
          metrics: { meterProvider },
          ...registered(rate, limiters),
          ...more,
        },
      });
      started.push(app);
      return (name: string) => app.get<RateLimiter>(rate.token(name));
    }

    it('counts 3 admitted and 2 refused (limit) requests of a limit of 3 through an HTTP route', async () => {
      const { meterProvider, collect, value } = meters();
      const app = await startHttpApp('express', {
        redis: client(),
        options: { keyPrefix: uniqueName('metrics'), metrics: { meterProvider } },
        controllers: [quoteController(rate)],
      });
      started.push(app);
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++)
        statuses.push((await request(app.getHttpServer()).get('/quote').set('x-api-key', SECRET)).status);
      expect(statuses).toEqual([200, 200, 200, 429, 429]);

      const requests = METRIC_NAMES.requests;
      expect(await value(requests, 'm-http', { 'limiters.result': 'admitted', 'limiters.kind': rate.kind })).toBe(3);
      expect(await value(requests, 'm-http', { 'limiters.result': 'refused', 'limiters.reason': 'limit' })).toBe(2);
      expect(await value(requests, 'm-http')).toBe(5);
      // The key is neither an attribute nor in one, as itself or as its hash.
      expect(keyIds.size).toBe(1);
      const attributes = JSON.stringify((await collect()).map((p) => p.attributes));
      expect(attributes).not.toContain(SECRET);
      for (const keyId of keyIds) expect(attributes).not.toContain(keyId);
    });

    it('records one wait duration, in seconds, per call that sleeps for its turn', async () => {
      const { meterProvider, value } = meters();
      const limits = await withLimits(meterProvider, { 'm-sleep': { ...rate.per(1, 100), maxSleep: 5_000 } });
      const limiter = limits('m-sleep');
      await limiter.take();
      const sleeping = [limiter.take(), limiter.take()];
      await sleep(20);
      expect(await value(METRIC_NAMES.queueWaiting, 'm-sleep')).toBe(2);
      await Promise.all(sleeping);
      await sleep(20);
      expect(await value(METRIC_NAMES.queueWaiting, 'm-sleep')).toBe(0);
      expect(await value(METRIC_NAMES.waitDuration, 'm-sleep')).toBe(2);
      expect(await value(METRIC_NAMES.requests, 'm-sleep', { 'limiters.result': 'admitted' })).toBe(3);
    });

    it('reports the tokens left in a registered limit at each collection', async () => {
      const { meterProvider, value } = meters();
      const limits = await withLimits(meterProvider, { 'm-left': { ...rate.per(5, 60_000), maxSleep: 0 } });
      expect(await value(METRIC_NAMES.tokensRemaining, 'm-left', { 'limiters.kind': rate.kind })).toBe(5);
      await limits('m-left').take(2);
      expect(await value(METRIC_NAMES.tokensRemaining, 'm-left')).toBe(3);
    });

    it('counts the would-be refusals of shadow mode as admitted with reason shadow, and refuses none', async () => {
      const { meterProvider, value } = meters();
      const limits = await withLimits(
        meterProvider,
        { 'm-shadow': { ...rate.per(2, 60_000), maxSleep: 0 } },
        { mode: 'shadow' },
      );
      const limiter = limits('m-shadow');
      for (let i = 0; i < 5; i++) await limiter.run(() => undefined);
      expect(await value(METRIC_NAMES.requests, 'm-shadow', { 'limiters.result': 'admitted' })).toBe(5);
      expect(await value(METRIC_NAMES.requests, 'm-shadow', { 'limiters.reason': 'shadow' })).toBe(3);
      expect(await value(METRIC_NAMES.requests, 'm-shadow', { 'limiters.result': 'refused' })).toBe(0);
    });
  });

  it('counts an app started and closed twice on one meter once per call, and unsubscribes when closed', async () => {
    const { meterProvider, value } = meters();
    const keyPrefix = uniqueName('metrics');
    for (let run = 0; run < 2; run++) {
      const app = await startContext({
        redis: client(),
        options: { keyPrefix, metrics: { meterProvider }, tokenBuckets: { 'm-twice': { capacity: 10, ...minute } } },
      });
      const limiters = app.get(LimitersService);
      await limiters.getTokenBucket('m-twice').take();
      // Still held when the app closes.
      await limiters.semaphore({ name: 'm-twice-sem', capacity: 2 }).acquire();
      await app.close();
    }
    expect(await value(METRIC_NAMES.requests, 'm-twice')).toBe(2);
    expect(await value(METRIC_NAMES.requests, 'm-twice-sem')).toBe(2);
    expect(await value(METRIC_NAMES.leasesActive, 'm-twice-sem')).toBe(0);
  });
});

describe('Metrics with Redis unreachable', () => {
  const started: INestApplicationContext[] = [];
  const afterEachClose: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const app of started.splice(0)) await app.close();
    for (const close of afterEachClose.splice(0)) await close();
  });

  async function upstream(whenRedisFails: 'reject' | 'allow', meterProvider: MeterProvider) {
    const redis = await unreachableRedis();
    const app = await startContext({
      redis,
      options: { whenRedisFails, metrics: { meterProvider }, defaults: { tokenBucket: { commandTimeout: 100 } } },
      providers: [Upstream],
    });
    started.push(app);
    return app.get(Upstream);
  }

  it('counts calls Redis could not check as refused with reason redis_unavailable', async () => {
    const { meterProvider, value } = meters();
    const service = await upstream('reject', meterProvider);
    for (let i = 0; i < 2; i++) await expect(service.call()).rejects.toThrow();
    expect(
      await value(METRIC_NAMES.requests, 'm-down', {
        'limiters.result': 'refused',
        'limiters.reason': 'redis_unavailable',
      }),
    ).toBe(2);
    expect(await value(METRIC_NAMES.requests, 'm-down')).toBe(2);
  });

  it('counts calls let through by whenRedisFails allow as admitted with reason redis_unavailable', async () => {
    const { meterProvider, value } = meters();
    const service = await upstream('allow', meterProvider);
    for (let i = 0; i < 3; i++) await expect(service.call()).resolves.toBe('ran');
    expect(
      await value(METRIC_NAMES.requests, 'm-down', {
        'limiters.result': 'admitted',
        'limiters.reason': 'redis_unavailable',
      }),
    ).toBe(3);
    expect(await value(METRIC_NAMES.requests, 'm-down')).toBe(3);
  });

  it('leaves a bucket Redis does not answer for out of a collection instead of hanging it', async () => {
    const { meterProvider, collect } = meters();
    // Accepts the connection and never answers: each state() call hangs until its own 5 s timeout.
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket.on('error', () => undefined));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const redis = new Redis({
      port: (silent.address() as AddressInfo).port,
      host: '127.0.0.1',
      enableReadyCheck: false,
      retryStrategy: () => null,
    });
    redis.on('error', () => undefined);
    afterEachClose.push(async () => {
      redis.disconnect();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    });
    const app = await startContext({
      redis,
      options: {
        metrics: { meterProvider, stateTimeoutMs: 200 },
        tokenBuckets: { 'm-silent': { capacity: 3, ...minute, commandTimeout: 5_000 } },
      },
    });
    started.push(app);
    await collect(); // the first collection also loads the SDK's code
    const startedAt = performance.now();
    const found = await collect();
    const tookMs = performance.now() - startedAt;
    expect(tookMs).toBeGreaterThanOrEqual(150);
    expect(tookMs).toBeLessThan(2_000);
    expect(found.filter((p) => p.metric === METRIC_NAMES.tokensRemaining)).toEqual([]);
  });
});

describe('Metrics off', () => {
  it('subscribes to no event channel, so events cost nothing', async () => {
    const app = await startContext({ options: { tokenBuckets: { 'm-off': { capacity: 2, ...minute } } } });
    try {
      await app.get(LimitersService).getTokenBucket('m-off').take();
      for (const channel of Object.values(CHANNEL_NAMES))
        expect(diagnosticsChannel.channel(channel).hasSubscribers).toBe(false);
    } finally {
      await app.close();
    }
  });

  it('leaves no subscriber behind once an app with metrics on has closed', async () => {
    const { meterProvider } = meters();
    const app = await startContext({ options: { metrics: { meterProvider } } });
    expect(diagnosticsChannel.channel(CHANNEL_NAMES.admit).hasSubscribers).toBe(true);
    await app.close();
    for (const channel of Object.values(CHANNEL_NAMES))
      expect(diagnosticsChannel.channel(channel).hasSubscribers).toBe(false);
  });

  it('fails the start on a metrics option that is neither a boolean nor an object of known options', async () => {
    await expect(startContext({ options: { metrics: 'yes' as never } })).rejects.toThrow(/metrics/);
    await expect(startContext({ options: { metrics: { meters: {} } as never } })).rejects.toThrow(/meters/);
  });

  it('loads @opentelemetry/api nowhere but lazily in the metrics provider (lib imports it only as a type)', () => {
    const lib = join(__dirname, '..', '..', '..', 'lib');
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((e) =>
        statSync(join(dir, e)).isDirectory() ? files(join(dir, e)) : e.endsWith('.ts') ? [join(dir, e)] : [],
      );
    const runtime = files(lib).filter((file) =>
      /^import\s+(?!type\s)[^;]*from\s+'@opentelemetry\//m.test(readFileSync(file, 'utf8')),
    );
    expect(runtime).toEqual([]);
  });
});

describe('recordLimiterMetrics without Nest', () => {
  it('records a core limiter’s calls with attributes the caller adds deliberately, until stopped', async () => {
    const { meterProvider, value } = meters();
    const stop = recordLimiterMetrics(meterProvider.getMeter('test'), {
      attributes: (event) => ({ 'app.key_id': event.keyId ?? 'none' }),
    });
    const { MemoryStore } = await import('../../../lib');
    const bucket = new TokenBucketLimiter(new MemoryStore(), { name: 'm-core', key: SECRET, capacity: 1, ...minute });
    await bucket.tryTake();
    await bucket.tryTake();
    stop();
    await bucket.tryTake();
    expect(await value(METRIC_NAMES.requests, 'm-core')).toBe(2);
    expect(
      await value(METRIC_NAMES.requests, 'm-core', {
        'app.key_id': bucket.identity.keyId,
        'limiters.result': 'refused',
      }),
    ).toBe(1);
  });
});
