/**
 * LimitersModule says once that its Redis connection is lost and once that it is back,
 * though ioredis reports every failed reconnection attempt: for a connection the module
 * made from a URL and for a client the app passed in. Each test kills its own Redis.
 */
import type { INestApplication } from '@nestjs/common';
import { LimitersHealthIndicator } from '../../lib';
import { restartRedis } from '../harness/redis-servers';
import { sleep, waitUntil } from '../harness/timing';
import { useOwnRedis } from '../harness/own-redis';
import { CapturingLogger, killRedis, startHealthApp } from '../harness/nest/health-app';

// ioredis retries every 50 ms, 100 ms, ... up to 2 s: this long down is several failed attempts.
const DOWN_MS = 3_000;

describe.each([
  { connection: 'made by the module from a URL', lost: /^Lost the Redis connection LimitersModule made: / },
  { connection: 'passed in as a client', lost: /^Lost the Redis connection given to LimitersModule: / },
])('a Redis connection $connection (own Redis)', ({ connection, lost }) => {
  const { server, client } = useOwnRedis();
  let app: INestApplication | undefined;
  afterAll(() => app?.close());

  it('is reported lost once when Redis is killed, and back once when it restarts', async () => {
    const logger = new CapturingLogger();
    app = await startHealthApp({ redis: connection.startsWith('made') ? server().url : client() }, logger);
    const health = app.get(LimitersHealthIndicator);
    await waitUntil('the app is connected', async () => (await health.isHealthy('redis')).redis.status === 'up');

    await killRedis(server());
    await waitUntil('the loss is reported', () => logger.matching('warn', lost).length > 0);
    await sleep(DOWN_MS);
    expect(logger.matching('warn', lost)).toHaveLength(1);
    expect(logger.matching('warn', /^Lost /)).toHaveLength(1);

    await restartRedis(server());
    await waitUntil('the recovery is reported', () => logger.matching('log', / is back/).length > 0, 15_000);
    await sleep(1_000);
    expect(logger.matching('log', / is back/)).toEqual([
      'The Redis connection of LimitersModule is back: limits are checked in Redis again.',
    ]);
    expect(logger.matching('warn', /^Lost /)).toHaveLength(1);
  });
});
