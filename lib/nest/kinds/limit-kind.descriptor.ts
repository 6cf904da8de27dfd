import type { LimitEvent } from '../../core/events';
import type { LazyAbortController } from '../../core/lazy-abort-controller';
import type { LimitKind } from '../../core/limit-kind';
import type { StoreOrClient } from '../../core/store-resolver';

/** What the Nest layer reads of a limiter of any kind. */
export interface Limiter {
  readonly name: string;
  readonly maxSleep: number;
  readonly shadow: boolean;
  readonly identity: LimitEvent;
  state(): Promise<unknown>;
}

/**
 * When a call enters a kind's limits, and what that allows:
 * - 'rate': decided when the call starts, nothing to give back when it ends. Entered
 *   first, in the order written; a method's add to its class's; a guard may enter them.
 * - 'slot': held while the call runs. Entered once the rates are met (a call refused by a
 *   rate never occupies a slot another call could use); one per method, and a method's
 *   replaces its class's; only the interceptor and the explorer, which see the call end,
 *   enter it.
 */
export type LimitPhase = 'rate' | 'slot';

/** The phases in the order a call enters them. */
export const PHASES: readonly LimitPhase[] = ['rate', 'slot'];

/** Options of every kind's decorator that belong to the call: each kind adds its own (its amount first). */
export const CALL_OPTIONS = ['key', 'skip', 'maxSleep'] as const;

/** A kind's names in the public API and in messages. */
export interface KindWords {
  /** As a sentence says it: 'token bucket'. */
  readonly text: string;
  /** Its key in module options, forFeature and forRootAsync's `injectable`: 'tokenBuckets'. */
  readonly optionsKey: string;
  /** Its key in module option `defaults`: 'tokenBucket'. */
  readonly defaultsKey: string;
  /** Its key in module option `http`, the status of its refusals: 'tokenBucketStatus'. */
  readonly statusOption: string;
  /** Its decorator, as messages name it: '@TokenBucket'. */
  readonly decorator: string;
  /** What one call takes: the decorator's option and the events' field. */
  readonly amount: 'tokens' | 'permits';
  /** What a refusal's message calls the limit: 'Rate limit'. */
  readonly refusal: string;
}

/**
 * A limit's policy as draft-ietf-httpapi-ratelimit-headers states it (transport/outcome-mapping.ts
 * writes it): `quota` per `windowMs`; `quota` per a window of no fixed length, which the field
 * then leaves out (its `w` is optional); or `quota` in a `unit` that has no window.
 */
export type PolicyFields = { quota: number; windowMs?: number } | { quota: number; unit: string };

/** What a call left of a limit: `remaining` now, and ms until more than that can be had. */
export interface LeftFields {
  remaining: number;
  nextMs: number;
}

/** What a board row says of a limiter's options: the fields its kind fills in. */
export interface BoardShape {
  capacity?: number;
  /** A rate's refill: `amount` added every `everyMs`. */
  refill?: { amount: number; everyMs: number };
  /** Most tokens counted in one window. */
  limit?: number;
  /** A window's length in ms, or what its calendar periods are ('month in Europe/Berlin'). */
  window?: number | string;
}

export interface KindBoard<L, S> {
  /** Its section's title: 'Token buckets'. */
  readonly title: string;
  /** Its own columns, shown between the name and the counts every kind has. */
  readonly columns: ReadonlyArray<{ field: string; heading: string }>;
  /**
   * The page's renderers of those columns, as the source of a JavaScript object literal
   * `{ field: function (td, row, s) { ... } }` (s: the row's state). It runs in the page, with
   * its helpers el, ms, fraction and noState in scope; it must only ever set textContent.
   */
  readonly cells: string;
  shape(limiter: L): BoardShape;
  /** The row's state from a snapshot read `ageMs` ago. */
  summary(snapshot: unknown, ageMs: number): S;
}

