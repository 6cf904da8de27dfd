import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { limitObservable } from '../limited-call';
import { RequestLimits } from './request-limits';

/**
 * Applies @TokenBucket and @Semaphore to controller handlers. The decorators attach it to
 * the handlers they decorate (see decorators/limit-metadata.ts), so importing the module
 * is all the wiring needed. The slot is held until the handler's answer completes, errors
 * or is unsubscribed, and over HTTP until the answer is sent too (see answer-sent.ts).
 */
@Injectable()
export class LimitsInterceptor implements NestInterceptor {
  constructor(private readonly requests: RequestLimits) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const limits = this.requests.limitsOf(context);
    if (!limits) return next.handle();
    return limitObservable(
      async (giveUp) => {
        // Rate first, then concurrency: a refused request never holds a slot.
        await this.requests.takeToken(context, limits);
        return this.requests.holdSlot(context, limits, giveUp);
      },
      () => next.handle(),
    );
  }
}
