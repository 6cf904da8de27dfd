import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { RequestLimits } from './request-limits';

/**
 * Takes a handler's @TokenBucket tokens as a guard: `@UseGuards(TokenBucketGuard)` refuses
 * before interceptors, pipes and the handler run. LimitsInterceptor then takes no second
 * token for the same request. Semaphores stay with the interceptor, the only place that
 * sees the handler finish and can give the slot back.
 */
@Injectable()
export class TokenBucketGuard implements CanActivate {
  constructor(private readonly requests: RequestLimits) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const limits = this.requests.limitsOf(context);
    if (limits) await this.requests.takeToken(context, limits);
    return true;
  }
}
