import type { Script } from '../lua-scripts';
import { readyWithin } from './ready-within';
import type { GrantSubscriber, MasterServer, RedisConnection, SubscriberEvents } from './redis-connection';

/**
 * What nestjs-limiters uses of a node-redis v5 client (`createClient()` of the `redis`
 * package). Declared here, not imported, so that the package's types never need `redis`:
 * an app on ioredis does not install it.
 */
export interface NodeRedisClient {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  sendCommand(args: string[]): Promise<unknown>;
  duplicate(): NodeRedisClient;
  connect(): Promise<unknown>;
}

/** What nestjs-limiters uses of a node-redis v5 Cluster client (`createCluster()`). */
export interface NodeRedisCluster {
  readonly isOpen: boolean;
  sendCommand(firstKey: string | undefined, isReadonly: boolean | undefined, args: string[]): Promise<unknown>;
  duplicate(): NodeRedisCluster;
  connect(): Promise<unknown>;
  nodeClient(node: never): Promise<NodeRedisClient>;
}

/** The rest of a client this adapter relies on, kept out of the public types above. */
interface Emitter {
  on(event: string, listener: (...args: never[]) => void): unknown;
  once(event: string, listener: (...args: never[]) => void): unknown;
  off(event: string, listener: (...args: never[]) => void): unknown;
}
type Listener = (message: string, channel: string) => void;
interface Client extends NodeRedisClient, Emitter {
  readonly options?: { url?: string; socket?: { host?: string; port?: number } };
  duplicate(): Client;
  subscribe(channel: string, listener: Listener): Promise<void>;
  destroy(): void;
}
interface ClusterNode {
  host: string;
  port: number;
  client?: Client;
}
interface Cluster extends NodeRedisCluster, Emitter {
  readonly masters: ClusterNode[];
  readonly slots: Array<{ master?: ClusterNode } | undefined>;
  readonly pubSubNode?: { client: Client; connectPromise?: Promise<unknown> };
  duplicate(): Cluster;
  nodeClient(node: ClusterNode): Promise<Client>;
  subscribe(channel: string, listener: Listener): Promise<void>;
  destroy(): void;
}

/**
 * Told apart by shape, not instanceof, as for ioredis (another copy of `redis` may be loaded):
 * a node-redis client sends raw commands with sendCommand and says isOpen, which ioredis does not.
 */
export function isNodeRedisCluster(client: object): client is NodeRedisCluster {
  const c = client as Partial<Cluster>;
  return typeof c.sendCommand === 'function' && typeof c.nodeClient === 'function' && typeof c.isOpen === 'boolean';
}

export function isNodeRedisClient(client: object): client is NodeRedisClient {
  const c = client as Partial<Client>;
  return typeof c.sendCommand === 'function' && typeof c.duplicate === 'function' && typeof c.isReady === 'boolean';
}

const NOT_OPEN = 'the node-redis client is not open (connect() was not called, or it was closed)';

export function nodeRedisConnection(
  given: NodeRedisClient | NodeRedisCluster,
  connectionOf: (client: object) => RedisConnection,
): RedisConnection {
  const cluster = isNodeRedisCluster(given) ? (given as Cluster) : undefined;
  const client = given as Client;
  // A Cluster routes by the first key; the health probe's keyless script goes to any master.
  const send = (keys: string[], args: string[]) =>
    cluster ? cluster.sendCommand(keys[0], false, args) : client.sendCommand(args);
  return {
    isCluster: cluster !== undefined,
    // Grants go by PUBLISH: node-redis's sSubscribe is not wired to the reconnect handling here.
    shardedPubSub: false,
    /**
     * EVALSHA, then EVAL with the text on NOSCRIPT (after a restart or SCRIPT FLUSH). Not
     * defineScript: node-redis takes scripts only in the options of createClient, and the
     * client is the app's, made before the limiters.
     */
    async runScript(script: Script, keys, args) {
      const rest = [String(script.numberOfKeys), ...keys, ...args.map(String)];
      try {
        return await send(keys, ['EVALSHA', script.sha, ...rest]);
      } catch (error) {
        if (!serverReply(error)?.startsWith('NOSCRIPT')) throw error;
        return send(keys, ['EVAL', script.lua, ...rest]);
      }
    },
    serverReply,
    subscriber: (events) => (cluster ? clusterSubscriber(cluster, events) : clientSubscriber(client, events)),
    onceClosed: (listener) => void (cluster ?? client).once(cluster ? 'disconnect' : 'end', listener),
    serverFor(slot) {
      if (!cluster) return addressOf(client);
      const master = cluster.slots[slot]?.master;
      // Before the slot map is loaded: one name for every call, as on ioredis.
      return master ? `${master.host}:${master.port}` : 'the Cluster';
    },
    masters: ({ timeout }) =>
      cluster ? clusterMasters(cluster, timeout, connectionOf) : clientMasters(client, timeout, connectionOf),
    async configGet(parameter) {
      const reply = await client.sendCommand(['CONFIG', 'GET', parameter]);
      // [name, value] in RESP2, { name: value } in RESP3; nothing from a server that does not know it.
      const values = Array.isArray(reply) ? reply.slice(1) : Object.values((reply ?? {}) as Record<string, unknown>);
      return values[0] === undefined ? undefined : String(values[0]);
    },
    watchConnection: (lost, back) => (cluster ? watchCluster(cluster, lost, back) : watchClient(client, lost, back)),
  };
}

