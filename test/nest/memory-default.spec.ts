import { Controller, Get, Headers, Injectable, type LoggerService } from '@nestjs/common';
import request from 'supertest';
import {
  InjectSemaphore,
  InjectTokenBucket,
  InvalidOptionError,
  LimitersModule,
  LimitersService,
  MemoryStore,
  Semaphore,
  SemaphoreLimiter,
  TokenBucket,
  TokenBucketLimiter,
  type LimitersModuleOptions,
} from '../../lib';
import { MEMORY_STORE_WARNING } from '../../lib/nest/limiters.messages';
import { useNestModules } from '../harness/nest-modules';
import { targets, useClients } from '../harness/redis-targets';
import { InFlight, startHttpApp } from '../harness/nest/limited-app';

const HOUR = 3_600_000;

@Controller()
class SearchController {
  @Get('search')
  @TokenBucket({
    name: 'search',
    capacity: 2,
    refillFrequency: HOUR,
    maxSleep: 0,
    key: (req: { headers: Record<string, string | undefined> }) => req.headers['x-api-key'],
  })
  search(@Headers('x-api-key') key: string): string {
    return `found for ${key}`;
  }
}

@Injectable()
class SlowApi {
  readonly inFlight = new InFlight();

  @Semaphore({ capacity: 3 })
  async call(ms: number): Promise<void> {
    await this.inFlight.during(ms);
  }
}

@Injectable()
class Jobs {
  constructor(
    @InjectSemaphore('exports') readonly exports: SemaphoreLimiter,
    @InjectTokenBucket('github') readonly github: TokenBucketLimiter,
  ) {}
}

const named: Pick<LimitersModuleOptions, 'semaphores' | 'tokenBuckets'> = {
  semaphores: { exports: { capacity: 1 } },
  tokenBuckets: { github: { capacity: 1, refillFrequency: HOUR } },
};

/** Keeps what Nest logs, by level, instead of printing it. */
class CapturedLog implements LoggerService {
  readonly warnings: string[] = [];
  log(): void {}
  error(): void {}
  warn(message: unknown): void {
    this.warnings.push(String(message));
  }
}

describe('LimitersModule without Redis', () => {
  const { start, compileError } = useNestModules();

  describe('forRoot without redis: one in-memory store for the application', () => {
    it('answers 429 from a decorated route once the caller’s token bucket is empty', async () => {
      const app = await startHttpApp('express', { controllers: [SearchController] });
      try {
        const search = (key: string) => request(app.getHttpServer()).get('/search').set('x-api-key', key);
        expect((await search('alice')).status).toBe(200);
        expect((await search('alice')).status).toBe(200);
        const refused = await search('alice');
        expect(refused.status).toBe(429);
        expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
        expect((await search('bob')).status).toBe(200);
      } finally {
        await app.close();
      }
    });

    it('never runs more than a @Semaphore’s capacity of a service method at once', async () => {
      const app = await start({ imports: [LimitersModule.forRoot({})], providers: [SlowApi] });
      const api = app.get(SlowApi);
      await Promise.all(Array.from({ length: 12 }, () => api.call(30)));
      expect(api.inFlight.finished).toBe(12);
      expect(api.inFlight.peak).toBe(3);
    });

    it('injects named limiters that share their limits with run-time limiters of the same name', async () => {
      const app = await start({ imports: [LimitersModule.forRoot({ ...named })], providers: [Jobs] });
      const jobs = app.get(Jobs);
      const limiters = app.get(LimitersService);
      const permit = await jobs.exports.tryAcquire();
      expect(permit).not.toBeNull();
      expect(await limiters.semaphore({ name: 'exports', capacity: 1 }).tryAcquire()).toBeNull();
      await permit!.release();
      expect((await jobs.github.tryTake()).allowed).toBe(true);
      expect(
        (await limiters.tokenBucket({ name: 'github', capacity: 1, refillFrequency: HOUR }).tryTake()).allowed,
      ).toBe(false);
    });

    it('gives each application its own store', async () => {
      const [first, second] = await Promise.all(
        [1, 2].map(async () =>
          (await start({ imports: [LimitersModule.forRoot({ ...named })], providers: [Jobs] })).get(Jobs),
        ),
      );
      expect(await first.exports.tryAcquire()).not.toBeNull();
      expect(await second.exports.tryAcquire()).not.toBeNull();
    });

    it('lets forRootAsync leave redis out too', async () => {
      const app = await start({
        imports: [
          LimitersModule.forRootAsync({ useFactory: () => ({ ...named }), injectable: { semaphores: ['exports'] } }),
        ],
      });
      expect(app.get(LimitersService).options).toMatchObject({ redis: undefined, ownsRedis: false });
      expect(app.get(LimitersService).options.store).toBeInstanceOf(MemoryStore);
    });
  });

  describe('the store option', () => {
    it("store: 'memory' is the same in-memory store", async () => {
      const app = await start({ imports: [LimitersModule.forRoot({ store: 'memory' })] });
      expect(app.get(LimitersService).options.store).toBeInstanceOf(MemoryStore);
    });

    it('uses a store instance as given: two applications on one store share their limits', async () => {
      const store = new MemoryStore();
      const [first, second] = await Promise.all(
        [1, 2].map(async () =>
          (await start({ imports: [LimitersModule.forRoot({ store, ...named })], providers: [Jobs] })).get(Jobs),
        ),
      );
      expect(await first.exports.tryAcquire()).not.toBeNull();
      expect(await second.exports.tryAcquire()).toBeNull();
    });
  });

  describe('warns at start that limits are per process', () => {
    const { client } = useClients(targets[0]);

    it.each<[string, LimitersModuleOptions]>([
      ['without redis', {}],
      ["with store: 'memory'", { store: 'memory' }],
      ['with a MemoryStore instance', { store: new MemoryStore() }],
    ])('%s', async (_, options) => {
      const log = new CapturedLog();
      await start({ imports: [LimitersModule.forRoot(options)] }, { logger: log });
      expect(log.warnings).toEqual([MEMORY_STORE_WARNING]);
      expect(MEMORY_STORE_WARNING).toContain("this process's memory");
    });

    it('not on Redis', async () => {
      const log = new CapturedLog();
      await start({ imports: [LimitersModule.forRoot({ redis: client() })] }, { logger: log });
      expect(log.warnings).toEqual([]);
    });
  });

  describe('bad store options fail at start', () => {
    it('redis and store together, naming both options', async () => {
      const error = await compileError({
        imports: [LimitersModule.forRoot({ redis: 'redis://127.0.0.1:6379', store: 'memory' })],
      });
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect(error.message).toContain('Option "store" of LimitersModule cannot be combined with option "redis"');
    });

    it('a store that is no LimiterStore', async () => {
      const error = await compileError({ imports: [LimitersModule.forRoot({ store: 'redis' as never })] });
      expect(error.message).toContain(`Option "store" of LimitersModule must be 'memory' or a LimiterStore`);
    });
  });
});
