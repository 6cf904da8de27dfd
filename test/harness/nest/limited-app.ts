/**
 * Set-up shared by the decorator and HTTP specs: Nest apps importing LimitersModule on
 * a harness Redis client, a counter of executions in flight, and a client to a Redis
 * that is not there.
 */
import { createServer, type AddressInfo } from 'node:net';
import type { DynamicModule, INestApplication, INestApplicationContext, Provider, Type } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { Redis } from 'ioredis';
import { LimitersModule } from '../../../lib/nest/limiters.module';
import type { LimitersModuleOptions } from '../../../lib/nest/limiters-options.interface';
import { sleep } from '../timing';

export type AdapterName = 'express' | 'fastify';
export const adapters: AdapterName[] = ['express', 'fastify'];

type ModuleOptions = Omit<LimitersModuleOptions, 'redis'>;

/** Providers and controllers of a test, wired only by importing LimitersModule.forRoot. */
export interface AppParts {
  /** A client, URL or RedisOptions, as the module's `redis` option takes. Left out: limits are kept in memory. */
  redis?: LimitersModuleOptions['redis'];
  options?: ModuleOptions;
  providers?: Provider[];
  controllers?: Type[];
  /** More modules next to LimitersModule (the live board). */
  imports?: DynamicModule[];
}

function testingModule({ redis, options, providers = [], controllers = [], imports = [] }: AppParts) {
  return Test.createTestingModule({
    imports: [LimitersModule.forRoot({ ...options, redis }), ...imports],
    providers,
    controllers,
  }).compile();
}

/** An application context (no HTTP), started: the explorer has wrapped decorated methods. */
export async function startContext(parts: AppParts): Promise<INestApplicationContext> {
  const moduleRef = await testingModule(parts);
  return moduleRef.init();
}

/** An HTTP application on Express or Fastify, ready for supertest on app.getHttpServer(). */
export async function startHttpApp(adapter: AdapterName, parts: AppParts): Promise<INestApplication> {
  const moduleRef = await testingModule(parts);
  const app =
    adapter === 'fastify' ? moduleRef.createNestApplication(new FastifyAdapter()) : moduleRef.createNestApplication();
  if (!process.env.LIMITERS_TEST_LOG) app.useLogger(false);
  await app.init();
  if (adapter === 'fastify') await app.getHttpAdapter().getInstance().ready();
  return app;
}

/** Counts executions in flight independently of any limiter, and remembers the most seen at once. */
export class InFlight {
  now = 0;
  peak = 0;
  finished = 0;

  async during<T>(ms: number, result?: T): Promise<T | undefined> {
    this.enter();
    try {
      await sleep(ms);
      return result;
    } finally {
      this.leave();
    }
  }

  enter(): void {
    this.now += 1;
    this.peak = Math.max(this.peak, this.now);
  }

  leave(): void {
    this.now -= 1;
    this.finished += 1;
  }
}

/** A client to a loopback port nothing listens on: every command fails after the limiter's commandTimeout. */
export async function unreachableRedis(): Promise<Redis> {
  const port = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port: taken } = server.address() as AddressInfo;
      server.close(() => resolve(taken));
    });
  });
  // No reconnecting: ioredis emits no 'end' when a reconnecting client is disconnected, so the
  // store's subscriber connection, duplicated from this one, would never be closed.
  const redis = new Redis({ port, host: '127.0.0.1', retryStrategy: () => null });
  redis.on('error', () => undefined);
  return redis;
}
