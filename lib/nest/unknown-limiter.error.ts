import { LimiterError } from '../core/errors';
import { unknownLimiter, type LimiterKind } from './limiters.messages';

/** LimitersService.getSemaphore / getTokenBucket was asked for a name nobody registered. */
export class UnknownLimiterError extends LimiterError {
  constructor(
    readonly kind: LimiterKind,
    readonly limiter: string,
    readonly known: string[],
  ) {
    super(unknownLimiter(kind, limiter, known));
  }
}
