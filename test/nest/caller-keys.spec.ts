/**
 * Callers' keys through the Nest layer: a key reaches only its own limit, is never
 * readable in logs, answers or Redis, and costs a bounded amount of memory however long.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Controller, Get, Injectable, type INestApplication, type LoggerService } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { InvalidOptionError } from '../../lib/core/errors';
import { Semaphore } from '../../lib/nest/decorators/semaphore.decorator';
import { TokenBucket } from '../../lib/nest/decorators/token-bucket.decorator';
import type { LimitersModuleOptions } from '../../lib/nest/limiters-options.interface';
import { LimitersModule } from '../../lib/nest/limiters.module';
import { LimitersService } from '../../lib/nest/limiters.service';
import { allKeyNames, readableForms } from '../harness/caller-keys';
import { closeClient } from '../harness/connect';
import { targets, uniqueName, useClients, type RedisClient } from '../harness/redis-targets';
import { sleep } from '../harness/timing';
import { adapters, unreachableRedis, type AdapterName } from '../harness/nest/limited-app';

const SECRET_KEY = 'sk_live_SECRET123';
const HOUR = 3_600_000;

type Request = { headers: Record<string, string | undefined> };
const byHeader = (req: Request) => req.headers['x-key'];

@Injectable()
class Jobs {
  @TokenBucket({ name: 'jobs', capacity: 1, refillFrequency: HOUR, maxSleep: 0, key: (key: string) => key })
  run(key: string): string {
    return `ran for ${key.length}`;
  }
}

@Controller()
class KeyedController {
  constructor(private readonly jobs: Jobs) {}

  @Get('keyed')
  @TokenBucket({ name: 'api', capacity: 1, refillFrequency: HOUR, maxSleep: 0, key: byHeader })
  keyed(): string {
    return 'keyed';
  }

  @Get('admin')
  @TokenBucket({ name: 'api:admin', capacity: 1, refillFrequency: HOUR, maxSleep: 0 })
  admin(): string {
    return 'admin';
  }

  @Get('registered')
  @TokenBucket('shared', { key: byHeader })
  registered(): string {
    return 'registered';
  }

  @Get('registered-admin')
  @TokenBucket('shared:admin')
  registeredAdmin(): string {
    return 'registered admin';
  }

  @Get('slow')
  @Semaphore({ name: 'slow', capacity: 1, maxSleep: 0, key: byHeader })
  async slow(): Promise<string> {
    await sleep(300);
    return 'slow';
  }

  @Get('job')
  job(): string {
    // A limit met inside a provider: Nest's exception handler logs the error's message.
    return this.jobs.run(SECRET_KEY);
  }

  @Get('many')
  @TokenBucket({ name: 'many', capacity: 1, refillFrequency: HOUR, maxSleep: 0, key: byHeader })
  many(): string {
    return 'ok';
  }
}

/** Everything Nest and the module log, as one text per call. */
class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];
  log = (...parts: unknown[]) => this.keep(parts);
  error = (...parts: unknown[]) => this.keep(parts);
  warn = (...parts: unknown[]) => this.keep(parts);
  debug = (...parts: unknown[]) => this.keep(parts);
  verbose = (...parts: unknown[]) => this.keep(parts);
  private keep(parts: unknown[]): void {
    this.lines.push(parts.map((p) => (p instanceof Error ? `${p.message} ${p.stack}` : String(p))).join(' '));
  }
}

const bucket = { capacity: 1, refillFrequency: HOUR, maxSleep: 0 };

/** An app listening on a loopback port, so requests go over real HTTP with keep-alive. */
async function listen(
  adapter: AdapterName,
  redis: RedisClient,
  options: Omit<LimitersModuleOptions, 'redis'> = {},
  logger: LoggerService = new CapturingLogger(),
): Promise<{ app: INestApplication; get(path: string, key?: string): Promise<Response> }> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      LimitersModule.forRoot({
        keyPrefix: uniqueName('keys'),
        tokenBuckets: { shared: bucket, 'shared:admin': bucket },
        ...options,
        redis,
      }),
    ],
    controllers: [KeyedController],
    providers: [Jobs],
  })
    .setLogger(logger)
    .compile();
  const app =
    adapter === 'fastify' ? moduleRef.createNestApplication(new FastifyAdapter()) : moduleRef.createNestApplication();
  app.useLogger(logger);
  await app.listen(0, '127.0.0.1');
  const url = await app.getUrl();
  const get = (path: string, key?: string) =>
    fetch(`${url.replace('[::1]', '127.0.0.1')}/${path}`, { headers: key === undefined ? {} : { 'x-key': key } });
  return { app, get };
}

/** Status, body and every header of an answer, as one text to search. */
async function answerText(response: Response): Promise<string> {
  return `${response.status} ${[...response.headers].map(([n, v]) => `${n}: ${v}`).join('\n')}\n${await response.text()}`;
}

