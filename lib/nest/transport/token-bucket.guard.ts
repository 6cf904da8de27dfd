import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
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
  constructor(@Inject(LIMITS_ADMISSION) private readonly handlers: HandlerLimits) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const limits = this.handlers.limitsOf(context);
    if (limits) await this.handlers.takeTokens(context, limits);
    return true;
  }
}
