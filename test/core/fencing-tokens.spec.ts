/**
 * Issue 13, item 2: every grant of a semaphore carries `permit.fencingToken`, strictly
 * increasing for the semaphore's name across clients and processes, so a downstream store
 * can refuse a holder whose lease ran out while it was paused.
 */
import { SemaphoreLimiter, type Permit, type SemaphoreOptions } from '../../lib';
import type { StoreOrClient } from '../../lib/store/resolve-store';
import { limiterKey } from '../../lib/store/redis/keys';
import { holdJobs, type HeldJob } from '../harness/admissions';
import { startWorker } from '../harness/processes';
import { targets, uniqueName, useClients } from '../harness/redis-targets';
import { storeTargets } from '../harness/store-targets';
import { sleep, waitUntil } from '../harness/timing';

const WORKER_START_MS = 30_000;

const semaphoresOn =
  (store: StoreOrClient) =>
  (options: Partial<SemaphoreOptions> = {}) =>
    new SemaphoreLimiter(store, { name: uniqueName('fenced'), capacity: 1, maxSleep: 30_000, ...options });

/** The tokens of jobs of a capacity-1 semaphore in the order they held it (their intervals never overlap). */
function tokensInGrantOrder(jobs: HeldJob[]): bigint[] {
  return [...jobs].sort((a, b) => a.startedAt - b.startedAt).map((j) => BigInt(j.fencingToken));
}

function expectStrictlyIncreasing(tokens: bigint[]): void {
  const out = tokens.flatMap((t, i) => (i > 0 && t <= tokens[i - 1] ? [`${tokens[i - 1]} then ${t}`] : []));
  expect(out).toEqual([]);
}

/** What docs/core.md's example does: a store that refuses writes with a token below the largest it has seen. */
class FencedStore {
  private highest = -1n;
  readonly written: string[] = [];
  write(value: string, token: bigint): boolean {
    if (token < this.highest) return false;
    this.highest = token;
    this.written.push(value);
    return true;
  }
}

describe.each(storeTargets)('fencing tokens on $name store', (target) => {
  const semaphore = semaphoresOn(target.store());

  it('increase strictly, in the order callers held a capacity-1 semaphore, waiters granted by releases included', async () => {
    const s = semaphore();
    const jobs = await holdJobs(s, { callers: 4, jobs: 5, holdMs: 5 });
    expect(jobs).toHaveLength(20);
    const tokens = tokensInGrantOrder(jobs);
    expect(tokens[0]).toBeGreaterThan(0n);
    expectStrictlyIncreasing(tokens);
  });

  it('are a bigint on every permit, from tryAcquire too, and differ for holders at once', async () => {
    const s = semaphore({ capacity: 3 });
    const permits = [(await s.tryAcquire())!, await s.acquire({ permits: 2 })];
    for (const p of permits) expect(typeof p.fencingToken).toBe('bigint');
    expect(permits[1].fencingToken).toBeGreaterThan(permits[0].fencingToken);
    await Promise.all(permits.map((p) => p.release()));
  });

  it('is 0n on a shadow-mode permit that holds nothing', async () => {
    const s = semaphore({ mode: 'shadow' });
    const held = await s.acquire();
    const shadow = await s.acquire();
    expect(shadow.held).toBe(false);
    expect(shadow.fencingToken).toBe(0n);
    expect(held.fencingToken).toBeGreaterThan(0n);
    await held.release();
  });

  it('let a downstream store refuse a holder whose lease ran out while it was paused', async () => {
    const s = semaphore({ expiry: 300 });
    const store = new FencedStore();
    const paused = await s.acquire();
    // A pause longer than the lease: renewals stop, as in a GC pause or a partition.
    (paused as unknown as { stopTimers(): void }).stopTimers();
    const next = await s.acquire({ maxSleep: 5_000 });
    expect(store.write('from the new holder', next.fencingToken)).toBe(true);
    // The paused holder wakes up and writes: its token is below the one the store saw.
    expect(store.write('from the paused holder', paused.fencingToken)).toBe(false);
    expect(store.written).toEqual(['from the new holder']);
    await next.release();
  });
});

describe.each(targets)('fencing tokens across processes on $name Redis', (target) => {
  const { client } = useClients(target);
  const redis = client();
  const semaphore = semaphoresOn(redis);

  it(
    'increase strictly in grant order when several processes take turns',
    async () => {
      const name = uniqueName('fenced');
      const barrier = { key: uniqueName('barrier'), parties: 3 };
      const results = await Promise.all(
        [0, 1, 2].map(
          () =>
            startWorker(
              'test/harness/workers/semaphore-intervals.worker.ts',
              {
                target: target.name,
                name,
                capacity: 1,
                callers: 3,
                jobs: 4,
                holdMs: 5,
                barrier,
              },
              { timeoutMs: 3 * WORKER_START_MS },
            ).result,
        ),
      );
      const jobs: HeldJob[] = results.flatMap((r) => r.held);
      expect(jobs).toHaveLength(3 * 3 * 4);
      expectStrictlyIncreasing(tokensInGrantOrder(jobs));
    },
    3 * WORKER_START_MS,
  );

  it('keep increasing when the counter key is lost (a restart without persistence, an eviction)', async () => {
    const s = semaphore();
    const before: Permit = await s.acquire();
    await before.release();
    const arrivals = `${limiterKey('limiters', 'semaphore', s.name)}:arrivals`;
    expect(await redis.del(arrivals)).toBe(1);
    const after = await s.acquire();
    expect(after.fencingToken).toBeGreaterThan(before.fencingToken);
    await after.release();
  });

  it('keeps a TTL on the counter key, which goes once the semaphore is idle', async () => {
    const s = semaphore({ expiry: 200 });
    const arrivals = `${limiterKey('limiters', 'semaphore', s.name)}:arrivals`;
    await (await s.acquire()).release();
    expect(await redis.pttl(arrivals)).toBeGreaterThan(0);
    await sleep(200);
    await waitUntil('the counter expired', async () => (await redis.exists(arrivals)) === 0, 200 + 1_000 + 2_000);
  });
});
