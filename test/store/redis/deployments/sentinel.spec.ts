/**
 * Sentinel deployments of the file's own (1 master, 1 replica, 3 Sentinels, quorum 2),
 * reached with the client options docs/redis.md gives. The core limiters and the
 * Nest module work through the Sentinels; then, under load, the master is failed over
 * (SENTINEL FAILOVER) on one deployment and crashed (SIGKILL) on the other. Waiters
 * queued before the fault are woken by releases after it, work intervals (counted
 * outside the library, ending when a permit's signal aborts) never exceed the capacity
 * once every client has moved and one lease has passed, and the bucket keeps its rate.
 */
import Redis from 'ioredis';
import {
  LimiterError,
  RedisUnavailableError,
  SemaphoreLimiter,
  TokenBucketLimiter,
  type Permit,
} from '../../../../lib';
import { errorKinds, Load } from '../../../harness/load';
import { closeClient } from '../../../harness/connect';
import { everyOperationWorks } from '../../../harness/every-operation';
import { redisCli } from '../../../harness/redis-servers';
import { uniqueName } from '../../../harness/redis-targets';
import {
  keepConnected,
  masterPort,
  MASTER_NAME,
  sentinelClientOptions,
  serverOn,
  startSentinelSet,
  stopSentinelSet,
  waitForPromotion,
  type SentinelSet,
} from '../../../harness/sentinel';
import { now, sleep, waitUntil } from '../../../harness/timing';
import {
  expectLimitedRun,
  limitedRun,
  moduleRedis,
  startDeploymentApps,
  throughTheModule,
  type RunResult,
} from '../../../harness/nest/deployment-app';

const CAPACITY = 2;
/** Of the semaphore with holders and waiters queued before the fault: longer than the run. */
const QUEUE_LEASE_MS = 20_000;
const LOAD_LEASE_MS = 1_500;
const COMMAND_TIMEOUT_MS = 1_000;
const LOAD_MAX_SLEEP_MS = 3_000;
const BUCKET = { capacity: 5, refillFrequency: 200 }; // 5 a second after a burst of 5
/** Load kept running after the last client moved: one lease for the documented window, then the settled phase. */
const SETTLED_MS = 3_000;

/** Between a loop's calls: a call failing at once must not spin. */
const PAUSE_MS = 5;
/** Starting two deployments, or a fault run, on a 2-core machine shared with other test runs. */
const HOOK_TIMEOUT_MS = 120_000;

type Fault = 'SENTINEL FAILOVER' | 'SIGKILL of the master';

interface FaultRun {
  promotedAfterMs: number;
  /** When the last of the clients was talking to the new master, after the fault. */
  lastMovedAfterMs: number;
  holdersReleased: boolean[];
  /** Each waiter queued before the fault: ms from the holders' release to its acquire() resolving, or its error. */
  waiters: Array<{ client: number; wokenAfterReleaseMs?: number; error?: unknown }>;
  /** Clients (by index) that ioredis ended by itself during the run (see docs/fault-tests.md, "Sentinel failover"). */
  ended: number[];
  load: Load;
  faultAt: number;
  /** One lease after the last client moved: the documented window ends here. */
  windowEndsAt: number;
  settledFrom: number;
  endAt: number;
  bucketAdmissions: number[];
  nestBefore: RunResult;
  nestAfter: RunResult;
}

/** The redis-server port a client is talking to now, from its own INFO. */
async function connectedPort(client: Redis): Promise<number | undefined> {
  const info = await client.info('server').catch(() => '');
  return Number(info.match(/^tcp_port:(\d+)/m)?.[1]) || undefined;
}

/** Intervals of the load during which more than `capacity` work intervals were open. */
function overCapacity(work: Array<[number, number]>, capacity: number): Array<[number, number]> {
  const points = work.flatMap(([start, end]): Array<[number, number]> => [
    [start, 1],
    [end, -1],
  ]);
  points.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const spans: Array<[number, number]> = [];
  let open = 0;
  for (const [at, delta] of points) {
    open += delta;
    if (delta > 0 && open === capacity + 1) spans.push([at, at]);
    if (delta < 0 && open === capacity) spans[spans.length - 1][1] = at;
  }
  return spans;
}

