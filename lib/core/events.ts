import diagnosticsChannel from 'node:diagnostics_channel';
import type { LimitKind } from './limit-kind';

/**
 * What every limiter publishes, on named `node:diagnostics_channel` channels, as undici
 * and fastify do: free when nobody subscribes (publishers check `hasSubscribers` before
 * building a payload), and readable by any subscriber (metrics, the live board, an APM
 * agent) without the library knowing it. Each outcome is published once, by the code that
 * decided it: the core limiters for their own calls, the Nest pipeline only for what
 * happens on top of them (a call let through by `whenRedisFails`).
 *
 * No payload ever holds a caller's key: `name` is the declared name, and `keyId` the
 * keyed hash that stands for the key in Redis (absent for an unkeyed limit).
 */
export const CHANNEL_NAMES = {
  /** A call got its tokens or its slot (after waiting `waitedMs`). */
  admit: 'nestjs-limiters:admit',
  /** A call was refused: not within maxSleep, or Redis could not check it. */
  refuse: 'nestjs-limiters:refuse',
  /** A call starts waiting: queued for a slot, or sleeping until its tokens exist. */
  wait: 'nestjs-limiters:wait',
  /** A waiting call stopped waiting because its signal aborted (the caller gave up, the client left). */
  cancel: 'nestjs-limiters:cancel',
  /** A permit was given back after `heldMs`. */
  release: 'nestjs-limiters:release',
  /** A permit's lease could not be kept: its signal aborted. */
  leaseLost: 'nestjs-limiters:lease-lost',
  /** A call to Redis failed (timed out, connection lost, refused by Redis). */
  redisError: 'nestjs-limiters:redis-error',
  /** A call Redis could not check ran anyway, by the whenRedisFails policy. */
  fallback: 'nestjs-limiters:fallback',
  /** A Redis server's circuit breaker opened: calls to it fail at once until a probe gets through. */
  breakerOpen: 'nestjs-limiters:breaker-open',
  /** A probe (or any call) got an answer from a server whose breaker was open: calls go to Redis again. */
  breakerClose: 'nestjs-limiters:breaker-close',
} as const;

/** What every event says. */
export interface LimitEvent {
  /** The limit's declared name; never the caller's key. */
  name: string;
  kind: LimitKind;
  /** The keyed hash standing for the caller's key, as in Redis key names; absent when unkeyed. */
  keyId?: string;
  /** True when the limiter runs in shadow mode: evaluated and reported, never enforced. */
  shadow: boolean;
}

/** How much a call asked for: tokens of a token bucket, permits of a semaphore. */
export interface Amount {
  /** Tokens the call takes (token bucket events). */
  tokens?: number;
  /** Permits the call holds (semaphore events). */
  permits?: number;
}

export interface AdmitEvent extends LimitEvent, Amount {
  /** Ms the call waited for them (in shadow mode: would have waited). */
  waitedMs: number;
  /** Tokens left after the call (token bucket only). */
  remaining?: number;
}

export interface RefuseEvent extends LimitEvent, Amount {
  reason: 'limit' | 'redis-unavailable';
  /** Ms until the call could succeed, where known (token bucket). */
  retryAfterMs?: number;
  /** Ms the call waited before it was refused. */
  waitedMs: number;
  /** True when the refusal cache answered (token bucket option refusalCache), without asking Redis. */
  cached?: boolean;
}

export interface WaitEvent extends LimitEvent, Amount {
  /** The longest the call will wait (ms); for a token bucket the exact wait. */
  maxWaitMs: number;
}

/**
 * Ends a `wait` that neither an admit nor a refusal ends: the call's signal aborted. A
 * semaphore call cancelled in the queue got no slot; a token bucket's call had its tokens
 * reserved (its admit was published then) and they stay spent.
 */
export interface CancelEvent extends LimitEvent, Amount {
  /** Ms the call waited before it gave up. */
  waitedMs: number;
}

export interface ReleaseEvent extends LimitEvent, Amount {
  heldMs: number;
}

export interface LeaseLostEvent extends LimitEvent {
  heldMs: number;
  reason: string;
}

export interface RedisErrorEvent extends LimitEvent {
  /** The error's message: names the limit, never the key. */
  message: string;
  /** The error's class name: RedisUnavailableError, RedisRefusedError, LimiterClosedError. */
  error: string;
}

export interface FallbackEvent extends LimitEvent {
  /** 'allow': the call ran unlimited; 'local': it was limited by this process's share, in memory. */
  policy: 'allow' | 'local';
}

/**
 * A breaker belongs to a Redis server as one client reaches it, not to a limit: its events
 * carry no limit name, only the server (host:port as the client knows it).
 */
export interface BreakerOpenEvent {
  server: string;
  /** Calls in a row that failed for connection reasons (or timed out). */
  failures: number;
  /** The last failure's message. */
  reason: string;
}

export interface BreakerCloseEvent {
  server: string;
  /** Ms the breaker stayed open. */
  openMs: number;
}

export interface LimitEvents {
  admit: AdmitEvent;
  refuse: RefuseEvent;
  wait: WaitEvent;
  cancel: CancelEvent;
  release: ReleaseEvent;
  leaseLost: LeaseLostEvent;
  redisError: RedisErrorEvent;
  fallback: FallbackEvent;
}

/** Events about a Redis server rather than a limit. */
export interface BreakerEvents {
  breakerOpen: BreakerOpenEvent;
  breakerClose: BreakerCloseEvent;
}

type AllEvents = LimitEvents & BreakerEvents;

type Channels = { [K in keyof AllEvents]: diagnosticsChannel.Channel };

/** The channels, made once: `diagnostics_channel.channel(name)` returns the same object anywhere in the process. */
export const channels: Channels = Object.fromEntries(
  Object.entries(CHANNEL_NAMES).map(([event, name]) => [event, diagnosticsChannel.channel(name)]),
) as Channels;

/**
 * Publishes an event when anyone listens. `payload` is a function so that, with nobody
 * subscribed, not even the object is built: this runs on every limited call.
 */
export function publish<K extends keyof AllEvents>(event: K, payload: () => AllEvents[K]): void {
  const channel = channels[event];
  if (channel.hasSubscribers) channel.publish(payload());
}

/** A failed store call, as its limiter reports it. */
export function publishRedisError(identity: LimitEvent, error: unknown): void {
  publish('redisError', () => ({
    ...identity,
    message: error instanceof Error ? error.message : String(error),
    error: error instanceof Error ? error.name : typeof error,
  }));
}
