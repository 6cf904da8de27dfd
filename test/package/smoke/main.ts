/**
 * A fresh Nest app that knows nestjs-limiters only as the installed tarball: it must
 * build against the shipped .d.ts files and limit a route through the shipped Lua.
 */
import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { LimitersModule, TokenBucket } from 'nestjs-limiters';

@Controller()
class PingController {
  @Get('ping')
  @TokenBucket({ name: `smoke-${process.pid}`, capacity: 3, refillFrequency: 60_000, maxSleep: 0 })
  ping(): string {
    return 'pong';
  }
}

@Module({
  imports: [LimitersModule.forRoot({ redis: process.env.REDIS_URL! })],
  controllers: [PingController],
})
class AppModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create(AppModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address();
  const answers = [];
  for (let i = 0; i < 4; i++) {
    const response = await fetch(`http://127.0.0.1:${port}/ping`);
    answers.push({ status: response.status, rateLimit: response.headers.get('ratelimit') });
  }
  await app.close();
  console.log(JSON.stringify(answers));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
