/**
 * A token bucket shared by worker processes: the refill rate under saturation from several
 * processes, and time read only from Redis whatever the processes' clocks say. The workers
 * connect with ioredis whichever client a suite gives the test process, and these tests
 * make no call of their own: they run once per deployment, not once per client library.
 */
import { expectRefillRate } from '../harness/buckets';
import { spawnWorker } from '../harness/processes';
import { targets, uniqueName } from '../harness/redis-targets';

describe.each(targets)('TokenBucketLimiter on $name Redis', (target) => {
  it('admits exactly refillAmount per refillFrequency under saturation from several processes', async () => {
    const name = uniqueName('bucket');
    const shape = { capacity: 5, refillFrequency: 50, refillAmount: 2 }; // 40 tokens a second
    const barrier = { key: uniqueName('barrier'), parties: 4 };
    const runs = await Promise.all(
      Array.from({ length: 4 }, () =>
        spawnWorker('test/harness/workers/token-bucket.worker.ts', {
          target: target.name,
          name,
          ...shape,
          callers: 3,
          takes: 10,
          barrier,
        }),
      ),
    );
    const admitted: number[] = runs.flatMap((r) => r.admittedAt).sort((a, b) => a - b);
    expect(admitted).toHaveLength(120);
    expectRefillRate(admitted, shape);
  });

  it('reads time only from Redis, so a client with a wrong clock changes nothing', async () => {
    const name = uniqueName('bucket');
    const shape = { capacity: 2, refillFrequency: 100, refillAmount: 1 };
    const barrier = { key: uniqueName('barrier'), parties: 3 };
    const runs = await Promise.all(
      [0, 3_600_000, -3_600_000].map((clockSkewMs) =>
        spawnWorker('test/harness/workers/token-bucket.worker.ts', {
          target: target.name,
          name,
          ...shape,
          callers: 1,
          takes: 6,
          clockSkewMs,
          barrier,
        }),
      ),
    );
    const admitted: number[] = runs.flatMap((r) => r.admittedAt).sort((a, b) => a - b);
    const span = admitted[admitted.length - 1] - admitted[0];
    // 18 tokens with 2 up front: 16 refills of 100 ms.
    expect(span).toBeGreaterThan(1_500);
    expect(span).toBeLessThan(2_000);
  });
});
