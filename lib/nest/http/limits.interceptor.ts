import { Injectable, Logger, Optional, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { limitObservable } from '../limited-call';
import { MODULE_NOT_IMPORTED_WARNING } from '../limiters.messages';
import { RequestLimits } from './request-limits';

/**
 * Applies @TokenBucket and @Semaphore to controller handlers. The decorators attach it to
 * the controller classes they are used in (see decorators/limit-metadata.ts), so importing the module
 * is all the wiring needed. The slot is held until the handler's answer completes, errors
 * or is unsubscribed, and over HTTP until the answer is sent too (see client-connection.ts).
 */
@Injectable()
export class LimitsInterceptor implements NestInterceptor {
  /**
   * Nest makes this for every class with a limited method, services too (it reads
   * interceptors on providers for gateways). Without LimitersModule the app still starts,
   * as it did before any interceptor existed: a unit test of a decorated service should
   * not need the module. It says so once instead of failing.
   */
  constructor(@Optional() private readonly requests?: RequestLimits) {
    if (!requests) new Logger('LimitersModule').warn(MODULE_NOT_IMPORTED_WARNING);
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const requests = this.requests;
    const limits = requests?.limitsOf(context);
    if (!requests || !limits) return next.handle();
    return limitObservable(
      async (giveUp) => {
        // Rate first, then concurrency: a refused request never holds a slot.
        await requests.takeToken(context, limits, giveUp);
        return requests.holdSlot(context, limits, giveUp);
      },
      () => next.handle(),
    );
  }
}