async function runFault(set: SentinelSet, fault: Fault, client: () => Redis): Promise<FaultRun> {
  const clients = [client(), client(), client()];
  const ended = new Set<number>();
  clients.forEach((c, i) => c.on('end', () => ended.add(i)));
  const oldMaster = await masterPort(set);

  // Two holders and three waiters on one semaphore, with leases and maxSleep far longer
  // than the run: only a release (or the waiters' look after their subscriber reconnects) can wake them.
  const queueName = uniqueName('sentinel-queue');
  const queueOn = (c: Redis) =>
    new SemaphoreLimiter(c, { name: queueName, capacity: CAPACITY, expiry: QUEUE_LEASE_MS, maxSleep: 30_000 });
  const holderSide = queueOn(clients[0]);
  const holders = (await Promise.all([holderSide.tryAcquire(), holderSide.tryAcquire()])) as Permit[];
  let releasedAt = Infinity;
  const waiters = [1, 2, 1].map((i) =>
    queueOn(clients[i])
      .acquire()
      .then(
        async (permit) => {
          const wokenAfterReleaseMs = now() - releasedAt;
          await sleep(100);
          await permit.release();
          return { client: i, wokenAfterReleaseMs };
        },
        (error: unknown) => ({ client: i, error }),
      ),
  );
  await waitUntil('three waiters are queued', async () => (await holderSide.state()).waiters.length === 3);
  // A crash loses what the replica has not received yet: the queue must be on both before the fault.
  await Promise.all(clients.map((c) => c.call('WAIT', 1, 5_000)));

  const load = new Load();
  const loadName = uniqueName('sentinel-load');
  clients.forEach((c, i) => {
    const s = new SemaphoreLimiter(c, {
      name: loadName,
      capacity: CAPACITY,
      expiry: LOAD_LEASE_MS,
      commandTimeout: COMMAND_TIMEOUT_MS,
      maxSleep: LOAD_MAX_SLEEP_MS,
    });
    load.loop(`semaphore-${i}`, 2, () => s.run((signal) => load.working(50 + Math.random() * 100, signal)), PAUSE_MS);
  });
  const bucketAdmissions: number[] = [];
  const bucketName = uniqueName('sentinel-bucket');
  clients.forEach((c, i) => {
    const b = new TokenBucketLimiter(c, {
      name: bucketName,
      ...BUCKET,
      commandTimeout: COMMAND_TIMEOUT_MS,
      maxSleep: LOAD_MAX_SLEEP_MS,
    });
    load.loop(
      `bucket-${i}`,
      1,
      async () => {
        await b.take();
        bucketAdmissions.push(now());
      },
      PAUSE_MS,
    );
  });
  let apps: Awaited<ReturnType<typeof startDeploymentApps>> = [];
  try {
    apps = await startDeploymentApps(() => sentinelClientOptions(set));
    const nestBefore = await limitedRun(apps);
    await sleep(1_000);

    const faultAt = now();
    if (fault === 'SENTINEL FAILOVER')
      expect((await redisCli(set.sentinels[0].port, 'sentinel', 'failover', MASTER_NAME)).trim()).toBe('OK');
    else serverOn(set, oldMaster).process.kill('SIGKILL');
    const newMaster = await waitForPromotion(set, oldMaster);
    const promotedAt = now();
    // The module's own connections too: each moves on its own.
    const connections = [...clients, ...apps.map((app) => moduleRedis(app) as Redis)];
    let ports: Array<number | undefined> = [];
    await waitUntil(
      'every client talks to the new master',
      async () => {
        ports = await Promise.all(connections.map(connectedPort));
        return ports.every((p) => p === newMaster);
      },
      20_000,
    ).catch((error: Error) => {
      throw new Error(
        `${error.message} ${newMaster}: clients on ${ports.join(', ')}, ${connections.map((c) => c.status).join(', ')}`,
      );
    });
    const lastMovedAt = now();

    releasedAt = now();
    const holdersReleased = await Promise.all(holders.map((p) => p.release()));
    const woken = await Promise.all(waiters);

    const nestAfter = await limitedRun(apps);
    const windowEndsAt = lastMovedAt + LOAD_LEASE_MS;
    const settledFrom = Math.max(now(), windowEndsAt);
    await sleep(Math.max(0, settledFrom + SETTLED_MS - now()));
    const endAt = now();
    return {
      promotedAfterMs: promotedAt - faultAt,
      lastMovedAfterMs: lastMovedAt - faultAt,
      holdersReleased,
      waiters: woken,
      ended: [...ended],
      load,
      faultAt,
      windowEndsAt,
      settledFrom,
      endAt,
      bucketAdmissions,
      nestBefore,
      nestAfter,
    };
  } finally {
    // Also when a step failed or timed out: loops left running would spin on closed clients.
    await load.stop();
    await Promise.all(apps.map((app) => app.close()));
  }
}

