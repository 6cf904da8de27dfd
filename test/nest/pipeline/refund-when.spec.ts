/**
 * refundWhen: a call's tokens are given back when its outcome says it should not count.
 * Over HTTP the outcome carries the status code sent (count only failed logins); for a
 * service method, its result or error. A refundWhen that fails keeps the tokens spent.
 */
import {
  Body,
  Controller,
  HttpCode,
  Injectable,
  NotFoundException,
  Post,
  UnauthorizedException,
  UseGuards,
  type INestApplication,
  type INestApplicationContext,
  type LoggerService,
} from '@nestjs/common';
import request from 'supertest';
import {
  InvalidOptionError,
  LimitersModule,
  LimitersService,
  Semaphore,
  TokenBucket,
  TokenBucketGuard,
  type CallOutcome,
} from '../../../lib';
import { useNestModules } from '../../harness/nest-modules';
import { targets, uniqueName, useClients, type RedisClient } from '../../harness/redis-targets';
import { sleep, waitUntil } from '../../harness/timing';
import { adapters, startHttpApp } from '../../harness/nest/limited-app';
import { RATE_KINDS, registered, type RateKind } from '../../harness/rate-kinds';

const HOUR = 3_600_000;
/** Every outcome refundWhen was given, to check what it is told. */
const outcomes: CallOutcome[] = [];

/** Routes and service methods whose limits refund some outcomes, limited by `rate`'s decorator. */
function refundParts(rate: RateKind) {
  const limit = rate.decorator;
  const half = { ...rate.per(3, HOUR), maxSleep: 0 };

  @Controller('auth')
  class LoginController {
    @Post('login')
    @HttpCode(200)
    @limit('login', {
      key: (req: { body: { user: string } }) => req.body.user,
      refundWhen: (outcome: CallOutcome) => {
        outcomes.push(outcome);
        return outcome.status! < 400;
      },
    })
    login(@Body() body: { user: string; password: string }): string {
      if (body.password !== 'right') throw new UnauthorizedException();
      return 'welcome';
    }

    @Post('guarded')
    @HttpCode(200)
    @UseGuards(TokenBucketGuard)
    @limit('login', {
      key: (req: { body: { user: string } }) => req.body.user,
      refundWhen: ({ status }: CallOutcome) => status === 200,
    })
    guarded(@Body() body: { user: string; password: string }): string {
      if (body.password !== 'right') throw new UnauthorizedException();
      return 'welcome';
    }
  }

  @Injectable()
  class Lookups {
    @limit({ name: 'lookups', ...half, refundWhen: ({ result }: CallOutcome) => result === 'from cache' })
    async lookup(where: 'cache' | 'database'): Promise<string> {
      return where === 'cache' ? 'from cache' : 'from database';
    }

    @limit({ name: 'finds', ...half, refundWhen: ({ error }: CallOutcome) => error instanceof NotFoundException })
    async find(id: number): Promise<number> {
      if (id < 0) throw new NotFoundException();
      return id;
    }

    @limit({
      name: 'failing-refund',
      ...half,
      refundWhen: () => {
        throw new Error('refundWhen broke');
      },
    })
    async broken(): Promise<string> {
      return 'answered';
    }
  }

  return { LoginController, Lookups, half };
}

const partsOf = new Map(RATE_KINDS.map((rate) => [rate, refundParts(rate)]));

/** The stores a module can keep its limits in: both Redis deployments, and its own memory. */
const stores: Array<{ name: string; redis: () => RedisClient | undefined }> = [
  ...targets.map((target) => ({ name: target.name, redis: () => useClients(target).client() })),
  { name: 'memory', redis: () => undefined },
];

