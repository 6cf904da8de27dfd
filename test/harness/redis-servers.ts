/**
 * Throwaway redis-server processes (standalone and a 3-master Cluster) on free loopback
 * ports, so tests never depend on, or disturb, a Redis the machine already runs.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { killOnExit } from './processes';

const HOST = '127.0.0.1';
const CLUSTER_BUS_OFFSET = 10_000;
const run = promisify(execFile);

export interface RedisServer {
  host: string;
  port: number;
  /** redis://127.0.0.1:port */
  url: string;
  dir: string;
  process: ChildProcess;
  /** How it was started, so a restart starts it the same way. */
  setup: ServerSetup;
}

/** How a server differs from the plain one the harness shares. */
export interface ServerSetup {
  cluster?: boolean;
  /** A config file's text, written to the server's dir and given first (Sentinel needs a file it can rewrite). */
  config?: string;
  /** More redis-server arguments, after the defaults: a later one wins (`--port 0 --tls-port <port>`: TLS only). */
  args?: (port: number) => string[];
  /** What redis-cli needs to reach it (`--tls --cacert <file>`, `--pass <password>`), for the readiness PING. */
  cli?: string[];
}

export interface RedisClusterServers {
  servers: RedisServer[];
  /** "127.0.0.1:p1,127.0.0.1:p2,..." as REDIS_CLUSTER_NODES / LIMITERS_TEST_CLUSTER_NODES expect */
  nodes: string;
}

function onPath(binary: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => {
    try {
      fs.accessSync(path.join(dir, binary), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function requireRedisBinaries(): void {
  const missing = ['redis-server', 'redis-cli'].filter((b) => !onPath(b));
  if (missing.length === 0) return;
  throw new Error(
    `${missing.join(' and ')} not found on PATH; the tests need real Redis. Install it ` +
      `(Debian/Ubuntu: apt-get install -y redis-server; macOS: brew install redis), or point the ` +
      `tests at running servers with REDIS_URL=redis://127.0.0.1:6379 and ` +
      `REDIS_CLUSTER_NODES=127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002`,
  );
}

function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, HOST, () => probe.close(() => resolve(true)));
  });
}

// Ports handed out but maybe not bound yet: parallel starts must not pick the same one.
const claimed = new Set<number>();

async function freePort(withClusterBus: boolean): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    // Below 55536 so that port + 10000 (the cluster bus) is a valid port.
    const port = 10_000 + Math.floor(Math.random() * 45_000);
    if (claimed.has(port) || (withClusterBus && claimed.has(port + CLUSTER_BUS_OFFSET))) continue;
    if (!(await isPortFree(port))) continue;
    if (withClusterBus && !(await isPortFree(port + CLUSTER_BUS_OFFSET))) continue;
    claimed.add(port);
    if (withClusterBus) claimed.add(port + CLUSTER_BUS_OFFSET);
    return port;
  }
  throw new Error(`no free port pair on ${HOST} after 100 tries`);
}

/** Runs redis-cli against one server; output with CRLFs normalised. */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', HOST, '-p', String(port), ...args], { timeout: 20_000 });
  return stdout.replace(/\r/g, '');
}

/** Polls `check` (which may throw to give up early) until it returns true. */
async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

function logTail(dir: string): string {
  try {
    return fs.readFileSync(path.join(dir, 'redis.log'), 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Runs redis-server on `port` with its files in `dir`, and resolves once it answers PING. */
async function spawnServer(port: number, dir: string, setup: ServerSetup): Promise<ChildProcess> {
  const configFile = path.join(dir, 'redis.conf');
  if (setup.config !== undefined) fs.writeFileSync(configFile, setup.config);
  // prettier-ignore
  const args = [
    ...(setup.config !== undefined ? [configFile] : []),
    '--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no',
    '--dir', dir, '--logfile', path.join(dir, 'redis.log'),
    ...(setup.cluster
      ? ['--cluster-enabled', 'yes', '--cluster-config-file', path.join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', '2000']
      : []),
    ...(setup.args?.(port) ?? []),
  ];
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  killOnExit(child, () => fs.rmSync(dir, { recursive: true, force: true }));
  await waitFor(`redis-server on port ${port} to answer PING`, 5_000, async () => {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`redis-server on port ${port} exited early:\n${logTail(dir)}`);
    }
    return redisCli(port, ...(setup.cli ?? []), 'ping').then(
      (out) => out.trim() === 'PONG',
      () => false,
    );
  }).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  return child;
}

async function startOnce(setup: ServerSetup): Promise<RedisServer> {
  const cluster = setup.cluster === true;
  const port = await freePort(cluster);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `limiters-redis-${port}-`));
  try {
    const child = await spawnServer(port, dir, setup);
    return { host: HOST, port, url: `redis://${HOST}:${port}`, dir, process: child, setup };
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  } finally {
    claimed.delete(port);
    claimed.delete(port + CLUSTER_BUS_OFFSET);
  }
}

