/**
 * What spec files import: the Redis deployments to run each suite against
 * (`describe.each(targets)('$name', ...)`) and helpers that work on both.
 */
import { randomBytes } from 'node:crypto';
import { Cluster, type Redis, type RedisOptions } from 'ioredis';
import { closeClient, connect, type RedisClient, type TargetName } from './connect';
import { closeNodeRedis, connectNodeRedis, type ClientLibrary, type NodeRedis } from './node-redis';

export type { RedisClient, TargetName } from './connect';
export type { ClientLibrary, NodeRedis } from './node-redis';

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

/**
 * The clients a limiter is built on: each Redis deployment through ioredis and through
 * node-redis v5. Behaviour suites run on each (`describe.each(clientTargets)`); what a
 * test reads or changes in Redis itself goes through `admin()`, an ioredis client.
 */
export interface ClientTarget {
  name: string;
  /** The deployment, as worker processes and `targets` name it. */
  deployment: TargetName;
  library: ClientLibrary;
}

export const clientTargets: ClientTarget[] = [
  ...targets.map((t) => ({ name: t.name, deployment: t.name, library: 'ioredis' as const })),
  ...targets.map((t) => ({ name: `node-redis ${t.name}`, deployment: t.name, library: 'node-redis' as const })),
];

/** What a limiter takes: an ioredis client or a node-redis one. */
export type LimiterClient = RedisClient | NodeRedis;

/**
 * Call inside a describe, like useClients: `client()` gives a client of the target's library
 * for limiters, `admin()` an ioredis client of the same deployment; all are closed in its
 * afterAll. node-redis clients connect in beforeAll (or at once, when made inside a test),
 * so a describe whose tests are all filtered out makes no connection.
 */
export function useLimiterClients(target: ClientTarget): { client(): LimiterClient; admin(): RedisClient } {
  const ioredis = useClients(targets.find((t) => t.name === target.deployment)!);
  const nodeRedis: NodeRedis[] = [];
  let started = false;
  beforeAll(async () => {
    started = true;
    await Promise.all(nodeRedis.map((c) => c.connect()));
  });
  afterAll(async () => {
    await Promise.all(nodeRedis.splice(0).map(closeNodeRedis));
  });
  return {
    client() {
      if (target.library === 'ioredis') return ioredis.client();
      const c = connectNodeRedis(target.deployment);
      nodeRedis.push(c);
      // Made inside a test: commands wait in node-redis's queue until it is connected.
      if (started) c.connect().catch(() => undefined);
      return c;
    },
    admin: () => ioredis.client(),
  };
}

/** Closes a limiter's client the way an app would: quit() on ioredis, close() on node-redis. */
export async function quitClient(client: LimiterClient): Promise<void> {
  if ('defineCommand' in client) await client.quit();
  else await client.close();
}

/** PING on a limiter's client, whichever library: what a test times to see the connection is free. */
export function pingClient(client: LimiterClient): Promise<string> {
  return 'defineCommand' in client ? client.ping() : (client as Extract<NodeRedis, { ping: unknown }>).ping();
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
