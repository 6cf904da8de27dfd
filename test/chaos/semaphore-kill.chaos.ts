/**
 * 30 s of SIGKILLs at random across 4 processes under load, on a standalone Redis and
 * on a 3-master Cluster (npm run test:chaos). The fast suite runs a 6 s version.
 */
import { Cluster, Redis } from 'ioredis';
import { SemaphoreLimiter } from '../../lib';
import { startRedis, startRedisCluster, stopAll, type RedisServer } from '../harness/redis-servers';
import { parseNodes } from '../harness/connect';
import { uniqueName } from '../harness/redis-targets';
import type { RedisAddress } from '../harness/redis-address';
import { expectFullRecovery, runSemaphoreChaos } from '../harness/semaphore-chaos';

describe.each(['standalone', 'cluster'])('SIGKILL holders and waiters at random for 30 s (own %s Redis)', (kind) => {
  let servers: RedisServer[] = [];
  let address: RedisAddress;
  let redis: Redis | Cluster;
  beforeAll(async () => {
    if (kind === 'standalone') {
      const server = await startRedis();
      servers = [server];
      address = { url: server.url };
      redis = new Redis(server.url);
    } else {
      const cluster = await startRedisCluster();
      servers = cluster.servers;
      address = { nodes: cluster.nodes };
      redis = new Cluster(parseNodes(cluster.nodes));
    }
  });
  afterAll(async () => {
    await redis?.quit();
    await stopAll(servers);
  });

  it('never exceeds capacity, and every permit comes back once the killing stops', async () => {
    const capacity = 3;
    const expiry = 2_000;
    const name = uniqueName('chaos');
    const report = await runSemaphoreChaos({
      redis: address,
      name,
      capacity,
      expiry,
      processes: 4,
      callers: 5,
      holdMs: [10, 900],
      durationMs: 30_000,
      killEveryMs: [700, 1_600],
    });
    const s = new SemaphoreLimiter(redis, { name, capacity, expiry });
    console.log(JSON.stringify({ kind, ...report }));

    expect(report.kills).toBeGreaterThanOrEqual(20);
    expect(report.killedHolding.processes).toBeGreaterThanOrEqual(3);
    expect(report.killedWaiting.waiters).toBeGreaterThanOrEqual(5);
    expect(report.peak).toBeLessThanOrEqual(capacity);
    expect(report.peak).toBe(capacity);
    for (const survivor of report.survivors) expect(survivor.otherErrors).toEqual([]);
    console.log(JSON.stringify({ kind, recovery: await expectFullRecovery(s, report.stoppedAt) }));
  });
});
