/**
 * Starts the Redis servers the whole run shares (or uses REDIS_URL / REDIS_CLUSTER_NODES)
 * and publishes their addresses to jest workers, which inherit this process's env.
 */
import { ENV_CLUSTER_NODES, ENV_REDIS_URL } from './connect';
import { startRedis, startRedisCluster, stopAll, type RedisServer } from './redis-servers';

declare global {
  /** Servers this run started, for global-teardown.ts (same process as setup). */
  var __limitersRedisServers: RedisServer[] | undefined;
}

export default async function globalSetup(): Promise<void> {
  const started: RedisServer[] = [];
  globalThis.__limitersRedisServers = started;
  const results = await Promise.allSettled([
    process.env.REDIS_URL ??
      startRedis().then((server) => {
        started.push(server);
        return server.url;
      }),
    process.env.REDIS_CLUSTER_NODES ??
      startRedisCluster().then((cluster) => {
        started.push(...cluster.servers);
        return cluster.nodes;
      }),
  ]);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) {
    // Jest skips globalTeardown when globalSetup throws.
    await stopAll(started);
    throw failed.reason;
  }
  const [url, nodes] = results.map((r) => (r as PromiseFulfilledResult<string>).value);
  process.env[ENV_REDIS_URL] = url;
  process.env[ENV_CLUSTER_NODES] = nodes;
}
