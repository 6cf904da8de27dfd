import { Inject, Injectable, Logger, type ExecutionContext } from '@nestjs/common';
import { InvalidOptionError, LimiterError, MaxSleepExceededError, RedisUnavailableError } from '../../core/errors';
import { publish } from '../../core/events';
import { OptionReader } from '../../core/options';
import type { OfCall } from '../decorators/limit-options.interface';
import type { Limiter, LimitKindDescriptor } from '../kinds/limit-kind.descriptor';
import { LimiterCache } from '../limiter-cache';
import { LIMITERS_OPTIONS } from '../limiters-options.provider';
import type { ResolvedLimitersOptions } from '../limiters-options.interface';
import {
  conflictingDeclarations,
  KEY_RESULT_REQUIREMENT,
  letThroughUnlimited,
  limitedLocally,
} from '../limiters.messages';
import { LocalLimits } from '../local-limits';
import { isOutage } from '../../store/redis/outage';
import { compactKey } from '../../core/key-segments';
import { LimitersService } from '../limiters.service';
import { Refusal, type Admitted, type Entered, type LimitInUse, type Release } from './admission-outcome';
import type { DeclaredLimit, MethodLimits } from './declared-limits';
import type { GiveUp } from './limited-call';
import { OutcomeRefunds } from './outcome-refunds';

/** One limited call as the pipeline sees it, whatever its transport. */
export interface LimitCall {
  /** What `key`, `skip` and per-call options are called with (see CallArgs). */
  args: unknown[];
  /** A handler's request and context; absent for a service method. */
  handler?: { request: unknown; context: ExecutionContext };
  /** Aborted when the caller goes away: ends the call's waits. */
  giveUp?: GiveUp;
  /** Starts watching for the caller going away, once a wait is possible; returns what stops it. */
  watch?: () => () => void;
}

/** A declared limit worked out for one call. */
interface CallLimit extends LimitInUse {
  /** What the call takes of it: a rate's tokens, a semaphore's permits. */
  amount: number;
  maxSleep: number | undefined;
}

/** Most limiters kept for (limit, key, per-call options); see LimiterCache for why dropping one is safe. */
const MAX_PICKED = 10_000;

/** Options of a declaration that may be functions of the call, besides the limiter's own. */
const NOT_LIMITER_OPTIONS = new Set(['name']);

/**
 * The admission pipeline: the one place a call enters its limits. Service methods (through
 * LimitsExplorer) and handlers (through LimitsInterceptor and TokenBucketGuard) all come
 * here; nothing else takes a token or a slot. For each call it
 *   1. asks the module-wide `skip`, then each limit's own;
 *   2. works out each limit for the call: key, per-call options, amount, maxSleep;
 *   3. enters them phase by phase (see LimitPhase): the rates in the order declared, then
 *      the slot (a call refused by a rate never occupies a slot another call could use);
 *   4. hands back what the transport needs, and how to give the slot back.
 * What entering means is each kind's (kinds/); this file never asks which kind it holds.
 * A refusal is thrown as a Refusal; whenRedisFails 'allow' lets the call through here, and
 * 'local' sends it to the limiter's in-memory stand-in.
 */
@Injectable()
export class Admission {
  private readonly logger = new Logger('LimitersModule');
  private lastWarningAt = -Infinity;
  private readonly picked = new LimiterCache<Limiter>(MAX_PICKED);
  private readonly refunds = new OutcomeRefunds(this.logger);
  /** The in-memory stand-ins of whenRedisFails 'local'. */
  private readonly local: LocalLimits;

  constructor(
    private readonly limiters: LimitersService,
    @Inject(LIMITERS_OPTIONS) private readonly options: ResolvedLimitersOptions,
  ) {
    this.local = new LocalLimits(limiters, options.instances);
  }

  async enter(limits: MethodLimits, call: LimitCall): Promise<Admitted> {
    const admitted: Admitted = { release: nothingToRelease, entered: [] };
    if (this.options.skip && (await this.options.skip({ method: limits.owner, args: call.args, ...call.handler }))) {
      return admitted;
    }
    let stopWatching: (() => void) | undefined;
    const mayWait = (maxSleep: number) => {
      if (maxSleep > 0 && call.watch && !stopWatching) stopWatching = call.watch();
    };
    try {
      for (const phase of limits.phases) {
        // A phase's limits are all worked out before any is entered: a refusal's answer names them all.
        const picked: CallLimit[] = [];
        for (const limit of phase) {
          const picking = this.pick(limit, call.args);
          const one = isThenable(picking) ? await picking : picking;
          if (one) picked.push(one);
        }
        for (const one of picked) {
          mayWait(one.maxSleep ?? one.limiter.maxSleep);
          const entered = await this.enterOne(one, call, admitted.entered, picked);
          admitted.entered.push(entered);
          const { type } = one.limit;
          if (type.phase === 'slot') admitted.holds = true;
          if (type.release && entered.grant !== undefined) {
            admitted.release = withRelease(admitted.release, type, entered.grant);
          }
        }
      }
      // `some` first: no array is made for the calls (nearly all) without refundWhen.
      if (admitted.entered.some(isRefundable)) {
        admitted.refunds = true;
        admitted.release = this.refunds.refundingRelease(admitted.release, admitted.entered.filter(isRefundable));
      }
      return admitted;
    } finally {
      stopWatching?.();
    }
  }