async function startServer(setup: ServerSetup): Promise<RedisServer> {
  requireRedisBinaries();
  // Another process may grab a port between our probe and redis binding it: retry on a new port.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(setup);
    } catch (err) {
      if (attempt === 3 || !String(err).includes('exited early')) throw err;
    }
  }
}

/** A standalone server; `setup` for one with TLS, a password, a replica's or a Sentinel's settings. */
export function startRedis(setup: Omit<ServerSetup, 'cluster'> = {}): Promise<RedisServer> {
  return startServer(setup);
}

/**
 * `replicas` per master (default 0): with 1, the first `masters` servers get the slots and
 * each of the others replicates one of them, so a test can fail a master over.
 */
export async function startRedisCluster(masters = 3, { replicas = 0 } = {}): Promise<RedisClusterServers> {
  const count = masters * (1 + replicas);
  const started = await Promise.allSettled(Array.from({ length: count }, () => startServer({ cluster: true })));
  const servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  try {
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    const addresses = servers.map((s) => `${s.host}:${s.port}`);
    await run(
      'redis-cli',
      ['--cluster', 'create', ...addresses, '--cluster-replicas', String(replicas), '--cluster-yes'],
      {
        timeout: 20_000,
      },
    ).catch((err: { stdout?: string; stderr?: string }) => {
      throw new Error(`redis-cli --cluster create failed:\n${err.stdout ?? ''}${err.stderr ?? err}`);
    });
    // "create" returns once the nodes agree on the config; clients need every node to serve every slot.
    await waitFor('every cluster node to report cluster_state:ok with 16384 slots', 10_000, async () => {
      const infos = await Promise.all(servers.map((s) => redisCli(s.port, 'cluster', 'info').catch(() => '')));
      return infos.every((i) => i.includes('cluster_state:ok') && i.includes('cluster_slots_ok:16384'));
    });
    if (replicas > 0) {
      await waitFor('every replica to finish its first sync', 20_000, async () => {
        const infos = await Promise.all(servers.map((s) => redisCli(s.port, 'info', 'replication').catch(() => '')));
        const synced = infos.filter((i) => i.includes('role:slave') && i.includes('master_link_status:up'));
        return synced.length === masters * replicas;
      });
    }
    return { servers, nodes: addresses.join(',') };
  } catch (err) {
    await stopAll(servers);
    throw err;
  }
}

/** SHUTDOWN NOSAVE: the server exits at once and, without persistence, its data is gone. */
export async function shutdownRedis(server: RedisServer): Promise<void> {
  const child = server.process;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  // The server closes the connection instead of answering.
  await redisCli(server.port, 'shutdown', 'nosave').catch(() => undefined);
  await exited;
}

/** Starts redis-server again on the server's port and dir, empty, as it was started (a standalone server). */
export async function restartRedis(server: RedisServer): Promise<void> {
  server.process = await spawnServer(server.port, server.dir, server.setup);
}

export async function stopRedis(server: RedisServer): Promise<void> {
  const child = server.process;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 2_000);
    await exited;
    clearTimeout(killer);
  }
  fs.rmSync(server.dir, { recursive: true, force: true });
}

export async function stopAll(servers: RedisServer[]): Promise<void> {
  await Promise.all(servers.map(stopRedis));
}
