import type { Cluster, Redis } from 'ioredis';
import { LimiterError } from '../../core/errors';
import type { RedisClient } from './lua-scripts';

/** A Redis master whose maxmemory-policy may evict limiter keys. */
export interface EvictingServer {
  /** host:port as the client knows it. */
  server: string;
  /** Its maxmemory-policy, e.g. 'allkeys-lru'. */
  policy: string;
}

/**
 * The masters behind `client` whose maxmemory-policy is not noeviction: under memory
 * pressure they evict limiter keys (volatile-* ones first of all, as every limiter key
 * has a TTL), and a semaphore whose holders are evicted admits more than its capacity.
 * Empty when every master is safe. Waits for the client to be ready and never connects
 * it; rejects with a LimiterError when CONFIG GET is refused (an ACL without it, or a
 * managed Redis that renamed CONFIG), or the client closes first.
 */
export async function checkRedisPolicy(client: RedisClient): Promise<EvictingServer[]> {
  await ready(client);
  // Every master: each holds the keys of its slots, and each may be configured apart.
  const servers: Redis[] = client.isCluster ? (client as Cluster).nodes('master') : [client as Redis];
  const found = await Promise.all(
    servers.map(async (server) => {
      const address = `${server.options.host}:${server.options.port}`;
      const reply = await server.config('GET', 'maxmemory-policy').catch((error: unknown) => {
        const reason = error instanceof Error ? error.message : String(error);
        throw new LimiterError(`CONFIG GET maxmemory-policy failed on ${address}: ${reason}`, { cause: error });
      });
      // [name, value], or [] from a server that does not know the parameter.
      const [, policy] = reply as string[];
      return { server: address, policy };
    }),
  );
  return found.filter((s): s is EvictingServer => s.policy !== undefined && s.policy !== 'noeviction');
}

/** Resolves once `client` is ready; a Cluster knows its masters only then. */
function ready(client: RedisClient): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onReady = () => {
      client.off('end', onEnd);
      resolve();
    };
    const onEnd = () => {
      client.off('ready', onReady);
      reject(new LimiterError('the Redis client was closed before it was ready'));
    };
    client.once('ready', onReady);
    client.once('end', onEnd);
  });
}