export interface KindMetrics<L> {
  /**
   * 'queue': a call waits in the store's queue, and its admit, refusal or cancel ends the
   * wait. 'sleep': the wait is known exactly when it starts (the admit is published then),
   * and only a cancel ends it early.
   */
  readonly waits: 'queue' | 'sleep';
  /** Whether an admit starts a lease that a release (or a lost lease) ends: limiters.leases.active. */
  readonly leases: boolean;
  /** limiters.tokens.remaining of a registered limiter: what is left, read from its store at collection. */
  remaining?(limiter: L): Promise<number>;
}

/**
 * Everything the Nest layer knows of one kind of limit. The pipeline, the answers, the
 * handler placement, messages, board, metrics, providers and module options read these
 * (kinds/limit-kinds.ts lists them) and never ask which kind they hold.
 * L: its limiter; G: what entering it grants a call; O: its limiter's options; S: its board state;
 * K: its LimitKind, kept literal so limit-kinds.ts can tell at compile time that every kind is listed.
 */
export interface LimitKindDescriptor<
  L extends Limiter = Limiter,
  G = unknown,
  O extends object = object,
  W extends KindWords = KindWords,
  S = unknown,
  K extends LimitKind = LimitKind,
> {
  readonly kind: K;
  readonly words: W;
  readonly phase: LimitPhase;
  /** The options its limiter takes. */
  readonly options: readonly string[];
  /** Options of its decorator that belong to the call, not to the limiter. */
  readonly callOptions: readonly string[];
  /** Valid values for options given as functions of the call, so start-up can build a limiter with the fixed ones. */
  readonly placeholders: Readonly<Record<string, unknown>>;
  /** Its limiter class's prototype: a stand-in for a name injected but never declared fails each of its methods. */
  readonly prototype: object;
  build(store: StoreOrClient, options: O): L;
  /** `amount` when one call may take that much of `limiter`; else InvalidOptionError. */
  checkAmount(limiter: L, amount: unknown): number;
  /**
   * Enters `limiter` for one call, waiting within `maxSleep` (the limiter's own when
   * undefined); `giveUp` ends the wait. Resolves with what the call was granted once it may
   * go; rejects with the limiter's error (MaxSleepExceededError, RedisUnavailableError).
   */
  enter(limiter: L, amount: number, maxSleep: number | undefined, giveUp: LazyAbortController | undefined): Promise<G>;
  /** Gives a slot back when the call is done (slot kinds); never throws. */
  release?(grant: G): void;
  /** Gives a call's amount back, for refundWhen (rate kinds). */
  refund?(grant: G): Promise<boolean>;
  /** Whether a refusal's wait (MaxSleepExceededError.wouldWait) is when a retry can succeed: Retry-After. */
  readonly knowsRetryAfter: boolean;
  /** What its member of the RateLimit-Policy field says of `limiter`. */
  policy(limiter: L): PolicyFields;
  /** What its member of the RateLimit field says of a call it admitted, if it writes one. */
  left?(limiter: L, grant: G): LeftFields;
  /**
   * One process's share of the limit of `limiter` shared by `instances` processes, as
   * options of its in-memory stand-in (whenRedisFails 'local'): never 0, never above the share.
   */
  localShare(limiter: L, instances: number): Record<string, number>;
  /** Refuses the limiter's calls from now on, at shutdown (closing its open calls is LimitersService's part). */
  close?(limiter: L): void;
  readonly board: KindBoard<L, S>;
  readonly metrics: KindMetrics<L>;
}

/** One process's part of `n` shared by `instances` processes, rounded down but never 0. */
export function shareOf(n: number, instances: number): number {
  return Math.max(1, Math.floor(n / instances));
}

/** Keeps the literal types of a descriptor's words, which the module options' types are made of. */
export function defineKind<
  L extends Limiter,
  G,
  O extends object,
  const W extends KindWords,
  S,
  const K extends LimitKind,
>(descriptor: LimitKindDescriptor<L, G, O, W, S, K>): LimitKindDescriptor<L, G, O, W, S, K> {
  return descriptor;
}