describe.each(targets)('caller keys through the Nest layer, $name Redis', (target) => {
  const { client } = useClients(target);
  const redis = client();

  describe.each(adapters)('%s', (adapter) => {
    it('never lets a key reach the limiter of a plain name, inline or registered', async () => {
      const { app, get } = await listen(adapter, redis);
      try {
        expect((await get('keyed', 'admin')).status).toBe(200);
        expect((await get('admin')).status).toBe(200);
        expect((await get('registered', 'admin')).status).toBe(200);
        expect((await get('registered-admin')).status).toBe(200);
        // Each limit is spent once, by its own route.
        expect((await get('keyed', 'admin')).status).toBe(429);
        expect((await get('admin')).status).toBe(429);
      } finally {
        await app.close();
      }
    });

    it('never shows the key in answers, headers, logs or Redis key names', async () => {
      const logger = new CapturingLogger();
      const keyPrefix = uniqueName('hidden');
      const { app, get } = await listen(adapter, redis, { keyPrefix }, logger);
      try {
        const texts: string[] = [];
        for (let i = 0; i < 2; i += 1) texts.push(await answerText(await get('keyed', SECRET_KEY)));
        const holding = get('slow', SECRET_KEY);
        await sleep(100);
        texts.push(await answerText(await get('slow', SECRET_KEY)));
        texts.push(await answerText(await holding));
        for (let i = 0; i < 2; i += 1) texts.push(await answerText(await get('job')));
        // The refused service method is answered by LimitsExceptionFilter as a 429 (issue 10).
        expect(texts.map((t) => t.slice(0, 3))).toEqual(['200', '429', '429', '200', '200', '429']);
        const names = (await allKeyNames(redis)).filter((n) => n.startsWith(`${keyPrefix}:`));
        expect(names.length).toBeGreaterThan(0);
        // The provider's refusal is answered naming the declared limit.
        expect(texts[5]).toContain('Rate limit \\"jobs\\" exceeded.');
        for (const form of readableForms(SECRET_KEY)) {
          expect(texts.filter((t) => t.includes(form))).toEqual([]);
          expect(logger.lines.filter((l) => l.includes(form))).toEqual([]);
          expect(names.filter((n) => n.includes(form))).toEqual([]);
        }
      } finally {
        await app.close();
      }
    });

    it('shows the key in Redis key names only with readableKeys', async () => {
      const logger = new CapturingLogger();
      const keyPrefix = uniqueName('readable');
      const { app, get } = await listen(adapter, redis, { keyPrefix, readableKeys: true }, logger);
      try {
        const texts = [
          await answerText(await get('keyed', SECRET_KEY)),
          await answerText(await get('keyed', SECRET_KEY)),
        ];
        texts.push(await answerText(await get('registered', SECRET_KEY)));
        const names = await allKeyNames(redis);
        // Inline and registered decorators alike get the module's readableKeys.
        expect(names).toContain(`${keyPrefix}:token-bucket:{=api/=${SECRET_KEY}}`);
        expect(names).toContain(`${keyPrefix}:token-bucket:{=shared/=${SECRET_KEY}}`);
        for (const text of [...texts, ...logger.lines]) expect(text).not.toContain(SECRET_KEY);
      } finally {
        await app.close();
      }
    });
  });
});

describe('caller keys through the Nest layer when Redis is unreachable', () => {
  it.each(adapters)(
    "warns with the declared name, never the key, with whenRedisFails: 'allow' (%s)",
    async (adapter) => {
      const redis = await unreachableRedis();
      const logger = new CapturingLogger();
      const { app, get } = await listen(
        adapter,
        redis,
        { whenRedisFails: 'allow', defaults: { tokenBucket: { commandTimeout: 100 } } },
        logger,
      );
      try {
        const response = await get('keyed', SECRET_KEY);
        expect(response.status).toBe(200);
        const warnings = logger.lines.filter((l) => l.includes('let a call through unlimited'));
        expect(warnings).toEqual([expect.stringContaining('Limiter "api"')]);
        for (const form of readableForms(SECRET_KEY)) expect(logger.lines.filter((l) => l.includes(form))).toEqual([]);
      } finally {
        await app.close();
        await closeClient(redis);
      }
    },
  );
});

