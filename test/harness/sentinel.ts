/**
 * A Sentinel deployment of the test's own on free loopback ports: one master, one
 * replica and three Sentinels (`redis-server --sentinel`, quorum 2), with timeouts short
 * enough that a crashed master is replaced within a few seconds.
 */
import type { Redis, RedisOptions } from 'ioredis';
import { redisCli, startRedis, stopAll, type RedisServer } from './redis-servers';
import { waitUntil } from './timing';

export const MASTER_NAME = 'limiters-test';
/** How long a master may stay silent before a Sentinel calls it down. */
export const DOWN_AFTER_MS = 1_000;

export interface SentinelSet {
  /** The two data servers; which one is master changes with each failover. */
  servers: RedisServer[];
  sentinels: RedisServer[];
}

/** Sentinel's replies are flat key/value lists: one field of one entry. */
function field(reply: string, name: string): string | undefined {
  const lines = reply.trim().split('\n');
  const at = lines.indexOf(name);
  return at === -1 ? undefined : lines[at + 1];
}

function sentinelConfig(masterPort: number): string {
  return [
    `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${masterPort} 2`,
    `sentinel down-after-milliseconds ${MASTER_NAME} ${DOWN_AFTER_MS}`,
    // Bounds a stuck failover, and how soon a Sentinel may try again after one: short, for a second one in the same file.
    `sentinel failover-timeout ${MASTER_NAME} 5000`,
    '',
  ].join('\n');
}

export async function startSentinelSet(): Promise<SentinelSet> {
  const master = await startRedis();
  const started: RedisServer[] = [master];
  try {
    started.push(await startRedis({ args: () => ['--replicaof', master.host, String(master.port)] }));
    const sentinels = await Promise.all(
      Array.from({ length: 3 }, () => startRedis({ config: sentinelConfig(master.port), args: () => ['--sentinel'] })),
    );
    started.push(...sentinels);
    const set = { servers: started.slice(0, 2), sentinels };
    await waitUntilSettled(set);
    return set;
  } catch (err) {
    await stopAll(started);
    throw err;
  }
}

export async function stopSentinelSet(set: SentinelSet): Promise<void> {
  await stopAll([...set.sentinels, ...set.servers]);
}

/** The master's port as the first Sentinel names it. */
export async function masterPort(set: SentinelSet): Promise<number> {
  const reply = await redisCli(set.sentinels[0].port, 'sentinel', 'get-master-addr-by-name', MASTER_NAME);
  return Number(reply.trim().split('\n')[1]);
}

export function serverOn(set: SentinelSet, port: number): RedisServer {
  return set.servers.find((s) => s.port === port)!;
}

async function role(port: number): Promise<string> {
  return (await redisCli(port, 'role').catch(() => '')).split('\n')[0];
}

/**
 * Until every Sentinel names the same master, which says it is one, knows the other two
 * Sentinels, and sees the other server as a replica whose link is up and which has every
 * write of its master: then a failover can start, and a crash loses nothing written before.
 */
export async function waitUntilSettled(set: SentinelSet, timeoutMs = 20_000): Promise<number> {
  let master = 0;
  await waitUntil(
    'the Sentinel deployment has settled',
    async () => {
      const views = await Promise.all(
        set.sentinels.map((s) => redisCli(s.port, 'sentinel', 'master', MASTER_NAME).catch(() => '')),
      );
      const ports = new Set(views.map((v) => field(v, 'port')));
      if (ports.size !== 1) return false;
      master = Number([...ports][0]);
      if (
        !views.every(
          (v) =>
            field(v, 'num-slaves') === '1' && field(v, 'num-other-sentinels') === '2' && field(v, 'flags') === 'master',
        )
      ) {
        return false;
      }
      const replica = set.servers.find((s) => s.port !== master)!;
      const replicas = await Promise.all(
        set.sentinels.map((s) => redisCli(s.port, 'sentinel', 'replicas', MASTER_NAME).catch(() => '')),
      );
      if (
        !replicas.every(
          (r) =>
            field(r, 'port') === String(replica.port) &&
            field(r, 'flags') === 'slave' &&
            field(r, 'master-link-status') === 'ok',
        )
      ) {
        return false;
      }
      return (await role(master)) === 'master' && (await replicaCaughtUp(master, replica.port));
    },
    timeoutMs,
  );
  return master;
}

/** The replica has applied every write its master has made. */
export async function replicaCaughtUp(masterPortNow: number, replicaPort: number): Promise<boolean> {
  const [onMaster, onReplica] = await Promise.all(
    [masterPortNow, replicaPort].map((p) => redisCli(p, 'info', 'replication').catch(() => '')),
  );
  const offset = (info: string, name: string) => info.match(new RegExp(`^${name}:(\\d+)$`, 'm'))?.[1];
  const written = offset(onMaster, 'master_repl_offset');
  return written !== undefined && written === offset(onReplica, 'slave_repl_offset');
}

/** Until every Sentinel names a master other than `oldPort` and that server says it is one; its port. */
export async function waitForPromotion(set: SentinelSet, oldPort: number, timeoutMs = 20_000): Promise<number> {
  const next = set.servers.find((s) => s.port !== oldPort)!.port;
  await waitUntil(
    `the replica on ${next} is master`,
    async () => {
      const named = await Promise.all(
        set.sentinels.map((s) => redisCli(s.port, 'sentinel', 'get-master-addr-by-name', MASTER_NAME).catch(() => '')),
      );
      return named.every((reply) => reply.trim().split('\n')[1] === String(next)) && (await role(next)) === 'master';
    },
    timeoutMs,
  );
  return next;
}

/**
 * Client options as docs/redis.md gives them: through the Sentinels, moving on
 * their +switch-master, and reconnecting when a demoted master answers READONLY.
 */
export function sentinelClientOptions(set: SentinelSet): RedisOptions {
  return {
    sentinels: set.sentinels.map((s) => ({ host: s.host, port: s.port })),
    name: MASTER_NAME,
    failoverDetector: true,
    reconnectOnError: (error) => error.message.startsWith('READONLY'),
  };
}

/**
 * What docs/redis.md asks of an app's own Sentinel client: ioredis can end it for
 * good after a crash (+switch-master seen mid-reconnect), so connect it again, until `stop()`.
 */
export function keepConnected(client: Redis): { stop(): void } {
  let stopped = false;
  client.on('end', () => {
    setTimeout(() => !stopped && client.status === 'end' && client.connect().catch(() => undefined), 200).unref();
  });
  return { stop: () => void (stopped = true) };
}