describe('Sentinel: 1 master, 1 replica, 3 Sentinels (quorum 2)', () => {
  const sets: SentinelSet[] = [];
  const clients: Redis[] = [];
  beforeAll(async () => {
    // One deployment per fault, started together: a failed-over one takes about 10 s to settle again.
    sets.push(...(await Promise.all([startSentinelSet(), startSentinelSet()])));
  }, HOOK_TIMEOUT_MS);
  const keepers: Array<{ stop(): void }> = [];
  afterAll(async () => {
    keepers.splice(0).forEach((k) => k.stop());
    const closing = clients.splice(0);
    await Promise.all(closing.map(closeClient));
    // quit() leaves each client's failoverDetector subscribed on the Sentinels: only disconnect() closes those.
    closing.forEach((c) => c.disconnect());
    await Promise.all(sets.map(stopSentinelSet));
  });
  const clientOf = (set: () => SentinelSet) => () => {
    const c = new Redis(sentinelClientOptions(set()));
    c.on('error', () => undefined);
    keepers.push(keepConnected(c));
    clients.push(c);
    return c;
  };

  describe('core limiters through the Sentinels', () => {
    everyOperationWorks(clientOf(() => sets[0]));
  });

  describe('through the module, RedisOptions with sentinels (the module owns the connection)', () => {
    throughTheModule(() => sentinelClientOptions(sets[0]));

    it('app.close() leaves no connection to the Sentinels open (failoverDetector subscribes on each)', async () => {
      const subscribers = async () => {
        const lists = await Promise.all(sets[0].sentinels.map((s) => redisCli(s.port, 'client', 'list')));
        return lists
          .join('\n')
          .split('\n')
          .filter((line) => / sub=[1-9]/.test(line)).length;
      };
      // The grant subscribers of earlier tests close after 2 s idle: let them go first.
      await sleep(2_500);
      const before = await subscribers();
      const apps = await startDeploymentApps(() => sentinelClientOptions(sets[0]));
      expectLimitedRun(await limitedRun(apps));
      expect(await subscribers()).toBeGreaterThan(before);
      await Promise.all(apps.map((app) => app.close()));
      // Each app's own connection has one on every Sentinel: 6 more if quit() left them open.
      await waitUntil('the Sentinel subscriptions are gone', async () => (await subscribers()) <= before, 5_000);
    });
  });

  describe.each([
    ['SENTINEL FAILOVER', 0],
    ['SIGKILL of the master', 1],
  ] as Array<[Fault, number]>)('%s under load', (fault, index) => {
    let run: FaultRun;
    beforeAll(async () => {
      run = await runFault(
        sets[index],
        fault,
        clientOf(() => sets[index]),
      );
      const { load } = run;
      const over = overCapacity(load.work, CAPACITY).map(([from, to]) => [
        Math.round(from - run.faultAt),
        Math.round(to - run.faultAt),
      ]);
      const figures = {
        fault,
        promotedAfterMs: Math.round(run.promotedAfterMs),
        lastClientMovedAfterMs: Math.round(run.lastMovedAfterMs),
        waitersWokenAfterReleaseMs: run.waiters.map((w) =>
          w.error ? String(w.error) : Math.round(w.wokenAfterReleaseMs!),
        ),
        clientsEndedByIoredis: run.ended,
        calls: load.calls.length,
        errorsDuring: errorKinds(load.callsStarted(run.faultAt - COMMAND_TIMEOUT_MS, run.settledFrom)),
        errorsAfter: errorKinds(load.callsStarted(run.settledFrom)),
        slowestCallMs: Math.round(Math.max(...load.calls.map((c) => c.endedAt - c.startedAt))),
        peakBefore: load.peak(0, run.faultAt),
        peakDuring: load.peak(run.faultAt, run.settledFrom),
        peakAfter: load.peak(run.settledFrom, run.endAt),
        overCapacityMsAfterFault: over,
        nestElapsedMs: [Math.round(run.nestBefore.elapsedMs), Math.round(run.nestAfter.elapsedMs)],
      };
      console.log(JSON.stringify(figures));
    }, HOOK_TIMEOUT_MS);

    it('wakes the waiters queued before the fault once the holders release on the new master', () => {
      // The holders' leases were on the replica too: they are still held after the promotion.
      expect(run.holdersReleased).toEqual([true, true]);
      // A waiter failed that way cannot leave the queue (its connection is gone): a release can
      // grant it a slot nobody uses, for one lease, as for a waiter whose process died.
      const ghosts = run.waiters.some((w) => w.error !== undefined);
      for (const { client, wokenAfterReleaseMs, error } of run.waiters) {
        if (error === undefined) {
          // None before the release (their leases and maxSleep are far longer than the run), each soon after it.
          expect(wokenAfterReleaseMs).toBeGreaterThan(0);
          expect(wokenAfterReleaseMs).toBeLessThan((ghosts ? QUEUE_LEASE_MS : 0) + 3_000);
        } else {
          // The one exception: ioredis ended the waiter's connection by itself (a +switch-master
          // seen mid-reconnect), failing what was in flight on it. A clear error, never a hang.
          expect(error).toBeInstanceOf(RedisUnavailableError);
          expect(run.ended).toContain(client);
        }
      }
    });

    it('fails calls only with LimiterErrors, none hangs, none once the clients have moved', () => {
      const errors = run.load.calls.filter((c) => c.error !== undefined);
      expect(errors.filter((c) => !(c.error instanceof LimiterError)).map((c) => String(c.error))).toEqual([]);
      const slowest = Math.max(...run.load.calls.map((c) => c.endedAt - c.startedAt));
      expect(slowest).toBeLessThanOrEqual(LOAD_MAX_SLEEP_MS + 2 * COMMAND_TIMEOUT_MS + 1_500);
      expect(errorKinds(run.load.callsStarted(run.settledFrom))).toEqual({});
    });

    it('holds no more than the capacity but within one lease after the last client moved, and reaches it after', () => {
      expect(run.load.peak(0, run.faultAt)).toBeLessThanOrEqual(CAPACITY);
      expect(run.load.peak(run.windowEndsAt, run.endAt)).toBeLessThanOrEqual(CAPACITY);
      expect(run.load.peak(run.settledFrom, run.endAt)).toBe(CAPACITY);
    });

    it('keeps the token bucket at its rate after the fault', () => {
      const settled = run.bucketAdmissions.filter((t) => t >= run.settledFrom && t < run.endAt);
      const perSecond = 1_000 / BUCKET.refillFrequency;
      const expected = ((run.endAt - run.settledFrom) / 1_000) * perSecond;
      // Demand far above the rate: the bucket admits about its rate, never a burst beyond its capacity.
      expect(settled.length).toBeGreaterThan(expected * 0.5);
      expect(settled.length).toBeLessThanOrEqual(expected + BUCKET.capacity + 1);
    });

    it('limits a handler through the module before and after, on connections the module made', () => {
      expectLimitedRun(run.nestBefore);
      expectLimitedRun(run.nestAfter);
    });
  });
});
