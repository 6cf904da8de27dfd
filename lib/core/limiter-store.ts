/**
 * Where limiter state lives. Limiters hold the logic of waiting, leases and sleeping;
 * a store only applies atomic state changes and tells waiters when they were granted.
 * Every duration is milliseconds, measured on the store's own clock.
 */
export interface LimiterRef {
  /** The user's limiter name, as given. */
  name: string;
  /**
   * For a keyed limit (option `key`), what stands for the caller's key: a keyed hash, or
   * with readableKeys its encoded form. A store keeps (name, keyId) apart from every
   * plain name. Never the key itself.
   */
  keyId?: string;
  keyPrefix: string;
  /** Longest time one store call may take before it fails with RedisUnavailableError. */
  commandTimeout: number;
  /**
   * The circuit breaker in front of the store's server (a store without a server ignores
   * it); absent or false: none, every call waits up to commandTimeout.
   */
  breaker?: BreakerSettings | false;
}

/** When a Redis server's breaker opens, and how often it is probed while open (see lib/store/redis/breaker.ts). */
export interface BreakerSettings {
  /** Calls in a row failing for connection reasons (or timing out) that open it. */
  failures: number;
  /** Ms between probe calls while it is open. */
  probeInterval: number;
}

/** One typed method per kind of limit: a store that lacks a kind does not compile. */
export interface LimiterStore {
  semaphore(ref: LimiterRef): SemaphoreBackend;
  tokenBucket(ref: LimiterRef): TokenBucketBackend;
  fixedWindow(ref: LimiterRef): FixedWindowBackend;
  slidingWindow(ref: LimiterRef): SlidingWindowBackend;
}

export type AcquireReply =
  /** fencingToken: above every token this semaphore's name handed out before (see Permit.fencingToken). */
  | { status: 'held'; leaseLeft: number; fencingToken: bigint }
  /**
   * Queued (or, when waitMs was 0, refused). retryIn: when the earliest lease runs out, if anyone holds one.
   * now: the store's clock when the call ran, if it tells, so that a grant's lease end in
   * store time can be placed on the caller's clock.
   */
  | { status: 'queued' | 'refused'; retryIn?: number; now?: number };

/** A waiter giving up finds itself either still queued (now removed) or already granted. */
export type CancelReply = 'held' | 'dequeued' | 'absent';

export interface SemaphoreSnapshot {
  /** Live permits, with the ms left on each lease and how many permits each holds. */
  holders: Array<{ id: string; leaseLeft: number; permits: number }>;
  /** Live waiters' ids, oldest first. */
  waiters: string[];
}

export interface Listening {
  /** Resolves once grants can arrive; absent when they can already. */
  ready?: Promise<void>;
  stop(): void;
}

/** What a release tells the waiter it granted. */
export interface Grant {
  /** The lease's end on the store's clock; undefined when the store (or an older script) does not say. */
  leaseEndsAt?: number;
  /** Undefined from a script of a version before fencing tokens: the waiter then asks for one. */
  fencingToken?: bigint;
}

export interface SemaphoreBackend {
  /**
   * Takes `permits` (default 1) for `id`, or queues it behind older waiters for up to
   * `waitMs` (0: never queue). Called again with the same id it refreshes the waiter's place.
   */
  acquire(request: {
    id: string;
    capacity: number;
    leaseMs: number;
    waitMs: number;
    permits?: number;
  }): Promise<AcquireReply>;
  /**
   * Frees `id`'s permits (`permits`, default 1: what it was granted) and hands them to
   * the oldest waiters that fit. False when it was already gone.
   */
  release(id: string, capacity: number, permits?: number): Promise<boolean>;
  /** Extends the lease. False when the lease is gone (it ran out and was reaped). */
  renew(id: string, leaseMs: number): Promise<boolean>;
  cancel(id: string): Promise<CancelReply>;
  inspect(): Promise<SemaphoreSnapshot>;
  /**
   * Calls onGranted when a release hands `id` its permits, with what the release told. A waiter listens before it queues,
   * and awaits `ready` if present, so it never misses its grant.
   * `stop` must be called however the wait ends, also when `ready` rejects.
   * `onMissed` is called when such news may have been lost (the store's subscriber
   * reconnected): the waiter should look for itself, as it may hold the slot already.
   */
  listen(id: string, onGranted: (grant: Grant) => void, onMissed?: () => void): Listening;
}

export interface TokenBucketShape {
  capacity: number;
  refillFrequency: number;
  refillAmount: number;
  /** Ms a refusal keeps the bucket refused (option blockDuration); 0 or absent: never. */
  blockDuration?: number;
}

