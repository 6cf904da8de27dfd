import { Controller, Get, Injectable, Module } from '@nestjs/common';
import {
  InjectSemaphore,
  InjectTokenBucket,
  InvalidOptionError,
  LimitersModule,
  LimitersService,
  MemoryStore,
  RedisUnavailableError,
  Semaphore,
  SemaphoreLimiter,
  TokenBucket,
  TokenBucketLimiter,
  UnknownLimiterError,
  type LimitersModuleOptions,
  type RateLimiter,
} from '../../lib';
import { DEFAULT_KEY_SECRET, keyIdOf } from '../../lib/core/key-segments';
import { limiterKey } from '../../lib/store/redis/keys';
import { ENV_REDIS_URL } from '../harness/connect';
import { useNestModules } from '../harness/nest-modules';
import { RATE_KINDS, registered } from '../harness/rate-kinds';
import { clientTargets, pingClient, uniqueName, useLimiterClients, type RedisClient } from '../harness/redis-targets';
import { sleep, waitUntil } from '../harness/timing';

const HOUR = 3_600_000;

/** Uses the limiters the way an app would: injected by name. */
@Injectable()
class Jobs {
  constructor(
    @InjectSemaphore('exports') readonly exports: SemaphoreLimiter,
    @InjectTokenBucket('github') readonly github: TokenBucketLimiter,
  ) {}
}

/** A feature module seeing LimitersService only if LimitersModule is global. */
@Injectable()
class NeedsService {
  constructor(readonly limiters: LimitersService) {}
}
@Module({ providers: [NeedsService] })
class ServiceConsumerModule {}

const limiterOptions = (): Pick<LimitersModuleOptions, 'semaphores' | 'tokenBuckets'> => ({
  semaphores: { exports: { name: uniqueName('exports'), capacity: 1 } },
  tokenBuckets: { github: { name: uniqueName('github'), capacity: 1, refillFrequency: HOUR } },
});

async function expectWorking(jobs: Jobs): Promise<void> {
  const permit = await jobs.exports.tryAcquire();
  expect(permit).not.toBeNull();
  expect(await jobs.exports.tryAcquire()).toBeNull();
  await permit!.release();
  expect((await jobs.github.tryTake()).allowed).toBe(true);
  expect((await jobs.github.tryTake()).allowed).toBe(false);
}

/** Limits that are wrong before any call: each must fail the application's start. */
@Injectable()
class TypoJobs {
  @Semaphore('exprots')
  async run(): Promise<void> {}
}

@Injectable()
class NegativeWaitJobs {
  @Semaphore('exports', { maxSleep: -1 })
  async run(): Promise<void> {}
}

@Injectable()
class GreedyJobs {
  @TokenBucket('search', { tokens: 2 })
  async run(): Promise<void> {}
}

@Injectable()
class KeyTypoJobs {
  @Semaphore('exports', { key: 'tenant' as never })
  async run(): Promise<void> {}
}

@Injectable()
class LateRegistration {
  constructor(private readonly limiters: LimitersService) {}

  onModuleInit(): void {
    this.limiters.registerSemaphore('late', { capacity: 1 });
  }
}

@Injectable()
class LateJobs {
  @Semaphore('late')
  async run(): Promise<string> {
    return 'ran';
  }
}

@Controller()
class TypoController {
  @Get('search')
  @TokenBucket('serch')
  search(): string[] {
    return [];
  }
}

@Controller()
class ZeroCapacityController {
  @Get('list')
  @Semaphore({ capacity: 0 })
  list(): string[] {
    return [];
  }
}

