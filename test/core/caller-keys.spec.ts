/**
 * A keyed limit is the pair (name, key): apart from every plain name, and its key never
 * readable outside the process unless readableKeys asks for it.
 */
import { inspect } from 'node:util';
import { MaxSleepExceededError, RedisUnavailableError, SemaphoreLimiter, TokenBucketLimiter } from '../../lib';
import { compactKey, DEFAULT_KEY_SECRET, encodeName, keyIdOf } from '../../lib/core/key-segments';
import { limiterKey } from '../../lib/store/redis/keys';
import { unreachableRedis } from '../harness/nest/limited-app';
import { closeClient } from '../harness/connect';
import { allKeyNames, readableForms } from '../harness/caller-keys';
import { targets, uniqueName, useClients } from '../harness/redis-targets';
import { storeTargets } from '../harness/store-targets';
import { waitUntil } from '../harness/timing';

const SECRET_KEY = 'sk_live_SECRET123';

const bucketOptions = { capacity: 1, refillFrequency: 60_000, maxSleep: 0 };

describe.each(storeTargets)('caller keys on $name store', (target) => {
  const store = target.store();

  it('keeps a keyed limit apart from every plain name, the plain "name:key" included', async () => {
    const name = uniqueName('api');
    const keyed = new TokenBucketLimiter(store, { ...bucketOptions, name, key: 'admin' });
    // Plain names a caller could try to pass off as the keyed limit, and the reverse.
    const plainNames = [
      name,
      `${name}:admin`,
      `${name}/admin`,
      `${encodeName(name)}/${keyIdOf('admin', DEFAULT_KEY_SECRET, false)}`,
    ];
    const plain = plainNames.map((n) => new TokenBucketLimiter(store, { ...bucketOptions, name: n }));
    const keyedLike = new TokenBucketLimiter(store, { ...bucketOptions, name: `${name}:admin`, key: 'admin' });
    expect((await keyed.tryTake()).allowed).toBe(true);
    for (const limiter of [...plain, keyedLike]) expect((await limiter.tryTake()).allowed).toBe(true);
    expect((await keyed.tryTake()).allowed).toBe(false);
  });

  it('gives each key its own limit, the same for every limiter of that name and key', async () => {
    const name = uniqueName('api');
    const semaphore = (key: string) => new SemaphoreLimiter(store, { name, key, capacity: 1 });
    const alice = await semaphore('alice').tryAcquire();
    expect(alice).not.toBeNull();
    expect(await semaphore('alice').tryAcquire()).toBeNull();
    const bob = await semaphore('bob').tryAcquire();
    expect(bob).not.toBeNull();
    expect(await new SemaphoreLimiter(store, { name, capacity: 1 }).tryAcquire()).not.toBeNull();
    await Promise.all([alice!.release(), bob!.release()]);
  });

  it('keeps keys apart that differ only past 64 characters or in lone surrogates', async () => {
    const name = uniqueName('api');
    const keys = [
      'x'.repeat(10_000),
      'x'.repeat(10_001),
      '\ud800',
      '\udc00',
      '\ufffd',
      compactKey('x'.repeat(10_000)).slice(1),
    ];
    const buckets = keys.map((key) => new TokenBucketLimiter(store, { ...bucketOptions, name, key }));
    expect((await Promise.all(buckets.map((b) => b.tryTake()))).every((r) => r.allowed)).toBe(true);
    expect((await Promise.all(buckets.map((b) => b.tryTake()))).some((r) => r.allowed)).toBe(false);
  });

  it('makes a distinct limit of the same key under another keySecret', async () => {
    const name = uniqueName('api');
    const first = new TokenBucketLimiter(store, { ...bucketOptions, name, key: 'alice' });
    const otherSecret = new TokenBucketLimiter(store, { ...bucketOptions, name, key: 'alice', keySecret: 'rotated' });
    expect((await first.tryTake()).allowed).toBe(true);
    expect((await otherSecret.tryTake()).allowed).toBe(true);
  });

  it('keeps no copy of the key in the limiter', () => {
    const bucket = new TokenBucketLimiter(store, { ...bucketOptions, name: uniqueName('api'), key: SECRET_KEY });
    const semaphore = new SemaphoreLimiter(store, { name: uniqueName('api'), key: SECRET_KEY, capacity: 1 });
    for (const limiter of [bucket, semaphore]) {
      const seen = inspect(limiter, { depth: 8, showHidden: true });
      for (const form of readableForms(SECRET_KEY)) expect(seen).not.toContain(form);
    }
  });

  it('names the declared limit, never the key, in refusals and errors', async () => {
    const name = uniqueName('api');
    const bucket = new TokenBucketLimiter(store, { ...bucketOptions, name, key: SECRET_KEY });
    const semaphore = new SemaphoreLimiter(store, { name, key: SECRET_KEY, capacity: 1, maxSleep: 50 });
    expect(bucket.name).toBe(name);
    expect(semaphore.name).toBe(name);
    await bucket.take();
    const held = await semaphore.acquire();
    const errors = await Promise.all([
      bucket.take().catch((e: unknown) => e),
      bucket.reserve().catch((e: unknown) => e),
      semaphore.acquire().catch((e: unknown) => e),
      semaphore.acquire({ maxSleep: 0 }).catch((e: unknown) => e),
    ]);
    for (const error of errors) {
      expect(error).toBeInstanceOf(MaxSleepExceededError);
      expect((error as MaxSleepExceededError).limiter).toBe(name);
      expect((error as Error).message).toContain(`"${name}"`);
      for (const form of readableForms(SECRET_KEY)) expect((error as Error).message).not.toContain(form);
    }
    await held.release();
  });
});

