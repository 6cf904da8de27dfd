/**
 * What spec files import: the Redis deployments to run each suite against
 * (`describe.each(targets)('$name', ...)`) and helpers that work on both.
 */
import { randomBytes } from 'node:crypto';
import { Cluster, type Redis, type RedisOptions } from 'ioredis';
import { closeClient, connect, type RedisClient, type TargetName } from './connect';

export type { RedisClient, TargetName } from './connect';

export interface RedisTarget {
  name: TargetName;
  connect(options?: Partial<RedisOptions>): RedisClient;
}

export const targets: RedisTarget[] = [
  { name: 'standalone', connect: (options) => connect('standalone', options) },
  { name: 'cluster', connect: (options) => connect('cluster', options) },
];

/** Call inside a describe: clients made by `client()` are closed in its afterAll, leaving no open handles. */
export function useClients(target: RedisTarget): { client(options?: Partial<RedisOptions>): RedisClient } {
  const clients: RedisClient[] = [];
  afterAll(async () => {
    await Promise.all(clients.splice(0).map(closeClient));
  });
  return {
    client(options) {
      // Lazy: a describe whose tests are all filtered out (jest -t) never runs its afterAll,
      // and a client that connected there would keep jest from exiting. Unused, it never does.
      const c = target.connect({ lazyConnect: true, ...options });
      clients.push(c);
      return c;
    },
  };
}

/** A limiter name no other test uses, so tests never share Redis state. */
export function uniqueName(prefix = 'test'): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

/** The client itself for standalone; a connection to each master for a cluster. */
export async function masters(client: RedisClient): Promise<Redis[]> {
  if (!(client instanceof Cluster)) return [client];
  // The node list is only known once the cluster client has loaded the slot map.
  if (client.status === 'wait') await client.connect();
  if (client.status !== 'ready') {
    await new Promise((resolve, reject) => {
      client.once('ready', resolve);
      client.once('end', () => reject(new Error('cluster client closed before it was ready')));
    });
  }
  return client.nodes('master');
}

/** FLUSHALL everywhere. Servers are shared by parallel test files: prefer uniqueName() over this. */
export async function flushAll(client: RedisClient): Promise<void> {
  await Promise.all((await masters(client)).map((m) => m.flushall()));
}

/** Calls per command (`evalsha -> 12`, `client|setname -> 1`) from INFO commandstats, summed over masters. */
export async function commandStats(client: RedisClient): Promise<Map<string, number>> {
  const stats = new Map<string, number>();
  for (const info of await Promise.all((await masters(client)).map((m) => m.info('commandstats')))) {
    for (const [, command, calls] of info.matchAll(/^cmdstat_(\S+?):calls=(\d+)/gm)) {
      stats.set(command, (stats.get(command) ?? 0) + Number(calls));
    }
  }
  return stats;
}

/** CONFIG RESETSTAT on every master. Stats are server-wide, so counts include other test files' commands. */
export async function resetStats(client: RedisClient): Promise<void> {
  await Promise.all((await masters(client)).map((m) => m.config('RESETSTAT')));
}
