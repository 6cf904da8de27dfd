import type { Logger } from '@nestjs/common';
import type { CallOutcome } from '../decorators/limit-options.interface';
import { refundNotMade } from '../limiters.messages';
import type { Release, TokensTaken } from './admission-outcome';

/**
 * refundWhen: once a call has settled, asks each of its buckets' refundWhen about the
 * outcome and gives back the tokens of those that say so. Each reservation refunds at
 * most once (Reservation.refund is idempotent), and a failure never reaches the call,
 * which has already been answered: it is logged, and the tokens stay spent.
 */
export class OutcomeRefunds {
  constructor(private readonly logger: Logger) {}

  /** `release`, which also settles the refunds on the first outcome it is given. */
  refundingRelease(release: Release, taken: TokensTaken[]): Release {
    let settled = false;
    return (outcome) => {
      release(outcome);
      if (settled || outcome === undefined) return;
      settled = true;
      for (const bucket of taken) void this.settle(bucket, outcome);
    };
  }

  private async settle({ limit, reservation }: TokensTaken, outcome: CallOutcome): Promise<void> {
    try {
      if (await limit.refundWhen!(outcome)) await reservation!.refund();
    } catch (error) {
      this.logger.warn(refundNotMade(limit.name, error instanceof Error ? error.message : String(error)));
    }
  }
}
