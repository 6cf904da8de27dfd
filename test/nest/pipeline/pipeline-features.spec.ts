/**
 * What a team moving from @nestjs/throttler expects of the pipeline: skipping, class-level
 * limits, limits and keys worked out per call, refusals of service methods answered as
 * HTTP, and a start that fails on a mistake instead of limiting the wrong thing.
 */
import {
  Catch,
  Controller,
  Get,
  HttpException,
  Injectable,
  type ArgumentsHost,
  type ExceptionFilter,
  type INestApplication,
} from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import type { Request } from 'express';
import request from 'supertest';
import {
  InvalidOptionError,
  LimitExceededException,
  LimiterError,
  LimitersModule,
  MaxSleepExceededError,
  InjectSemaphore,
  InjectTokenBucket,
  FixedWindow,
  Semaphore,
  SemaphoreLimiter,
  SkipLimits,
  TokenBucket,
  TokenBucketLimiter,
  UnknownLimiterError,
} from '../../../lib';
import type { LimitedCallInfo } from '../../../lib';
import { useNestModules } from '../../harness/nest-modules';
import { targets, uniqueName, useClients, type RedisClient } from '../../harness/redis-targets';
import { eventsOfEachTest } from '../../harness/channel-events';
import { RATE_KINDS, secondsUpTo, type RateKind } from '../../harness/rate-kinds';
import { sleep } from '../../harness/timing';
import { adapters, startHttpApp, unreachableRedis, type AdapterName } from '../../harness/nest/limited-app';

const minute = { refillFrequency: 60_000, maxSleep: 0 } as const;

/** The caller's plan decides its limit; the lookup is async, as a database's would be. */
async function planLimit(req: Request): Promise<number> {
  await sleep(1);
  return req.headers['x-plan'] === 'pro' ? 4 : 1;
}

/** What the pipeline does alike for every rate kind, limited by `rate`'s decorator. */
function pipelineParts(rate: RateKind) {
  const limit = rate.decorator;
  const perMinute = (n: number) => ({ ...rate.per(n, 60_000), maxSleep: 0 });

  @Controller('skip')
  class SkippingController {
    @Get('limited')
    @limit({ name: 'skip-one', ...perMinute(1) })
    limited(): string {
      return 'limited';
    }

    @Get('skipped')
    @SkipLimits()
    @limit({ name: 'skip-two', ...perMinute(1) })
    skipped(): string {
      return 'skipped';
    }

    @Get('internal')
    @limit({ name: 'skip-three', ...perMinute(1), skip: (req: Request) => req.headers['x-internal'] === 'yes' })
    internal(): string {
      return 'internal';
    }
  }

  @Controller('plan')
  @limit({ name: 'plan-class', ...perMinute(2) })
  class ClassLevelController {
    @Get('a')
    a(): string {
      return 'a';
    }

    @Get('b')
    b(): string {
      return 'b';
    }

    /** Another rate for this handler: the class's is dropped by name, this one added. */
    @Get('own')
    @SkipLimits('plan-class')
    @limit({ name: 'plan-own', ...perMinute(5) })
    own(): string {
      return 'own';
    }

    @Get('skipped')
    @SkipLimits('plan-class')
    skipped(): string {
      return 'skipped';
    }
  }

  @Controller('dynamic')
  class DynamicController {
    @Get()
    @limit({
      name: 'dynamic-plan',
      ...perMinute(4),
      [rate.limitOption]: planLimit,
      key: async (req: Request) => {
        await sleep(1);
        return req.headers['x-user'] as string | undefined;
      },
      tokens: (req: Request) => Number(req.query.cost ?? 1),
    })
    search(): string {
      return 'ok';
    }
  }

  @Injectable()
  class ReportService {
    @limit({ name: 'reports', ...perMinute(1) })
    async render(): Promise<string> {
      return 'report';
    }
  }

  /** Not limited itself: it calls a limited service. */
  @Controller('reports')
  class ReportController {
    constructor(private readonly reports: ReportService) {}

    @Get()
    get(): Promise<string> {
      return this.reports.render();
    }
  }

  return { SkippingController, ClassLevelController, DynamicController, ReportService, ReportController };
}