  /**
   * Checks every limit of the app at start (see check), and that one name of a kind means
   * one set of options: two declarations of "api" with different capacities would
   * otherwise share one bucket in Redis, each enforcing its own capacity on it.
   */
  checkAll(methods: MethodLimits[]): void {
    const seen = new Map<string, { json: string; declaredAt: string }>();
    for (const limits of methods) {
      this.check(limits);
      for (const limit of limits.limits) {
        const { name, json } = this.limiters.describe(
          limit.kind,
          limit.registered,
          limit.inline && { ...limit.inline, name: limit.name },
        );
        const id = `${limit.kind} ${name}`;
        const earlier = seen.get(id);
        if (earlier && earlier.json !== json) {
          throw new LimiterError(conflictingDeclarations(limit.type.words, name, earlier.declaredAt, limit.declaredAt));
        }
        seen.set(id, { json, declaredAt: limit.declaredAt });
      }
    }
  }

  /**
   * Builds each limit's unkeyed limiter with its fixed options, so a misspelt registered
   * name or a bad option fails the application's start, not its first call. Functions of
   * the call are checked for being functions; their results are checked per call.
   */
  check(limits: MethodLimits): void {
    for (const limit of limits.limits) {
      for (const option of ['key', 'skip', 'refundWhen'] as const) {
        if (limit[option] !== undefined && typeof limit[option] !== 'function') {
          throw new InvalidOptionError(option, limit.name, 'must be a function', limit[option]);
        }
      }
      const probe = this.limiterOf(limit, undefined, placeholders(limit));
      if (typeof limit.maxSleep !== 'function') OptionReader.callMaxSleep(limit.maxSleep, limit.name, probe.maxSleep);
      if (typeof limit.amount !== 'function') limit.type.checkAmount(probe, limit.amount ?? 1);
    }
  }

  /**
   * Enters one limit for the call. When Redis fails, whenRedisFails decides: refused, let
   * through (no grant), or entered again on the limiter's in-memory stand-in.
   */
  private async enterOne(
    picked: CallLimit,
    call: LimitCall,
    entered: Entered[],
    phase: LimitInUse[],
  ): Promise<Entered> {
    const { limit, limiter, amount, maxSleep } = picked;
    try {
      return { limit, limiter, grant: await limit.type.enter(limiter, amount, maxSleep, call.giveUp) };
    } catch (error) {
      const instead = this.whenRedisFails(limit, limiter, amount, error);
      if (instead === 'refuse') {
        throw new Refusal(limit, limiter, error as MaxSleepExceededError | RedisUnavailableError, [...entered], phase);
      }
      if (instead === 'allow') return { limit, limiter };
      // The stand-in is in memory: it admits or refuses, and never fails this way.
      return this.enterOne({ ...picked, limiter: instead }, call, entered, phase);
    }
  }

  /**
   * The limiter a limit uses for this call, or undefined when `skip` says so. Functions of
   * the call may be sync or async; while all of them answer synchronously so does this,
   * since it runs for every limit of every limited call.
   */
  private pick(limit: DeclaredLimit, args: unknown[]): Maybe<CallLimit | undefined> {
    if (!limit.skip) return this.pickFor(limit, args);
    const skip = limit.skip(...args);
    if (isThenable(skip)) return skip.then((skipped) => (skipped ? undefined : this.pickFor(limit, args)));
    return skip ? undefined : this.pickFor(limit, args);
  }

  private pickFor(limit: DeclaredLimit, args: unknown[]): Maybe<CallLimit> {
    const dynamic = dynamicOptions(limit);
    const values: unknown[] = [
      limit.key?.(...args),
      amountOf(limit, args),
      typeof limit.maxSleep === 'function' ? limit.maxSleep(...args) : limit.maxSleep,
      ...dynamic.map((option) => (limit.inline![option] as OfCall<unknown>)(...args)),
    ];
    if (values.some(isThenable)) return Promise.all(values).then((settled) => this.pickFrom(limit, dynamic, settled));
    return this.pickFrom(limit, dynamic, values);
  }

