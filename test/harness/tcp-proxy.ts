/**
 * A TCP proxy on 127.0.0.1 in front of a harness Redis, to cut one client off while
 * others keep talking to the server directly. `blackhole()` stops forwarding in both
 * directions without closing any socket: what a network partition looks like to ioredis,
 * which then sees no error at all, only silence.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private dropping = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    // eslint-disable-next-line prefer-const -- the server's callback closes over it before the proxy exists
    let proxy!: TcpProxy;
    const server = createServer((client) => proxy.pipe(client, target));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new TcpProxy(server, (server.address() as { port: number }).port);
    return proxy;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** From now on every byte is dropped, both ways; new connections are accepted and go silent too. */
  blackhole(): void {
    this.dropping = true;
  }

  /**
   * The partition ends as a NAT or load balancer ends one: the connections it silenced are
   * reset (their bytes are lost, so resuming them would pair replies with the wrong
   * commands), and new ones are forwarded again.
   */
  restore(): void {
    this.dropping = false;
    for (const socket of this.sockets) socket.destroy();
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private pipe(client: Socket, target: { host: string; port: number }): void {
    const upstream = connect(target.port, target.host);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      this.sockets.add(from);
      from.on('data', (chunk) => {
        if (!this.dropping) to.write(chunk);
      });
      from.on('error', () => undefined);
      from.on('close', () => {
        this.sockets.delete(from);
        to.destroy();
      });
    }
  }
}