const partsOf = new Map(RATE_KINDS.map((rate) => [rate, pipelineParts(rate)]));

@Injectable()
class ExportService {
  @Semaphore({ name: 'exports', capacity: 1, maxSleep: 0 })
  async run(ms: number): Promise<string> {
    await sleep(ms);
    return 'exported';
  }
}

@Controller('exports')
class ExportController {
  constructor(private readonly exports: ExportService) {}

  @Get()
  get(): Promise<string> {
    return this.exports.run(300);
  }
}

function pipelineApp(
  adapter: AdapterName,
  redis: RedisClient,
  rate: RateKind,
  options: object = {},
): Promise<INestApplication> {
  const { SkippingController, ClassLevelController, DynamicController, ReportController, ReportService } =
    partsOf.get(rate)!;
  return startHttpApp(adapter, {
    redis,
    options: { keyPrefix: uniqueName('pipeline'), ...options },
    controllers: [SkippingController, ClassLevelController, DynamicController, ReportController],
    providers: [ReportService],
  });
}

describe.each(targets)('The admission pipeline, $name Redis', (target) => {
  const { client } = useClients(target);
  const redis = client();

  describe.each(adapters)('%s', (adapter) => {
    describe.each(RATE_KINDS)('every rate kind: $text', (rate) => {
      let app: INestApplication;
      beforeAll(async () => {
        app = await pipelineApp(adapter, redis, rate, {
          skip: ({ request }: LimitedCallInfo) => request?.headers['x-health'] === 'probe',
        });
      });
      afterAll(() => app.close());
      const get = (path: string, headers: Record<string, string> = {}) =>
        request(app.getHttpServer()).get(path).set(headers);

      it("@SkipLimits() exempts a handler; a limit's skip exempts the calls it picks; the module skip exempts any call", async () => {
        expect((await get('/skip/limited')).status).toBe(200);
        expect((await get('/skip/limited')).status).toBe(429);
        expect((await get('/skip/limited', { 'x-health': 'probe' })).status).toBe(200);
        for (let i = 0; i < 3; i++) expect((await get('/skip/skipped')).status).toBe(200);
        expect((await get('/skip/internal')).status).toBe(200);
        for (let i = 0; i < 3; i++) expect((await get('/skip/internal', { 'x-internal': 'yes' })).status).toBe(200);
        expect((await get('/skip/internal')).status).toBe(429);
      });

      it('applies a class-level limit to every handler, shared; @SkipLimits(name) drops it for one handler', async () => {
        expect((await get('/plan/a')).status).toBe(200);
        expect((await get('/plan/b')).status).toBe(200);
        // One limit for the class: the third call, whichever handler, is refused.
        expect((await get('/plan/a')).status).toBe(429);
        const own = await get('/plan/own');
        expect(own.status).toBe(200);
        expect(own.headers['ratelimit-policy']).toBe('"plan-own";q=5;w=60');
        for (let i = 0; i < 3; i++) expect((await get('/plan/skipped')).status).toBe(200);
      });

      it('works out the limit, key and tokens per call, async where they are', async () => {
        const user = uniqueName('user');
        // A free plan has 1 token: one call, then 429.
        expect((await get('/dynamic', { 'x-user': `${user}-free` })).status).toBe(200);
        expect((await get('/dynamic', { 'x-user': `${user}-free` })).status).toBe(429);
        // A pro plan has 4: a call costing 3, then one costing 1, then nothing.
        const pro = { 'x-user': `${user}-pro`, 'x-plan': 'pro' };
        expect((await get('/dynamic?cost=3', pro)).headers['ratelimit']).toMatch(
          new RegExp(`^"dynamic-plan";r=1;t=${secondsUpTo(rate, 60, 60_000)}$`),
        );
        expect((await get('/dynamic', pro)).status).toBe(200);
        const refused = await get('/dynamic', pro);
        expect(refused.status).toBe(429);
        expect(refused.headers['ratelimit-policy']).toBe('"dynamic-plan";q=4;w=60');
      });

      it('answers a refused service method called from an unlimited handler with 429 and Retry-After, not 500', async () => {
        expect((await get('/reports')).text).toBe('report');
        const refused = await get('/reports');
        expect(refused.status).toBe(429);
        expect(refused.headers['retry-after']).toMatch(new RegExp(`^${secondsUpTo(rate, 59, 60_000)}$`));
        expect(refused.body).toMatchObject({ statusCode: 429, message: 'Rate limit "reports" exceeded.' });
      });
    });
  });

  describe.each(RATE_KINDS)('every rate kind: $text', (rate) => {
    const refusals = eventsOfEachTest('refuse');

    it('in shadow mode, refuses no request but reports each would-be refusal', async () => {
      const app = await pipelineApp('express', redis, rate, { mode: 'shadow' });
      try {
        const statuses = [];
        for (let i = 0; i < 3; i++) statuses.push((await request(app.getHttpServer()).get('/skip/limited')).status);
        expect(statuses).toEqual([200, 200, 200]);
        expect(refusals).toEqual([
          expect.objectContaining({ name: 'skip-one', kind: rate.kind, shadow: true, reason: 'limit' }),
          expect.objectContaining({ name: 'skip-one', kind: rate.kind, shadow: true, reason: 'limit' }),
        ]);
      } finally {
        await app.close();
      }
    });

    it('answers 503 for a service method whose Redis is away, and lets http.exceptionFactory shape the body', async () => {
      const { ReportController, ReportService } = partsOf.get(rate)!;
      const app = await startHttpApp('express', {
        redis: await unreachableRedis(),
        options: {
          keyPrefix: uniqueName('pipeline'),
          defaults: { [rate.defaultsKey]: { commandTimeout: 200 } },
          http: {
            exceptionFactory: (refused) =>
              new HttpException(
                { sorry: refused.limit, kind: refused.kind, why: refused.reason },
                refused.reason === 'limit' ? 429 : 503,
              ),
          },
        },
        controllers: [ReportController],
        providers: [ReportService],
      });
      try {
        const startedAt = performance.now();
        const answer = await request(app.getHttpServer()).get('/reports');
        expect(answer.status).toBe(503);
        expect(answer.body).toEqual({ sorry: 'reports', kind: rate.kind, why: 'redis-unavailable' });
        // The kind's defaults reached it: its commandTimeout, not the default one.
        expect(performance.now() - startedAt).toBeLessThan(1_500);
      } finally {
        await app.close();
      }
    });
  });

  it('answers a refused service semaphore as a concurrency limit, with the semaphore status and no Retry-After', async () => {
    const app = await startHttpApp('express', {
      redis,
      options: { keyPrefix: uniqueName('pipeline'), http: { semaphoreStatus: 503 } },
      controllers: [ExportController],
      providers: [ExportService],
    });
    try {
      // then() sends it: a supertest request waits for its first listener.
      const holding = request(app.getHttpServer())
        .get('/exports')
        .then((r) => r);
      await sleep(100);
      const refused = await request(app.getHttpServer()).get('/exports');
      expect(refused.status).toBe(503);
      expect(refused.body.message).toBe('Concurrency limit "exports" exceeded.');
      expect(refused.headers['retry-after']).toBeUndefined();
      expect((await holding).text).toBe('exported');
    } finally {
      await app.close();
    }
  });
});

