import type { Cluster, Redis } from 'ioredis';
import { RedisRefusedError } from '../../core/errors';
import type { RedisClient } from './lua-scripts';
import { ScriptRunner } from './script-runner';

/** What one probe found: every master answered, or the first reason one did not. */
export type ProbeOutcome = { ok: true; masters: number } | { ok: false; reason: string };

/** A client in these states has lost its connection: a command would only wait in ioredis's offline queue. */
const DISCONNECTED = new Set(['reconnecting', 'close', 'end']);

/**
 * Runs the healthProbe script (TIME, no keys) on every master behind `client`, through the
 * ScriptRunner the limiters use, so that what refuses a limit (NOPERM, OOM, an ACL user
 * without EVALSHA) fails the probe too. Each master is bounded by `timeout` ms. On a
 * Cluster every master holds the keys of its slots, so one master down is a limit down.
 */
export async function probeRedis(client: RedisClient, keyPrefix: string, timeout: number): Promise<ProbeOutcome> {
  let servers: Redis[];
  if (client.isCluster) {
    const cluster = client as Cluster;
    // A Cluster knows its masters only once ready; a limiter call would connect it too.
    if (!(await readyWithin(cluster, timeout))) return { ok: false, reason: `the Cluster client is ${cluster.status}, not ready` };
    servers = cluster.nodes('master');
    const unserved = unservedSlots(cluster, servers);
    if (unserved) return { ok: false, reason: unserved };
  } else {
    servers = [client as Redis];
  }
  const failures = await Promise.all(servers.map((server) => probeServer(server, keyPrefix, timeout)));
  const reason = failures.find((f) => f !== undefined);
  return reason === undefined ? { ok: true, masters: servers.length } : { ok: false, reason };
}

/**
 * ioredis drops a master it lost from its node list but keeps the slot map it read last:
 * the slots of that master are then a limit nobody can check, though every master left answers.
 */
function unservedSlots(cluster: Cluster, masters: Redis[]): string | undefined {
  const connected = new Set(masters.map(address));
  const missing = new Set<string>();
  let unassigned = false;
  for (let slot = 0; slot < 16_384; slot += 1) {
    const master = cluster.slots[slot]?.[0];
    if (master === undefined) unassigned = true;
    else if (!connected.has(master)) missing.add(master);
  }
  if (missing.size > 0) return `${[...missing].join(', ')}: the master is lost (the Cluster client has no connection to it)`;
  if (unassigned) return 'the Cluster has hash slots no master serves';
  return undefined;
}

function readyWithin(cluster: Cluster, timeout: number): Promise<boolean> {
  if (cluster.status === 'ready') return Promise.resolve(true);
  if (cluster.status === 'wait') cluster.connect().catch(() => undefined);
  return new Promise((resolve) => {
    const done = (ready: boolean) => {
      clearTimeout(timer);
      cluster.off('ready', onReady);
      resolve(ready);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), timeout);
    cluster.once('ready', onReady);
  });
}

function address(server: Redis): string {
  return `${server.options.host}:${server.options.port}`;
}

async function probeServer(server: Redis, keyPrefix: string, timeout: number): Promise<string | undefined> {
  const at = address(server);
  if (DISCONNECTED.has(server.status)) return `${at}: the connection is lost (${server.status})`;
  const runner = new ScriptRunner(server, { name: 'health probe', keyPrefix, commandTimeout: timeout });
  try {
    await runner.run('healthProbe', [], []);
    return undefined;
  } catch (error) {
    // A refusal says what Redis refused and why; anything else is why Redis was not reached.
    if (error instanceof RedisRefusedError) return `${at}: ${error.message}`;
    const cause = (error as Error).cause;
    const reason = cause instanceof Error ? cause.message : String(cause ?? error);
    // The runner names the limiters' option; here the bound is the probe's own timeout.
    return `${at}: ${reason.replace(/^no answer within commandTimeout (\d+) ms$/, 'no answer within $1 ms')}`;
  }
}
