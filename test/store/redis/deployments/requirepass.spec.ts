/**
 * A Redis with `requirepass`, reached with the password in the URL
 * (redis://:password@host:port): the core limiters and the Nest module work, including
 * the grant subscriber the library duplicates from the client (it must log in too), and
 * a wrong or missing password is a prompt RedisRefusedError that never shows the password.
 */
import Redis from 'ioredis';
import { RedisRefusedError, SemaphoreLimiter } from '../../../../lib';
import { closeClient } from '../../../harness/connect';
import { everyOperationWorks } from '../../../harness/every-operation';
import { startRedis, stopRedis, type RedisServer } from '../../../harness/redis-servers';
import { uniqueName } from '../../../harness/redis-targets';
import { now } from '../../../harness/timing';
import { throughTheModule } from '../../../harness/nest/deployment-app';

const PASSWORD = 'limiters-pass-7f3a';

describe('requirepass: the password in the redis:// URL', () => {
  let server: RedisServer;
  const clients: Redis[] = [];
  beforeAll(async () => {
    server = await startRedis({ args: () => ['--requirepass', PASSWORD], cli: ['-a', PASSWORD, '--no-auth-warning'] });
  });
  afterAll(async () => {
    await Promise.all(clients.splice(0).map(closeClient));
    if (server) await stopRedis(server);
  });
  const url = (password = PASSWORD) => `redis://:${password}@${server.host}:${server.port}`;
  const client = (address: string) => {
    const c = new Redis(address);
    c.on('error', () => undefined);
    clients.push(c);
    return c;
  };

  describe('core limiters', () => {
    everyOperationWorks(() => client(url()));
  });

  describe('through the module, the URL as the redis option', () => {
    throughTheModule(() => url());
  });

  it.each([
    ['a wrong password', () => url('not-the-password'), 'WRONGPASS'],
    ['no password', () => `redis://${server.host}:${server.port}`, 'NOAUTH'],
  ])(
    '%s: RedisRefusedError saying the client is not logged in, at once, without the password',
    async (_, address, code) => {
      const semaphore = new SemaphoreLimiter(client(address()), {
        name: uniqueName('requirepass'),
        capacity: 1,
        commandTimeout: 2_000,
      });
      const started = now();
      const error = (await semaphore.tryAcquire().catch((e: unknown) => e)) as RedisRefusedError;
      expect(now() - started).toBeLessThan(2_000);
      expect(error).toBeInstanceOf(RedisRefusedError);
      expect(error.code).toBe(code);
      expect(error.message).toMatch(
        /^Redis refused to acquire a permit of semaphore "requirepass-\w+": the client is not logged in: wrong username or password/,
      );
      expect(error.message).not.toContain('not-the-password');
      expect(error.message).not.toContain(PASSWORD);
    },
  );
});
