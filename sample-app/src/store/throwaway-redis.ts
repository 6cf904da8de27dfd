import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const HOST = '127.0.0.1';

export interface ThrowawayRedis {
  url: string;
  /** Stops the server and waits until it has exited. */
  stop(): Promise<void>;
}

/**
 * A redis-server of the app's own on a free loopback port, keeping nothing on disk.
 * Killed when this process exits, however it exits, so it never outlives the app.
 */
export async function startThrowawayRedis(): Promise<ThrowawayRedis> {
  // Another process may take the port between our probe and redis binding it: try another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOn(await freePort());
    } catch (error) {
      if (attempt === 3) throw error;
    }
  }
}

async function startOn(port: number): Promise<ThrowawayRedis> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const killNow = () => child.kill('SIGKILL');
  process.once('exit', killNow);
  const exited = once(child, 'exit');
  const stop = async () => {
    process.off('exit', killNow);
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(killNow, 2_000);
    await exited;
    clearTimeout(killer);
  };
  for (const deadline = Date.now() + 5_000; Date.now() < deadline; await sleep(50)) {
    if (child.exitCode !== null) break;
    if (await answersPing(port)) return { url: `redis://${HOST}:${port}`, stop };
  }
  await stop();
  throw new Error(`redis-server on ${HOST}:${port} did not answer PING within 5 s`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().once('error', reject);
    probe.listen(0, HOST, () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** One PING on a fresh socket; false on any failure, so the caller just tries again. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (reply) => done(reply.toString().startsWith('+PONG')));
  });
}
