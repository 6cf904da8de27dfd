import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import type { Observable } from 'rxjs';
import { LIMITS_ADMISSION } from '../limits.constants';
import { LIMIT_KINDS } from '../kinds/limit-kinds';
import { moduleNotImported } from '../limiters.messages';
import { limitObservable } from '../pipeline/limited-call';
import type { HandlerLimits } from './handler-limits';

/**
 * Applies @TokenBucket and @Semaphore to controller handlers, resolvers and gateways. The
 * decorators put it on the classes they are used in, so importing the module is all the
 * wiring needed. The slot is held until the handler's answer completes, errors or is
 * unsubscribed, and over HTTP until the answer is sent too (see releaseWhenSent in handler-limits.ts).
 * Reaches the pipeline by token: this file is loaded by the decorators, which must not
 * load the pipeline and a Redis client with them.
 */
@Injectable()
export class LimitsInterceptor implements NestInterceptor {
  /**
   * Nest makes this for every class with a limited method, services too. Without
   * LimitersModule the app still starts (a unit test of a decorated service should not
   * need the module), and says once that nothing is limited.
   */
  constructor(@Optional() @Inject(LIMITS_ADMISSION) private readonly handlers?: HandlerLimits) {
    if (!handlers) new Logger('LimitersModule').warn(moduleNotImported(LIMIT_KINDS.map((k) => k.words.decorator)));
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const handlers = this.handlers;
    const limits = handlers?.limitsOf(context);
    if (!handlers || !limits) return next.handle();
    return limitObservable(
      (giveUp) => handlers.enter(context, limits, giveUp),
      () => next.handle(),
    );
  }
}
