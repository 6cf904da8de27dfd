/**
 * Redis restarted in the middle of a run (SHUTDOWN NOSAVE, then a new redis-server on
 * the same port), and SCRIPT FLUSH under load. Each test starts its own Redis.
 *
 * What is promised across a restart without persistence: the restart wipes every lease,
 * queue entry and bucket. While Redis is down every call fails with RedisUnavailableError
 * within about commandTimeout (never hangs). Once it is back, calls succeed again and
 * the limit holds among new permits. A permit taken before the restart has lost its
 * lease: its next renewal finds it gone and aborts permit.signal with a LeaseLostError
 * (within expiry / 3 of Redis coming back). Until then its holder may still be working
 * beside new holders, so work must honour the signal.
 */
import { LeaseLostError, RedisUnavailableError } from '../../../lib/core/errors';
import { SemaphoreLimiter } from '../../../lib';
import { TokenBucketLimiter } from '../../../lib';
import { restartRedis, shutdownRedis } from '../../harness/redis-servers';
import { uniqueName } from '../../harness/redis-targets';
import { now, sleep, waitUntil } from '../../harness/timing';
import { errorKinds, Load } from '../../harness/load';
import { useOwnRedis } from '../../harness/own-redis';

// A busy 2-core machine delays timers and replies; no call may take longer than this beyond commandTimeout.
const SLACK_MS = 1_000;

describe('Redis restarted mid-run (own standalone Redis)', () => {
  const { server, client } = useOwnRedis();

  it('fails fast while down, recovers after the restart, aborts lost leases, and then holds the limit', async () => {
    const capacity = 3;
    const expiry = 9_000; // renewed every 3 s: a 3 s outage does not end a lease on its own
    const commandTimeout = 500;
    const downMs = 3_000;
    const name = uniqueName('restart');
    const apps = [client(), client(), client()];
    const options = { name, capacity, expiry, commandTimeout, maxSleep: 2_000 };
    const semaphores = apps.map((redis) => new SemaphoreLimiter(redis, options));
    const buckets = apps.map(
      (redis) => new TokenBucketLimiter(redis, { name, capacity: 100, refillFrequency: 10, commandTimeout }),
    );

    // A holder from before the restart, working until its signal says the lease is gone.
    const old = await semaphores[0].acquire();
    const oldAcquiredAt = now();
    let oldLostAt = Infinity;
    old.signal.addEventListener('abort', () => (oldLostAt = now()));

    const load = new Load();
    semaphores.forEach((s, i) =>
      load.loop(`semaphore-${i}`, 3, () => s.run(() => load.working(10 + Math.random() * 40))),
    );
    buckets.forEach((b, i) => load.loop(`bucket-${i}`, 1, () => b.tryTake(), 50));
    await sleep(1_500);

    await shutdownRedis(server()); // resolves once the server process has exited
    const downAt = now();
    await sleep(downMs);
    await restartRedis(server());
    const upAt = now();

    // Recovered: each app has had a call succeed, and the old holder was told its lease is gone.
    await waitUntil(
      'every app succeeds again',
      () =>
        load.calls
          .filter((c) => c.startedAt > upAt && !c.error)
          .map((c) => c.loop)
          .filter((l, i, a) => a.indexOf(l) === i).length === 6,
      15_000,
    );
    await waitUntil('the old permit lost its lease', () => oldLostAt < Infinity, expiry);
    const recoveredAt = now();
    await sleep(2_000);
    const afterFrom = now();
    await sleep(2_000);
    const afterTo = now();
    await load.stop();

    const whileDown = load.callsStarted(downAt + 50, upAt - commandTimeout - SLACK_MS);
    const slowest = Math.max(...whileDown.map((c) => c.endedAt - c.startedAt));
    const firstSuccess =
      Math.min(
        ...load
          .callsStarted(upAt)
          .filter((c) => !c.error)
          .map((c) => c.endedAt),
      ) - upAt;
    const oldWork: [number, number] = [oldAcquiredAt, oldLostAt];
    console.log(
      JSON.stringify({
        calls: load.calls.length,
        whileDown: whileDown.length,
        downErrors: errorKinds(whileDown),
        slowestWhileDownMs: Math.round(slowest),
        firstSuccessAfterRestartMs: Math.round(firstSuccess),
        oldLeaseLostAfterRestartMs: Math.round(oldLostAt - upAt),
        oldLostReason: (old.signal.reason as Error).message,
        peakBetweenRestartAndAbort: load.peak(upAt, oldLostAt, [oldWork]),
        peakAfter: load.peak(recoveredAt, afterTo, [oldWork]),
        recoveryErrors: errorKinds(load.callsStarted(upAt, recoveredAt)),
      }),
    );
    // While down: only RedisUnavailableError, each within commandTimeout plus slack.
    expect(whileDown.length).toBeGreaterThan(10);
    expect(whileDown.every((c) => c.error instanceof RedisUnavailableError)).toBe(true);
    expect(slowest).toBeLessThanOrEqual(commandTimeout + SLACK_MS);
    // No call at all hangs, whenever it started.
    expect(Math.max(...load.calls.map((c) => c.endedAt - c.startedAt))).toBeLessThanOrEqual(
      options.maxSleep + commandTimeout + SLACK_MS,
    );

    expect(old.signal.reason).toBeInstanceOf(LeaseLostError);
    expect(oldLostAt - upAt).toBeLessThanOrEqual(expiry / 3 + commandTimeout + SLACK_MS);
    expect(await old.release()).toBe(false);

    // After recovery the limit holds again, at full capacity, and no call fails.
    const after = load.callsStarted(afterFrom, afterTo);
    expect(errorKinds(after)).toEqual({});
    expect(load.peak(recoveredAt, afterTo, [oldWork])).toBeLessThanOrEqual(capacity);
    expect(load.peak(afterFrom, afterTo)).toBe(capacity);

    // Quiesced: exactly capacity permits, nothing lost or stray.
    const s = semaphores[1];
    expect((await s.state()).holders).toEqual([]);
    const permits = await Promise.all(Array.from({ length: capacity }, () => s.tryAcquire()));
    expect(permits.every(Boolean)).toBe(true);
    expect(await s.tryAcquire()).toBeNull();
    await Promise.all(permits.map((p) => p!.release()));
  }, 60_000);

  it('keeps every call working while SCRIPT FLUSH empties the script cache again and again under load', async () => {
    const capacity = 3;
    const name = uniqueName('flush');
    const admin = client();
    const apps = [client(), client()];
    const load = new Load();
    apps.forEach((redis, i) => {
      const s = new SemaphoreLimiter(redis, { name, capacity });
      const b = new TokenBucketLimiter(redis, { name, capacity: 10, refillFrequency: 5, maxSleep: 5_000 });
      load.loop(`semaphore-${i}`, 3, () => s.run(() => load.working(5 + Math.random() * 15)));
      load.loop(`bucket-${i}`, 1, () => b.take());
    });
    let flushes = 0;
    const until = now() + 3_000;
    while (now() < until) {
      await admin.script('FLUSH');
      flushes++;
      await sleep(50);
    }
    await load.stop();
    console.log(JSON.stringify({ flushes, calls: load.calls.length, peak: load.peak() }));
    expect(flushes).toBeGreaterThan(20);
    expect(load.calls.length).toBeGreaterThan(100);
    expect(errorKinds(load.calls)).toEqual({});
    expect(load.peak()).toBe(capacity);
  });
});
