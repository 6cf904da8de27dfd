/**
 * An app with node-redis and no ioredis installed (without-ioredis.cjs, preloaded, hides it):
 * the module, the decorators and the core limiters work on a node-redis client, and a URL,
 * which needs ioredis, fails the start with a message saying so. Plain JavaScript on the
 * compiled library (`LIB`): Nest's injection needs the decorator metadata tsc emits, which
 * tsx does not; decorators are applied by hand.
 */
require('reflect-metadata');
const { Injectable, Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { createClient } = require('redis');
const { LimitersModule, Semaphore, SemaphoreLimiter, TokenBucket, TokenBucketLimiter } = require(process.env.LIB);

const { name } = JSON.parse(process.env.WORKER_ARGS || '{}');
const url = process.env.LIMITERS_TEST_REDIS_URL;

function decorateMethod(target, method, ...decorators) {
  const descriptor = Object.getOwnPropertyDescriptor(target.prototype, method);
  for (const decorate of decorators.reverse()) decorate(target.prototype, method, descriptor);
  Object.defineProperty(target.prototype, method, descriptor);
}

class Reports {
  async make() {
    return 'made';
  }
}
decorateMethod(
  Reports,
  'make',
  TokenBucket({ name: `${name}-bucket`, capacity: 2, refillFrequency: 60_000, maxSleep: 0 }),
  Semaphore({ name: `${name}-sem`, capacity: 1 }),
);
Injectable()(Reports);

async function main() {
  let ioredisFound = true;
  try {
    require.resolve('ioredis');
  } catch {
    ioredisFound = false;
  }
  const client = createClient({ url });
  client.on('error', () => undefined);
  await client.connect();

  class AppModule {}
  Module({ imports: [LimitersModule.forRoot({ redis: client })], providers: [Reports] })(AppModule);
  const app = await NestFactory.createApplicationContext(AppModule, { logger: false, abortOnError: false });
  const reports = app.get(Reports);
  const calls = [];
  for (let i = 0; i < 3; i++) calls.push(await reports.make().catch((e) => e.name));
  await app.close();

  const semaphore = new SemaphoreLimiter(client, { name: `${name}-core-sem`, capacity: 1 });
  const permit = await semaphore.acquire();
  const second = await semaphore.tryAcquire();
  await permit.release();
  const bucket = new TokenBucketLimiter(client, { name: `${name}-core-bucket`, capacity: 1, refillFrequency: 60_000 });
  const takes = [(await bucket.tryTake()).allowed, (await bucket.tryTake()).allowed];

  class UrlModule {}
  Module({ imports: [LimitersModule.forRoot({ redis: url })] })(UrlModule);
  const urlStart = await NestFactory.createApplicationContext(UrlModule, { logger: false, abortOnError: false }).then(
    async (started) => {
      await started.close();
      return { started: true };
    },
    (error) => ({ started: false, name: error.name, message: error.message }),
  );
  await client.close();
  return { ioredisFound, calls, secondPermit: second != null, takes, urlStart };
}

main().then(
  (result) => process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0)),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
