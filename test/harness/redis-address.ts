/** How tests that start their own Redis tell worker processes where it is. */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { parseNodes, type RedisClient } from './connect';

/** A standalone server's URL, or a cluster's "host:port,host:port" node list. */
export type RedisAddress = { url: string } | { nodes: string };

export function connectTo(address: RedisAddress, options: Partial<RedisOptions> = {}): RedisClient {
  if ('url' in address) return new Redis(address.url, options);
  return new Cluster(parseNodes(address.nodes), { redisOptions: options });
}
