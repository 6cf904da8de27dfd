/**
 * node-redis v5 clients of the harness servers, for the suites that build limiters on
 * node-redis (redis-targets.ts); apart from connect.ts so worker processes never load it.
 */
import { createClient, createCluster, type RedisClientType, type RedisClusterType } from 'redis';
import { ENV_CLUSTER_NODES, ENV_REDIS_URL, parseNodes, requireEnv, type TargetName } from './connect';

/** The client libraries a limiter is built on in the suites. */
export type ClientLibrary = 'ioredis' | 'node-redis';

/** A node-redis v5 client or Cluster, as an app makes them with createClient() / createCluster(). */
export type NodeRedis = RedisClientType | RedisClusterType;

/**
 * A node-redis client of the same deployment. It is not connected: node-redis connects only
 * on connect(), which the caller calls (useLimiterClients does, once its tests run).
 */
export function connectNodeRedis(target: TargetName): NodeRedis {
  if (target === 'standalone') return nodeRedisAt(requireEnv(ENV_REDIS_URL));
  const cluster = createCluster({
    rootNodes: parseNodes(requireEnv(ENV_CLUSTER_NODES)).map(({ host, port }) => ({ url: `redis://${host}:${port}` })),
  });
  cluster.on('error', () => undefined);
  return cluster as unknown as NodeRedis;
}

/** A node-redis client of the server at `url`, not connected yet. */
export function nodeRedisAt(url: string): RedisClientType {
  const client = createClient({ url }) as RedisClientType;
  // Errors while a server restarts reach the limiters through their calls; an 'error' event
  // without a listener would throw in the test process.
  client.on('error', () => undefined);
  return client;
}

/** Closes a node-redis client, whether or not it ever connected. */
export async function closeNodeRedis(client: NodeRedis): Promise<void> {
  if (client.isOpen) await client.close().catch(() => (client.isOpen ? client.destroy() : undefined));
}
