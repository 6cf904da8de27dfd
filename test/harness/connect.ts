/**
 * The one place test clients are built, shared by specs (redis-targets.ts) and worker
 * processes (processes.ts), so both talk to the harness servers the same way. node-redis
 * clients are in node-redis.ts: worker processes use ioredis only, and loading node-redis
 * too cost each of them a third more CPU time to start.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';

export type RedisClient = Redis | Cluster;
export type TargetName = 'standalone' | 'cluster';

/** Env vars global-setup.ts publishes to jest workers (and, inherited, to worker processes). */
export const ENV_REDIS_URL = 'LIMITERS_TEST_REDIS_URL';
export const ENV_CLUSTER_NODES = 'LIMITERS_TEST_CLUSTER_NODES';

export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new Error(`${name} is not set: run tests through jest so test/harness/global-setup.ts starts Redis`);
  return value;
}

export function parseNodes(list: string): Array<{ host: string; port: number }> {
  return list.split(',').map((node) => {
    const [host, port] = node.trim().split(':');
    if (!host || !Number(port)) throw new Error(`bad cluster node "${node}", expected host:port`);
    return { host, port: Number(port) };
  });
}

export function connect(target: TargetName, options: Partial<RedisOptions> = {}): RedisClient {
  if (target === 'standalone') return new Redis(requireEnv(ENV_REDIS_URL), options);
  // A Cluster takes lazyConnect for itself, not for its node connections.
  const { lazyConnect, ...redisOptions } = options;
  return new Cluster(parseNodes(requireEnv(ENV_CLUSTER_NODES)), { lazyConnect, redisOptions });
}

/** Closes a test client, whether or not it ever connected. */
export function closeClient(client: RedisClient): Promise<unknown> {
  // quit() on a client that is not connected waits for a connection that may never come.
  // disconnect() on one that ended arms ioredis's 2 s force-close timer, which delays jest's exit.
  if (client.status === 'end') return Promise.resolve();
  return client.status === 'ready'
    ? client.quit().catch(() => client.disconnect())
    : Promise.resolve(client.disconnect());
}
