import type { Logger } from '@nestjs/common';
import type { CallOutcome } from '../decorators/limit-options.interface';
import { refundNotMade } from '../limiters.messages';
import type { Entered, Release } from './admission-outcome';

/**
 * refundWhen: once a call has settled, asks each of its limits' refundWhen about the
 * outcome and gives back what the call took of those that say so. Each grant refunds at
 * most once (Reservation.refund is idempotent), and a failure never reaches the call,
 * which has already been answered: it is logged, and the tokens stay spent.
 */
export class OutcomeRefunds {
  constructor(private readonly logger: Logger) {}

  /** `release`, which also settles the refunds on the first outcome it is given. */
  refundingRelease(release: Release, entered: Entered[]): Release {
    let settled = false;
    return (outcome) => {
      release(outcome);
      if (settled || outcome === undefined) return;
      settled = true;
      for (const limit of entered) void this.settle(limit, outcome);
    };
  }

  private async settle({ limit, grant }: Entered, outcome: CallOutcome): Promise<void> {
    try {
      if (await limit.refundWhen!(outcome)) await limit.type.refund!(grant);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.logger.warn(refundNotMade(limit.type.words, limit.name, reason));
    }
  }
}