/** An app's own filter for LimitExceededException, as a team shapes its error bodies. */
@Catch(LimitExceededException)
class OwnLimitFilter implements ExceptionFilter {
  catch(exception: LimitExceededException, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<{ status(s: number): { json(b: unknown): void } }>();
    response
      .status(exception.getStatus())
      .json({ limited: exception.limit, kind: exception.kind, retryAfterMs: exception.retryAfterMs });
  }
}

describe.each(RATE_KINDS)('LimitExceededException, every rate kind: $text', (rate) => {
  const { client } = useClients(targets[0]);
  const redis = client();

  it('is what a refused handler throws, and an app can @Catch it', async () => {
    const app = await startHttpApp('express', {
      redis,
      options: { keyPrefix: uniqueName('pipeline') },
      controllers: [partsOf.get(rate)!.SkippingController],
      providers: [{ provide: APP_FILTER, useClass: OwnLimitFilter }],
    });
    try {
      await request(app.getHttpServer()).get('/skip/limited').expect(200);
      const refused = await request(app.getHttpServer()).get('/skip/limited');
      expect(refused.status).toBe(429);
      expect(refused.body).toMatchObject({
        limited: 'skip-one',
        kind: rate.kind,
        retryAfterMs: expect.any(Number),
      });
      expect(refused.body.retryAfterMs).toBeGreaterThan(55_000);
    } finally {
      await app.close();
    }
  });
});

