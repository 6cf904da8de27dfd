import { LimiterError } from '../../core/errors';
import { connectionFor, type RedisClientLike } from './clients/connection-for';

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
export async function checkRedisPolicy(client: RedisClientLike): Promise<EvictingServer[]> {
  const connection = connectionFor(client);
  if (!connection)
    throw new LimiterError(`checkRedisPolicy needs an ioredis or node-redis client; received ${typeof client}.`);
  // Every master: each holds the keys of its slots, and each may be configured apart.
  const masters = await connection.masters({ connect: false });
  if ('reason' in masters) throw new LimiterError(masters.reason);
  const found = await Promise.all(
    masters.servers.map(async ({ address, connection: server }) => {
      const policy = await server.configGet('maxmemory-policy').catch((error: unknown) => {
        const reason = error instanceof Error ? error.message : String(error);
        throw new LimiterError(`CONFIG GET maxmemory-policy failed on ${address}: ${reason}`, { cause: error });
      });
      return { server: address, policy };
    }),
  );
  return found.filter((s): s is EvictingServer => s.policy !== undefined && s.policy !== 'noeviction');
}
