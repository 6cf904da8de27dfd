import { Injectable, type ExecutionContext } from '@nestjs/common';
import { MaxSleepExceededError } from '../../core/errors';
import { LazyAbortController } from '../../core/lazy-abort-controller';
import type { TokenBucketLimiter } from '../../core/token-bucket-limiter';
import { LimitGate, releaseOf, type Release } from '../limit-gate';
import type { GiveUp } from '../limited-call';
import { LimitersService } from '../limiters.service';
import type { TokenBucketDeclaration } from '../decorators/limit-options.interface';
import { readMethodLimits, type MethodLimits } from '../method-limits';
import { giveUpWhenClientLeaves, nodeResponse, releaseWhenSent, type NodeResponse } from './client-connection';
import { toHttpException, type LimitKind } from './limit-exceptions';
import {
  nextRefillIn,
  RATELIMIT,
  RATELIMIT_POLICY,
  RETRY_AFTER,
  seconds,
  semaphorePolicy,
  tokenBucketLimit,
  tokenBucketPolicy,
} from './ratelimit-fields';
import { appendToListHeader, setHeader } from './response-headers';

const NOT_WATCHING = { node: undefined, stopWatching: () => undefined };

/** One bit per kind of limit: a number per request, where a Set would be one more object. */
const APPLIED: Record<LimitKind, number> = { tokenBucket: 1, semaphore: 2 };

/**
 * The limits of a controller handler, applied to one request: by TokenBucketGuard and
 * LimitsInterceptor, for any transport. Each limit is applied once per request, so the
 * guard and the interceptor together take one token, not two.
 */
@Injectable()
export class RequestLimits {
  /** The limits applied so far to each call (see invocationOf), as bits of APPLIED. */
  private readonly applied = new WeakMap<object, number>();
  /** What each handler declares, read once per class: the gate tells methods apart by this object. */
  private readonly declared = new WeakMap<Function, Map<Function, MethodLimits | null>>();

  constructor(
    private readonly gate: LimitGate,
    private readonly limiters: LimitersService,
  ) {}

  limitsOf(context: ExecutionContext): MethodLimits | undefined {
    const handler = context.getHandler();
    const owner = context.getClass();
    let handlers = this.declared.get(owner);
    if (!handlers) this.declared.set(owner, (handlers = new Map()));
    let limits = handlers.get(handler);
    if (limits === undefined) handlers.set(handler, (limits = readMethodLimits(handler, owner.name, handler.name) ?? null));
    return limits ?? undefined;
  }

  /**
   * Takes the handler's tokens, bucket by bucket in the order written, writes the RateLimit
   * fields of each, and throws the answer of the first that refuses. A client that leaves
   * while the request sleeps for its tokens ends the sleep, and the handler never runs
   * (tokens already taken stay spent).
   */
  async takeToken(context: ExecutionContext, limits: MethodLimits, giveUp: GiveUp = new LazyAbortController()): Promise<void> {
    if (limits.tokenBuckets.length === 0 || this.alreadyApplied(context, 'tokenBucket')) return;
    const keyArguments = keyArgs(context);
    const buckets = limits.tokenBuckets.map((declaration) => ({
      declaration,
      ...this.gate.tokenBucketFor(limits, declaration, keyArguments),
    }));
    const response = this.headersTarget(context);
    if (response) {
      for (const { limiter, policy } of buckets) {
        appendToListHeader(response, RATELIMIT_POLICY, tokenBucketPolicy(policy, limiter.shape));
      }
    }
    // Watched only where a sleep is possible: most routes refuse at once (maxSleep 0).
    const mayWait = buckets.some(({ declaration, limiter }) => (declaration.maxSleep ?? limiter.maxSleep) > 0);
    const { stopWatching } = mayWait ? this.watchClient(context, giveUp) : NOT_WATCHING;
    try {
      for (const bucket of buckets) await this.takeFrom(context, bucket, response, giveUp);
    } finally {
      stopWatching();
    }
  }