describe('Types of decorator options', () => {
  // Checked by the compiler: an unused @ts-expect-error is itself an error, so this file
  // stops compiling the day one of these mistakes type-checks.
  it('types a handler key and per-call options by the request type given, and refuses unknown options', () => {
    class Typed {
      // @ts-expect-error Express's Request has no `usr`.
      @TokenBucket<Request>({ capacity: 1, refillFrequency: 1_000, key: (req) => req.usr })
      misspeltField(): void {}

      // @ts-expect-error A capacity function must give a number.
      @TokenBucket<Request>({ capacity: (req) => req.headers['x-plan'], refillFrequency: 1_000 })
      wrongResult(): void {}

      @TokenBucket<Request>({
        capacity: async (req) => (req.header('x-plan') === 'pro' ? 10 : 1),
        refillFrequency: 1_000,
        key: (req) => req.ip,
      })
      typed(): void {}
    }
    void Typed;
    class TypedWindow {
      // @ts-expect-error A time zone function must give a string.
      @FixedWindow<Request>({ limit: 10, window: 'day', timezone: (req) => req.headers.length })
      wrongZone(): void {}

      // @ts-expect-error A window is ms or 'day', 'week' or 'month'.
      @FixedWindow({ limit: 10, window: 'year' })
      wrongPeriod(): void {}

      @FixedWindow<Request>({
        limit: async (req) => (req.header('x-plan') === 'pro' ? 10_000 : 1_000),
        window: 'month',
        timezone: (req) => req.header('x-tz') ?? 'UTC',
        key: (req) => req.ip,
      })
      typed(): void {}
    }
    void TypedWindow;
    // Never called: at run time the misspelt option throws as the class is defined (tested below).
    const misspelt = () => {
      class Misspelt {
        // @ts-expect-error refillAmmount is not an option.
        @TokenBucket({ capacity: 1, refillFrequency: 1_000, refillAmmount: 2 })
        call(): void {}
      }
      return Misspelt;
    };
    void misspelt;
  });
});