describe.each(clientTargets)('LimitersModule on $name Redis', (target) => {
  const { client, admin } = useLimiterClients(target);
  const redis = client();
  // What the test reads in Redis goes through an ioredis client of its own.
  const inRedis = admin();
  const { start, compileError } = useNestModules();

  describe('forRoot with a client instance', () => {
    it('injects the named limiters, working against Redis', async () => {
      const app = await start({
        imports: [LimitersModule.forRoot({ redis, ...limiterOptions() })],
        providers: [Jobs],
      });
      await expectWorking(app.get(Jobs));
    });

    it('leaves the app its own client open when the app closes', async () => {
      const app = await start({ imports: [LimitersModule.forRoot({ redis })] });
      expect(app.get(LimitersService).options).toMatchObject({ redis, ownsRedis: false });
      await app.close();
      expect(await pingClient(redis)).toBe('PONG');
    });
  });

  describe('forRootAsync', () => {
    const CAPACITY = 'capacity from config';
    @Module({ providers: [{ provide: CAPACITY, useValue: 1 }], exports: [CAPACITY] })
    class ConfigModule {}

    it('builds the options with useFactory and inject, and injects the limiters listed as injectable', async () => {
      const names = { exports: uniqueName('exports'), github: uniqueName('github') };
      const app = await start({
        imports: [
          LimitersModule.forRootAsync({
            imports: [ConfigModule],
            inject: [CAPACITY],
            useFactory: (capacity: number) => ({
              redis,
              semaphores: { exports: { name: names.exports, capacity } },
              tokenBuckets: { github: { name: names.github, capacity, refillFrequency: HOUR } },
            }),
            injectable: { semaphores: ['exports'], tokenBuckets: ['github'] },
          }),
        ],
        providers: [Jobs],
      });
      await expectWorking(app.get(Jobs));
    });

    it('builds the options with a useClass factory', async () => {
      @Injectable()
      class LimitersConfig {
        create(): LimitersModuleOptions {
          return { redis, ...limiterOptions() };
        }
      }
      const app = await start({
        imports: [
          LimitersModule.forRootAsync({
            useClass: LimitersConfig,
            injectable: { semaphores: ['exports'], tokenBuckets: ['github'] },
          }),
        ],
        providers: [Jobs],
      });
      await expectWorking(app.get(Jobs));
    });

    it('fails at start when a limiter listed as injectable is missing from the factory options', async () => {
      const error = await compileError({
        imports: [
          LimitersModule.forRootAsync({ useFactory: () => ({ redis }), injectable: { semaphores: ['exports'] } }),
        ],
      });
      expect(error).toBeInstanceOf(UnknownLimiterError);
      expect(error.message).toContain('"exports"');
    });
  });

  describe('isGlobal', () => {
    it('makes LimitersService injectable in modules that do not import LimitersModule', async () => {
      const app = await start({ imports: [LimitersModule.forRoot({ redis, isGlobal: true }), ServiceConsumerModule] });
      expect(app.get(NeedsService).limiters).toBe(app.get(LimitersService));
    });

    it('is off by default: other modules must import LimitersModule themselves', async () => {
      const error = await compileError({ imports: [LimitersModule.forRoot({ redis }), ServiceConsumerModule] });
      expect(error.message).toContain('LimitersService');
    });
  });

  describe('forFeature', () => {
    const feature = () => {
      @Module({
        imports: [LimitersModule.forFeature(limiterOptions())],
        providers: [Jobs],
      })
      class FeatureModule {}
      return FeatureModule;
    };

    it('injects the limiters a feature module declares, also when the root module is not global', async () => {
      const app = await start({ imports: [LimitersModule.forRoot({ redis }), feature()] });
      await expectWorking(app.get(Jobs));
    });

    it('registers them into the app registry, with the root module defaults', async () => {
      const app = await start({
        imports: [LimitersModule.forRoot({ redis, defaults: { semaphore: { maxSleep: 1234 } } }), feature()],
      });
      const limiters = app.get(LimitersService);
      expect(limiters.getSemaphore('exports')).toBe(app.get(Jobs).exports);
      expect(limiters.getTokenBucket('github')).toBe(app.get(Jobs).github);
      expect(limiters.getSemaphore('exports').maxSleep).toBe(1234);
    });

    it('gives per-key variants of a feature limiter all of its own options', async () => {
      const keyPrefix = uniqueName('feature-prefix');
      @Module({
        imports: [
          LimitersModule.forFeature({
            tokenBuckets: {
              search: { capacity: 2, refillFrequency: HOUR, keyPrefix, commandTimeout: 777, maxSleep: 0 },
            },
          }),
        ],
      })
      class SearchModule {}
      const app = await start({ imports: [LimitersModule.forRoot({ redis }), SearchModule] });
      const perKey = app.get(LimitersService).getTokenBucket('search', 'alice');
      expect(perKey.name).toBe('search');
      expect(perKey.shape).toEqual({ capacity: 2, refillFrequency: HOUR, refillAmount: 1, blockDuration: 0 });
      expect(perKey.maxSleep).toBe(0);
      await perKey.take();
      expect(
        await inRedis.exists(
          limiterKey(keyPrefix, 'token-bucket', 'search', keyIdOf('alice', DEFAULT_KEY_SECRET, false)),
        ),
      ).toBe(1);
    });

    it('fails at start when two modules declare one name with different options', async () => {
      const error = await compileError({
        imports: [
          LimitersModule.forRoot({ redis, semaphores: { exports: { capacity: 1 } } }),
          LimitersModule.forFeature({ semaphores: { exports: { capacity: 2 } } }),
        ],
      });
      expect(error.message).toContain('semaphore "exports" is registered twice with different options');
    });
  });

  describe('LimitersService', () => {
    const service = async (options: Partial<LimitersModuleOptions> = {}) =>
      (await start({ imports: [LimitersModule.forRoot({ redis, ...options })] })).get(LimitersService);

    it('reuses one limiter for the same name and options, whatever their order', async () => {
      const limiters = await service();
      const name = uniqueName('tenant');
      const first = limiters.semaphore({ name, capacity: 2, maxSleep: 10 });
      expect(limiters.semaphore({ maxSleep: 10, capacity: 2, name })).toBe(first);
      expect(limiters.tokenBucket({ name, capacity: 2, refillFrequency: 10 })).toBe(
        limiters.tokenBucket({ refillFrequency: 10, capacity: 2, name }),
      );
    });

    it('makes distinct limiters for distinct names or options', async () => {
      const limiters = await service();
      const [a, b] = [uniqueName('tenant'), uniqueName('tenant')];
      const semaphore = limiters.semaphore({ name: a, capacity: 1 });
      expect(limiters.semaphore({ name: b, capacity: 1 })).not.toBe(semaphore);
      expect(limiters.semaphore({ name: a, capacity: 2 })).not.toBe(semaphore);
      const bucket = limiters.tokenBucket({ name: a, capacity: 1, refillFrequency: HOUR });
      expect(limiters.tokenBucket({ name: b, capacity: 1, refillFrequency: HOUR })).not.toBe(bucket);
    });

    it('limits run-time limiters in Redis: capacity 1 admits one holder', async () => {
      const limiters = await service();
      const name = uniqueName('tenant');
      const permit = await limiters.semaphore({ name, capacity: 1 }).tryAcquire();
      expect(permit).not.toBeNull();
      expect(await limiters.semaphore({ name, capacity: 1 }).tryAcquire()).toBeNull();
      await permit!.release();
    });

    it('applies the module defaults and keyPrefix, which the call can override', async () => {
      const keyPrefix = uniqueName('prefix');
      const limiters = await service({ keyPrefix, defaults: { tokenBucket: { maxSleep: 50, refillAmount: 2 } } });
      const name = uniqueName('tenant');
      const bucket = limiters.tokenBucket({ name, capacity: 4, refillFrequency: HOUR });
      expect(bucket.maxSleep).toBe(50);
      expect(bucket.shape.refillAmount).toBe(2);
      expect(limiters.tokenBucket({ name, capacity: 4, refillFrequency: HOUR, maxSleep: 0 }).maxSleep).toBe(0);
      await bucket.take();
      expect(await inRedis.exists(limiterKey(keyPrefix, 'token-bucket', name))).toBe(1);
    });

    it('names the unknown limiter and lists the registered ones', async () => {
      const limiters = await service(limiterOptions());
      expect(() => limiters.getSemaphore('exprots')).toThrow(
        'No semaphore is registered as "exprots" (registered: "exports").',
      );
      expect(() => limiters.getTokenBucket('nope')).toThrow(UnknownLimiterError);
      expect(() => limiters.getTokenBucket('nope')).toThrow('registered: "github"');
    });

    it('exposes the resolved module options with HTTP defaults filled in', async () => {
      const limiters = await service({ http: { semaphoreStatus: 503 } });
      expect(limiters.options).toMatchObject({
        whenRedisFails: 'reject',
        http: { tokenBucketStatus: 429, semaphoreStatus: 503, headers: true },
      });
    });
  });

  describe.each(RATE_KINDS)('every rate kind: $text', (rate) => {
    const options = (name: string) => ({ name, ...rate.per(1, HOUR) });

    /** Injects the kind's limiter registered as 'quota'. */
    @Injectable()
    class Quota {
      constructor(@rate.inject('quota') readonly limiter: RateLimiter) {}
    }

    /** One call admitted, the next refused: the injected limiter limits in Redis. */
    const expectLimiting = async (quota: Quota, name: string) => {
      expect(quota.limiter.name).toBe(name);
      expect(quota.limiter.identity.kind).toBe(rate.kind);
      expect((await quota.limiter.tryTake()).allowed).toBe(true);
      expect((await quota.limiter.tryTake()).allowed).toBe(false);
    };

    it('injects a limiter registered in forRoot, by its inject decorator and by its token', async () => {
      const name = uniqueName('quota');
      const app = await start({
        imports: [LimitersModule.forRoot({ redis, ...registered(rate, { quota: options(name) }) })],
        providers: [Quota],
      });
      expect(app.get(rate.token('quota'))).toBe(app.get(Quota).limiter);
      await expectLimiting(app.get(Quota), name);
    });

    it('injects one from forRootAsync options listed as injectable, and from a feature module', async () => {
      const [asyncName, featureName] = [uniqueName('quota'), uniqueName('quota')];
      const viaAsync = await start({
        imports: [
          LimitersModule.forRootAsync({
            useFactory: () => ({ redis, ...registered(rate, { quota: options(asyncName) }) }),
            injectable: { [rate.optionsKey]: ['quota'] },
          }),
        ],
        providers: [Quota],
      });
      await expectLimiting(viaAsync.get(Quota), asyncName);
      @Module({
        imports: [LimitersModule.forFeature(registered(rate, { quota: options(featureName) }))],
        providers: [Quota],
      })
      class FeatureModule {}
      const viaFeature = await start({ imports: [LimitersModule.forRoot({ redis }), FeatureModule] });
      await expectLimiting(viaFeature.get(Quota), featureName);
    });

    it("gives its limiters the module's defaults of its kind, which a limiter's own options override", async () => {
      const app = await start({
        imports: [
          LimitersModule.forRoot({
            redis,
            defaults: { [rate.defaultsKey]: { maxSleep: 1234 } },
            ...registered(rate, {
              quota: options(uniqueName('quota')),
              own: { ...options(uniqueName('own')), maxSleep: 5 },
            }),
          }),
        ],
        providers: [Quota],
      });
      expect(app.get(Quota).limiter.maxSleep).toBe(1234);
      expect(app.get<RateLimiter>(rate.token('own')).maxSleep).toBe(5);
    });

    it('answers its refusals 429 unless http options say otherwise', async () => {
      const app = await start({ imports: [LimitersModule.forRoot({ redis })] });
      expect(app.get(LimitersService).options.http).toMatchObject({ [rate.statusOption]: 429 });
    });

    it.each([
      [
        'a bad option value',
        (): object => ({ ...rate.per(0, HOUR) }),
        () => `Option "${rate.limitOption}" of limiter "quota"`,
      ],
      [
        'a misspelt option',
        (): object => ({ ...rate.per(1, HOUR), [rate.misspelt.option]: 1 }),
        () =>
          `Option "${rate.misspelt.option}" of limiter "quota" is not an option (did you mean "${rate.misspelt.nearest}"?)`,
      ],
    ])('fails at start on %s, in forRoot and in forFeature, naming it', async (_, bad, message) => {
      for (const imports of [
        [LimitersModule.forRoot({ redis, ...registered(rate, { quota: bad() }) })],
        [LimitersModule.forRoot({ redis }), LimitersModule.forFeature(registered(rate, { quota: bad() }))],
      ]) {
        const error = await compileError({ imports });
        expect(error).toBeInstanceOf(InvalidOptionError);
        expect(error.message).toContain(message());
      }
    });

    it('fails at start on a misspelt registered name, naming the kind and where to declare it', async () => {
      @Injectable()
      class Typo {
        @rate.decorator('quotta')
        async run(): Promise<void> {}
      }
      const error = await start({
        imports: [LimitersModule.forRoot({ redis, ...registered(rate, { quota: options(uniqueName('quota')) }) })],
        providers: [Typo],
      }).catch((e: Error) => e);
      expect(error).toBeInstanceOf(UnknownLimiterError);
      expect((error as Error).message).toContain(`No ${rate.text} is registered as "quotta" (registered: "quota")`);
      expect((error as Error).message).toContain(`${rate.optionsKey}: { ... }`);
    });
  });

  describe('bad options fail at start, naming the option and the limiter', () => {
    it.each([
      [
        'capacity 0 in forRoot',
        () => LimitersModule.forRoot({ redis, semaphores: { github: { capacity: 0 } } }),
        'Option "capacity" of limiter "github"',
      ],
      [
        'refillFrequency 0 in forRoot',
        () => LimitersModule.forRoot({ redis, tokenBuckets: { github: { capacity: 1, refillFrequency: 0 } } }),
        'Option "refillFrequency" of limiter "github"',
      ],
      [
        'capacity 0 in forRootAsync',
        () =>
          LimitersModule.forRootAsync({
            useFactory: () => ({ redis, tokenBuckets: { search: { capacity: 0, refillFrequency: 1 } } }),
          }),
        'Option "capacity" of limiter "search"',
      ],
      [
        'a bad default',
        () =>
          LimitersModule.forRoot({
            redis,
            defaults: { semaphore: { expiry: -1 } },
            semaphores: { jobs: { capacity: 1 } },
          }),
        'Option "expiry" of limiter "jobs"',
      ],
      [
        'a redis that is no URL',
        () => LimitersModule.forRoot({ redis: 'localhost:6379' }),
        'Option "redis" of LimitersModule',
      ],
      [
        'an unknown whenRedisFails',
        () => LimitersModule.forRoot({ redis, whenRedisFails: 'ignore' as never }),
        'Option "whenRedisFails" of LimitersModule',
      ],
    ])('%s', async (_, module, message) => {
      const error = await compileError({ imports: [module()] });
      expect(error.message).toContain(message);
    });

    // Was a failure until the module got its in-memory default; see test/nest/memory-default.spec.ts.
    it('but no redis at all is none: the module keeps its limits in memory', async () => {
      const app = await start({ imports: [LimitersModule.forRoot({})] });
      expect(app.get(LimitersService).options).toMatchObject({ redis: undefined, ownsRedis: false });
      expect(app.get(LimitersService).options.store).toBeInstanceOf(MemoryStore);
    });

    it.each([
      [
        'a misspelt registered semaphore on a service method',
        [TypoJobs],
        [],
        'No semaphore is registered as "exprots"',
      ],
      [
        'a misspelt registered token bucket on a controller handler',
        [],
        [TypoController],
        'No token bucket is registered as "serch"',
      ],
      [
        'capacity 0 inline on a controller handler',
        [],
        [ZeroCapacityController],
        'Option "capacity" of limiter "ZeroCapacityController.list"',
      ],
      ['a negative maxSleep on a decorator', [NegativeWaitJobs], [], 'Option "maxSleep" of limiter "exports"'],
      ['more tokens per call than the bucket holds', [GreedyJobs], [], 'Option "tokens" of limiter "search"'],
      ['a key that is no function', [KeyTypoJobs], [], 'Option "key" of limiter "exports"'],
    ])('%s, before any call', async (_, providers, controllers, message) => {
      const limits = LimitersModule.forRoot({
        redis,
        semaphores: { exports: { capacity: 1 } },
        tokenBuckets: { search: { capacity: 1, refillFrequency: 1_000 } },
      });
      const app = await start({ imports: [limits], providers, controllers }).then(
        () => undefined,
        (error: Error) => error,
      );
      expect(app?.message).toContain(message);
    });

    it('but a limiter a provider registers in its onModuleInit is there in time', async () => {
      const app = await start({
        imports: [LimitersModule.forRoot({ redis })],
        providers: [LateRegistration, LateJobs],
      });
      await expect(app.get(LateJobs).run()).resolves.toBe('ran');
    });

    it('in forFeature', async () => {
      const error = await compileError({
        imports: [
          LimitersModule.forRoot({ redis }),
          LimitersModule.forFeature({ tokenBuckets: { github: { capacity: 1, refillFrequency: 0 } } }),
        ],
      });
      expect(error.message).toContain('Option "refillFrequency" of limiter "github"');
    });
  });
});

