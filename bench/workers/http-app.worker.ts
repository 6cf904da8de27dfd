/**
 * Scenario 5: one Nest (Express) app on `port`, its GET /hit limited by one of: nothing,
 * @nestjs/throttler with @nest-lab/throttler-storage-redis, or our @TokenBucket. Runs
 * until SIGTERM. Everything else about the app is the same.
 */
import 'reflect-metadata';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { Controller, Get, Module, UseGuards, type DynamicModule, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ThrottlerGuard, ThrottlerModule } from '@nestjs/throttler';
import * as path from 'node:path';
import { Redis } from 'ioredis';
import { runWorker } from '../../test/harness/processes';
import { lib } from '../support/limiters';

export type HttpVariant =
  | 'none'
  | 'throttler'
  | 'nestjs-limiters'
  | 'nestjs-limiters-no-headers'
  | 'nestjs-limiters-unlimited-route'
  | 'nestjs-limiters-before-events';

interface Args {
  url: string;
  variant: HttpVariant;
  port: number;
  /** Requests admitted per key before refusals start; 0: never refuse. */
  limit: number;
  /** Another build of the library (the one from before events), for variant nestjs-limiters-before-events. */
  libDir?: string;
}

const { url, variant, limit, libDir } = JSON.parse(process.env.WORKER_ARGS!) as Args;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const library: typeof lib = libDir ? require(path.join(libDir, 'dist')) : lib;
const redis = new Redis(url);
const admitAll = limit === 0;

// tsx compiles decorators as TC39 decorators, Nest needs the legacy kind: the decorators
// are applied with Reflect.decorate, exactly as tsc's output would.
function controller(classDecorators: ClassDecorator[], methodDecorators: MethodDecorator[]): Type {
  class HitController {
    hit() {
      return { ok: true };
    }
  }
  const proto = HitController.prototype;
  const descriptor = Object.getOwnPropertyDescriptor(proto, 'hit')!;
  Object.defineProperty(
    proto,
    'hit',
    Reflect.decorate([Get('hit'), ...methodDecorators], proto, 'hit', descriptor) as PropertyDescriptor,
  );
  return Reflect.decorate([Controller(), ...classDecorators], HitController) as Type;
}

const PlainController = controller([], []);
const ThrottledController = controller([UseGuards(ThrottlerGuard)], []);
const LimitedController = controller(
  [],
  [
    library.TokenBucket({
      // One name per limit, so the two modes never share a bucket.
      name: `bench-http-${limit}`,
      // Admit everything (the cost of the limit itself) or `limit` per minute, like the throttler's ttl/limit.
      capacity: admitAll ? 1_000_000_000 : limit,
      refillFrequency: 60_000,
      refillAmount: admitAll ? 1_000_000_000 : limit,
      maxSleep: 0,
      key: (req: { ip?: string }) => req.ip ?? 'unknown',
    }),
  ],
);

function limiterModule(): { imports: DynamicModule[]; controller: Type } {
  switch (variant) {
    case 'none':
      return { imports: [], controller: PlainController };
    case 'throttler':
      return {
        imports: [
          ThrottlerModule.forRoot({
            throttlers: [{ name: 'default', ttl: 60_000, limit: admitAll ? 1_000_000_000 : limit }],
            storage: new ThrottlerStorageRedisService(redis),
          }),
        ],
        controller: ThrottledController,
      };
    // The module imported, the route without a limit: what the module costs routes it does not limit.
    case 'nestjs-limiters-unlimited-route':
      return { imports: [library.LimitersModule.forRoot({ redis })], controller: PlainController };
    case 'nestjs-limiters':
    case 'nestjs-limiters-no-headers':
    case 'nestjs-limiters-before-events':
      return {
        imports: [
          library.LimitersModule.forRoot({ redis, http: { headers: variant !== 'nestjs-limiters-no-headers' } }),
        ],
        controller: LimitedController,
      };
  }
}

runWorker<Args>(async ({ port }) => {
  const { imports, controller } = limiterModule();
  class AppModule {}
  Reflect.decorate([Module({ imports, controllers: [controller] })], AppModule);
  const app = await NestFactory.create(AppModule, { logger: false });
  await app.listen(port, '127.0.0.1');
  await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
  await app.close();
  redis.disconnect();
  return { variant };
});