describe('A start that fails on a mistake', () => {
  const { client } = useClients(targets[0]);
  const redis = client();
  const nest = useNestModules();

  describe.each(RATE_KINDS)('every rate kind: $text', (rate) => {
    const limit = rate.decorator;
    const perMinute = (n: number) => ({ ...rate.per(n, 60_000), maxSleep: 0 });

    it('fails when one name is declared with different options, naming both places', async () => {
      @Injectable()
      class First {
        @limit({ name: 'shared-api', ...perMinute(5) })
        call(): void {}
      }
      @Injectable()
      class Second {
        @limit({ name: 'shared-api', ...perMinute(10) })
        call(): void {}
      }
      const failed = await nest
        .start({
          imports: [LimitersModule.forRoot({ redis, keyPrefix: uniqueName('strict') })],
          providers: [First, Second],
        })
        .catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(LimiterError);
      expect((failed as Error).message).toContain(`The ${rate.text} "shared-api" is declared with different options`);
      expect((failed as Error).message).toContain('First.call');
      expect((failed as Error).message).toContain('Second.call');
    });

    it('starts when one name is declared twice with the same options', async () => {
      @Injectable()
      class First {
        @limit({ name: 'same-api', ...perMinute(5) })
        call(): void {}
      }
      @Injectable()
      class Second {
        @limit({ name: 'same-api', ...perMinute(5) })
        call(): void {}
      }
      await nest.start({
        imports: [LimitersModule.forRoot({ redis, keyPrefix: uniqueName('strict') })],
        providers: [First, Second],
      });
    });

    it('refuses a misspelt decorator option when the class is defined, naming the nearest', () => {
      const { option, nearest } = rate.misspelt;
      const define = () => {
        class Misspelt {
          @limit({ ...perMinute(5), [option]: 2 })
          call(): void {}
        }
        return Misspelt;
      };
      expect(define).toThrow(InvalidOptionError);
      expect(define).toThrow(
        `Option "${option}" of limiter "Misspelt.call" is not an option (did you mean "${nearest}"?)`,
      );
    });

    it('refuses a service method refused by its limit with the limiter error itself', async () => {
      const { ReportService } = partsOf.get(rate)!;
      const app = await nest.start({
        imports: [LimitersModule.forRoot({ redis, keyPrefix: uniqueName('strict') })],
        providers: [ReportService],
      });
      const reports = app.get(ReportService);
      await reports.render();
      const refused = await reports.render().catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(MaxSleepExceededError);
      expect(refused).toMatchObject({ limiter: 'reports', kind: rate.kind });
    });
  });

  it('refuses a misspelt module option, naming the module and the nearest', () => {
    expect(() => LimitersModule.forRoot({ redis, whenRedisFail: 'allow' } as never)).not.toThrow();
    return expect(
      nest.start({ imports: [LimitersModule.forRoot({ redis, whenRedisFail: 'allow' } as never)] }),
    ).rejects.toThrow('Option "whenRedisFail" of LimitersModule is not an option (did you mean "whenRedisFails"?)');
  });

  it('refuses @SkipLimits naming no limit that applies, a typo that would leave the limit on', async () => {
    @Controller('typo')
    @TokenBucket({ name: 'orders', capacity: 5, ...minute })
    class TypoController {
      @Get()
      @SkipLimits('ordrs')
      list(): void {}
    }
    await expect(
      nest.start({
        imports: [LimitersModule.forRoot({ redis, keyPrefix: uniqueName('strict') })],
        controllers: [TypoController],
      }),
    ).rejects.toThrow(
      '@SkipLimits("ordrs") on TypoController.list names no limit that applies to it (its limits: "orders")',
    );
  });

  it('tells two per-call capacity functions of one name apart, and one function shared by both declarations as one rule', async () => {
    const byPlan = (plan: string) => (plan === 'pro' ? 10 : 2);
    @Injectable()
    class Shared {
      @TokenBucket({ name: 'plan-api', capacity: byPlan, ...minute })
      a(plan: string): string {
        return plan;
      }
      @TokenBucket({ name: 'plan-api', capacity: byPlan, ...minute })
      b(plan: string): string {
        return plan;
      }
    }
    await nest.start({
      imports: [LimitersModule.forRoot({ redis, keyPrefix: uniqueName('strict') })],
      providers: [Shared],
    });
    @Injectable()
    class Different {
      @TokenBucket({ name: 'plan-api', capacity: byPlan, ...minute })
      a(plan: string): string {
        return plan;
      }
      @TokenBucket({ name: 'plan-api', capacity: (plan: string) => (plan === 'pro' ? 20 : 2), ...minute })
      b(plan: string): string {
        return plan;
      }
    }
    await expect(
      nest.start({
        imports: [LimitersModule.forRoot({ redis, keyPrefix: uniqueName('strict') })],
        providers: [Different],
      }),
    ).rejects.toThrow('"plan-api" is declared with different options on Different.a and on Different.b');
  });

  it('injects a limiter of forRootAsync options without `injectable`, and names what to add for one nobody declares', async () => {
    @Injectable()
    class GithubClient {
      constructor(@InjectTokenBucket('github-async') readonly bucket: TokenBucketLimiter) {}
    }
    const keyPrefix = uniqueName('strict');
    const app = await nest.start({
      imports: [
        LimitersModule.forRootAsync({
          useFactory: () => ({
            redis,
            keyPrefix,
            tokenBuckets: { 'github-async': { capacity: 2, refillFrequency: 1_000 } },
          }),
        }),
      ],
      providers: [GithubClient],
    });
    await expect(app.get(GithubClient).bucket.tryTake()).resolves.toMatchObject({ allowed: true, remaining: 1 });

    @Injectable()
    class Forgotten {
      constructor(@InjectSemaphore('never-declared') readonly semaphore: SemaphoreLimiter) {}
    }
    const failed = await nest
      .start({
        imports: [LimitersModule.forRootAsync({ useFactory: () => ({ redis, keyPrefix }) })],
        providers: [Forgotten],
      })
      .catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(UnknownLimiterError);
    expect((failed as Error).message).toContain('No semaphore is registered as "never-declared"');
    expect((failed as Error).message).toContain('with forRootAsync: in the options its factory returns');
  });

  it('refuses a limit on the class of a plain service, which has no handlers', async () => {
    @Injectable()
    @Semaphore({ capacity: 1 })
    class PlainService {
      call(): void {}
    }
    await expect(
      nest.start({
        imports: [LimitersModule.forRoot({ redis, keyPrefix: uniqueName('strict') })],
        providers: [PlainService],
      }),
    ).rejects.toThrow('PlainService, a provider that is not a controller, resolver or gateway');
  });
});

