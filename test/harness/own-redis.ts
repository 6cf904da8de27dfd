/**
 * A Redis of the describe's own, for tests that stop, pause or fail over their server
 * and must never disturb the shared harness servers other test files use.
 */
import Redis from 'ioredis';
import { closeClient } from './connect';
import { startRedis, stopRedis, type RedisServer } from './redis-servers';

/** Call inside a describe: starts a standalone Redis in beforeAll; clients and server are closed in afterAll. */
export function useOwnRedis(): { server(): RedisServer; client(): Redis } {
  let server: RedisServer | undefined;
  const clients: Redis[] = [];
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await Promise.all(clients.splice(0).map(closeClient));
    if (server) await stopRedis(server);
  });
  return {
    server: () => server!,
    client() {
      const c = new Redis(server!.url);
      // Refused connections while the server is down or paused surface through the calls.
      c.on('error', () => undefined);
      clients.push(c);
      return c;
    },
  };
}
