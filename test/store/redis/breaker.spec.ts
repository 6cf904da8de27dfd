/**
 * The circuit breaker in front of Redis: once calls to a server fail for connection reasons
 * a few times in a row, later calls fail at once instead of each waiting commandTimeout; a
 * probe that gets an answer closes it. Redis is cut off by TCP proxies that go silent
 * (what a partition looks like: no error, only no answer), so commandTimeout really bites.
 */
import type Redis from 'ioredis';
import { RedisRefusedError, RedisUnavailableError, SemaphoreLimiter, TokenBucketLimiter } from '../../../lib';
import { keySlot } from '../../../lib/store/redis/key-slot';
import { limiterKey } from '../../../lib/store/redis/keys';
import { useOwnRedis } from '../../harness/own-redis';
import { eventsOfEachTest } from '../../harness/channel-events';
import { closeClient } from '../../harness/connect';
import { connectAs, createUser, limiterUserRules } from '../../harness/acl-users';
import { cutOffClient } from '../../harness/cut-off-client';
import { masters, targets, uniqueName, useClients, type RedisClient } from '../../harness/redis-targets';
import { now, sleep } from '../../harness/timing';

/** Scheduling on a busy 2-core machine: how late a timer or a reply may be read. */
const SLACK_MS = 400;

/** How long `call` took to settle (ms) and what it rejected with, if it did. */
async function timed(call: () => Promise<unknown>): Promise<{ ms: number; error?: unknown }> {
  const startedAt = now();
  try {
    await call();
    return { ms: now() - startedAt };
  } catch (error) {
    return { ms: now() - startedAt, error };
  }
}

/**
 * Connects `client` to the server holding `bucket`'s key, without counting as a limiter
 * call: a client through proxies may still be loading its slot map, and a failure then
 * must not open the breaker before the test cuts anything.
 */
