import { connect, type Socket } from 'node:net';
import { masters, type RedisClient } from './redis-targets';
import { waitUntil } from './timing';

/**
 * Records every command any client sends that mentions `needle` (e.g. an encoded limiter
 * name), via MONITOR on every master. Counts only our limiter's traffic, even while
 * other test files share the servers.
 *
 * MONITOR is read from a plain socket, not ioredis's `monitor()`: ioredis enters monitoring
 * mode a microtask after MONITOR's +OK, so a monitored line arriving in the same packet
 * (likely on a busy shared server) is taken for a reply to nothing and raised as an
 * unhandled "Command queue state error" — and the line is lost, which would let a
 * "sends nothing" check pass by accident.
 */
export async function watchCommands(client: RedisClient, needle: string) {
  const seen: string[][] = [];
  let lastSeenAt = performance.now();
  const markersSeen = new Set<string>();
  const nodes = await masters(client);
  const sockets = await Promise.all(
    nodes.map(({ options }) => {
      if (options.tls) throw new Error('watchCommands: MONITOR over TLS is not supported');
      return monitorServer(options.host ?? '127.0.0.1', options.port ?? 6379, (args) => {
        if (args[0]?.toUpperCase() === 'ECHO' && args[1]?.startsWith(`${needle}:caught-up:`)) {
          markersSeen.add(args[1]);
        } else if (args.some((arg) => arg.includes(needle))) {
          seen.push(args);
          lastSeenAt = performance.now();
        }
      });
    }),
  );
  let markers = 0;
  /**
   * Resolves once MONITOR has delivered every command the servers ran before this call: it
   * lags behind them, by more than 100 ms on a busy machine. An ECHO on each master marks
   * the point (MONITOR delivers a server's commands in the order it ran them).
   */
  const caughtUp = async () => {
    const sent = nodes.map(() => `${needle}:caught-up:${++markers}`);
    await Promise.all(nodes.map((node, i) => node.echo(sent[i])));
    await waitUntil('MONITOR delivered what ran before', () => sent.every((marker) => markersSeen.has(marker)));
  };
  return {
    commands: () => [...seen],
    caughtUp,
    /** Resolves once no command was seen for `ms`, MONITOR caught up; times out while something keeps calling. */
    quiet: async (ms: number) => {
      await waitUntil(`no command for ${ms} ms`, async () => {
        await caughtUp();
        return performance.now() - lastSeenAt >= ms;
      });
    },
    reset: () => void seen.splice(0),
    stop: async () => {
      await Promise.all(sockets.map((socket) => new Promise<void>((done) => socket.end(() => done()))));
    },
  };
}

/** Resolves once MONITOR answered +OK; every later line goes to `onCommand`. */
function monitorServer(host: string, port: number, onCommand: (args: string[]) => void): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let buffered = '';
    let monitoring = false;
    socket.setEncoding('latin1');
    socket.once('error', reject);
    socket.on('connect', () => socket.write('MONITOR\r\n'));
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      let end: number;
      while ((end = buffered.indexOf('\r\n')) >= 0) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        if (!monitoring) {
          if (line !== '+OK') return reject(new Error(`MONITOR refused: ${line}`));
          monitoring = true;
          resolve(socket);
        } else if (line.startsWith('+')) {
          onCommand(monitoredArgs(line));
        }
      }
    });
  });
}

/** `+1700000000.123456 [0 127.0.0.1:5000] "EVALSHA" "ab\"c"` → ['EVALSHA', 'ab"c'] (sdscatrepr quoting). */
function monitoredArgs(line: string): string[] {
  const args: string[] = [];
  let i = line.indexOf('] ');
  if (i < 0) return args;
  i += 2;
  while (i < line.length) {
    if (line[i] !== '"') {
      i++;
      continue;
    }
    let arg = '';
    for (i++; i < line.length && line[i] !== '"'; i++) {
      if (line[i] !== '\\') {
        arg += line[i];
        continue;
      }
      const next = line[++i];
      if (next === 'x') {
        arg += String.fromCharCode(parseInt(line.slice(i + 1, i + 3), 16));
        i += 2;
      } else {
        arg += ({ n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b' } as Record<string, string>)[next] ?? next;
      }
    }
    args.push(arg);
    i++;
  }
  return args;
}
