import { Readable } from 'node:stream';
import {
  Controller,
  Get,
  Headers,
  Injectable,
  Param,
  ParseIntPipe,
  StreamableFile,
  UseGuards,
  type PipeTransform,
  type Type,
} from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { TokenBucketLimiter } from '../../../lib';
import { Semaphore } from '../../../lib/nest/decorators/semaphore.decorator';
import { FixedWindow } from '../../../lib/nest/decorators/fixed-window.decorator';
import { TokenBucket } from '../../../lib/nest/decorators/token-bucket.decorator';
import { TokenBucketGuard } from '../../../lib/nest/transport/token-bucket.guard';
import type { LimitersModuleOptions } from '../../../lib/nest/limiters-options.interface';
import { LimitersService } from '../../../lib/nest/limiters.service';
import { targets, uniqueName, useClients, type RedisClient } from '../../harness/redis-targets';
import { eventsOfEachTest } from '../../harness/channel-events';
import { closeClient } from '../../harness/connect';
import { countingStore } from '../../harness/counting-store';
import { RATE_KINDS, secondsUpTo, type RateKind } from '../../harness/rate-kinds';
import { sleep, waitUntil } from '../../harness/timing';
import { adapters, InFlight, startHttpApp, unreachableRedis, type AdapterName } from '../../harness/nest/limited-app';

/** Shared by the controllers and the tests: what really ran, counted outside any limiter. */
const counters = {
  reports: new InFlight(),
  searches: 0,
  pipes: 0,
  uploads: new InFlight(),
  downloads: new InFlight(),
  queuedRuns: 0,
  pacedRuns: 0,
};

/** A body sent in 5 chunks over about 300 ms, counted in `downloads` while it is being sent. */
function slowBody(): Readable {
  let sent = 0;
  counters.downloads.enter();
  return new Readable({
    read() {
      setTimeout(() => {
        sent += 1;
        this.push(sent <= 5 ? `chunk ${sent}\n` : null);
        if (sent > 5) counters.downloads.leave();
      }, 60);
    },
  });
}

@Injectable()
class CountingPipe implements PipeTransform {
  transform(value: unknown) {
    counters.pipes += 1;
    return value;
  }
}

const apiKey = (req: { headers: Record<string, string | undefined> }) => req.headers['x-api-key'];

@Controller()
class LimitedController {
  @Get('report')
  @Semaphore({ name: 'reports', capacity: 3 })
  async report(): Promise<{ ok: true }> {
    await counters.reports.during(150);
    return { ok: true };
  }

  @Get('busy/:ms')
  @Semaphore({ name: 'busy', capacity: 1, maxSleep: 0 })
  async busy(@Param('ms', ParseIntPipe) ms: number): Promise<string> {
    await sleep(ms);
    return 'done';
  }

  @Get('phase')
  @TokenBucket({ name: 'phase', capacity: 3, refillFrequency: 2_000, maxSleep: 0 })
  phase(): string {
    return 'ok';
  }

  // One at a time; the others queue for up to 5 s.
  @Get('queued/:ms')
  @Semaphore({ name: 'queued', capacity: 1, maxSleep: 5_000 })
  async queued(@Param('ms', ParseIntPipe) ms: number): Promise<string> {
    counters.queuedRuns += 1;
    await sleep(ms);
    return 'done';
  }

  // The handler returns at once; the answer takes ~300 ms to send.
  @Get('download')
  @Semaphore({ name: 'downloads', capacity: 1, maxSleep: 0 })
  download(): StreamableFile {
    return new StreamableFile(slowBody());
  }

  @Get('down')
  @TokenBucket({ name: 'down', capacity: 5, refillFrequency: 1_000, commandTimeout: 200 })
  @Semaphore({ name: 'down', capacity: 1, commandTimeout: 200 })
  down(): string {
    return 'ran';
  }
}

/**
 * The routes of what every rate kind does over HTTP, limited by `rate`'s decorator: its
 * answers and fields, per key, under the guard, beside a semaphore, waiting for its turn.
 */
