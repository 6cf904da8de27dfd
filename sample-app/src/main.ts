import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { chooseStore } from './store/choose-store';

const HOST = '127.0.0.1';

async function bootstrap(): Promise<void> {
  const logger = new Logger('SampleApp');
  const store = await chooseStore();
  logger.log(`Limits live in ${store.description}.`);
  const port = Number(process.env.PORT ?? 3000);
  try {
    const app = await NestFactory.create(AppModule.register(store));
    await app.listen(port, HOST);
    // PORT=0 takes any free port: say which (the demo reads this line to find the app).
    const { port: listening } = app.getHttpServer().address() as AddressInfo;
    // Our own handler, not enableShutdownHooks(): the redis-server is stopped only after
    // the app has closed its connection to it.
    let closing = false;
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.on(signal, () => {
        if (closing) return;
        closing = true;
        logger.log(`${signal}: closing.`);
        void app
          .close()
          .finally(() => store.stop())
          .then(() => process.exit(0));
      });
    }
    logger.log(`Listening on http://${HOST}:${listening}`);
    logger.log(
      `Try: curl -i -H 'x-api-key: alice' http://${HOST}:${listening}/api/quote/ACME ; curl http://${HOST}:${listening}/stats`,
    );
  } catch (error) {
    await store.stop();
    throw error;
  }
}

bootstrap().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
