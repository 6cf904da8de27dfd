/**
 * What the node-redis adapter does that the shared behaviour suites cannot see: the script
 * a server forgot is sent again as text, Redis's error replies become RedisRefusedError,
 * and a client the app never connected fails at once. The behaviour itself (capacity,
 * hand-off, refill) runs on node-redis in the suites of clientTargets and storeTargets.
 * Each case flushes scripts, resets stats or adds users: this file starts its own Redis.
 */
import type { RedisClientType } from 'redis';
import { RedisRefusedError, RedisUnavailableError, SemaphoreLimiter, TokenBucketLimiter } from '../../../lib';
import { probeRedis } from '../../../lib/store/redis/health-probe';
import { useOwnRedis } from '../../harness/own-redis';
import { createUser, limiterUserRules } from '../../harness/acl-users';
import { closeNodeRedis, nodeRedisAt } from '../../harness/node-redis';
import { uniqueName } from '../../harness/redis-targets';
import { now } from '../../harness/timing';

describe('a node-redis client (own Redis)', () => {
  const clients: RedisClientType[] = [];
  // Before useOwnRedis, so these clients close before their server stops.
  afterAll(() => Promise.all(clients.splice(0).map(closeNodeRedis)));
  const own = useOwnRedis();
  const client = (url = own.server().url) => {
    const c = nodeRedisAt(url);
    clients.push(c);
    return c;
  };
  const connected = async (url?: string) => {
    const c = client(url);
    await c.connect();
    return c;
  };

  /** Calls of `command` the server counted since the last CONFIG RESETSTAT. */
  const calls = async (command: string) => {
    const info = await own.client().info('commandstats');
    return Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  };

  it('sends a script Redis forgot (SCRIPT FLUSH) once as text, and by its SHA otherwise', async () => {
    const admin = own.client();
    const bucket = new TokenBucketLimiter(await connected(), {
      name: uniqueName('flush'),
      capacity: 10,
      refillFrequency: 60_000,
    });
    await bucket.take();
    await admin.script('FLUSH');
    await admin.config('RESETSTAT');
    for (let i = 0; i < 3; i++) await bucket.take();
    expect(await calls('eval')).toBe(1);
    expect(await calls('evalsha')).toBeGreaterThanOrEqual(2);
    // Every take counted, the one after the flush too.
    expect((await bucket.state()).tokens).toBe(10 - 4);
  });

  it("turns Redis's error reply into a RedisRefusedError that says what was refused and why", async () => {
    // Scripts allowed, but only another prefix's keys.
    const user = await createUser(own.client(), limiterUserRules('elsewhere'));
    const redis = await connected(`redis://${user}:secret@127.0.0.1:${own.server().port}`);
    const error = await new SemaphoreLimiter(redis, { name: uniqueName('noperm'), capacity: 1 })
      .tryAcquire()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisRefusedError);
    expect((error as RedisRefusedError).code).toBe('NOPERM');
    expect((error as Error).message).toContain("may not access this limiter's keys (it needs the rule ~limiters:*)");
  });

  it('fails a call at once on a client the app never connected, instead of after commandTimeout', async () => {
    const never = client();
    const startedAt = now();
    const error = await new SemaphoreLimiter(never, { name: uniqueName('closed'), capacity: 1, commandTimeout: 10_000 })
      .tryAcquire()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect(error).not.toBeInstanceOf(RedisRefusedError);
    expect(now() - startedAt).toBeLessThan(5_000);
  });

  it('is not healthy while the client is not connected, and healthy once it is', async () => {
    const later = client();
    expect(await probeRedis(later, 'limiters', 1_000)).toEqual({
      ok: false,
      reason: expect.stringContaining('not open'),
    });
    await later.connect();
    expect(await probeRedis(later, 'limiters', 1_000)).toEqual({ ok: true, masters: 1 });
  });
});