async function warmUp(client: RedisClient, bucket: TokenBucketLimiter): Promise<void> {
  const key = limiterKey('limiters', 'token-bucket', bucket.name);
  for (let attempt = 0; ; attempt++) {
    try {
      await client.exists(key);
      return;
    } catch (error) {
      if (attempt === 50) throw error;
      await sleep(100);
    }
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

describe.each(targets)('$name', (target) => {
  const events = { opened: eventsOfEachTest('breakerOpen'), closed: eventsOfEachTest('breakerClose') };

  it('once open, answers calls at once instead of after commandTimeout, and opens once', async () => {
    const commandTimeout = 1_000;
    const cutOff = await cutOffClient(target.name);
    try {
      const common = { capacity: 100, commandTimeout, breaker: { failures: 3, probeInterval: 60_000 } };
      const bucket = new TokenBucketLimiter(cutOff.client, {
        ...common,
        name: uniqueName('breaker'),
        refillFrequency: 10,
      });
      const semaphore = new SemaphoreLimiter(cutOff.client, { ...common, name: uniqueName('breaker'), maxSleep: 0 });
      await warmUp(cutOff.client, bucket);
      await bucket.take();
      cutOff.cut();
      // The calls that open it each wait commandTimeout, as without a breaker.
      // Each limiter's server opens its breaker (on a Cluster the two may live on two masters).
      const opening = await Promise.all(
        [1, 2, 3].flatMap(() => [timed(() => bucket.tryTake()), timed(() => semaphore.tryAcquire())]),
      );
      for (const call of opening) expect(call.ms).toBeGreaterThanOrEqual(commandTimeout - 5);
      const after = [];
      for (let i = 0; i < 100; i++) after.push(await timed(() => (i % 2 ? bucket.take() : semaphore.tryAcquire())));
      const ms = after.map((c) => c.ms);
      console.log(
        `${target.name}: opening calls ${opening.map((c) => c.ms.toFixed(0)).join('/')} ms; once open p50 ${percentile(ms, 50).toFixed(1)} ms, p90 ${percentile(ms, 90).toFixed(1)} ms, max ${Math.max(...ms).toFixed(1)} ms`,
      );
      expect(percentile(ms, 90)).toBeLessThan(50);
      for (const { error } of after) {
        expect(error).toBeInstanceOf(RedisUnavailableError);
        expect((error as Error).message).toMatch(
          /could not reach Redis: the circuit breaker for \S+ is open after \d+ failed calls in a row \(the last: no answer within commandTimeout 1000 ms\); the next probe goes in \d+ ms/,
        );
      }
      // Both limiters' keys are on one server (standalone) or their own masters (Cluster): one event per breaker opened.
      const servers = new Set(events.opened.map((e) => e.server));
      expect(events.opened.length).toBe(servers.size);
      expect(events.opened.every((e) => e.failures >= 3)).toBe(true);
      // Named as the client knows it: here the proxies (on a Cluster, ioredis's slot map after natMap).
      const known = cutOff.proxies.map((p) => `127.0.0.1:${p.port}`);
      expect([...servers].every((s) => known.includes(s))).toBe(true);
    } finally {
      await cutOff.close();
    }
  });

  it('lets one probe at a time through, and the first answer closes it', async () => {
    const commandTimeout = 800;
    const probeInterval = 300;
    const cutOff = await cutOffClient(target.name);
    try {
      const bucket = new TokenBucketLimiter(cutOff.client, {
        name: uniqueName('probe'),
        capacity: 1_000,
        refillFrequency: 10,
        commandTimeout,
        breaker: { failures: 2, probeInterval },
      });
      await warmUp(cutOff.client, bucket);
      await bucket.take();
      cutOff.cut();
      await Promise.all([timed(() => bucket.take()), timed(() => bucket.take())]);
      expect(events.opened.length).toBe(1);
      // Calls every 20 ms for 2 s: each probe waits commandTimeout, meanwhile the others fail at once.
      const calls: Array<{ startedAt: number; ms: number; error?: unknown }> = [];
      const until = now() + 2_000;
      const running: Array<Promise<void>> = [];
      while (now() < until) {
        const startedAt = now();
        running.push(timed(() => bucket.take()).then((c) => void calls.push({ startedAt, ...c })));
        await sleep(20);
      }
      await Promise.all(running);
      const probes = calls.filter((c) => c.ms >= commandTimeout - 5);
      // Probes never overlap, and come no sooner than probeInterval after the previous one failed.
      probes.sort((a, b) => a.startedAt - b.startedAt);
      for (let i = 1; i < probes.length; i++) {
        expect(probes[i].startedAt - (probes[i - 1].startedAt + probes[i - 1].ms)).toBeGreaterThanOrEqual(
          probeInterval - 25,
        );
      }
      expect(probes.length).toBeGreaterThanOrEqual(1);
      expect(probes.length).toBeLessThanOrEqual(Math.ceil(2_000 / (commandTimeout + probeInterval)) + 1);
      expect(calls.filter((c) => c.ms < 50).length / calls.length).toBeGreaterThanOrEqual(0.9);

      const restoredAt = now();
      cutOff.restore();
      let firstSuccess = Infinity;
      while (now() - restoredAt < 10_000) {
        const call = await timed(() => bucket.take());
        if (!call.error) {
          firstSuccess = now() - restoredAt;
          break;
        }
        await sleep(20);
      }
      console.log(
        `${target.name}: ${probes.length} probes while cut off, of ${calls.length} calls; first success ${firstSuccess.toFixed(0)} ms after the restore`,
      );
      // At most one probe interval, plus a probe that was in flight at the restore, plus reconnecting.
      expect(firstSuccess).toBeLessThan(probeInterval + commandTimeout + 1_000 + SLACK_MS);
      expect(events.closed.length).toBe(1);
      expect(events.closed[0].server).toBe(events.opened[0].server);
      // Closed: calls go to Redis again, and succeed.
      for (let i = 0; i < 5; i++) await bucket.take();
      expect(events.opened.length).toBe(1);
    } finally {
      await cutOff.close();
    }
  });

  it('with breaker false, every call waits commandTimeout', async () => {
    const commandTimeout = 300;
    const cutOff = await cutOffClient(target.name);
    try {
      const bucket = new TokenBucketLimiter(cutOff.client, {
        name: uniqueName('nobreaker'),
        capacity: 10,
        refillFrequency: 10,
        commandTimeout,
        breaker: false,
      });
      await warmUp(cutOff.client, bucket);
      await bucket.take();
      cutOff.cut();
      const calls = [];
      for (let i = 0; i < 6; i++) calls.push(await timed(() => bucket.take()));
      for (const call of calls) expect(call.ms).toBeGreaterThanOrEqual(commandTimeout - 5);
      expect(events.opened.length).toBe(0);
    } finally {
      await cutOff.close();
    }
  });
});

describe('cluster: one breaker per master', () => {
  const { client } = useClients(targets[1]);

  it('computes the hash slot of limiter keys as Redis does', async () => {
    const [node] = await masters(client());
    const keys = [
      limiterKey('limiters', 'token-bucket', 'api'),
      limiterKey('limiters', 'semaphore', 'jobs {x}', 'k.abc'),
      limiterKey('limiters', 'token-bucket', 'é ☃ 😀'),
      'no-tag',
      '{}empty',
      'a{b}c',
      'x{}{y}',
    ];
    for (const key of keys) expect(keySlot(key)).toBe(Number(await node.cluster('KEYSLOT', key)));
  });

  it('opens only for limiters on the master that is cut off', async () => {
    const cutOff = await cutOffClient('cluster');
    try {
      const cluster = cutOff.client as import('ioredis').Cluster;
      await cluster.ping();
      const victim = `127.0.0.1:${cutOff.proxies[0].port}`;
      // One bucket on the cut-off master and one elsewhere, told apart by Redis's own slot map.
      const named: Record<'victim' | 'other', string | undefined> = { victim: undefined, other: undefined };
      for (let i = 0; (!named.victim || !named.other) && i < 500; i++) {
        const name = uniqueName(`slot${i}`);
        const owner = cluster.slots[keySlot(limiterKey('limiters', 'token-bucket', name))][0];
        named[owner === victim ? 'victim' : 'other'] ??= name;
      }
      const options = {
        capacity: 1_000,
        refillFrequency: 10,
        commandTimeout: 500,
        breaker: { failures: 2, probeInterval: 60_000 },
      };
      expect(named).toEqual({ victim: expect.any(String), other: expect.any(String) });
      const onVictim = new TokenBucketLimiter(cluster, { ...options, name: named.victim! });
      const elsewhere = new TokenBucketLimiter(cluster, { ...options, name: named.other! });
      await Promise.all([warmUp(cluster, onVictim), warmUp(cluster, elsewhere)]);
      await Promise.all([onVictim.take(), elsewhere.take()]);
      cutOff.proxies[0].blackhole();
      await Promise.all([timed(() => onVictim.take()), timed(() => onVictim.take())]);
      const fast = await timed(() => onVictim.take());
      expect((fast.error as Error).message).toContain(`the circuit breaker for ${victim} is open`);
      // The other masters still answer, through their own closed breakers.
      for (let i = 0; i < 5; i++) await elsewhere.take();
    } finally {
      await cutOff.close();
    }
  });
});

describe('errors Redis answers with do not open it (own Redis)', () => {
  const users: Redis[] = [];
  afterAll(async () => {
    await Promise.all(users.splice(0).map(closeClient));
  });
  const own = useOwnRedis();

  it('NOPERM, however often, is reported as the refusal it is', async () => {
    const admin = own.client();
    const user = await createUser(
      admin,
      limiterUserRules().filter((r) => r !== '+eval'),
    );
    const semaphore = new SemaphoreLimiter(connectAs(own.server().port, user, users), {
      name: uniqueName('noperm'),
      capacity: 1,
      breaker: { failures: 2, probeInterval: 60_000 },
    });
    for (let i = 0; i < 6; i++) {
      const error = await semaphore.tryAcquire().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RedisRefusedError);
      expect((error as RedisRefusedError).code).toBe('NOPERM');
    }
  });
});
