import type { Cluster, Redis } from 'ioredis';
import type { Script } from '../lua-scripts';
import { readyWithin } from './ready-within';
import type { GrantSubscriber, MasterServer, RedisConnection, SubscriberEvents } from './redis-connection';

export type IoredisClient = Redis | Cluster;

/** A client in these states has lost its connection: a command would only wait in ioredis's offline queue. */
const DISCONNECTED = new Set(['reconnecting', 'close', 'end']);

type ScriptCommand = (...keysAndArgs: Array<string | number>) => Promise<unknown>;

/**
 * Told apart by defineCommand, not instanceof: the app may load another copy of ioredis.
 * `connectionOf` gives the one connection of each client (the masters' connections too).
 */
export function isIoredis(client: object): client is IoredisClient {
  return typeof (client as Partial<Redis>).defineCommand === 'function';
}

export function ioredisConnection(
  client: IoredisClient,
  connectionOf: (client: object) => RedisConnection,
): RedisConnection {
  const cluster = client.isCluster ? (client as Cluster) : undefined;
  return {
    isCluster: client.isCluster,
    shardedPubSub: cluster !== undefined && shardedSubscribersWork(cluster),
    /**
     * defineCommand makes ioredis send EVALSHA and fall back to EVAL on NOSCRIPT (after a
     * restart or SCRIPT FLUSH), on a Redis or a Cluster alike.
     */
    runScript(script: Script, keys, args) {
      const commands = client as unknown as Record<string, ScriptCommand | undefined>;
      if (typeof commands[script.command] !== 'function') {
        client.defineCommand(script.command, { lua: script.lua, numberOfKeys: script.numberOfKeys });
      }
      return commands[script.command]!.call(client, ...keys, ...args);
    },
    serverReply,
    subscriber: (events, sharded) => subscriberFor(client, events, sharded),
    onceClosed: (listener) => void client.once('end', listener),
    async masters({ timeout, connect }) {
      // A Cluster knows its masters only once ready. Without `connect`, a lazy client is left
      // alone until the app connects it: a command would connect it.
      if (cluster || !connect) {
        const notReady = await whenReady(client, timeout, connect);
        if (notReady) return { reason: notReady };
      }
      if (!cluster) return { servers: [server(client as Redis, connectionOf)] };
      const masters = cluster.nodes('master');
      return { servers: masters.map((m) => server(m, connectionOf)), unserved: unservedSlots(cluster, masters) };
    },
    serverFor(slot) {
      if (cluster) {
        // Before the slot map is loaded every call goes to one pending connection: one name for them.
        return cluster.slots[slot]?.[0] ?? 'the Cluster';
      }
      const { host = 'localhost', port = 6379, path } = (client as Redis).options;
      return path ?? `${host}:${port}`;
    },
    async configGet(parameter) {
      // [name, value], or [] from a server that does not know the parameter.
      const [, value] = (await (client as Redis).config('GET', parameter)) as string[];
      return value;
    },
    watchConnection(lost, back) {
      client.on('error', lost);
      client.on('ready', back);
      return () => {
        client.off('error', lost);
        client.off('ready', back);
      };
    },
  };
}

/**
 * The error Redis answered with, if it answered at all. ioredis names every error reply
 * ReplyError; its own errors (closed connection, retries exhausted, offline queue
 * disabled) mean Redis was not reached. A Cluster client retries CLUSTERDOWN and
 * TRYAGAIN replies, then gives up with a plain Error quoting the last one.
 */
function serverReply(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  if (error.name === 'ReplyError') return error.message;
  return /^Too many Cluster redirections\. Last error: ReplyError: ((?:CLUSTERDOWN|TRYAGAIN) .*)$/s.exec(
    error.message,
  )?.[1];
}

function server(redis: Redis, connectionOf: (client: object) => RedisConnection): MasterServer {
  const address = `${redis.options.host}:${redis.options.port}`;
  const lost = DISCONNECTED.has(redis.status) ? `the connection is lost (${redis.status})` : undefined;
  return { address, connection: connectionOf(redis), lost };
}

/**
 * ioredis drops a master it lost from its node list but keeps the slot map it read last:
 * the slots of that master are then a limit nobody can check, though every master left answers.
 */
function unservedSlots(cluster: Cluster, masters: Redis[]): string | undefined {
  const connected = new Set(masters.map((m) => `${m.options.host}:${m.options.port}`));
  const missing = new Set<string>();
  let unassigned = false;
  for (let slot = 0; slot < 16_384; slot += 1) {
    const master = cluster.slots[slot]?.[0];
    if (master === undefined) unassigned = true;
    else if (!connected.has(master)) missing.add(master);
  }
  if (missing.size > 0)
    return `${[...missing].join(', ')}: the master is lost (the Cluster client has no connection to it)`;
  if (unassigned) return 'the Cluster has hash slots no master serves';
  return undefined;
}

