import type { Script } from '../lua-scripts';

/**
 * What the Redis store needs of a client, whichever library made it (ioredis or node-redis).
 * The store, the grant listener, the health probe and the eviction check talk to this, never
 * to a client library: one adapter per library (ioredis.ts, node-redis.ts) is all that differs.
 */
export interface RedisConnection {
  readonly isCluster: boolean;
  /**
   * Whether grants may go by sharded pub/sub (SSUBSCRIBE, SPUBLISH from the scripts): an
   * ioredis Cluster client. Its servers may still refuse it (Redis 6, an ACL user without it).
   */
  readonly shardedPubSub: boolean;
  /** Runs `script` by its SHA, sending its text only when the server does not know it (NOSCRIPT). */
  runScript(script: Script, keys: string[], args: Array<string | number>): Promise<unknown>;
  /**
   * The text of the error Redis answered with, when `error` is one; undefined when Redis was
   * not reached (closed connection, offline queue off, retries exhausted).
   */
  serverReply(error: unknown): string | undefined;
  /**
   * A connection of its own for SUBSCRIBE, like the client's; it connects on its first subscribe.
   * `sharded`: it will also SSUBSCRIBE (only where `shardedPubSub` says so).
   */
  subscriber(events: SubscriberEvents, sharded: boolean): GrantSubscriber;
  /** Calls `listener` once, when the app closes the client for good. */
  onceClosed(listener: () => void): void;
  /**
   * Every master behind the client, each with a connection to it (or why there is none), once
   * the client is ready; `{ reason }` when it is not ready within `timeout` ms (none: no limit)
   * or is closed first. `unserved`: why some hash slots have no master the client can reach.
   * `connect`: connect a client that was made lazily, as its first command would.
   */
  masters(options: { timeout?: number; connect: boolean }): Promise<Masters | { reason: string }>;
  /**
   * The server that serves hash `slot` now, as `host:port` (or a socket path): on a Cluster
   * the slot's master in the client's slot map, read at each call; otherwise the one server.
   */
  serverFor(slot: number): string;
  /** CONFIG GET `parameter` on this server (a standalone connection): its value, undefined when unknown. */
  configGet(parameter: string): Promise<string | undefined>;
  /**
   * Tells when the connection is lost (`lost`, with the client's error) and when it is back
   * (`back`), as often as it happens; returns the function that stops telling.
   */
  watchConnection(lost: (error: Error) => void, back: () => void): () => void;
}

export interface SubscriberEvents {
  /** A message on one of the channels subscribed. */
  message(message: string): void;
  /**
   * The subscriber lost its connection (or it was replaced) and is subscribed again:
   * messages sent meanwhile were lost.
   */
  resubscribed(): void;
}

export interface GrantSubscriber {
  /**
   * Resolves once Redis confirmed the subscription. `sharded`: by SSUBSCRIBE; a server that
   * does not do it rejects with its error reply (see RedisConnection.serverReply).
   */
  subscribe(channel: string, sharded: boolean): Promise<void>;
  /** Drops the connection; nothing is delivered afterwards. */
  close(): void;
}

export interface Masters {
  servers: MasterServer[];
  unserved?: string;
}

/** One master: `host:port`, and a connection that runs scripts there, unless `lost` says why it cannot. */
export interface MasterServer {
  address: string;
  connection: RedisConnection;
  lost?: string;
}