describe.each(targets)('caller keys in $name Redis', (target) => {
  const { client } = useClients(target);
  const redis = client();

  /** Every key name of `keyPrefix` while a keyed semaphore has a holder and a waiter and a keyed bucket is spent. */
  async function namesInUse(options: { keyPrefix: string; readableKeys?: boolean }): Promise<string[]> {
    const name = 'per-key';
    const bucket = new TokenBucketLimiter(redis, { ...bucketOptions, ...options, name, key: SECRET_KEY });
    const semaphore = new SemaphoreLimiter(redis, { ...options, name, key: SECRET_KEY, capacity: 1 });
    await bucket.take();
    await bucket.take().catch(() => undefined);
    const held = await semaphore.acquire();
    const waiting = semaphore.acquire({ maxSleep: 30_000 });
    // The waiter's keys exist once it is queued; its grant follows the release.
    await waitUntil('the second acquire is queued', async () => (await semaphore.state()).waiters.length === 1);
    const names = (await allKeyNames(redis)).filter((n) => n.startsWith(`${options.keyPrefix}:`));
    await held.release();
    await (await waiting).release();
    return names;
  }

  it('writes no readable form of the key into any key name', async () => {
    const keyPrefix = uniqueName('hidden');
    const names = await namesInUse({ keyPrefix });
    const keyId = keyIdOf(SECRET_KEY, DEFAULT_KEY_SECRET, false);
    const semaphoreKey = limiterKey(keyPrefix, 'semaphore', 'per-key', keyId);
    expect(names.sort()).toEqual(
      [
        limiterKey(keyPrefix, 'token-bucket', 'per-key', keyId),
        ...['arrivals', 'holders', 'queue', 'waiters'].map((k) => `${semaphoreKey}:${k}`),
      ].sort(),
    );
    for (const form of readableForms(SECRET_KEY)) expect(names.filter((n) => n.includes(form))).toEqual([]);
  });

  it('writes the key readably into key names with readableKeys', async () => {
    const keyPrefix = uniqueName('readable');
    const names = await namesInUse({ keyPrefix, readableKeys: true });
    expect(names).toContain(`${keyPrefix}:token-bucket:{=per-key/=${SECRET_KEY}}`);
    expect(names).toContain(`${keyPrefix}:semaphore:{=per-key/=${SECRET_KEY}}:holders`);
    expect(names).toHaveLength(5);
  });

  if (target.name === 'cluster') {
    it("keeps a keyed limiter's keys in one slot", async () => {
      const keyPrefix = uniqueName('slot');
      const names = (await namesInUse({ keyPrefix })).filter((n) => n.startsWith(`${keyPrefix}:semaphore:`));
      expect(names.length).toBeGreaterThan(0);
      const slots = await Promise.all(names.map((n) => (redis as import('ioredis').Cluster).cluster('KEYSLOT', n)));
      expect(new Set(slots).size).toBe(1);
    });
  }
});

describe('caller keys when Redis is unreachable', () => {
  it('names the declared limit, never the key, in RedisUnavailableError', async () => {
    const redis = await unreachableRedis();
    const name = uniqueName('api');
    const bucket = new TokenBucketLimiter(redis, { ...bucketOptions, name, key: SECRET_KEY, commandTimeout: 100 });
    const error = await bucket.tryTake().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect((error as Error).message).toContain(`"${name}"`);
    for (const form of readableForms(SECRET_KEY)) expect((error as Error).message).not.toContain(form);
    await closeClient(redis);
  });
});
