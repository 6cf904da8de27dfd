import { Injectable, Logger } from '@nestjs/common';
import { InvalidOptionError, RedisUnavailableError } from '../core/errors';
import { OptionReader } from '../core/options';
import type { Permit } from '../core/permit';
import type { SemaphoreLimiter } from '../core/semaphore-limiter';
import type { Reservation, TokenBucketLimiter } from '../core/token-bucket-limiter';
import type { LimitDeclaration, LimitKey, SemaphoreDeclaration, TokenBucketDeclaration } from './decorators/limit-options.interface';
import type { GiveUp } from './limited-call';
import { LimiterCache } from './limiter-cache';
import { LimitersService } from './limiters.service';
import type { MethodLimits } from './method-limits';
import { sleepFor } from '../core/sleep-for';
import { compactKey } from '../store/redis/keys';
import { KEY_RESULT_REQUIREMENT, letThroughUnlimited } from './limiters.messages';

/** A limiter picked for one call, and the name it is advertised under (never the caller's key). */
export interface PickedLimiter<L> {
  limiter: L;
  policy: string;
}

/** Gives a limit back; safe to call more than once. */
export type Release = () => void;

/** Most picked limiters kept per kind; see LimiterCache for why dropping one is safe. */
const MAX_PICKED = 10_000;

/**
 * The one place a declared limit becomes a limiter for one call (name, key, registered
 * or inline) and is entered, with the module's whenRedisFails policy applied. Used by
 * the explorer for service methods and by the guard and interceptor for handlers.
 */
@Injectable()
export class LimitGate {
  private readonly logger = new Logger('LimitersModule');
  private lastWarningAt = -Infinity;
  // Picking runs on every call: resolved once per method and key, not rebuilt from options.
  private readonly tokenBuckets = new LimiterCache<PickedLimiter<TokenBucketLimiter>>(MAX_PICKED);
  private readonly semaphores = new LimiterCache<PickedLimiter<SemaphoreLimiter>>(MAX_PICKED);
  private readonly methodIds = new WeakMap<MethodLimits, string>();
  private methodCount = 0;

  constructor(private readonly limiters: LimitersService) {}

  /** `limits` must be read once per method and reused (see RequestLimits): it identifies the method. */
  tokenBucketFor(limits: MethodLimits, declaration: TokenBucketDeclaration, keyArgs: unknown[]): PickedLimiter<TokenBucketLimiter> {
    // Several buckets on one method: each is told apart by its place.
    const place = `.${limits.tokenBuckets.indexOf(declaration)}`;
    return this.pick(this.tokenBuckets, limits, place, declaration, keyArgs, (key, name) => this.tokenBucket(declaration, key, name));
  }

  semaphoreFor(limits: MethodLimits, declaration: SemaphoreDeclaration, keyArgs: unknown[]): PickedLimiter<SemaphoreLimiter> {
    return this.pick(this.semaphores, limits, '', declaration, keyArgs, (key, name) => this.semaphore(declaration, key, name));
  }

  /**
   * Builds a method's unkeyed limiters and reads its per-method maxSleep now, so a
   * misspelt registered name or a bad option fails the application's start, not its first
   * call of that method. `key` is not called: it needs a real call's arguments.
   */
  check(limits: MethodLimits): void {
    const { tokenBuckets, semaphore } = limits;
    for (const declaration of [...tokenBuckets, semaphore]) {
      if (declaration?.key !== undefined && typeof declaration.key !== 'function') {
        throw new InvalidOptionError('key', policyOf(limits, declaration), 'must be a function', declaration.key);
      }
    }
    for (const tokenBucket of tokenBuckets) {
      const limiter = this.tokenBucket(tokenBucket, undefined, policyOf(limits, tokenBucket));
      OptionReader.callMaxSleep(tokenBucket.maxSleep, limiter.name, limiter.maxSleep);
      limiter.validTokens(tokenBucket.tokens ?? 1);
    }
    if (semaphore) {
      const limiter = this.semaphore(semaphore, undefined, policyOf(limits, semaphore));
      OptionReader.callMaxSleep(semaphore.maxSleep, limiter.name, limiter.maxSleep);
    }
  }

  private tokenBucket(declaration: TokenBucketDeclaration, key: string | undefined, name: string): TokenBucketLimiter {
    return declaration.registered !== undefined
      ? this.limiters.getTokenBucket(declaration.registered, key)
      : this.limiters.tokenBucket({ ...declaration.inline, name, key });
  }

  private semaphore(declaration: SemaphoreDeclaration, key: string | undefined, name: string): SemaphoreLimiter {
    return declaration.registered !== undefined
      ? this.limiters.getSemaphore(declaration.registered, key)
      : this.limiters.semaphore({ ...declaration.inline, name, key });
  }

