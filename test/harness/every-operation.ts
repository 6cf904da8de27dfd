/**
 * Everything the core limiters do on one Redis deployment, as one suite that the ACL,
 * TLS, password and Sentinel specs each run with their own way of connecting.
 */
import { SemaphoreLimiter, TokenBucketLimiter, type Permit } from '../../lib';
import type { RedisClient } from './connect';
import { uniqueName } from './redis-targets';
import { now, sleep, waitUntil } from './timing';

/** Call inside a describe: `connect()` gives a client the deployment's way (a user, TLS, a password...). */
export function everyOperationWorks(connect: () => RedisClient): void {
  it('tryAcquire, a contended wait woken over pub/sub, release and state()', async () => {
    // A lease and maxSleep far longer than the test: the waiter's safety-net timer cannot be what wakes it.
    const semaphore = new SemaphoreLimiter(connect(), {
      name: uniqueName('deployment'),
      capacity: 1,
      expiry: 60_000,
      maxSleep: 30_000,
    });
    const holder = (await semaphore.tryAcquire())!;
    expect(holder).not.toBeNull();
    let waiter: Permit | undefined;
    const waiting = semaphore.acquire().then((p) => (waiter = p));
    // Queued once its grant subscriber is up: a few ms, more through Sentinels on a busy machine.
    await waitUntil('the waiter is queued', async () => (await semaphore.state()).waiters.length === 1);
    const state = await semaphore.state();
    expect(state.holders.map((h) => h.id)).toEqual([holder.id]);
    expect(state.waiters).toHaveLength(1);
    expect(waiter).toBeUndefined();

    const released = now();
    expect(await holder.release()).toBe(true);
    await waiting;
    expect(now() - released).toBeLessThan(1_000);
    expect(await waiter!.release()).toBe(true);
  });

  it('renewals keep a short lease alive', async () => {
    // Renewed every 400 ms: a 1.2 s lease survives the event-loop stalls of a machine at load average 40.
    const semaphore = new SemaphoreLimiter(connect(), { name: uniqueName('deployment'), capacity: 1, expiry: 1_200 });
    const permit = (await semaphore.tryAcquire())!;
    await sleep(3_700); // over three lease periods: lost unless renewed
    expect(permit.signal.aborted).toBe(false);
    expect((await semaphore.state()).holders.map((h) => h.id)).toEqual([permit.id]);
    expect(await permit.release()).toBe(true);
  });

  it('a token bucket take, tryTake and state()', async () => {
    const bucket = new TokenBucketLimiter(connect(), {
      name: uniqueName('deployment'),
      capacity: 2,
      refillFrequency: 60_000,
    });
    await bucket.take();
    expect(await bucket.tryTake()).toMatchObject({ allowed: true });
    expect((await bucket.state()).tokens).toBe(0);
  });

  it('a token bucket refund and penalty', async () => {
    const bucket = new TokenBucketLimiter(connect(), {
      name: uniqueName('deployment'),
      capacity: 2,
      refillFrequency: 60_000,
    });
    await bucket.take(2);
    expect((await bucket.refund()).tokens).toBe(1);
    expect((await bucket.penalize(2)).tokens).toBe(-1);
  });

  it('weighted permits: a waiter for 2 woken when both come back', async () => {
    const semaphore = new SemaphoreLimiter(connect(), {
      name: uniqueName('deployment'),
      capacity: 2,
      expiry: 60_000,
      maxSleep: 30_000,
    });
    const [a, b] = [(await semaphore.tryAcquire())!, (await semaphore.tryAcquire())!];
    const waiting = semaphore.acquire({ permits: 2 });
    await a.release();
    await b.release();
    const both = await waiting;
    expect(both.permits).toBe(2);
    expect(typeof both.fencingToken).toBe('bigint');
    expect(await both.release()).toBe(true);
  });
}
