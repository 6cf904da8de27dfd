import { ServerResponse } from 'node:http';
import { HttpException, Inject, Injectable, type ArgumentsHost, type ExecutionContext } from '@nestjs/common';
import { LazyAbortController } from '../../core/lazy-abort-controller';
import type { ResolvedLimitersOptions } from '../limiters-options.interface';
import { CLIENT_GONE } from '../limiters.messages';
import { LIMITERS_OPTIONS } from '../limiters-options.provider';
import { Admission } from '../pipeline/admission';
import { Refusal, type Release } from '../pipeline/admission-outcome';
import { limitsOf, type MethodLimits } from '../pipeline/declared-limits';
import type { GiveUp } from '../pipeline/limited-call';
import type { CallOutcome, Class, Method } from '../decorators/limit-options.interface';
import {
  refusalAnswer,
  writeAdmittedFields,
  type HandlerCall,
  type NodeResponse,
  type Transport,
} from './outcome-mapping';

/** The parts of a handler's limits the guard enters (the rates), and what is left for the interceptor. */
interface Split {
  rates: MethodLimits;
  rest: MethodLimits;
}

/**
 * Handlers' side of the pipeline, for LimitsInterceptor and TokenBucketGuard: turns a
 * handler call into a pipeline call (its request, the client leaving) and the pipeline's
 * outcome into the transport's answer. Each limit is entered once per call, so the guard
 * and the interceptor together take one token, not two.
 */
@Injectable()
export class HandlerLimits {
  /** Calls whose rates the guard entered (see invocationOf). */
  private readonly ratesEntered = new WeakSet<object>();
  /** The guard's release of calls whose refundWhen waits for the outcome, which only the interceptor sees. */
  private readonly guardRefunds = new WeakMap<object, Release>();
  private readonly splits = new WeakMap<MethodLimits, Split>();

  constructor(
    private readonly admission: Admission,
    @Inject(LIMITERS_OPTIONS) private readonly options: ResolvedLimitersOptions,
  ) {}

  limitsOf(context: ExecutionContext): MethodLimits | undefined {
    return limitsOf(context.getClass() as Class, context.getHandler() as Method);
  }

  /** The interceptor: every limit not entered yet for this call; resolves with how to give them back. */
  enter(context: ExecutionContext, limits: MethodLimits, giveUp: GiveUp): Promise<Release> {
    const call = invocationOf(context);
    if (!this.ratesEntered.has(call)) return this.admit(context, limits, giveUp);
    return this.admit(context, this.split(limits).rest, giveUp, this.guardRefunds.get(call));
  }

  /** The guard: the call's rates only (token buckets). */
  async takeTokens(context: ExecutionContext, limits: MethodLimits): Promise<void> {
    const call = invocationOf(context);
    if (this.ratesEntered.has(call)) return;
    this.ratesEntered.add(call);
    await this.admit(context, this.split(limits).rates, new LazyAbortController(), undefined, (release) =>
      this.guardRefunds.set(call, release),
    );
  }

  /**
   * Enters `limits` and writes the admitted call's fields. `byGuard` is the guard's release
   * for this call, given back (with the outcome) with the interceptor's; the guard itself
   * passes `keepForInterceptor` instead, called when its release wants the outcome.
   */
  private async admit(
    context: ExecutionContext,
    limits: MethodLimits,
    giveUp: GiveUp,
    byGuard?: Release,
    keepForInterceptor?: (release: Release) => void,
  ): Promise<Release> {
    const call = handlerCall(context);
    const { node } = call;
    try {
      const admitted = await this.admission.enter(limits, {
        args: [call.request, context],
        handler: { request: call.request, context },
        giveUp,
        watch: node && (() => giveUpWhenClientLeaves(node, giveUp)),
      });
      writeAdmittedFields(call, admitted, this.options.http);
      if (keepForInterceptor) {
        if (admitted.refunds) keepForInterceptor(admitted.release);
        return admitted.release;
      }
      const release = byGuard ? bothReleases(byGuard, admitted.release) : admitted.release;
      // A slot is held, and refundWhen reads the status, until the answer is sent.
      return node && (admitted.holds || admitted.refunds || byGuard) ? releaseWhenSent(release, node) : release;
    } catch (error) {
      throw error instanceof Refusal ? refusalAnswer(call, error, this.options.http) : error;
    }
  }