/**
 * The error Redis answered with, if it answered at all: node-redis gives every error reply
 * as an ErrorReply (SimpleError, BlobError); its own errors (client closed, offline,
 * socket closed, timeouts) mean Redis was not reached. By class name, as for isNodeRedisClient.
 */
function serverReply(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  for (
    let proto = Object.getPrototypeOf(error);
    proto && proto !== Error.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    if (proto.constructor?.name === 'ErrorReply') return error.message;
  }
  return undefined;
}

function addressOf(client: Client): string {
  const { url, socket } = client.options ?? {};
  if (url) {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || 6379}`;
  }
  return `${socket?.host ?? 'localhost'}:${socket?.port ?? 6379}`;
}

async function clientMasters(
  client: Client,
  timeout: number | undefined,
  connectionOf: (client: object) => RedisConnection,
) {
  if (!client.isOpen) return { reason: NOT_OPEN };
  // Open but not ready: connecting, or reconnecting after the connection was lost.
  const lost = client.isReady
    ? undefined
    : await readyWithin(client, { ready: 'ready', end: 'end' }, timeout, () => 'the connection is lost (reconnecting)');
  return { servers: [{ address: addressOf(client), connection: connectionOf(client), lost }] };
}

async function clusterMasters(
  cluster: Cluster,
  timeout: number | undefined,
  connectionOf: (client: object) => RedisConnection,
) {
  if (!cluster.isOpen) return { reason: NOT_OPEN };
  // Open but still reading the slot map: it says 'connect' once it knows the masters.
  if (cluster.masters.length === 0) {
    const notReady = await readyWithin(
      cluster,
      { ready: 'connect', end: 'disconnect' },
      timeout,
      () => 'the Cluster client knows no master yet (it is still connecting)',
    );
    if (notReady) return { reason: notReady };
  }
  const servers = await Promise.all(
    cluster.masters.map(async (master): Promise<MasterServer> => {
      const address = `${master.host}:${master.port}`;
      // node-redis connects to a master on its first command there; the probe may be that command.
      const connected = await bounded(cluster.nodeClient(master), timeout);
      if (!connected) return { address, connection: unreachable(address), lost: `no connection within ${timeout} ms` };
      const lost = connected.isReady ? undefined : 'the connection is lost (reconnecting)';
      return { address, connection: connectionOf(connected), lost };
    }),
  );
  const unserved = cluster.slots.length < 16_384 || cluster.slots.some((slot) => slot?.master === undefined);
  return { servers, unserved: unserved ? 'the Cluster has hash slots no master serves' : undefined };
}

/** `call`'s value, or undefined when it takes longer than `timeout` ms or fails. */
function bounded<T>(call: Promise<T>, timeout: number | undefined): Promise<T | undefined> {
  const failed = call.catch(() => undefined);
  if (timeout === undefined) return failed;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeout)));
  return Promise.race([failed, late]).finally(() => clearTimeout(timer));
}

/** Stands for a master no connection could be made to: its `lost` says why, and nothing is sent there. */
function unreachable(address: string): RedisConnection {
  const fail = () => Promise.reject(new Error(`${address} is not connected`));
  return {
    isCluster: false,
    shardedPubSub: false,
    runScript: fail,
    serverReply: () => undefined,
    subscriber: () => ({ subscribe: fail, close: () => undefined }),
    onceClosed: () => undefined,
    masters: () => Promise.resolve({ reason: `${address} is not connected` }),
    serverFor: () => address,
    configGet: fail,
    watchConnection: () => () => undefined,
  };
}

/**
 * node-redis's own duplicate of the client, for SUBSCRIBE: in v5 a connection that subscribes
 * serves nothing else. It connects on the first subscribe. node-redis subscribes again by
 * itself after a reconnect and says 'ready' only once those subscriptions are answered.
 */
function clientSubscriber(client: Client, events: SubscriberEvents): GrantSubscriber {
  const subscriber = client.duplicate();
  let connectedBefore = false;
  subscriber.on('ready', () => {
    if (connectedBefore) events.resubscribed();
    connectedBefore = true;
  });
  return subscribingOn(subscriber, events);
}

/**
 * A duplicate of the Cluster client: node-redis subscribes on one node of it (a PUBLISH is
 * forwarded to every node by the cluster bus) and moves the subscriptions to another node
 * when that one leaves. News may be lost while its pub/sub connection reconnects or moves:
 * the connection's own 'ready' says the first, a node's 'node-ready' may be the second.
 */
function clusterSubscriber(cluster: Cluster, events: SubscriberEvents): GrantSubscriber {
  const subscriber = cluster.duplicate();
  subscriber.on('node-error', () => undefined);
  let watched: Client | undefined;
  const watchPubSubConnection = async () => {
    await subscriber.pubSubNode?.connectPromise;
    const current = subscriber.pubSubNode?.client;
    if (!current || current === watched) return;
    const moved = watched !== undefined;
    watched = current;
    current.on('ready', () => watched === current && events.resubscribed());
    if (moved) events.resubscribed();
  };
  subscriber.on('node-ready', () => void watchPubSubConnection().catch(() => undefined));
  return subscribingOn(subscriber, events, watchPubSubConnection);
}

/** SUBSCRIBE on a duplicate made for it, connected on the first subscribe and destroyed on close. */
function subscribingOn(
  subscriber: Client | Cluster,
  events: SubscriberEvents,
  subscribed?: () => Promise<void>,
): GrantSubscriber {
  // Connection errors surface to waiters through their own timers and calls; an 'error'
  // without a listener would throw.
  subscriber.on('error', () => undefined);
  const listener: Listener = (message) => events.message(message);
  let connecting: Promise<unknown> | undefined;
  return {
    async subscribe(channel) {
      connecting ??= subscriber.connect();
      await connecting;
      await subscriber.subscribe(channel, listener);
      await subscribed?.();
    },
    close() {
      if (subscriber.isOpen) subscriber.destroy();
      connecting?.catch(() => undefined);
    },
  };
}

function watchClient(client: Client, lost: (error: Error) => void, back: () => void): () => void {
  client.on('error', lost);
  client.on('ready', back);
  return () => {
    client.off('error', lost);
    client.off('ready', back);
  };
}

/**
 * A Cluster client forwards its nodes' errors as 'node-error' but not their reconnections:
 * after a loss, the next 'ready' of any master's connection says the Cluster answers again.
 */
function watchCluster(cluster: Cluster, lost: (error: Error) => void, back: () => void): () => void {
  const armed = new WeakSet<Client>();
  let stopped = false;
  const onLost = (error: Error) => {
    lost(error);
    for (const { client } of cluster.masters) {
      if (!client || armed.has(client)) continue;
      armed.add(client);
      client.once('ready', () => {
        armed.delete(client);
        if (!stopped) back();
      });
    }
  };
  cluster.on('error', onLost);
  cluster.on('node-error', onLost);
  cluster.on('node-ready', back);
  return () => {
    stopped = true;
    cluster.off('error', onLost);
    cluster.off('node-error', onLost);
    cluster.off('node-ready', back);
  };
}
