/**
 * A Redis that may evict keys silently breaks every limit (an evicted holders set admits
 * past capacity). The module checks maxmemory-policy at start where CONFIG GET is allowed
 * and warns; it never fails or delays the start for it.
 * Each case sets its server's policy or users: this file starts its own Redis and Cluster.
 */
import type { LoggerService } from '@nestjs/common';
import type Redis from 'ioredis';
import { LimitersModule, LimitersService } from '../../lib';
import { checkRedisPolicy } from '../../lib/store/redis/server-policy';
import { useOwnCluster } from '../harness/own-cluster';
import { useOwnRedis } from '../harness/own-redis';
import { closeClient } from '../harness/connect';
import { connectAs, createUser, limiterUserRules } from '../harness/acl-users';
import { useNestModules } from '../harness/nest-modules';
import { sleep } from '../harness/timing';

/** Keeps what Nest logs, by level, instead of printing it. */
class CapturedLog implements LoggerService {
  readonly warnings: string[] = [];
  readonly debugs: string[] = [];
  log(): void {}
  error(): void {}
  warn(message: unknown): void {
    this.warnings.push(String(message));
  }
  debug(message: unknown): void {
    this.debugs.push(String(message));
  }
}

/** Resolves once `check` holds, polling; fails after `ms`. */
async function eventually(check: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await sleep(20);
  }
}

/** CONFIG GET calls a server has answered so far. */
async function configGets(admin: Redis): Promise<number> {
  const stats = (await admin.info('commandstats')) as string;
  return Number(/cmdstat_config\|get:calls=(\d+)/.exec(stats)?.[1] ?? 0);
}

const evictionWarnings = (log: CapturedLog) => log.warnings.filter((w) => w.includes('maxmemory-policy'));

describe('LimitersModule warns at start when Redis may evict limiter keys (own Redis)', () => {
  const userClients: Redis[] = [];
  afterAll(async () => {
    await Promise.all(userClients.splice(0).map(closeClient));
  });
  const own = useOwnRedis();
  const { start } = useNestModules();
  let admin: Redis;
  beforeAll(() => {
    admin = own.client();
  });
  afterEach(async () => {
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
  });

  it.each(['allkeys-lru', 'volatile-lru', 'allkeys-random'])(
    'with %s: one warning naming the policy',
    async (policy) => {
      await admin.config('SET', 'maxmemory-policy', policy);
      const log = new CapturedLog();
      await start({ imports: [LimitersModule.forRoot({ redis: own.server().url })] }, { logger: log });
      await eventually(() => evictionWarnings(log).length > 0);
      await sleep(100); // a second warning would come now
      expect(evictionWarnings(log)).toEqual([
        `The limiters' Redis may evict keys under memory pressure (maxmemory-policy ${policy} on 127.0.0.1:${own.server().port}). ` +
          'An evicted key forgets holders and spent tokens: a semaphore then admits more than its capacity and a token ' +
          'bucket more than its rate. Set maxmemory-policy noeviction on the Redis that holds the limiters.',
      ]);
    },
  );

  it('checks a client the app passes in, too', async () => {
    await admin.config('SET', 'maxmemory-policy', 'volatile-ttl');
    const log = new CapturedLog();
    await start({ imports: [LimitersModule.forRoot({ redis: own.client() })] }, { logger: log });
    await eventually(() => evictionWarnings(log).length > 0);
    expect(evictionWarnings(log)[0]).toContain('maxmemory-policy volatile-ttl on 127.0.0.1:');
  });

  it('with noeviction: no warning', async () => {
    const log = new CapturedLog();
    const before = await configGets(admin);
    await start({ imports: [LimitersModule.forRoot({ redis: own.server().url })] }, { logger: log });
    await eventually(async () => (await configGets(admin)) > before);
    await sleep(100); // the answer reaches the module
    expect(log.warnings).toEqual([]);
  });

  it('with CONFIG denied by the ACL: no warning, the app starts and its limiters work', async () => {
    await admin.config('SET', 'maxmemory-policy', 'allkeys-lru'); // would be warned about, if it could be read
    const user = await createUser(admin, limiterUserRules());
    const log = new CapturedLog();
    const app = await start(
      {
        imports: [
          LimitersModule.forRoot({
            redis: connectAs(own.server().port, user, userClients),
            semaphores: { jobs: { capacity: 1 } },
          }),
        ],
      },
      { logger: log },
    );
    await eventually(() => log.debugs.some((d) => d.includes('maxmemory-policy')));
    expect(log.debugs.filter((d) => d.includes('maxmemory-policy'))).toEqual([
      'Could not check that Redis keeps limiter keys (maxmemory-policy noeviction): CONFIG GET maxmemory-policy failed on ' +
        `127.0.0.1:${own.server().port}: NOPERM this user has no permissions to run the 'config|get' command.`,
    ]);
    expect(log.warnings).toEqual([]);
    const permit = await app.get(LimitersService).getSemaphore('jobs').acquire();
    await permit.release();
  });
});

describe('checkRedisPolicy on a Cluster reads every master (own Cluster)', () => {
  const cluster = useOwnCluster();

  it('names only the master whose policy evicts', async () => {
    const [, second] = cluster.servers();
    await cluster.onEveryNode(async (node) => {
      if (node.options.port === second.port) await node.config('SET', 'maxmemory-policy', 'allkeys-lru');
    });
    expect(await checkRedisPolicy(cluster.client())).toEqual([
      { server: `127.0.0.1:${second.port}`, policy: 'allkeys-lru' },
    ]);
  });
});
