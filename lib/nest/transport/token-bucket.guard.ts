import { Inject, Injectable, Optional, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { LIMITS_ADMISSION } from '../limits.constants';
import type { HandlerLimits } from './handler-limits';

/**
 * Takes a handler's @TokenBucket tokens as a guard: `@UseGuards(TokenBucketGuard)` refuses
 * before interceptors, pipes and the handler run. LimitsInterceptor then takes no second
 * token for the same call. Semaphores stay with the interceptor, the only place that sees
 * the handler finish and can give the slot back.
 */
@Injectable()
export class TokenBucketGuard implements CanActivate {
  /**
   * Optional: the decorators put the guard on every class they limit, and without the module
   * LimitsInterceptor, also there, says that nothing is limited.
   */
  constructor(@Optional() @Inject(LIMITS_ADMISSION) private readonly handlers?: HandlerLimits) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const limits = this.handlers?.limitsOf(context);
    if (limits) await this.handlers!.takeTokens(context, limits);
    return true;
  }
}

/**
 * The guard the decorators put on each handler with a @TokenBucket, which the module keeps
 * or takes off at start (handler-placement.ts). A class of its own, so that a
 * TokenBucketGuard the app placed itself is never moved or removed.
 */
@Injectable()
export class LimitsGuard extends TokenBucketGuard {}
