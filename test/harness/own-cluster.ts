/**
 * A 3-master Cluster of the describe's own, for tests that change its nodes' slots,
 * users or settings and must not disturb the shared harness Cluster.
 */
import Redis, { Cluster, type RedisOptions } from 'ioredis';
import { closeClient, parseNodes } from './connect';
import { startRedisCluster, stopAll, type RedisServer } from './redis-servers';

/** Call inside a describe: starts the Cluster in beforeAll; clients and servers are closed in afterAll. */
export function useOwnCluster(): {
  servers(): RedisServer[];
  client(redisOptions?: RedisOptions): Cluster;
  /** Runs `change` on a connection to each node in turn (ACL users and CONFIG are per node). */
  onEveryNode(change: (node: Redis) => Promise<unknown>): Promise<void>;
} {
  let servers: RedisServer[] = [];
  let nodes = '';
  const clients: Cluster[] = [];
  beforeAll(async () => {
    ({ servers, nodes } = await startRedisCluster(3));
  });
  afterAll(async () => {
    await Promise.all(clients.splice(0).map(closeClient));
    await stopAll(servers);
  });
  return {
    servers: () => servers,
    client(redisOptions) {
      const c = new Cluster(parseNodes(nodes), { redisOptions });
      c.on('error', () => undefined);
      clients.push(c);
      return c;
    },
    async onEveryNode(change) {
      for (const server of servers) {
        const node = new Redis(server.url);
        try {
          await change(node);
        } finally {
          await node.quit();
        }
      }
    },
  };
}