  private split(limits: MethodLimits): Split {
    let split = this.splits.get(limits);
    if (!split) {
      const part = (rates: boolean): MethodLimits => {
        const phases = limits.phases.filter((phase) => (phase[0].type.phase === 'rate') === rates);
        return { ...limits, limits: phases.flat(), phases };
      };
      split = { rates: part(true), rest: part(false) };
      this.splits.set(limits, split);
    }
    return split;
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

/** Reads a call's request and response by index: switchToHttp() makes three closures a call. */
export function handlerCall(host: ArgumentsHost | ExecutionContext): HandlerCall {
  const transport = host.getType<Transport>();
  if (transport === 'http') {
    const response = host.getArgByIndex(1);
    return { transport, request: host.getArgByIndex(0), response, node: nodeResponse(response) };
  }
  if (transport === 'graphql') {
    // Resolver arguments are (root, args, context, info). The context is the app's: @nestjs/apollo's
    // default has only `req`, so the response is Express's `req.res` unless the app's context
    // adds `res` (or, on Fastify, where a request has no link to its reply, `reply`).
    const context = host.getArgByIndex(2) as { req?: { res?: unknown }; res?: unknown; reply?: unknown } | undefined;
    const response = context?.res ?? context?.reply ?? context?.req?.res;
    return { transport, request: context?.req, response, node: nodeResponse(response) };
  }
  return { transport, request: host.getArgByIndex(0) };
}

/** The Node response: Express's `res` itself, Fastify's `reply.raw`; undefined for anything else. */
export function nodeResponse(response: unknown): NodeResponse | undefined {
  // Express's response is a ServerResponse: asking it for `raw` first would look through
  // its whole prototype chain for nothing, on every request.
  if (response instanceof ServerResponse) return response;
  const candidate = (response as { raw?: unknown } | undefined)?.raw ?? response;
  const node = candidate as Partial<NodeResponse> | undefined;
  return typeof node?.once === 'function' && typeof node.off === 'function' && typeof node.closed === 'boolean'
    ? (node as NodeResponse)
    : undefined;
}

/** 499, nginx's "client closed request": nobody reads it, Nest logs no error for it. */
function clientGone(): HttpException {
  return new HttpException(CLIENT_GONE, 499);
}

/**
 * Gives up the request's wait (for a slot, or the sleep until its tokens) when the client
 * goes away: an abandoned request would otherwise take a slot, and run its handler, for
 * nobody. Returns what stops watching once the wait is over.
 */
export function giveUpWhenClientLeaves(response: NodeResponse, giveUp: GiveUp): () => void {
  const leave = () => giveUp.abort(clientGone());
  if (response.closed) leave();
  else response.once('close', leave);
  return () => response.off('close', leave);
}

/**
 * Holds a request's slot until its answer is sent as well as until its handler is done.
 * A handler returning a StreamableFile (or anything Nest writes afterwards) is done long
 * before the client has its last byte: releasing then would let a second download start
 * while the first is still being sent. A client that left while its handler runs keeps
 * the slot taken until the handler is done. The returned release is the handler side's.
 * The handler's outcome reaches `release` with the status code sent, once it is sent:
 * an exception filter decides it after the handler is done.
 */
export function releaseWhenSent(release: Release, response: NodeResponse): Release {
  if (response.closed) return (outcome) => release(withStatus(outcome, response));
  let handlerDone = false;
  let sent = false;
  let handlerOutcome: CallOutcome | undefined;
  response.once('close', () => {
    sent = true;
    if (handlerDone) release(withStatus(handlerOutcome, response));
  });
  return (outcome) => {
    if (handlerDone) return;
    handlerDone = true;
    handlerOutcome = outcome;
    if (sent) release(withStatus(outcome, response));
  };
}

function withStatus(outcome: CallOutcome | undefined, response: NodeResponse): CallOutcome | undefined {
  return outcome && { ...outcome, status: response.statusCode };
}

/** The guard's and the interceptor's releases of one call, as one. */
function bothReleases(first: Release, second: Release): Release {
  return (outcome) => {
    first(outcome);
    second(outcome);
  };
}
