/**
 * Every outcome of a limited call is published once on its node:diagnostics_channel
 * channel, by a core limiter used without Nest as well; payloads name the limit and carry
 * the key's hash, never the key. Shadow mode evaluates and reports, and never refuses.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import {
  CHANNEL_NAMES,
  MaxSleepExceededError,
  RedisUnavailableError,
  SemaphoreLimiter,
  TokenBucketLimiter,
  type LimitEvents,
} from '../../lib';
import { storeTargets } from '../harness/store-targets';
import { uniqueName } from '../harness/redis-targets';
import { sleep, waitUntil } from '../harness/timing';
import { closeClient } from '../harness/connect';
import { unreachableRedis } from '../harness/nest/limited-app';

type Seen = { [K in keyof LimitEvents]: Array<LimitEvents[K]> };

/** Subscribes to every channel for the test, keeping the events of limits named `name` only (files run in parallel). */
function recordEvents(): { seen: Seen; of(name: string): Seen } {
  const seen = Object.fromEntries(Object.keys(CHANNEL_NAMES).map((k) => [k, []])) as unknown as Seen;
  const listeners: Array<[string, (message: unknown) => void]> = [];
  beforeEach(() => {
    for (const key of Object.keys(seen) as Array<keyof Seen>) seen[key].length = 0;
    for (const [event, channel] of Object.entries(CHANNEL_NAMES)) {
      const listener = (message: unknown) => (seen[event as keyof Seen] as unknown[]).push(message);
      diagnosticsChannel.subscribe(channel, listener);
      listeners.push([channel, listener]);
    }
  });
  afterEach(() => {
    for (const [channel, listener] of listeners.splice(0)) diagnosticsChannel.unsubscribe(channel, listener);
  });
  return {
    seen,
    of: (name) =>
      Object.fromEntries(
        Object.entries(seen).map(([k, list]) => [k, (list as Array<{ name: string }>).filter((e) => e.name === name)]),
      ) as unknown as Seen,
  };
}

const SECRET = 'sk_live_EVENTKEY42';

