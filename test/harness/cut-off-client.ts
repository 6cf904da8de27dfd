/**
 * A client of a harness deployment whose every connection goes through TCP proxies the
 * test can blackhole (a partition: silence, no error) and restore (connections reset).
 */
import { Cluster, Redis } from 'ioredis';
import { ENV_CLUSTER_NODES, ENV_REDIS_URL, parseNodes, type RedisClient, type TargetName } from './connect';
import { TcpProxy } from './tcp-proxy';

export interface CutOffClient {
  client: RedisClient;
  /** The proxies, one per node (one for standalone), in the order of the harness's node list. */
  proxies: TcpProxy[];
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function cutOffClient(target: TargetName): Promise<CutOffClient> {
  const upstreams =
    target === 'standalone'
      ? [{ host: '127.0.0.1', port: Number(new URL(process.env[ENV_REDIS_URL]!).port) }]
      : parseNodes(process.env[ENV_CLUSTER_NODES]!);
  const proxies = await Promise.all(upstreams.map((u) => TcpProxy.start(u)));
  const via = proxies.map((p) => ({ host: '127.0.0.1', port: p.port }));
  const client: RedisClient =
    target === 'standalone'
      ? new Redis(proxies[0].url)
      : new Cluster(via, {
          // The slot map names the real nodes: each is reached through its own proxy.
          natMap: Object.fromEntries(upstreams.map((u, i) => [`${u.host}:${u.port}`, via[i]])),
        });
  client.on('error', () => undefined);
  return {
    client,
    proxies,
    cut: () => proxies.forEach((p) => p.blackhole()),
    restore: () => proxies.forEach((p) => p.restore()),
    async close() {
      client.disconnect();
      await Promise.all(proxies.map((p) => p.close()));
    },
  };
}