  /**
   * Takes the declared tokens: reserves them and sleeps until they exist, as
   * TokenBucketLimiter.take() does, but keeps the reservation, which says what is left
   * (the RateLimit field) without a second call. Undefined: Redis failed and
   * whenRedisFails let the call through unlimited.
   */
  async take(declaration: TokenBucketDeclaration, limiter: TokenBucketLimiter, giveUp?: GiveUp): Promise<Reservation | undefined> {
    const reserving = limiter.reserve(declaration.tokens ?? 1, { maxSleep: declaration.maxSleep });
    const reservation = await this.failOpen(reserving, limiter.name);
    // The signal only when there is a wait to give up: making one costs more than the rest.
    if (reservation && reservation.wait > 0) await sleepFor(reservation.wait, giveUp?.signal);
    return reservation;
  }

  /** Holds a slot. Undefined: Redis failed and whenRedisFails let the call through unlimited. */
  acquire(declaration: SemaphoreDeclaration, limiter: SemaphoreLimiter, signal?: AbortSignal): Promise<Permit | undefined> {
    return this.failOpen(limiter.acquire({ maxSleep: declaration.maxSleep, signal }), limiter.name);
  }

  /**
   * Takes tokens first, bucket by bucket in the order written, then holds a semaphore slot:
   * a call that is refused by a rate never occupies a slot another call could use. Tokens
   * taken from earlier buckets stay spent when a later one refuses.
   */
  async enter(limits: MethodLimits, keyArgs: unknown[], giveUp?: GiveUp): Promise<Release> {
    for (const tokenBucket of limits.tokenBuckets) {
      await this.take(tokenBucket, this.tokenBucketFor(limits, tokenBucket, keyArgs).limiter, giveUp);
    }
    if (!limits.semaphore) return () => undefined;
    const { limiter } = this.semaphoreFor(limits, limits.semaphore, keyArgs);
    return releaseOf(await this.acquire(limits.semaphore, limiter, giveUp?.signal));
  }

  private pick<L>(
    cache: LimiterCache<PickedLimiter<L>>,
    limits: MethodLimits,
    place: string,
    declaration: LimitDeclaration<{ name?: string }>,
    keyArgs: unknown[],
    make: (key: string | undefined, name: string) => L,
  ): PickedLimiter<L> {
    const policy = policyOf(limits, declaration);
    // Compacted before anything keeps it: a request's key may be many kilobytes.
    const key = keyOf(declaration, keyArgs, policy);
    // The id holds no space, so the first space ends it and any key after it is unambiguous.
    const id = this.methodId(limits) + place;
    return cache.getOrCreate(key === undefined ? id : `${id} ${key}`, () => ({ limiter: make(key, policy), policy }));
  }

  private methodId(limits: MethodLimits): string {
    let id = this.methodIds.get(limits);
    if (id === undefined) this.methodIds.set(limits, (id = String(this.methodCount++)));
    return id;
  }

  private async failOpen<T>(attempt: Promise<T>, limiter: string): Promise<T | undefined> {
    try {
      return await attempt;
    } catch (error) {
      if (!(error instanceof RedisUnavailableError) || this.limiters.options.whenRedisFails !== 'allow') throw error;
      this.warn(letThroughUnlimited(limiter, error.message));
      return undefined;
    }
  }

  // One line a second is enough to see an outage; one per request would flood the log.
  private warn(message: string): void {
    if (performance.now() - this.lastWarningAt < 1_000) return;
    this.lastWarningAt = performance.now();
    this.logger.warn(message);
  }
}

export function releaseOf(permit: Permit | undefined): Release {
  // A release that cannot reach Redis must not fail the call: the lease runs out on its own.
  return () => void permit?.release().catch(() => undefined);
}

/** The limit's name in answers and headers: the registered name, the inline name, or `Class.method`. */
function policyOf(limits: MethodLimits, declaration: LimitDeclaration<{ name?: string }>): string {
  return declaration.registered ?? declaration.inline?.name ?? limits.owner;
}

/**
 * What `key` returned, compacted (see compactKey). Anything but a string, a finite number
 * or undefined is refused: an object would become "[object Object]" and quietly put every
 * caller under one limit.
 */
function keyOf(declaration: { key?: LimitKey }, keyArgs: unknown[], limiter: string): string | undefined {
  const key: unknown = declaration.key?.(...keyArgs);
  if (key === undefined || key === '') return undefined;
  if (typeof key === 'string') return compactKey(key);
  if (typeof key === 'number' && Number.isFinite(key)) return String(key);
  throw new InvalidOptionError('key', limiter, KEY_RESULT_REQUIREMENT, key);
}