  private pickFrom(
    limit: DeclaredLimit,
    dynamic: string[],
    [rawKey, amount, maxSleep, ...perCallValues]: unknown[],
  ): CallLimit {
    const key = keyOf(limit, rawKey);
    let perCall: Record<string, unknown> | undefined;
    if (dynamic.length > 0) perCall = Object.fromEntries(dynamic.map((option, i) => [option, perCallValues[i]]));
    const id = perCall
      ? `${limit.id} ${key ?? ''} ${JSON.stringify(perCall)}`
      : key === undefined
        ? limit.id
        : `${limit.id} ${key}`;
    const limiter = this.picked.getOrCreate(id, () => this.limiterOf(limit, key, perCall));
    return { limit, limiter, amount: amount as number, maxSleep: maxSleep as number | undefined };
  }

  private limiterOf(
    limit: DeclaredLimit,
    key: string | undefined,
    perCall: Record<string, unknown> | undefined,
  ): Limiter {
    if (limit.registered !== undefined) return this.limiters.registered(limit.kind, limit.registered, key);
    return this.limiters.made(limit.kind, { ...limit.inline, ...perCall, name: limit.name }, key);
  }

  /**
   * What the policy makes of a call Redis could not check: with 'reject' it is refused;
   * with 'allow' it runs unlimited, and the log says so; with 'local' it is limited by the
   * limiter's in-memory stand-in (this process's share), unless Redis answered with an
   * error that is no outage (NOPERM, OOM...), which the stand-in must not hide: refused.
   * Either way the pipeline reports the decision (the limiter reported the Redis error itself).
   */
  private whenRedisFails(
    limit: DeclaredLimit,
    limiter: Limiter,
    amount: number,
    error: unknown,
  ): 'refuse' | 'allow' | Limiter {
    if (!(error instanceof RedisUnavailableError)) {
      if (error instanceof MaxSleepExceededError) return 'refuse';
      throw error;
    }
    const policy = this.options.whenRedisFails;
    if (policy === 'reject' || (policy === 'local' && !isOutage(error))) {
      const asked = { [limit.type.words.amount]: amount };
      publish('refuse', () => ({ ...limiter.identity, ...asked, reason: 'redis-unavailable', waitedMs: 0 }));
      return 'refuse';
    }
    publish('fallback', () => ({ ...limiter.identity, policy }));
    // One line a second is enough to see an outage; one per request would flood the log.
    if (performance.now() - this.lastWarningAt >= 1_000) {
      this.lastWarningAt = performance.now();
      this.logger.warn(
        policy === 'allow' ? letThroughUnlimited(limit.name, error.message) : limitedLocally(limit.name, error.message),
      );
    }
    return policy === 'allow' ? 'allow' : this.local.standIn(limit.type, limiter);
  }
}

const nothingToRelease: Release = () => undefined;

/** `before`, which also gives back what `type` granted the call. */
function withRelease(before: Release, type: LimitKindDescriptor, grant: unknown): Release {
  if (before === nothingToRelease) return () => type.release!(grant);
  return (outcome) => {
    before(outcome);
    type.release!(grant);
  };
}

/** What one call takes (a rate's `tokens`, a semaphore's `permits`; default 1), fixed or of the call. */
function amountOf(limit: DeclaredLimit, args: unknown[]): unknown {
  const amount = limit.amount;
  return typeof amount === 'function' ? amount(...args) : (amount ?? 1);
}

/** What refundWhen may give back: entered (not let through by whenRedisFails) and with a refundWhen. */
function isRefundable(entered: Entered): boolean {
  return entered.limit.refundWhen !== undefined && entered.grant !== undefined;
}

type Maybe<T> = T | Promise<T>;

function isThenable<T>(value: Maybe<T> | unknown): value is Promise<T> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}

const dynamicCache = new WeakMap<DeclaredLimit, string[]>();

/** The inline options given as functions of the call. */
function dynamicOptions(limit: DeclaredLimit): string[] {
  let found = dynamicCache.get(limit);
  if (!found) {
    const inline = limit.inline ?? {};
    found = Object.keys(inline).filter((o) => !NOT_LIMITER_OPTIONS.has(o) && typeof inline[o] === 'function');
    dynamicCache.set(limit, found);
  }
  return found;
}

/** Valid stand-ins for per-call options, so the start-up check can build a limiter with the fixed ones. */
function placeholders(limit: DeclaredLimit): Record<string, unknown> | undefined {
  const dynamic = dynamicOptions(limit);
  if (dynamic.length === 0) return undefined;
  return Object.fromEntries(dynamic.map((o) => [o, limit.type.placeholders[o]]));
}

/**
 * What `key` returned, compacted (see compactKey). Anything but a string, a finite number or
 * undefined is refused: an object would become "[object Object]" and quietly put every
 * caller under one limit.
 */
function keyOf(limit: DeclaredLimit, key: unknown): string | undefined {
  if (key === undefined || key === '') return undefined;
  // Compacted before anything keeps it: a request's key may be many kilobytes.
  if (typeof key === 'string') return compactKey(key);
  if (typeof key === 'number' && Number.isFinite(key)) return String(key);
  throw new InvalidOptionError('key', limit.name, KEY_RESULT_REQUIREMENT, key);
}