/** Undefined once `client` is ready; why not, after `timeout` ms (none: no limit) or when it is closed first. */
function whenReady(client: IoredisClient, timeout: number | undefined, connect: boolean): Promise<string | undefined> {
  if (client.status === 'ready') return Promise.resolve(undefined);
  if (connect && client.status === 'wait') client.connect().catch(() => undefined);
  const what = client.isCluster ? 'Cluster client' : 'client';
  return readyWithin(
    client,
    { ready: 'ready', end: 'end' },
    timeout,
    () => `the ${what} is ${client.status}, not ready`,
  );
}

/**
 * A connection like `client`'s for SUBSCRIBE (on a Cluster, ioredis's set of them, with one
 * per master for SSUBSCRIBE when `sharded`). It queues commands until it is connected,
 * whatever the client does: a client set to fail fast (enableOfflineQueue: false) would
 * make its fresh duplicate refuse the first SUBSCRIBE, and every first wait with it.
 */
function subscriberFor(client: IoredisClient, events: SubscriberEvents, sharded: boolean): GrantSubscriber {
  /** Subscribed channels, each with whether by SSUBSCRIBE. */
  const channels = new Map<string, boolean>();
  let closed = false;
  let subscriber = connect();

  function connect(): IoredisClient {
    const queueUntilConnected = { enableOfflineQueue: true };
    const connection: IoredisClient = client.isCluster
      ? (client as Cluster).duplicate([], { ...queueUntilConnected, shardedSubscribers: sharded })
      : (client as Redis).duplicate(queueUntilConnected);
    connection.on('message', (_channel: string, message: string) => events.message(message));
    connection.on('smessage', (_channel: string, message: string) => events.message(message));
    // ioredis re-subscribes sharded channels itself after a topology change or a lost
    // node (then says subscribersReady): grants sent meanwhile were lost.
    connection.on('subscribersReady', () => events.resubscribed());
    // Connection errors surface to waiters through their own timers and calls;
    // without a listener ioredis would print them as unhandled.
    connection.on('error', () => undefined);
    let connectedBefore = false;
    connection.on('ready', () => {
      // ioredis subscribes again by itself after a reconnect; once our own SUBSCRIBE is
      // answered, news can arrive again. Sharded channels are ioredis's to restore
      // (subscribersReady), on connections of their own. Gone again: the next 'ready' tries once more.
      if (connectedBefore) {
        const plain = [...channels].filter(([, bySsubscribe]) => !bySsubscribe).map(([channel]) => channel);
        const again = plain.length > 0 ? connection.subscribe(...plain) : Promise.resolve();
        again.then(
          () => events.resubscribed(),
          () => undefined,
        );
      }
      connectedBefore = true;
    });
    if ((client as Redis).options?.sentinels) connection.once('end', () => replaceEnded(connection));
    return connection;
  }

  /**
   * ioredis can end a connection for good without being asked: a Sentinel client with
   * failoverDetector that sees +switch-master while it reconnects after its master
   * crashed. Every wait would then fail on it; a new connection takes over its channels.
   * Only there: elsewhere an end comes from the client's own retryStrategy giving up.
   */
  function replaceEnded(ended: IoredisClient): void {
    if (closed || subscriber !== ended || client.status === 'end') return; // closed by us, or with the client
    subscriber = connect();
    const again = [...channels].map(([channel, bySsubscribe]) => subscribeOn(subscriber, channel, bySsubscribe));
    void Promise.all(again).then(
      () => events.resubscribed(),
      () => undefined, // each waiter's own timer still looks
    );
  }

  function subscribeOn(connection: IoredisClient, channel: string, bySsubscribe: boolean): Promise<unknown> {
    return bySsubscribe ? connection.ssubscribe(channel) : connection.subscribe(channel);
  }

  return {
    async subscribe(channel, bySsubscribe) {
      await subscribeOn(subscriber, channel, bySsubscribe);
      channels.set(channel, bySsubscribe);
    },
    close() {
      closed = true;
      // disconnect() on an ended connection arms ioredis's 2 s force-close timer for a socket
      // that is already gone, which holds the process open for nothing.
      if (subscriber.status !== 'end') subscriber.disconnect();
    },
  };
}

/**
 * Whether ioredis's sharded subscribers work with this Cluster client's options. Two do
 * not (ioredis 6): `keyPrefix` is put before a sharded channel as before a key, so the
 * SPUBLISH of the scripts (which cannot know the prefix) reaches nobody; `stringNumbers`
 * leaves the subscribers' slot table indexed by strings, and the first SSUBSCRIBE throws.
 * Such clients keep plain PUBLISH, which costs cluster-bus traffic, not correctness.
 */
function shardedSubscribersWork(cluster: Cluster): boolean {
  const options = { ...cluster.options, ...cluster.options.redisOptions } as {
    keyPrefix?: string;
    stringNumbers?: boolean;
  };
  return !options.keyPrefix && !options.stringNumbers;
}
