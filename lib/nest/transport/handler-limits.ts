import { Inject, Injectable, type ExecutionContext } from '@nestjs/common';
import { LazyAbortController } from '../../core/lazy-abort-controller';
import type { ResolvedLimitersOptions } from '../limiters-options.interface';
import { LIMITERS_OPTIONS } from '../limiters-options.provider';
import { Admission } from '../pipeline/admission';
import { Refusal, type Release } from '../pipeline/admission-outcome';
import { limitsOf, type MethodLimits } from '../pipeline/declared-limits';
import type { GiveUp } from '../pipeline/limited-call';
import { giveUpWhenClientLeaves, releaseWhenSent } from './client-connection';
import { handlerCall } from './handler-call';
import { refusalAnswer, writeAdmittedFields } from './outcome-mapping';

/** The parts of a handler's limits the guard takes, and what is left for the interceptor. */
interface Split {
  tokens: MethodLimits;
  slot: MethodLimits;
}

/**
 * Handlers' side of the pipeline, for LimitsInterceptor and TokenBucketGuard: turns a
 * handler call into a pipeline call (its request, the client leaving) and the pipeline's
 * outcome into the transport's answer. Each limit is entered once per call, so the guard
 * and the interceptor together take one token, not two.
 */
@Injectable()
export class HandlerLimits {
  /** Calls whose tokens the guard took (see invocationOf). */
  private readonly tokensTaken = new WeakSet<object>();
  private readonly splits = new WeakMap<MethodLimits, Split>();

  constructor(
    private readonly admission: Admission,
    @Inject(LIMITERS_OPTIONS) private readonly options: ResolvedLimitersOptions,
  ) {}

  limitsOf(context: ExecutionContext): MethodLimits | undefined {
    return limitsOf(context.getClass(), context.getHandler());
  }

  /** The interceptor: every limit not entered yet for this call; resolves with how to give them back. */
  enter(context: ExecutionContext, limits: MethodLimits, giveUp: GiveUp): Promise<Release> {
    const call = invocationOf(context);
    return this.admit(context, this.tokensTaken.has(call) ? this.split(limits).slot : limits, giveUp);
  }

  /** The guard: the call's tokens only. */
  async takeTokens(context: ExecutionContext, limits: MethodLimits): Promise<void> {
    const call = invocationOf(context);
    if (this.tokensTaken.has(call)) return;
    this.tokensTaken.add(call);
    await this.admit(context, this.split(limits).tokens, new LazyAbortController());
  }

  private async admit(context: ExecutionContext, limits: MethodLimits, giveUp: GiveUp): Promise<Release> {
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
      return node && admitted.slot ? releaseWhenSent(admitted.release, node) : admitted.release;
    } catch (error) {
      throw error instanceof Refusal ? refusalAnswer(call, error, this.options.http) : error;
    }
  }

  private split(limits: MethodLimits): Split {
    let split = this.splits.get(limits);
    if (!split) {
      split = { tokens: { ...limits, semaphore: undefined }, slot: { ...limits, tokenBuckets: [] } };
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