function rateController(rate: RateKind): Type {
  const limit = rate.decorator;
  @Controller('rate')
  class RateController {
    @Get('search')
    @limit({ name: 'search', ...rate.per(3, 1_000), maxSleep: 0 })
    search(): string {
      counters.searches += 1;
      return 'found';
    }

    // One every 2 s; a request may wait up to 3 s for its turn.
    @Get('smoothed')
    @limit({ name: 'smoothed', ...rate.per(1, 2_000), maxSleep: 3_000 })
    smoothed(): string {
      return 'ok';
    }

    @Get('per-key')
    @limit({ name: 'per-key', ...rate.per(2, 60_000), maxSleep: 0, key: apiKey })
    perKey(@Headers('x-api-key') key: string): string {
      return `hello ${key}`;
    }

    @Get('guarded/:id')
    @UseGuards(TokenBucketGuard)
    @limit({ name: 'guarded', ...rate.per(2, 60_000), maxSleep: 0 })
    guarded(@Param('id', CountingPipe) id: string): string {
      counters.searches += 1;
      return id;
    }

    // 4 uploads a minute, 2 at a time.
    @Get('upload')
    @limit({ name: 'uploads', ...rate.per(4, 60_000), maxSleep: 0 })
    @Semaphore({ name: 'uploads', capacity: 2 })
    async upload(): Promise<string> {
      await counters.uploads.during(100);
      return 'stored';
    }

    // A burst of 2 within a sustained 3 a minute.
    @Get('two-rates')
    @limit({ name: 'burst', ...rate.per(2, 60_000), maxSleep: 0 })
    @limit({ name: 'sustained', ...rate.per(3, 60_000), maxSleep: 0 })
    twoRates(): string {
      counters.searches += 1;
      return 'ok';
    }

    // One a second; the others wait for their turn, up to 3 s.
    @Get('paced')
    @limit({ name: 'paced', ...rate.per(1, 1_000), maxSleep: 3_000 })
    paced(): string {
      counters.pacedRuns += 1;
      return 'ok';
    }
  }
  return RateController;
}

const rateControllers = new Map(RATE_KINDS.map((rate) => [rate, rateController(rate)]));

/** A fixed window of a calendar day: its length differs from day to day (23 or 25 hours at DST changes). */
@Controller('calendar')
class CalendarController {
  @Get('daily')
  @FixedWindow({ name: 'daily', limit: 5, window: 'day', maxSleep: 0 })
  daily(): string {
    return 'ok';
  }
}

async function withApp(
  adapter: AdapterName,
  redis: RedisClient,
  options: Omit<LimitersModuleOptions, 'redis'>,
  test: (app: INestApplication) => Promise<void>,
  controllers: Type[] = [],
): Promise<void> {
  const app = await startHttpApp(adapter, {
    redis,
    controllers: [LimitedController, ...controllers],
    providers: [CountingPipe],
    options,
  });
  try {
    await test(app);
  } finally {
    await app.close();
  }
}

/** Starts a request that holds the one slot of `busy` for 400 ms; resolves once it holds it. */
async function holdBusySlot(app: INestApplication): Promise<{ holding: Promise<request.Response> }> {
  // supertest sends nothing until awaited: then() starts the request now.
  const holding = request(app.getHttpServer())
    .get('/busy/400')
    .then((r) => r);
  const busy = app.get(LimitersService).semaphore({ name: 'busy', capacity: 1 });
  await waitUntil('a request holds the busy slot', async () => (await busy.state()).holders.length === 1);
  // Wrapped: an async function returning the promise itself would wait for the response.
  return { holding };
}

/** Starts a request whose client will leave: leave() aborts it and resolves with how it ended. */
function requestThatLeaves(app: INestApplication, path: string): { leave(): Promise<string> } {
  const sent = request(app.getHttpServer()).get(path);
  // then() sends it now; supertest sends nothing until then.
  const ended = sent.then(
    () => 'answered',
    () => 'aborted',
  );
  return {
    leave: () => {
      sent.abort();
      return ended;
    },
  };
}

