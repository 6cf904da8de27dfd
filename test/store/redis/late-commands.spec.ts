/**
 * A call that gives up after commandTimeout may still run in Redis later (ioredis queues
 * commands while it waits or reconnects). CLIENT PAUSE ... WRITE holds every script call
 * and then runs them all, as a Redis that stalls or restarts would: whatever a timed-out
 * call took must be given back, not stay held until its lease runs out.
 * Pausing a server disturbs everyone on it: this file starts its own Redis.
 */
import { RedisUnavailableError } from '../../../lib/core/errors';
import { SemaphoreLimiter } from '../../../lib';
import type Redis from 'ioredis';
import { uniqueName } from '../../harness/redis-targets';
import { sleep } from '../../harness/timing';
import { useOwnRedis } from '../../harness/own-redis';

describe('calls that time out but run in Redis later (own Redis, CLIENT PAUSE)', () => {
  const own = useOwnRedis();
  let redis: Redis;
  let admin: Redis;
  beforeAll(() => {
    redis = own.client();
    admin = own.client();
  });

  /** Holds every script call for `ms`, then Redis runs them in order. */
  const pauseScripts = (ms: number) => admin.call('CLIENT', 'PAUSE', String(ms), 'WRITE');

  it.each([
    ['acquire()', (s: SemaphoreLimiter) => s.acquire({ maxSleep: 10_000 })],
    ['tryAcquire()', (s: SemaphoreLimiter) => s.tryAcquire()],
  ])('%s that timed out leaves no lease behind once Redis runs it', async (_, call) => {
    const capacity = 2;
    // A long lease: a slot taken by the late call would stay lost for 60 s.
    const s = new SemaphoreLimiter(redis, { name: uniqueName('late'), capacity, expiry: 60_000, commandTimeout: 200 });
    await (await s.acquire()).release(); // subscribed and scripts loaded: only the pause is in the way
    await pauseScripts(1_000);
    await expect(call(s)).rejects.toBeInstanceOf(RedisUnavailableError);
    await sleep(1_000 + 300); // the pause ends and Redis runs what was queued

    expect((await s.state()).holders).toEqual([]);
    const permits = await Promise.all(Array.from({ length: capacity }, () => s.tryAcquire()));
    expect(permits.every(Boolean)).toBe(true);
    await Promise.all(permits.map((p) => p!.release()));
  });

  it('a waiter whose cancel timed out leaves no lease behind when a late release granted it first', async () => {
    const s = new SemaphoreLimiter(redis, {
      name: uniqueName('late'),
      capacity: 1,
      expiry: 60_000,
      commandTimeout: 200,
    });
    const held = await s.acquire();
    const controller = new AbortController();
    const waiting = s.acquire({ maxSleep: 10_000, signal: controller.signal });
    while ((await s.state()).waiters.length === 0) await sleep(10);
    await pauseScripts(1_000);
    // Times out too, but runs first once the pause ends and hands the slot to the waiter before its cancel runs.
    const released = held.release().catch((error: unknown) => error);
    controller.abort(new Error('caller went away'));
    await expect(waiting).rejects.toBeInstanceOf(RedisUnavailableError);
    await sleep(1_000 + 300);

    expect(await released).toBeInstanceOf(RedisUnavailableError);
    expect((await s.state()).holders).toEqual([]);
    const permit = await s.tryAcquire();
    expect(permit).not.toBeNull();
    await permit!.release();
  });
});