describe.each(stores)('refundWhen on $name store', (store) => {
  const redis = store.redis();

  describe.each(RATE_KINDS)('every rate kind: $text', (rate) => {
    const { LoginController, Lookups, half } = partsOf.get(rate)!;
    const login = { ...rate.per(2, HOUR), maxSleep: 0 };
    /** What the limit `name` (for `key`) of `app` could give now, read on its own store. */
    const tokensIn = (app: INestApplicationContext, options: { name: string } & Record<string, unknown>) => {
      const { store: own, keyPrefix } = app.get(LimitersService).options;
      return rate.remaining(rate.limiter(own, { keyPrefix, ...options }));
    };

    describe.each(adapters)('an HTTP handler on %s', (adapter) => {
      let app: INestApplication;
      beforeAll(async () => {
        app = await startHttpApp(adapter, {
          redis,
          options: { keyPrefix: uniqueName('refund-when'), ...registered(rate, { login }) },
          controllers: [LoginController],
        });
      });
      afterAll(() => app.close());

      const tokensOf = (user: string) => tokensIn(app, { name: 'login', key: user, ...login });
      const attempt = (path: string, user: string, password: string) =>
        request(app.getHttpServer())
          .post(`/auth/${path}`)
          .send({ user, password })
          .then((r) => r.status);

      it('counts only failed logins: a success is refunded once its answer is sent, a failure stays counted', async () => {
        const user = uniqueName('user');
        outcomes.length = 0;
        for (let i = 0; i < 4; i++) {
          expect(await attempt('login', user, 'right')).toBe(200);
          await waitUntil('the success is refunded', async () => (await tokensOf(user)) === 2);
        }
        expect(await attempt('login', user, 'wrong')).toBe(401);
        expect(await attempt('login', user, 'wrong')).toBe(401);
        // Two failures spent the bucket: the third attempt is refused, whatever its password.
        expect(await attempt('login', user, 'wrong')).toBe(429);
        expect(await attempt('login', user, 'right')).toBe(429);
        await sleep(100);
        expect(await tokensOf(user)).toBe(0);
        // What refundWhen was told: the result or the error, and the status sent.
        expect(outcomes.slice(0, 4).every((o) => o.result === 'welcome' && o.status === 200)).toBe(true);
        expect(outcomes[4]).toMatchObject({ status: 401 });
        expect(outcomes[4].error).toBeInstanceOf(UnauthorizedException);
        // Refused calls took nothing and have no outcome to judge.
        expect(outcomes).toHaveLength(6);
      });

      it('refunds tokens the guard took, once the interceptor saw the outcome', async () => {
        const user = uniqueName('user');
        expect(await attempt('guarded', user, 'right')).toBe(200);
        await waitUntil('the success is refunded', async () => (await tokensOf(user)) === 2);
        expect(await attempt('guarded', user, 'wrong')).toBe(401);
        await sleep(100);
        expect(await tokensOf(user)).toBe(1);
      });
    });

    describe('a service method', () => {
      const modules = useNestModules();

      const start = async (logger?: LoggerService) => {
        const module = await modules.start(
          { imports: [LimitersModule.forRoot({ redis, keyPrefix: uniqueName('refund-when') })], providers: [Lookups] },
          { logger },
        );
        /** Waits until the limit `name` is whole again: the refund settles after the call has returned. */
        const refunded = (name: string) =>
          waitUntil(`${name} is refunded`, async () => (await tokensIn(module, { name, ...half })) === 3);
        return { lookups: module.get(Lookups), refunded };
      };

      it('refunds calls whose result says so: cache hits do not count', async () => {
        const { lookups, refunded } = await start();
        for (let i = 0; i < 6; i++) {
          expect(await lookups.lookup('cache')).toBe('from cache');
          await refunded('lookups');
        }
        for (let i = 0; i < 3; i++) expect(await lookups.lookup('database')).toBe('from database');
        await expect(lookups.lookup('cache')).rejects.toThrow(/could not admit the call within maxSleep/);
      });

      it('refunds calls whose error says so: a not-found does not count, and its error still reaches the caller', async () => {
        const { lookups, refunded } = await start();
        for (let i = 0; i < 5; i++) {
          await expect(lookups.find(-1)).rejects.toBeInstanceOf(NotFoundException);
          await refunded('finds');
        }
        for (let i = 0; i < 3; i++) expect(await lookups.find(i)).toBe(i);
        await expect(lookups.find(-1)).rejects.toThrow(/could not admit the call within maxSleep/);
      });

      it('a refundWhen that throws keeps the tokens spent, logs why, and leaves the answer alone', async () => {
        const warnings: string[] = [];
        const logger = {
          log() {},
          error() {},
          debug() {},
          verbose() {},
          warn: (message: unknown) => void warnings.push(String(message)),
        };
        const { lookups } = await start(logger);
        for (let i = 0; i < 3; i++) expect(await lookups.broken()).toBe('answered');
        await expect(lookups.broken()).rejects.toThrow(/could not admit the call within maxSleep/);
        await waitUntil(
          'the three warnings are logged',
          () => warnings.filter((w) => /"failing-refund"/.test(w)).length >= 3,
        );
        expect(warnings.filter((w) => /"failing-refund".*stay spent.*refundWhen broke/.test(w))).toHaveLength(3);
      });
    });
  });
});

describe('refundWhen declared wrongly', () => {
  const modules = useNestModules();

  it('is not an option of @Semaphore', () => {
    const declare = Semaphore({ name: 'slots', capacity: 1, refundWhen: () => true } as never);
    expect(() => declare(class Slots {})).toThrow(InvalidOptionError);
  });

  it('must be a function, checked at start', async () => {
    @Injectable()
    class Wrong {
      @TokenBucket({ name: 'wrong', capacity: 1, refillFrequency: HOUR, refundWhen: true as never })
      async call(): Promise<void> {}
    }
    await expect(modules.start({ imports: [LimitersModule.forRoot({})], providers: [Wrong] })).rejects.toThrow(
      /Option "refundWhen" of limiter "wrong" must be a function/,
    );
  });
});