describe.each(targets)('Limits on controllers, $name Redis', (target) => {
  const { client } = useClients(target);
  const redis = client();

  describe.each(adapters)('%s', (adapter) => {
    // Each app has its own key prefix, so no test sees another's Redis state.
    const run = (test: (app: INestApplication) => Promise<void>, options: Omit<LimitersModuleOptions, 'redis'> = {}) =>
      withApp(adapter, redis, { keyPrefix: uniqueName('http'), ...options }, test);

    beforeEach(() => {
      counters.reports = new InFlight();
      counters.uploads = new InFlight();
      counters.downloads = new InFlight();
      counters.queuedRuns = 0;
      counters.pacedRuns = 0;
      counters.searches = 0;
      counters.pipes = 0;
    });

    it('never runs more than capacity requests of a handler at once', () =>
      run(async (app) => {
        const responses = await Promise.all(
          Array.from({ length: 12 }, () => request(app.getHttpServer()).get('/report')),
        );
        expect(responses.map((r) => r.status)).toEqual(Array(12).fill(200));
        expect(counters.reports.finished).toBe(12);
        expect(counters.reports.peak).toBe(3);
        expect(responses[0].headers['ratelimit-policy']).toBe('"reports";q=3;qu="concurrent-requests"');
      }));

    it('answers 429 without Retry-After when no slot frees up within maxSleep', () =>
      run(async (app) => {
        const { holding } = await holdBusySlot(app);
        const refused = await request(app.getHttpServer()).get('/busy/0');
        expect(refused.status).toBe(429);
        expect(refused.body).toMatchObject({ statusCode: 429, error: 'Too Many Requests' });
        expect(refused.headers['retry-after']).toBeUndefined();
        expect((await holding).status).toBe(200);
      }));

    it('holds the slot until a streamed answer is sent, not only until the handler returns', () =>
      run(async (app) => {
        const server = app.getHttpServer();
        const first = request(server)
          .get('/download')
          .then((r) => r);
        await waitUntil('the first answer is being sent', () => counters.downloads.now === 1);
        const whileSending = await request(server).get('/download');
        expect(whileSending.status).toBe(429);
        expect(counters.downloads.now).toBe(1); // the first was still being sent when refused
        const sent = await first;
        expect(sent.status).toBe(200);
        expect(String(sent.text ?? sent.body)).toContain('chunk 5');
        await waitUntil(
          'the slot is free',
          async () =>
            (await app.get(LimitersService).semaphore({ name: 'downloads', capacity: 1 }).state()).holders.length === 0,
        );
        expect((await request(server).get('/download')).status).toBe(200);
        expect(counters.downloads.peak).toBe(1);
      }));

    const cancels = eventsOfEachTest('cancel');

    it('takes a request whose client left out of the queue, and never runs its handler', () =>
      run(async (app) => {
        const server = app.getHttpServer();
        const queue = app.get(LimitersService).semaphore({ name: 'queued', capacity: 1 });
        const holding = request(server)
          .get('/queued/800')
          .then((r) => r);
        await waitUntil('the first request runs', () => counters.queuedRuns === 1);
        const leaving = requestThatLeaves(app, '/queued/0');
        await waitUntil('the second request queues', async () => (await queue.state()).waiters.length === 1);
        expect(await leaving.leave()).toBe('aborted');
        // Well before the first one ends and would have handed it the slot.
        await waitUntil('the queue is empty', async () => (await queue.state()).waiters.length === 0, 500);
        // Its wait ends with a cancel, so the queue gauge and the board do not keep counting it
        // (published once the cancel's reply is read, which may be after the queue looks empty).
        await waitUntil('its cancel is published', () => cancels.length > 0);
        expect(cancels).toEqual([expect.objectContaining({ name: 'queued', kind: 'semaphore', permits: 1 })]);
        expect((await holding).status).toBe(200);
        await sleep(100);
        expect(counters.queuedRuns).toBe(1);
        expect((await queue.state()).holders).toEqual([]);
      }));

    it('keeps the slot of a request whose client left until its handler is done', () =>
      run(async (app) => {
        const server = app.getHttpServer();
        const busy = app.get(LimitersService).semaphore({ name: 'busy', capacity: 1 });
        const leaving = requestThatLeaves(app, '/busy/600');
        await waitUntil('the request holds the slot', async () => (await busy.state()).holders.length === 1);
        expect(await leaving.leave()).toBe('aborted');
        await sleep(100);
        // Its handler is still running, so the slot is still taken.
        expect((await request(server).get('/busy/0')).status).toBe(429);
        await waitUntil('the slot is free', async () => (await busy.state()).holders.length === 0);
        expect((await request(server).get('/busy/0')).status).toBe(200);
      }));

    it('answers with the semaphore status configured in http options', () =>
      run(
        async (app) => {
          const { holding } = await holdBusySlot(app);
          expect((await request(app.getHttpServer()).get('/busy/0')).status).toBe(503);
          await holding;
        },
        { http: { semaphoreStatus: 503 } },
      ));

    it('tells in RateLimit what the bucket holds and when the next refill lands, not when it is full', () =>
      run(async (app) => {
        const server = app.getHttpServer();
        const bucket = app.get(LimitersService).tokenBucket({ name: 'phase', capacity: 3, refillFrequency: 2_000 });
        // The fields come from the take itself, not from a second call.
        const reads = jest.spyOn(TokenBucketLimiter.prototype, 'state');
        const first = await request(server).get('/phase');
        expect(first.headers['ratelimit']).toBe('"phase";r=2;t=2');
        // Mid-period: the next refill is under a second away, while the bucket is full only in ~2.8 s.
        await sleep(1_200);
        const second = await request(server).get('/phase');
        expect(reads).not.toHaveBeenCalled();
        reads.mockRestore();
        const state = await bucket.state();
        expect(second.headers['ratelimit']).toBe(
          `"phase";r=${state.tokens};t=${Math.ceil(state.nextRefillIn / 1_000)}`,
        );
        expect(second.headers['ratelimit']).toBe('"phase";r=1;t=1');
      }));

    describe.each(RATE_KINDS)('every rate kind: $text', (rate) => {
      const runRate = (
        test: (app: INestApplication) => Promise<void>,
        options: Omit<LimitersModuleOptions, 'redis'> = {},
      ) => withApp(adapter, redis, { keyPrefix: uniqueName('http'), ...options }, test, [rateControllers.get(rate)!]);
      /** The app's limit `name` with options `options`, read on its own limiter: tokens it could take now. */
      const remainingOf = (app: INestApplication, options: { name: string } & Record<string, unknown>) =>
        rate.remaining(rate.limiter(redis, { ...options, keyPrefix: app.get(LimitersService).options.keyPrefix }));

      it('answers 429 with Retry-After and RateLimit fields once the limit is spent, and admits again after its period', () =>
        runRate(async (app) => {
          const server = app.getHttpServer();
          for (const remaining of [2, 1, 0]) {
            const ok = await request(server).get('/rate/search');
            expect(ok.status).toBe(200);
            expect(ok.headers['ratelimit-policy']).toBe('"search";q=3;w=1');
            expect(ok.headers['ratelimit']).toMatch(
              new RegExp(`^"search";r=${remaining};t=${secondsUpTo(rate, 0, 1_000)}$`),
            );
          }
          const refused = await request(server).get('/rate/search');
          expect(refused.status).toBe(429);
          expect(refused.body).toMatchObject({ statusCode: 429, message: 'Rate limit "search" exceeded.' });
          const oneSecond = secondsUpTo(rate, 1, 1_000);
          expect(refused.headers['retry-after']).toMatch(new RegExp(`^${oneSecond}$`));
          expect(refused.headers['ratelimit']).toMatch(new RegExp(`^"search";r=0;t=${oneSecond}$`));
          expect(refused.headers['ratelimit-policy']).toBe('"search";q=3;w=1');
          expect(counters.searches).toBe(3);
          await sleep(1_100);
          expect((await request(server).get('/rate/search')).status).toBe(200);
          expect(counters.searches).toBe(4);
        }));

      it('answers its refusals with the status configured for its kind in http options', () =>
        runRate(
          async (app) => {
            const server = app.getHttpServer();
            for (let i = 0; i < 3; i++) expect((await request(server).get('/rate/search')).status).toBe(200);
            const refused = await request(server).get('/rate/search');
            expect(refused.status).toBe(503);
            expect(refused.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
            expect(refused.headers['retry-after']).toMatch(new RegExp(`^${secondsUpTo(rate, 1, 1_000)}$`));
          },
          { http: { [rate.statusOption]: 503 } },
        ));

      it('answers a refused call again from the refusal cache, without asking the store', async () => {
        const store = countingStore(redis);
        const app = await startHttpApp(adapter, {
          options: { store, keyPrefix: uniqueName('http') },
          controllers: [rateControllers.get(rate)!],
          providers: [CountingPipe],
        });
        try {
          const server = app.getHttpServer();
          for (let i = 0; i < 3; i++) expect((await request(server).get('/rate/search')).status).toBe(200);
          expect((await request(server).get('/rate/search')).status).toBe(429);
          const asked = store.takes;
          for (let i = 0; i < 3; i++) {
            const again = await request(server).get('/rate/search');
            expect(again.status).toBe(429);
            expect(again.headers['retry-after']).toMatch(new RegExp(`^${secondsUpTo(rate, 1, 1_000)}$`));
          }
          expect(store.takes).toBe(asked);
          expect(counters.searches).toBe(3);
        } finally {
          await app.close();
        }
      });

      it('never runs the handler of a request whose client left while it waited for its turn', () =>
        runRate(async (app) => {
          const server = app.getHttpServer();
          expect((await request(server).get('/rate/paced')).status).toBe(200);
          const startedAt = performance.now();
          const leaving = requestThatLeaves(app, '/rate/paced');
          await sleep(200);
          expect(await leaving.leave()).toBe('aborted');
          await waitUntil('its wait ends', () => cancels.length > 0);
          expect(cancels).toEqual([expect.objectContaining({ kind: rate.kind, tokens: 1 })]);
          // Past the turn it was given (under 1 s after the first request).
          await sleep(1_300 - (performance.now() - startedAt));
          expect(counters.pacedRuns).toBe(1);
          // The turn it reserved is spent: the next request waits for the one after.
          const next = await request(server).get('/rate/paced');
          expect(next.status).toBe(200);
          expect(counters.pacedRuns).toBe(2);
        }));

      it('tells a request that waited for its turn that nothing is left until the period after it', () =>
        runRate(async (app) => {
          const server = app.getHttpServer();
          const twoSeconds = new RegExp(`^"smoothed";r=0;t=${secondsUpTo(rate, 2, 2_000)}$`);
          expect((await request(server).get('/rate/smoothed')).headers['ratelimit']).toMatch(twoSeconds);
          await sleep(1_000);
          // Reserved for the next period ~1 s away, and admitted then: more comes a whole period later.
          const startedAt = performance.now();
          const waited = await request(server).get('/rate/smoothed');
          expect(waited.status).toBe(200);
          expect(performance.now() - startedAt).toBeGreaterThan(500);
          expect(waited.headers['ratelimit-policy']).toBe('"smoothed";q=1;w=2');
          expect(waited.headers['ratelimit']).toMatch(twoSeconds);
        }));

      it('takes from each of two limits, with the fields of both, and answers for the one that refuses', () =>
        runRate(async (app) => {
          const server = app.getHttpServer();
          const policies = '"burst";q=2;w=60, "sustained";q=3;w=60';
          const first = await request(server).get('/rate/two-rates');
          expect(first.headers['ratelimit-policy']).toBe(policies);
          // t: whole seconds until the period ends, 60 unless a busy machine let a second pass.
          const minute = secondsUpTo(rate, 59, 60_000);
          expect(first.headers['ratelimit']).toMatch(
            new RegExp(`^"burst";r=1;t=${minute}, "sustained";r=2;t=${minute}$`),
          );
          const second = await request(server).get('/rate/two-rates');
          expect(second.headers['ratelimit']).toMatch(
            new RegExp(`^"burst";r=0;t=${minute}, "sustained";r=1;t=${minute}$`),
          );
          const refused = await request(server).get('/rate/two-rates');
          expect(refused.status).toBe(429);
          expect(refused.body.message).toContain('"burst"');
          expect(refused.headers['retry-after']).toMatch(new RegExp(`^${minute}$`));
          expect(refused.headers['ratelimit-policy']).toBe(policies);
          expect(refused.headers['ratelimit']).toMatch(new RegExp(`^"burst";r=0;t=${minute}$`));
          expect(counters.searches).toBe(2);
          // The burst refused before the sustained limit was asked: it still has its last token.
          expect(await remainingOf(app, { name: 'sustained', ...rate.per(3, 60_000) })).toBe(1);
        }));

      it('gives each API key its own limit, and names only the policy in headers', () =>
        runRate(async (app) => {
          const server = app.getHttpServer();
          const get = (key: string) => request(server).get('/rate/per-key').set('x-api-key', key);
          expect((await get('key-a')).status).toBe(200);
          expect((await get('key-a')).status).toBe(200);
          const refused = await get('key-a');
          expect(refused.status).toBe(429);
          expect(JSON.stringify(refused.headers) + JSON.stringify(refused.body)).not.toContain('key-a');
          expect((await get('key-b')).status).toBe(200);
          expect((await get('key-b')).status).toBe(200);
          expect((await get('key-b')).status).toBe(429);
        }));

      it('with TokenBucketGuard, refuses before pipes and the handler run, and takes one token per request', () =>
        runRate(async (app) => {
          const server = app.getHttpServer();
          // Two tokens, two requests: the interceptor must not take a second token for either.
          expect((await request(server).get('/rate/guarded/1')).status).toBe(200);
          expect((await request(server).get('/rate/guarded/2')).status).toBe(200);
          const refused = await request(server).get('/rate/guarded/3');
          expect(refused.status).toBe(429);
          expect(refused.headers['retry-after']).toMatch(new RegExp(`^${secondsUpTo(rate, 59, 60_000)}$`));
          expect(counters.searches).toBe(2);
          expect(counters.pipes).toBe(2);
        }));

      it('applies a rate limit and a semaphore on one handler together', () =>
        runRate(async (app) => {
          const responses = await Promise.all(
            Array.from({ length: 6 }, () => request(app.getHttpServer()).get('/rate/upload')),
          );
          const statuses = responses.map((r) => r.status).sort();
          expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
          // Both policies in one list field, the rate's first as it is applied first.
          const admitted = responses.find((r) => r.status === 200)!;
          expect(admitted.headers['ratelimit-policy']).toBe(
            '"uploads";q=4;w=60, "uploads";q=2;qu="concurrent-requests"',
          );
          expect(counters.uploads.peak).toBe(2);
          expect(counters.uploads.finished).toBe(4);
        }));
    });

    it("states a calendar window's policy without w, its length varying, and tells in t when the day ends", () =>
      withApp(
        adapter,
        redis,
        { keyPrefix: uniqueName('http') },
        async (app) => {
          const answer = await request(app.getHttpServer()).get('/calendar/daily');
          expect(answer.status).toBe(200);
          expect(answer.headers['ratelimit-policy']).toBe('"daily";q=5');
          // The day in UTC ends at the next midnight; read before and after, the answer lies between.
          const toMidnight = () => Math.ceil((86_400_000 - (Date.now() % 86_400_000)) / 1_000);
          const after = toMidnight();
          const t = Number(/^"daily";r=4;t=(\d+)$/.exec(answer.headers['ratelimit'])?.[1]);
          expect(t).toBeGreaterThanOrEqual(after - 1);
          expect(t).toBeLessThanOrEqual(after + 1);
        },
        [CalendarController],
      ));
  });
});

describe.each(adapters)('Limits on controllers when Redis is unreachable, %s', (adapter) => {
  it('answers 503 by default, without running the handler', async () => {
    const redis = await unreachableRedis();
    await withApp(adapter, redis, {}, async (app) => {
      const response = await request(app.getHttpServer()).get('/down');
      expect(response.status).toBe(503);
      expect(response.text).not.toContain('ran');
    });
    await closeClient(redis);
  });

  it("runs the handler unlimited with whenRedisFails: 'allow'", async () => {
    const redis = await unreachableRedis();
    await withApp(adapter, redis, { whenRedisFails: 'allow' }, async (app) => {
      const response = await request(app.getHttpServer()).get('/down');
      expect(response.status).toBe(200);
      expect(response.text).toBe('ran');
    });
    await closeClient(redis);
  });
});