describe('LimitersService keyed limiters', () => {
  const { client } = useClients(targets[0]);
  const redis = client();

  async function service(
    options: Omit<LimitersModuleOptions, 'redis'> = {},
  ): Promise<{ limiters: LimitersService; close(): Promise<void> }> {
    const moduleRef = await Test.createTestingModule({
      imports: [LimitersModule.forRoot({ ...options, redis })],
    }).compile();
    await moduleRef.init();
    return { limiters: moduleRef.get(LimitersService), close: () => moduleRef.close() };
  }

  it('never gives the limiter of a plain name for a (name, key) pair', async () => {
    const { limiters, close } = await service({
      keyPrefix: uniqueName('svc'),
      tokenBuckets: { api: bucket, 'api:admin': bucket },
    });
    try {
      const keyed = limiters.getTokenBucket('api', 'admin');
      expect(keyed).not.toBe(limiters.getTokenBucket('api:admin'));
      expect(keyed.name).toBe('api');
      expect((await keyed.tryTake()).allowed).toBe(true);
      expect((await limiters.getTokenBucket('api:admin').tryTake()).allowed).toBe(true);
      expect((await limiters.tokenBucket({ ...bucket, name: 'api:admin' }).tryTake()).allowed).toBe(false);
      expect((await limiters.getTokenBucket('api', 'admin').tryTake()).allowed).toBe(false);
    } finally {
      await close();
    }
  });

  it('gives the module keySecret and readableKeys to registered and run-time limiters', async () => {
    const keyPrefix = uniqueName('svc');
    const { limiters, close } = await service({
      keyPrefix,
      readableKeys: true,
      semaphores: { exports: { capacity: 1 } },
      tokenBuckets: { api: bucket },
    });
    try {
      await limiters.getTokenBucket('api', 'alice').take();
      await (await limiters.getSemaphore('exports', 'alice').acquire()).release();
      await limiters.tokenBucket({ ...bucket, name: 'run-time', key: 'alice' }).take();
      const names = await allKeyNames(redis);
      expect(names).toEqual(
        expect.arrayContaining([
          `${keyPrefix}:token-bucket:{=api/=alice}`,
          `${keyPrefix}:token-bucket:{=run-time/=alice}`,
        ]),
      );
    } finally {
      await close();
    }
    const secret = await service({ keyPrefix, keySecret: 'another', tokenBuckets: { api: bucket } });
    try {
      // Another secret, another limit: the hashed keys differ.
      expect((await secret.limiters.getTokenBucket('api', 'alice').tryTake()).allowed).toBe(true);
      expect((await secret.limiters.getTokenBucket('api', 'alice').tryTake()).allowed).toBe(false);
    } finally {
      await secret.close();
    }
  });

  it.each([
    ['keySecret', ''],
    ['keySecret', 5],
    ['readableKeys', 'yes'],
  ])('refuses module option %s = %p with InvalidOptionError naming it', async (option, value) => {
    const error = await service({ [option]: value } as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).option).toBe(option);
  });
});

describe.each(targets)('memory a caller key costs, $name Redis', (target) => {
  const { client } = useClients(target);
  const redis = client();

  it('retains no more for thousands of 15 KB keys than for as many short ones', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const heapAfterGc = async () => {
      // Two passes: the first may only queue finalizers that free more on the second.
      for (let i = 0; i < 2; i += 1) {
        gc();
        await sleep(10);
      }
      return process.memoryUsage().heapUsed;
    };
    const { app, get } = await listen('express', redis);
    const KEYS = 2_000;
    // Under Node's default header limit of 16 KB, as any client can send.
    const LONG = 15_000;
    const drive = async (keyOf: (i: number) => string) => {
      for (let i = 0; i < KEYS; i += 20) {
        const answers = await Promise.all(Array.from({ length: 20 }, (_, j) => get('many', keyOf(i + j))));
        for (const answer of answers) {
          expect(answer.status).toBe(200);
          await answer.arrayBuffer();
        }
      }
    };
    try {
      const run = uniqueName('');
      // Warms every path up first: code compiled on first use is not what a key costs.
      await drive((i) => `warm${run}${i}`);
      const before = await heapAfterGc();
      await drive((i) => `short${run}${i}`);
      const afterShort = await heapAfterGc();
      await drive((i) => `long${run}${i}`.padEnd(LONG, 'x'));
      const afterLong = await heapAfterGc();
      const perShortKey = (afterShort - before) / KEYS;
      const perLongKey = (afterLong - afterShort) / KEYS;
      // Both sets stay cached (below the caps): a long key costs what a short one does. A key
      // kept in clear would cost its 15 KB (V8 stores it one byte a character) on top; the bound,
      // a quarter of that a key, leaves room for the noise of two heap readings in a process
      // that jest shares (a short run read near 0 B a key on a loaded machine, ~2.3 KB alone).
      expect(perLongKey - Math.max(0, perShortKey)).toBeLessThan(LONG / 4);
      if (process.env.LIMITERS_REPORT_MEMORY) {
        process.stdout.write(`per short key ${Math.round(perShortKey)} B, per 15 KB key ${Math.round(perLongKey)} B\n`);
      }
    } finally {
      await app.close();
    }
  }, 120_000);
});