/** What a rate kind's store answers to a take (token bucket, fixed window). */
export interface TakeReply {
  /** True when the tokens were reserved; the caller may go after `wait` ms. */
  reserved: boolean;
  /** Balance after the reservation (or now, when refused); negative while callers sleep on promised tokens. */
  tokens: number;
  /** Ms until the reserved tokens exist (or would have existed, when refused). */
  wait: number;
  /** Ms until the bucket is full again: after the reservation when reserved, as of now when refused. */
  fullIn: number;
  /**
   * Where the tokens were counted, when the kind can give them back only there (a fixed
   * window's end on the store's clock): what a refund of this reservation passes back.
   */
  slot?: number;
}

/**
 * A rate kind's operations on the store. `Shape` is what the limiter's options make of
 * the limit (sent with every call: deploys may disagree on it), `Snapshot` what its state()
 * answers.
 */
export interface RateBackend<Shape, Snapshot> {
  /** Reserves `tokens` at the earliest time they can be had, unless that is more than `maxWait` ms away. */
  take(shape: Shape, tokens: number, maxWait: number): Promise<TakeReply>;
  inspect(shape: Shape): Promise<Snapshot>;
  /**
   * Gives `tokens` back (> 0), where `slot` (a take's TakeReply.slot) says they were
   * counted, or where the kind counts tokens now. Returns the state after it.
   */
  adjust(shape: Shape, tokens: number, slot?: number): Promise<Snapshot>;
}

export interface TokenBucketSnapshot {
  tokens: number;
  nextRefillIn: number;
  fullIn: number;
}

export interface TokenBucketBackend extends RateBackend<TokenBucketShape, TokenBucketSnapshot> {
  /** Reserves `tokens` at the earliest refill that pays for them, unless that is more than `maxWait` ms away. */
  take(shape: TokenBucketShape, tokens: number, maxWait: number): Promise<TakeReply>;
  /**
   * Gives `tokens` back (> 0; never above capacity) or takes that many more (< 0; the
   * balance may go below 0), keeping the refill phase. Returns the bucket after it.
   */
  adjust(shape: TokenBucketShape, tokens: number): Promise<TokenBucketSnapshot>;
}

/** Calendar windows as a store needs them: the period holding an instant, in Unix ms. */
export interface CalendarPeriods {
  /** What the periods are, e.g. "month in Europe/Berlin": deploys that disagree on it are different limits. */
  readonly id: string;
  /** [start, end) of the period that holds `t`. */
  at(t: number): readonly [number, number];
}

export interface FixedWindowShape {
  /** Most tokens counted in one window. */
  limit: number;
  /** Ms of a window that starts at its first admission, or calendar periods. */
  window: number | CalendarPeriods;
  /** Ms a refusal keeps the key refused (option blockDuration); 0: never. */
  blockDuration: number;
  /**
   * @internal Ms added to the store's clock for this limiter: lets a test put "now" at a
   * daylight-saving change or a month's end. 0 otherwise.
   */
  clockOffset: number;
}

export interface FixedWindowSnapshot {
  /** Tokens a call could take now: 0 while blocked, or while later windows hold reservations. */
  remaining: number;
  /** Ms until the window that holds now ends; 0 when no window has begun (the next call starts one). */
  resetIn: number;
  /** Ms until every window holding admissions, and any block, is over: the limit whole again. */
  fullIn: number;
}

export interface FixedWindowBackend extends RateBackend<FixedWindowShape, FixedWindowSnapshot> {
  /**
   * Gives `tokens` back to the window `slot` (a take's TakeReply.slot), or to the window
   * now when absent, only while that window is the last one holding admissions. Never below 0.
   */
  adjust(shape: FixedWindowShape, tokens: number, slot?: number): Promise<FixedWindowSnapshot>;
}

export interface SlidingWindowShape {
  /** Most tokens admitted in any interval of `window` ms. */
  limit: number;
  window: number;
  /**
   * Ms of one sub-window, whose admissions are counted together: an admission counts as
   * long as any part of its sub-window lies in the last `window` ms, so the limit is never
   * passed and is met within one sub-window.
   */
  subWindow: number;
  /** Ms a refusal keeps the key refused (option blockDuration); 0: never. */
  blockDuration: number;
}

export interface SlidingWindowSnapshot {
  /** Tokens a call could take now: 0 while blocked, or while later sub-windows hold reservations. */
  remaining: number;
  /** Ms until no admission counts any more (and any block is over): the limit whole again. */
  fullIn: number;
}

export interface SlidingWindowBackend extends RateBackend<SlidingWindowShape, SlidingWindowSnapshot> {
  /**
   * Gives `tokens` back to the sub-window `slot` (a take's TakeReply.slot), or, when absent,
   * to the oldest sub-windows up to now that still count. Never below 0.
   */
  adjust(shape: SlidingWindowShape, tokens: number, slot?: number): Promise<SlidingWindowSnapshot>;
}