describe('LimitersModule owning its Redis connection (standalone)', () => {
  const { start } = useNestModules();
  const url = process.env[ENV_REDIS_URL]!;
  const { hostname, port } = new URL(url);

  it.each([
    ['a redis:// URL', url],
    ['ioredis RedisOptions', { host: hostname, port: Number(port) }],
  ])('connects from %s at start and closes that connection when the app closes', async (_, option) => {
    const app = await start({
      imports: [LimitersModule.forRoot({ redis: option, ...limiterOptions() })],
      providers: [Jobs],
    });
    const { redis: owned, ownsRedis } = app.get(LimitersService).options;
    expect(ownsRedis).toBe(true);
    await expectWorking(app.get(Jobs));
    await app.close();
    expect((owned as RedisClient).status).toBe('end');
  });

  it('closes a connection that never came up without waiting for it', async () => {
    const app = await start({ imports: [LimitersModule.forRoot({ redis: 'redis://127.0.0.1:1' })] });
    const owned = app.get(LimitersService).options.redis as RedisClient;
    await app.close();
    expect(owned.status).toBe('end');
  });

  it('fails calls still waiting for a slot as soon as the app closes, so shutdown is not held up', async () => {
    const app = await start({ imports: [LimitersModule.forRoot({ redis: url, keyPrefix: uniqueName('shutdown') })] });
    const semaphore = app.get(LimitersService).semaphore({ name: 'exports', capacity: 1 });
    const held = await semaphore.acquire();
    const waiting = semaphore.acquire({ maxSleep: 30_000 }).catch((e: unknown) => e);
    await waitUntil('the call waits for the slot', async () => (await semaphore.state()).waiters.length === 1);
    const closingAt = performance.now();
    await app.close();
    expect(await waiting).toBeInstanceOf(RedisUnavailableError);
    expect(performance.now() - closingAt).toBeLessThan(2_000);
    void held;
  });

  it('closes a connection that is waiting to retry, and it never retries after', async () => {
    const app = await start({ imports: [LimitersModule.forRoot({ redis: 'redis://127.0.0.1:1' })] });
    const owned = app.get(LimitersService).options.redis as RedisClient;
    await waitUntil('the connection waits to retry', () => owned.status === 'reconnecting');
    let attemptsAfterClose = 0;
    owned.on('connecting', () => (attemptsAfterClose += 1));
    await app.close();
    // ioredis retries after 50 ms, then 100 ms, ...: a retry left scheduled would show well within this.
    await sleep(500);
    expect(attemptsAfterClose).toBe(0);
  });
});