  private async takeFrom(
    context: ExecutionContext,
    { declaration, limiter, policy }: { declaration: TokenBucketDeclaration; limiter: TokenBucketLimiter; policy: string },
    response: unknown,
    giveUp: GiveUp,
  ): Promise<void> {
    try {
      const reservation = await this.gate.take(declaration, limiter, giveUp);
      if (!reservation || !response) return;
      // r is what the reservation left: 0 after a wait, the tokens having been promised
      // before they existed. t counts from now, the wait being behind us.
      const nextRefill = nextRefillIn(reservation.fullIn - reservation.wait, limiter.shape.refillFrequency);
      appendToListHeader(response, RATELIMIT, tokenBucketLimit(policy, reservation.remaining, nextRefill));
    } catch (error) {
      if (response && error instanceof MaxSleepExceededError && error.wouldWait !== undefined) {
        setHeader(response, RETRY_AFTER, String(seconds(error.wouldWait)));
        appendToListHeader(response, RATELIMIT, tokenBucketLimit(policy, 0, error.wouldWait));
      }
      throw this.answer(context, error, 'tokenBucket', policy);
    }
  }

  /**
   * Holds a slot of the handler's semaphore; throws the answer when none frees up in time.
   * No Retry-After: the only wait a semaphore can tell is when the oldest lease would run
   * out, an upper bound that would make polite clients wait far longer than needed.
   */
  async holdSlot(context: ExecutionContext, limits: MethodLimits, giveUp: GiveUp): Promise<Release> {
    const declaration = limits.semaphore;
    if (!declaration || this.alreadyApplied(context, 'semaphore')) return () => undefined;
    const { limiter, policy } = this.gate.semaphoreFor(limits, declaration, keyArgs(context));
    const response = this.headersTarget(context);
    if (response) appendToListHeader(response, RATELIMIT_POLICY, semaphorePolicy(policy, limiter.capacity));
    const { node, stopWatching } = this.watchClient(context, giveUp);
    try {
      const release = releaseOf(await this.gate.acquire(declaration, limiter, giveUp.signal));
      return node ? releaseWhenSent(release, node) : release;
    } catch (error) {
      throw this.answer(context, error, 'semaphore', policy);
    } finally {
      stopWatching();
    }
  }

  /** Over HTTP, gives up the request's wait when its client leaves, until stopWatching(). */
  private watchClient(context: ExecutionContext, giveUp: GiveUp): { node?: NodeResponse; stopWatching: () => void } {
    const node = context.getType() === 'http' ? nodeResponse(context.getArgByIndex(1)) : undefined;
    return node ? { node, stopWatching: giveUpWhenClientLeaves(node, giveUp) } : NOT_WATCHING;
  }

  /** HTTP gets a status; other transports get the limiter error itself, to map as they see fit. */
  private answer(context: ExecutionContext, error: unknown, kind: LimitKind, policy: string): unknown {
    return context.getType() === 'http' ? toHttpException(error, kind, policy, this.limiters.options.http) : error;
  }

  private headersTarget(context: ExecutionContext): unknown {
    if (context.getType() !== 'http' || !this.limiters.options.http.headers) return undefined;
    return context.getArgByIndex(1);
  }

  private alreadyApplied(context: ExecutionContext, kind: LimitKind): boolean {
    const call = invocationOf(context);
    const applied = this.applied.get(call) ?? 0;
    if (applied & APPLIED[kind]) return true;
    this.applied.set(call, applied | APPLIED[kind]);
    return false;
  }
}

/**
 * One object per call of a handler, the same for its guard and its interceptor: the
 * request over HTTP; elsewhere the arguments array, which Nest makes per call and hands
 * to both. Never the first argument outside HTTP: a gateway's is the WebSocket client,
 * the same for every message of a connection, which would be limited only once.
 */
function invocationOf(context: ExecutionContext): object {
  return context.getType() === 'http' ? (context.getArgByIndex(0) as object) : context.getArgs();
}

/** What a handler's `key` gets: the request (outside HTTP, the handler's first argument) and the context. */
function keyArgs(context: ExecutionContext): unknown[] {
  return [requestOf(context), context];
}

/**
 * HTTP handlers' arguments are [request, response, next]; elsewhere the first is the
 * message data or the client. Read by index: switchToHttp() makes three closures a call.
 */
function requestOf(context: ExecutionContext): unknown {
  return context.getArgByIndex(0);
}
