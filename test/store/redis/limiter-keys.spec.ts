import { Cluster } from 'ioredis';
import { SemaphoreLimiter, TokenBucketLimiter } from '../../../lib';
import { encodeName } from '../../../lib/store/redis/keys';
import { masters, targets, uniqueName, useClients, type RedisClient } from '../../harness/redis-targets';
import { storeTargets } from '../../harness/store-targets';
import { sleep } from '../../harness/timing';

/** Every key on every master whose name contains `needle`. */
async function keysContaining(redis: RedisClient, needle: string): Promise<string[]> {
  const found: string[] = [];
  for (const node of await masters(redis)) {
    for (const key of await node.keys('*')) if (key.includes(needle)) found.push(key);
  }
  return found;
}

const awkwardNames = [
  '100%s done %d',
  '{tag}',
  '}{',
  'a:b:c',
  'a b\tc\nd',
  'ünïcödé 🚦 名前',
  'x'.repeat(10_000),
  'x'.repeat(10_001),
  // Request data crafted to land on another limiter's keys.
  'victim}:holders',
  'limiters:semaphore:{dmljdGlt}',
  'dmljdGlt',
  'limiters:semaphore:{=victim}',
  '=victim',
  // Lone surrogates have no UTF-8 form; each must not turn into U+FFFD and meet the others.
  '\ud800',
  '\udc00',
  '\ufffd',
];

describe.each(storeTargets)('limiter names on $name store', (target) => {
  const store = target.store();

  it('keeps every awkward name working and isolated from every other name', async () => {
    const suffix = uniqueName('');
    const names = ['victim', ...awkwardNames].map((n) => n + suffix);
    const semaphores = names.map((name) => new SemaphoreLimiter(store, { name, capacity: 1 }));
    // Each name has its own single slot: all first takes succeed, all second takes fail.
    const first = await Promise.all(semaphores.map((s) => s.tryAcquire()));
    expect(first.every(Boolean)).toBe(true);
    const second = await Promise.all(semaphores.map((s) => s.tryAcquire()));
    expect(second.every((p) => p === null)).toBe(true);
    await Promise.all(first.map((p) => p!.release()));

    const buckets = names.map((name) => new TokenBucketLimiter(store, { name, capacity: 1, refillFrequency: 60_000 }));
    expect((await Promise.all(buckets.map((b) => b.tryTake()))).every((r) => r.allowed)).toBe(true);
    expect((await Promise.all(buckets.map((b) => b.tryTake()))).some((r) => r.allowed)).toBe(false);
  });
});

describe.each(targets)('limiter keys on $name Redis', (target) => {
  const { client } = useClients(target);
  const redis = client();

  it('encodes names so keys never hold a brace, a glob character or white space of the name, and stay short', () => {
    for (const name of awkwardNames) {
      const encoded = encodeName(name);
      expect(encoded).toMatch(/^[\w.:@=-]+$/);
      expect(encoded.length).toBeLessThanOrEqual(65);
    }
    expect(encodeName('x'.repeat(10_000))).not.toBe(encodeName('x'.repeat(10_001)));
    expect(new Set(['\ud800', '\udc00', '\ufffd', '\ud800\udc00', '\udc00\ud800'].map(encodeName)).size).toBe(5);
  });

  it('keeps readable names readable in keys, and apart from every encoded name', () => {
    expect(encodeName('per-key:alice@example.com')).toBe('=per-key:alice@example.com');
    expect(encodeName('api_v2.search')).toBe('=api_v2.search');
    // Not readable: encoded, and never equal to a readable name's segment.
    for (const name of ['=victim', 'a b', 'x'.repeat(65), '*', 'ünï']) expect(encodeName(name)).not.toMatch(/^=/);
  });

  it('leaves no key behind once a semaphore is idle', async () => {
    const s = new SemaphoreLimiter(redis, { name: uniqueName('idle'), capacity: 1, expiry: 200 });
    const held = await s.acquire();
    await s.acquire({ maxSleep: 100 }).catch(() => undefined); // queues, then gives up
    await held.release();
    expect(await keysContaining(redis, encodeName(s.name))).not.toEqual([]);
    await sleep(200 + 1_000 + 300); // longest lease or wait, plus the 1 s the scripts add
    expect(await keysContaining(redis, encodeName(s.name))).toEqual([]);
  });

  it('keeps working after SCRIPT FLUSH', async () => {
    const s = new SemaphoreLimiter(redis, { name: uniqueName('flush'), capacity: 1 });
    await (await s.acquire()).release();
    await Promise.all((await masters(redis)).map((node) => node.script('FLUSH')));
    const permit = await s.acquire();
    expect(await permit.release()).toBe(true);
  });

  if (target.name === 'cluster') {
    it('puts one limiter in one slot and spreads different limiters over the masters', async () => {
      const cluster = redis as Cluster;
      const semaphores = Array.from(
        { length: 30 },
        () => new SemaphoreLimiter(cluster, { name: uniqueName('spread'), capacity: 1 }),
      );
      const permits = await Promise.all(semaphores.map((s) => s.acquire()));
      const owners = new Set<number>();
      const nodes = await masters(cluster);
      const keysByNode = await Promise.all(nodes.map((node) => node.keys('*')));
      for (const s of semaphores) {
        const encoded = encodeName(s.name);
        const keys = await keysContaining(cluster, encoded);
        const slots = new Set(await Promise.all(keys.map((k) => cluster.cluster('KEYSLOT', k))));
        expect(slots.size).toBe(1);
        keysByNode.forEach((nodeKeys, node) => nodeKeys.some((k) => k.includes(encoded)) && owners.add(node));
      }
      expect(owners.size).toBe(3);
      await Promise.all(permits.map((p) => p.release()));
    });
  }
});
