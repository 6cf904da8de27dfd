/**
 * A Nest HTTP app in a process of its own, one route limited by @FixedWindow in Redis, as
 * each instance of a deployed app is. Publishes its port in Redis, records on the clock it
 * aligned on Redis's when each call of the route was let through (in the handler itself),
 * and closes once the test sets `{<run>}:done`. Run with startWorker's `nest` option.
 */
import type { AddressInfo } from 'node:net';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FixedWindow } from '../../../lib/nest/decorators/fixed-window.decorator';
import { LimitersModule } from '../../../lib/nest/limiters.module';
import { connectFromEnv, runWorker } from '../processes';
import type { TargetName } from '../redis-targets';
import { alignClock, now, sleep } from '../timing';

interface Args {
  target: TargetName;
  /** The test run: the limit's name and key prefix, and the prefix of the keys the test and apps talk through. */
  run: string;
  index: number;
  limit: number;
  windowMs: number;
}

export interface AppRun {
  /** When each call of the route ran its handler. */
  admittedAt: number[];
}

runWorker<Args>(async ({ target, run, index, limit, windowMs }): Promise<AppRun> => {
  const redis = connectFromEnv(target);
  const admittedAt: number[] = [];

  @Controller()
  class WindowController {
    @Get('limited')
    @FixedWindow({ name: run, limit, window: windowMs, maxSleep: 0 })
    limited(): string {
      admittedAt.push(now());
      return 'ok';
    }
  }

  @Module({ imports: [LimitersModule.forRoot({ redis, keyPrefix: run })], controllers: [WindowController] })
  class AppModule {}

  const app = await NestFactory.create(AppModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  await alignClock(redis);
  const { port } = app.getHttpServer().address() as AddressInfo;
  await redis.set(`{${run}}:port:${index}`, String(port), 'PX', 60_000);
  while (!(await redis.exists(`{${run}}:done`))) await sleep(20);
  await app.close();
  await redis.quit();
  return { admittedAt };
});