describe.each(storeTargets)('Events on $name', (target) => {
  const events = recordEvents();
  const store = target.store();

  it('publishes admit once per taken call and refuse once per refusal, with the key only as its hash', async () => {
    const name = uniqueName('ev-bucket');
    const bucket = new TokenBucketLimiter(store, {
      name,
      key: SECRET,
      capacity: 2,
      refillFrequency: 60_000,
      maxSleep: 0,
    });
    await bucket.take();
    await bucket.tryTake();
    await expect(bucket.take()).rejects.toBeInstanceOf(MaxSleepExceededError);
    await bucket.tryTake();
    const seen = events.of(name);
    expect(seen.admit).toHaveLength(2);
    expect(seen.refuse).toHaveLength(2);
    expect(seen.admit[0]).toMatchObject({ kind: 'token-bucket', tokens: 1, waitedMs: 0, remaining: 1, shadow: false });
    expect(seen.refuse[0]).toMatchObject({ kind: 'token-bucket', tokens: 1, reason: 'limit', shadow: false });
    expect(seen.refuse[0].retryAfterMs).toBeGreaterThan(55_000);
    expect(seen.admit[0].keyId).toMatch(/^k\./);
    expect(JSON.stringify([...seen.admit, ...seen.refuse])).not.toContain(SECRET);
  });

  it('publishes wait and admit for a call that sleeps for its tokens', async () => {
    const name = uniqueName('ev-sleep');
    // A refill period no stall between the two takes outlasts (150 ms did once, at load 21).
    const bucket = new TokenBucketLimiter(store, { name, capacity: 1, refillFrequency: 1_000, maxSleep: 2_000 });
    await bucket.take();
    await bucket.take();
    const seen = events.of(name);
    expect(seen.admit).toHaveLength(2);
    expect(seen.wait).toHaveLength(1);
    expect(seen.wait[0].maxWaitMs).toBeGreaterThan(0);
    expect(seen.admit[1].waitedMs).toBe(seen.wait[0].maxWaitMs);
  });

  it('publishes admit, wait, refuse and release of a semaphore, with how long each waited and held', async () => {
    const name = uniqueName('ev-sem');
    const semaphore = new SemaphoreLimiter(store, { name, capacity: 1, maxSleep: 300 });
    const first = await semaphore.acquire();
    const queued = semaphore.acquire();
    await sleep(50);
    await first.release();
    const second = await queued;
    await expect(semaphore.acquire({ maxSleep: 100 })).rejects.toBeInstanceOf(MaxSleepExceededError);
    await second.release();
    const seen = events.of(name);
    expect(seen.admit).toHaveLength(2);
    expect(seen.wait).toHaveLength(2);
    expect(seen.refuse).toHaveLength(1);
    expect(seen.release).toHaveLength(2);
    expect(seen.admit[1].waitedMs).toBeGreaterThanOrEqual(40);
    expect(seen.refuse[0].waitedMs).toBeGreaterThanOrEqual(90);
    expect(seen.release[0].heldMs).toBeGreaterThanOrEqual(40);
    expect(
      [...seen.admit, ...seen.wait, ...seen.refuse, ...seen.release].every(
        (e) => e.permits === 1 && e.tokens === undefined,
      ),
    ).toBe(true);
  });

  it('ends a wait its signal aborts with cancel: a queued semaphore call, and a token bucket call asleep for its tokens', async () => {
    const semName = uniqueName('ev-cancel-sem');
    const semaphore = new SemaphoreLimiter(store, { name: semName, key: SECRET, capacity: 1, maxSleep: 30_000 });
    const held = await semaphore.acquire();
    const leaving = new AbortController();
    const queued = semaphore.acquire({ permits: 1, signal: leaving.signal }).catch((e: unknown) => e);
    await waitUntil('the call queues', () => events.of(semName).wait.length === 1);
    await sleep(100);
    leaving.abort(new Error('client left'));
    expect(await queued).toEqual(new Error('client left'));
    await held.release();

    const bucketName = uniqueName('ev-cancel-bucket');
    const bucket = new TokenBucketLimiter(store, {
      name: bucketName,
      key: SECRET,
      capacity: 1,
      refillFrequency: 30_000,
      maxSleep: 60_000,
    });
    await bucket.take();
    const sleeping = new AbortController();
    const asleep = bucket.take(1, { signal: sleeping.signal }).catch((e: unknown) => e);
    await waitUntil('the call sleeps', () => events.of(bucketName).wait.length === 1);
    await sleep(100);
    sleeping.abort(new Error('gave up'));
    expect(await asleep).toEqual(new Error('gave up'));

    const sem = events.of(semName);
    expect(sem.wait).toHaveLength(1);
    expect(sem.cancel).toHaveLength(1);
    expect(sem.admit).toHaveLength(1); // the holder's only
    expect(sem.refuse).toHaveLength(0);
    expect(sem.cancel[0]).toMatchObject({ kind: 'semaphore', permits: 1, shadow: false });
    expect(sem.cancel[0].waitedMs).toBeGreaterThanOrEqual(90);
    const buck = events.of(bucketName);
    expect(buck.wait).toHaveLength(1);
    expect(buck.cancel).toHaveLength(1);
    expect(buck.cancel[0]).toMatchObject({ kind: 'token-bucket', tokens: 1 });
    expect(buck.cancel[0].waitedMs).toBeGreaterThanOrEqual(90);
    expect(buck.cancel[0].waitedMs).toBeLessThan(buck.wait[0].maxWaitMs);
    expect(JSON.stringify([...sem.cancel, ...buck.cancel])).not.toContain(SECRET);
  });
  it('in shadow mode admits every call of a bucket of 2 and reports exactly 3 of 5 as would-be refusals', async () => {
    const name = uniqueName('ev-shadow');
    const bucket = new TokenBucketLimiter(store, {
      name,
      mode: 'shadow',
      capacity: 2,
      refillFrequency: 60_000,
      maxSleep: 0,
    });
    let ran = 0;
    for (let i = 0; i < 5; i++) await bucket.run(() => ran++);
    expect(ran).toBe(5);
    const seen = events.of(name);
    expect(seen.admit).toHaveLength(2);
    expect(seen.refuse).toHaveLength(3);
    expect(seen.refuse.every((e) => e.shadow && e.reason === 'limit')).toBe(true);
    // Evaluated as when enforced: the bucket really is spent.
    expect((await bucket.state()).tokens).toBe(0);
  });

  it('in shadow mode never delays a call whose tokens lie ahead, yet reserves them as enforcing would', async () => {
    const name = uniqueName('ev-shadow-wait');
    const bucket = new TokenBucketLimiter(store, {
      name,
      mode: 'shadow',
      capacity: 1,
      refillFrequency: 10_000,
      maxSleep: 60_000,
    });
    const started = performance.now();
    await bucket.take();
    await bucket.take();
    expect(performance.now() - started).toBeLessThan(2_000);
    const seen = events.of(name);
    expect(seen.admit.map((e) => e.waitedMs > 5_000)).toEqual([false, true]);
    expect((await bucket.state()).tokens).toBe(-1);
  });

  it('in shadow mode gives a semaphore call without a free slot a permit that holds nothing, and reports it', async () => {
    const name = uniqueName('ev-shadow-sem');
    const semaphore = new SemaphoreLimiter(store, { name, mode: 'shadow', capacity: 1 });
    const held = await semaphore.acquire();
    const extra = await semaphore.acquire();
    expect([held.held, extra.held]).toEqual([true, false]);
    expect((await semaphore.state()).holders.map((h) => h.id)).toEqual([held.id]);
    await expect(extra.release()).resolves.toBe(false);
    await held.release();
    const seen = events.of(name);
    expect(seen.admit).toHaveLength(1);
    expect(seen.refuse).toHaveLength(1);
    expect(seen.refuse[0].shadow).toBe(true);
    expect(seen.release).toHaveLength(1);
  });
});

describe('Events of a Redis that is not there', () => {
  const events = recordEvents();

  it('publishes redis-error once per failed call, naming the limit, never the key', async () => {
    const redis = await unreachableRedis();
    try {
      const name = uniqueName('ev-down');
      const bucket = new TokenBucketLimiter(redis, {
        name,
        key: SECRET,
        capacity: 2,
        refillFrequency: 1_000,
        commandTimeout: 200,
      });
      await expect(bucket.tryTake()).rejects.toBeInstanceOf(RedisUnavailableError);
      const seen = events.of(name);
      expect(seen.redisError).toHaveLength(1);
      expect(seen.redisError[0]).toMatchObject({ kind: 'token-bucket', error: 'RedisUnavailableError' });
      expect(JSON.stringify(seen.redisError)).not.toContain(SECRET);
      expect(seen.admit.length + seen.refuse.length).toBe(0);
    } finally {
      await closeClient(redis);
    }
  });
});
