/**
 * The ACL rule set the docs give is enough for everything the limiters do, and a user
 * missing the channel rule (Redis 7 users get none by default: acl-pubsub-default is
 * resetchannels) gets a prompt error naming that rule instead of a wait that hangs.
 * Users are created on servers of this file's own.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Redis from 'ioredis';
import { RedisRefusedError, SemaphoreLimiter } from '../../../lib';
import { SCRIPT_COMMANDS } from '../../../lib/store/redis/script-runner';
import { useOwnCluster } from '../../harness/own-cluster';
import { useOwnRedis } from '../../harness/own-redis';
import { closeClient } from '../../harness/connect';
import { CLUSTER_RULES, connectAs, createUser, limiterUserRules } from '../../harness/acl-users';
import { everyOperationWorks } from '../../harness/every-operation';
import { uniqueName } from '../../harness/redis-targets';
import { now } from '../../harness/timing';
import { throughTheModule } from '../../harness/nest/deployment-app';

/** Every command a script in lua/ (or an include) calls. */
function commandsInScripts(): string[] {
  const dirs = [join(__dirname, '..', '..', '..', 'lua'), join(__dirname, '..', '..', '..', 'lua', 'includes')];
  const lua = dirs.flatMap((dir) =>
    readdirSync(dir)
      .filter((f) => f.endsWith('.lua'))
      .map((f) => readFileSync(join(dir, f), 'utf8')),
  );
  const called = lua.flatMap((source) =>
    [...source.matchAll(/redis\.p?call\(\s*['"](\w+)['"]/g)].map((m) => m[1].toUpperCase()),
  );
  return [...new Set(called)].sort();
}

describe('ACL: the rule set the library needs', () => {
  it('names every command the scripts call', () => {
    expect(SCRIPT_COMMANDS.split(' ').sort()).toEqual(commandsInScripts());
  });

  describe('on a standalone Redis of its own', () => {
    const clients: Redis[] = [];
    afterAll(async () => {
      await Promise.all(clients.splice(0).map(closeClient));
    });
    const own = useOwnRedis();
    let user: string;
    beforeAll(async () => {
      user = await createUser(own.client(), limiterUserRules());
    });

    everyOperationWorks(() => connectAs(own.server().port, user, clients));

    describe('through the module, the user in the redis:// URL', () => {
      throughTheModule(() => `redis://${user}:secret@127.0.0.1:${own.server().port}`);
    });

    describe("with the client's own ioredis keyPrefix: it goes before keys, not channels", () => {
      let prefixed: string;
      beforeAll(async () => {
        prefixed = await createUser(own.client(), ['~app:limiters:*', ...limiterUserRules().slice(1)]);
      });
      everyOperationWorks(() => connectAs(own.server().port, prefixed, clients, { keyPrefix: 'app:' }));
    });

    it('a user with ~* +@all but no channel rule fails a wait at once, naming the rule it lacks', async () => {
      const pitfall = `limiters-test-${process.pid}-all-but-channels`;
      // No "reset" and no channel rule: as an operator would write it, Redis 7 adds resetchannels.
      await own.client().acl('SETUSER', pitfall, 'on', '>secret', '~*', '+@all');
      const semaphore = new SemaphoreLimiter(connectAs(own.server().port, pitfall, clients), {
        name: uniqueName('acl'),
        capacity: 1,
        maxSleep: 10_000,
      });
      const holder = (await semaphore.tryAcquire())!;
      expect(holder).not.toBeNull(); // what works: scripts and keys
      const started = now();
      const error = await semaphore.acquire().catch((e: unknown) => e);
      expect(now() - started).toBeLessThan(1_000);
      expect(error).toBeInstanceOf(RedisRefusedError);
      expect((error as Error).message).toMatch(
        /^Redis refused to subscribe to the grants of semaphore "acl-\w+" \(SUBSCRIBE\): the Redis user may not use this limiter's channels \(it needs the rule &limiters:\*\)/,
      );
      expect(await holder.release()).toBe(true);
    });
  });

  describe('on a Cluster of its own, with the Cluster rules added', () => {
    const cluster = useOwnCluster();
    const user = `limiters-test-${process.pid}-cluster`;
    beforeAll(async () => {
      // ACL users are per node: the same user on every master.
      await cluster.onEveryNode((node) => createUser(node, [...limiterUserRules(), ...CLUSTER_RULES], user));
    });

    everyOperationWorks(() => cluster.client({ username: user, password: 'secret' }));

    describe("through the module, the app's own Cluster client logged in as the user", () => {
      throughTheModule(() => cluster.client({ username: user, password: 'secret' }));
    });
  });
});
