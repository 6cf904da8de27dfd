/**
 * Closing a limiter (semaphore.close(), limiters.close(), or the Nest app shutting down)
 * takes its waiting calls out of the queue in Redis and gives its slots back, so other
 * instances get the capacity at once instead of after dead waiters' leases.
 */
import { Test } from '@nestjs/testing';
import {
  LeaseLostError,
  LimiterClosedError,
  LimitersModule,
  LimitersService,
  SemaphoreLimiter,
  type Permit,
} from '../../lib';
import { ENV_REDIS_URL } from '../harness/connect';
import { targets, uniqueName, useClients, type RedisClient } from '../harness/redis-targets';
import { now, sleep, waitUntil } from '../harness/timing';

const EXPIRY = 3_000;
/** Well under one lease: the slots come back with the holders, not when a lease runs out. */
const PROMPTLY_MS = 1_000;

/** Settles every promise within `ms`, or reports the ones still open as 'pending'. */
function settledWithin<T>(promises: Array<Promise<T>>, ms: number): Promise<Array<T | unknown | 'pending'>> {
  return Promise.all(
    promises.map((p) =>
      Promise.race([
        p.then(
          (v) => v,
          (e: unknown) => e,
        ),
        sleep(ms).then(() => 'pending' as const),
      ]),
    ),
  );
}

/** Takes `count` slots as soon as they are free; resolves with when the last was taken. */
async function takeAll(
  semaphore: SemaphoreLimiter,
  count: number,
  timeoutMs: number,
): Promise<{ at: number; permits: Permit[] }> {
  const permits: Permit[] = [];
  const until = performance.now() + timeoutMs;
  while (permits.length < count && performance.now() < until) {
    const permit = await semaphore.tryAcquire();
    if (permit) permits.push(permit);
    else await sleep(10);
  }
  return { at: now(), permits };
}

describe.each(targets)('$name', (target) => {
  const { client } = useClients(target);

  it('app.close() empties the queue in Redis and gives the slots back when the holders end', async () => {
    const name = uniqueName('shutdown');
    // Standalone: a URL, so the module owns and quits the connection. Cluster: the user's client.
    const redis = target.name === 'standalone' ? process.env[ENV_REDIS_URL]! : client();
    const app = await Test.createTestingModule({
      imports: [
        LimitersModule.forRoot({
          redis,
          semaphores: { jobs: { name, capacity: 2, expiry: EXPIRY, maxSleep: 20_000 } },
        }),
      ],
    }).compile();
    await app.init();
    const jobs = app.get(LimitersService).getSemaphore('jobs');
    const other = new SemaphoreLimiter(client(), { name, capacity: 2, expiry: EXPIRY });

    const endWork: Array<() => void> = [];
    const holding = [1, 2].map(() => jobs.run(() => new Promise<void>((resolve) => endWork.push(resolve))));
    await waitUntil('two holders', () => endWork.length === 2);
    const queued = [1, 2, 3].map(() => jobs.acquire());
    await waitUntil('three queued', async () => (await other.state()).waiters.length === 3);

    const closing = app.close();
    const outcomes = await settledWithin(queued, 2_000);
    const endedAt = now();
    endWork.forEach((end) => end());
    const regained = takeAll(other, 2, 2 * EXPIRY);
    await Promise.all(holding);
    await closing;
    const afterClose = await other.state();
    const { at, permits } = await regained;

    console.log(
      `${target.name}: both slots back ${(at - endedAt).toFixed(0)} ms after the holders ended (lease ${EXPIRY} ms)`,
    );
    for (const outcome of outcomes) expect(outcome).toBeInstanceOf(LimiterClosedError);
    expect(afterClose.waiters).toEqual([]);
    expect(permits).toHaveLength(2);
    expect(at - endedAt).toBeLessThan(PROMPTLY_MS);
    await Promise.all(permits.map((p) => p.release()));
  });

  it('semaphore.close() cancels its waits, releases its permits and refuses later calls, before the client quits', async () => {
    const name = uniqueName('close');
    const own = target.connect();
    const semaphore = new SemaphoreLimiter(own, { name, capacity: 2, expiry: EXPIRY, maxSleep: 20_000 });
    const other = new SemaphoreLimiter(client(), { name, capacity: 2, expiry: EXPIRY });
    const held = [await semaphore.acquire(), await semaphore.acquire()];
    const waits = [1, 2, 3].map(() => semaphore.acquire());
    await waitUntil('three queued', async () => (await other.state()).waiters.length === 3);

    const closedAt = now();
    await semaphore.close();
    const outcomes = await settledWithin(waits, 0);
    await own.quit();
    const { at, permits } = await takeAll(other, 2, 2 * EXPIRY);

    console.log(
      `${target.name}: semaphore.close() took ${(at - closedAt).toFixed(0)} ms until another client held both slots`,
    );
    for (const outcome of outcomes) expect(outcome).toBeInstanceOf(LimiterClosedError);
    for (const permit of held) {
      expect(permit.signal.reason).toBeInstanceOf(LeaseLostError);
      expect((permit.signal.reason as Error).message).toMatch(/limiter was closed/);
    }
    expect(permits).toHaveLength(2);
    expect(at - closedAt).toBeLessThan(PROMPTLY_MS);
    await expect(semaphore.acquire()).rejects.toBeInstanceOf(LimiterClosedError);
    await Promise.all(permits.map((p) => p.release()));
  });

  it('limiters.close() closes run-time semaphores too, so the user can quit the client', async () => {
    const name = uniqueName('service-close');
    const own: RedisClient = target.connect();
    const app = await Test.createTestingModule({ imports: [LimitersModule.forRoot({ redis: own })] }).compile();
    await app.init();
    const limiters = app.get(LimitersService);
    const tenant = limiters.semaphore({ name, capacity: 1, expiry: EXPIRY, maxSleep: 20_000 });
    const other = new SemaphoreLimiter(client(), { name, capacity: 1, expiry: EXPIRY });
    const permit = await tenant.acquire();
    const waiting = tenant.acquire();
    await waitUntil('one queued', async () => (await other.state()).waiters.length === 1);

    await limiters.close();
    const [outcome] = await settledWithin([waiting], 0);
    expect(outcome).toBeInstanceOf(LimiterClosedError);
    expect(permit.signal.aborted).toBe(true);
    expect(await other.state()).toEqual({ holders: [], waiters: [] });
    await expect(limiters.semaphore({ name, capacity: 1, expiry: EXPIRY }).acquire()).rejects.toBeInstanceOf(
      LimiterClosedError,
    );
    await own.quit();
    await app.close();
  });
});
