import { LimiterError } from '../core/errors';
import type { LimitKind } from '../core/limit-kind';
import { kindOf } from './kinds/limit-kinds';
import { unknownLimiter } from './limiters.messages';

/** LimitersService.getSemaphore / getTokenBucket was asked for a name nobody registered. */
export class UnknownLimiterError extends LimiterError {
  constructor(
    readonly kind: LimitKind,
    readonly limiter: string,
    readonly known: string[],
  ) {
    super(unknownLimiter(kindOf(kind).words, limiter, known));
  }
}
