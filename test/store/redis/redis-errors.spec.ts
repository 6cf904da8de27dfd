/**
 * A Redis that answers with an error is not an unreachable one: the error says what Redis
 * refused, which call of which limiter it refused, and why, in terms of what to change.
 * Each case changes its server's memory limit, users, role or slots: this file starts its
 * own Redis and Cluster.
 */
import type Redis from 'ioredis';
import { RedisRefusedError, RedisUnavailableError, SemaphoreLimiter, TokenBucketLimiter } from '../../../lib';
import { RedisStore } from '../../../lib/store/redis/redis-store';
import { useOwnCluster } from '../../harness/own-cluster';
import { useOwnRedis } from '../../harness/own-redis';
import { closeClient } from '../../harness/connect';
import { connectAs, createUser, limiterUserRules } from '../../harness/acl-users';
import { uniqueName } from '../../harness/redis-targets';
import { sleep } from '../../harness/timing';

/** The rejection of `call`, which must reject. */
async function refusal(call: Promise<unknown>): Promise<RedisRefusedError> {
  const error = await call.then(
    () => {
      throw new Error('expected Redis to refuse the call, but it succeeded');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RedisRefusedError);
  // Still a RedisUnavailableError: whenRedisFails and 503 answers treat it alike.
  expect(error).toBeInstanceOf(RedisUnavailableError);
  return error as RedisRefusedError;
}

describe('errors Redis answers with (own Redis)', () => {
  const userClients: Redis[] = [];
  // Before useOwnRedis, so these clients quit before their server stops.
  afterAll(async () => {
    await Promise.all(userClients.splice(0).map(closeClient));
  });
  const own = useOwnRedis();
  let admin: Redis;
  let redis: Redis;
  beforeAll(() => {
    admin = own.client();
    redis = own.client();
  });

  describe('out of memory: maxmemory reached under noeviction', () => {
    beforeAll(async () => {
      // Well over Redis's own baseline, so the limit below is surely exceeded.
      const filler = 'x'.repeat(10_000);
      await Promise.all(Array.from({ length: 300 }, (_, i) => admin.set(`filler:${i}`, filler)));
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await admin.config('SET', 'maxmemory', '1mb');
    });
    afterAll(async () => {
      await admin.config('SET', 'maxmemory', '0');
      await admin.flushall();
    });

    it('an acquire names the semaphore and says Redis is out of memory', async () => {
      const name = uniqueName('oom');
      const error = await refusal(new SemaphoreLimiter(redis, { name, capacity: 2 }).tryAcquire());
      expect(error.code).toBe('OOM');
      expect(error.message).toMatch(
        new RegExp(
          `^Redis refused to acquire a permit of semaphore "${name}": Redis is out of memory: it reached maxmemory.*noeviction`,
        ),
      );
      expect(error.message).toContain("(Redis said: OOM command not allowed when used memory > 'maxmemory'.");
      expect(error.message).not.toContain('could not reach');
    });

    it('a take names the token bucket and says Redis is out of memory', async () => {
      const name = uniqueName('oom');
      const error = await refusal(new TokenBucketLimiter(redis, { name, capacity: 2, refillFrequency: 1_000 }).take());
      expect(error.code).toBe('OOM');
      expect(error.message).toMatch(
        new RegExp(`^Redis refused to take tokens from token bucket "${name}": Redis is out of memory`),
      );
    });
  });

  describe('a user without a permission the limiter needs (NOPERM)', () => {
    it('names the command the user may not run', async () => {
      const user = await createUser(
        admin,
        limiterUserRules().filter((r) => r !== '+eval'),
      );
      const name = uniqueName('noperm');
      const error = await refusal(
        new SemaphoreLimiter(connectAs(own.server().port, user, userClients), { name, capacity: 1 }).tryAcquire(),
      );
      expect(error.code).toBe('NOPERM');
      expect(error.message).toBe(
        `Redis refused to acquire a permit of semaphore "${name}": the Redis user may not run the command EVAL ` +
          "(Redis said: NOPERM this user has no permissions to run the 'eval' command)",
      );
    });

    it('names the missing key rule', async () => {
      const user = await createUser(admin, ['~other:*', ...limiterUserRules().slice(1)]);
      const name = uniqueName('noperm');
      const bucket = new TokenBucketLimiter(connectAs(own.server().port, user, userClients), {
        name,
        capacity: 1,
        refillFrequency: 1_000,
      });
      const error = await refusal(bucket.take());
      expect(error.message).toMatch(
        new RegExp(
          `^Redis refused to take tokens from token bucket "${name}": the Redis user may not access this limiter's keys \\(it needs the rule ~limiters:\\*\\)`,
        ),
      );
    });

    it('says a command inside a script was refused', async () => {
      const user = await createUser(
        admin,
        limiterUserRules().filter((r) => r !== '+time'),
      );
      const error = await refusal(
        new SemaphoreLimiter(connectAs(own.server().port, user, userClients), {
          name: uniqueName('noperm'),
          capacity: 1,
        }).tryAcquire(),
      );
      expect(error.message).toContain('the Redis user may not run one of the commands the script calls (TIME GET SET');
    });

    it('a release, a renewal and a cancel each name what was refused', async () => {
      const user = await createUser(admin, limiterUserRules());
      const client = connectAs(own.server().port, user, userClients);
      const name = uniqueName('noperm');
      const semaphore = new SemaphoreLimiter(client, { name, capacity: 1, expiry: 60_000 });
      const permit = (await semaphore.tryAcquire())!;
      const backend = RedisStore.for(client).semaphore({ name, keyPrefix: 'limiters', commandTimeout: 5_000 });
      // Taken away while the permit is held, as an operator tightening the ACL would.
      await admin.acl('SETUSER', user, 'resetkeys', '~other:*');
      try {
        const needsKeys = "the Redis user may not access this limiter's keys (it needs the rule ~limiters:*)";
        expect((await refusal(permit.release())).message).toContain(
          `Redis refused to release a permit of semaphore "${name}": ${needsKeys}`,
        );
        expect((await refusal(backend.renew(permit.id, 60_000))).message).toContain(
          `Redis refused to renew a permit of semaphore "${name}": ${needsKeys}`,
        );
        expect((await refusal(backend.cancel(permit.id))).message).toContain(
          `Redis refused to cancel a wait for semaphore "${name}": ${needsKeys}`,
        );
      } finally {
        await admin.acl('SETUSER', user, '~limiters:*');
      }
    });
  });

  it('a replica (READONLY) says the client is connected to a read-only replica', async () => {
    const name = uniqueName('readonly');
    const bucket = new TokenBucketLimiter(redis, { name, capacity: 1, refillFrequency: 1_000 });
    await bucket.take(); // the script is loaded and the connection ready before the demotion
    await admin.config('SET', 'replica-read-only', 'yes');
    // A replica of a port nobody listens on: read-only at once, and its data stays.
    await admin.replicaof('127.0.0.1', '1');
    try {
      const error = await refusal(bucket.take());
      expect(error.code).toBe('READONLY');
      expect(error.message).toMatch(
        new RegExp(`^Redis refused to take tokens from token bucket "${name}": the server is a read-only replica`),
      );
    } finally {
      await admin.replicaof('NO', 'ONE');
    }
  });

  it('a server busy with a long script (BUSY) says so', async () => {
    const semaphore = new SemaphoreLimiter(redis, { name: uniqueName('busy'), capacity: 1 });
    await semaphore.state(); // connected and ready: the refusal comes from Redis, not the ready check
    await admin.config('SET', 'busy-reply-threshold', '50');
    const blocker = own.client();
    const blocking = blocker.eval('while true do end', 0).catch((e: unknown) => e);
    await sleep(200);
    try {
      const error = await refusal(semaphore.tryAcquire());
      expect(error.code).toBe('BUSY');
      expect(error.message).toContain('Redis is busy running a script or function');
    } finally {
      await admin.script('KILL');
      await blocking;
    }
  });

  it('a call that gets no answer in time still says Redis could not be reached', async () => {
    const semaphore = new SemaphoreLimiter(redis, { name: uniqueName('pause'), capacity: 1, commandTimeout: 100 });
    await semaphore.state();
    await admin.call('CLIENT', 'PAUSE', '400', 'ALL');
    const error = await semaphore.tryAcquire().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect(error).not.toBeInstanceOf(RedisRefusedError);
    expect((error as Error).message).toMatch(/could not reach Redis: no answer within commandTimeout 100 ms/);
    await sleep(400);
  });
});

describe('a Cluster with a slot nobody serves (own Cluster)', () => {
  const cluster = useOwnCluster();

  it('says the Cluster is down (CLUSTERDOWN), once ioredis stops retrying', async () => {
    const name = uniqueName('clusterdown');
    const client = cluster.client();
    const semaphore = new SemaphoreLimiter(client, { name, capacity: 1 });
    await semaphore.state();
    const slot = String(await client.cluster('KEYSLOT', `limiters:semaphore:{=${name}}:holders`));
    // Only its owner has the slot; the others refuse to delete it.
    await cluster.onEveryNode((node) => node.cluster('DELSLOTS', slot).catch(() => undefined));
    const error = await refusal(semaphore.tryAcquire());
    expect(error.code).toBe('CLUSTERDOWN');
    expect(error.message).toBe(
      `Redis refused to acquire a permit of semaphore "${name}": the Cluster is down: a hash slot of this limiter is ` +
        'not served by any master (Redis said: CLUSTERDOWN Hash slot not served)',
    );
  });
});
