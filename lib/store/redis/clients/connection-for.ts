import { type IoredisClient, ioredisConnection, isIoredis } from './ioredis';
import {
  isNodeRedisClient,
  isNodeRedisCluster,
  type NodeRedisClient,
  type NodeRedisCluster,
  nodeRedisConnection,
} from './node-redis';
import type { RedisConnection } from './redis-connection';

/** Every kind of client the limiters accept: ioredis Redis or Cluster, node-redis v5 client or Cluster. */
export type RedisClientLike = IoredisClient | NodeRedisClient | NodeRedisCluster;

const connections = new WeakMap<object, RedisConnection>();

export function isRedisClient(client: unknown): client is RedisClientLike {
  if (client === null || typeof client !== 'object') return false;
  return isIoredis(client) || isNodeRedisCluster(client) || isNodeRedisClient(client);
}

/** The one RedisConnection of `client`, or undefined when it is no Redis client we know. */
export function connectionFor(client: object): RedisConnection | undefined {
  let connection = connections.get(client);
  if (connection || !isRedisClient(client)) return connection;
  // ioredis first: it has a sendCommand too.
  connection = isIoredis(client) ? ioredisConnection(client, connectionOf) : nodeRedisConnection(client, connectionOf);
  connections.set(client, connection);
  return connection;
}

function connectionOf(client: object): RedisConnection {
  return connectionFor(client)!;
}