describe("A calendar window in each caller's time zone", () => {
  const { client } = useClients(targets[0]);
  const redis = client();
  const nest = useNestModules();
  const DAY_MS = 86_400_000;
  /** Zones without daylight saving, so their midnight is a fixed offset from UTC's. */
  const zones = { 'Pacific/Kiritimati': 14, 'Pacific/Pago_Pago': -11 } as const;

  @Controller('daily')
  class DailyController {
    @Get()
    @FixedWindow<Request>({
      name: 'daily-per-zone',
      limit: 2,
      window: 'day',
      timezone: (req) => req.headers['x-tz'] as string,
      key: (req) => req.headers['x-customer'] as string,
      maxSleep: 0,
    })
    get(): string {
      return 'ok';
    }
  }

  it('ends each customer’s day at midnight of its own time zone, worked out per call', async () => {
    const app = await startHttpApp('express', {
      redis,
      options: { keyPrefix: uniqueName('zones') },
      controllers: [DailyController],
    });
    try {
      for (const [zone, offsetHours] of Object.entries(zones)) {
        const get = () =>
          request(app.getHttpServer())
            .get('/daily')
            .set({ 'x-tz': zone, 'x-customer': `customer in ${zone}` });
        const first = await get();
        // Whole seconds until local midnight, read after the answer: t lies within a second of it.
        const local = Date.now() + offsetHours * 3_600_000;
        const toMidnight = Math.ceil((DAY_MS - (local % DAY_MS)) / 1_000);
        const t = Number(/^"daily-per-zone";r=1;t=(\d+)$/.exec(first.headers['ratelimit'])?.[1]);
        expect({ zone, t }).toEqual({ zone, t: expect.any(Number) });
        expect(Math.abs(t - toMidnight)).toBeLessThanOrEqual(1);
        expect(first.headers['ratelimit-policy']).toBe('"daily-per-zone";q=2');
        expect((await get()).status).toBe(200);
        expect((await get()).status).toBe(429);
      }
    } finally {
      await app.close();
    }
  });

  it('fails the start on a time zone of the call beside a window of a length, and on an unknown zone', async () => {
    @Injectable()
    class Lengthy {
      @FixedWindow({ name: 'lengthy', limit: 2, window: 60_000, timezone: (zone: string) => zone })
      call(zone: string): string {
        return zone;
      }
    }
    await expect(
      nest.start({
        imports: [LimitersModule.forRoot({ redis, keyPrefix: uniqueName('zones') })],
        providers: [Lengthy],
      }),
    ).rejects.toThrow('Option "timezone" of limiter "lengthy" applies only to calendar windows');
    @Injectable()
    class Unknown {
      @FixedWindow({ name: 'unknown-zone', limit: 2, window: 'month', timezone: 'Mars/Olympus_Mons' })
      call(): void {}
    }
    await expect(
      nest.start({
        imports: [LimitersModule.forRoot({ redis, keyPrefix: uniqueName('zones') })],
        providers: [Unknown],
      }),
    ).rejects.toThrow('Option "timezone" of limiter "unknown-zone" must be an IANA time zone name');
  });
});
