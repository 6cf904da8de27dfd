import { Injectable } from '@nestjs/common';

/**
 * Counts calls in flight at the slow API on its own, without asking any limiter, so the
 * peak it reports is a measurement of what the semaphore really allowed.
 */
@Injectable()
export class UpstreamMeter {
  inFlight = 0;
  peak = 0;
  calls = 0;

  async measure<T>(call: () => Promise<T>): Promise<T> {
    this.inFlight += 1;
    this.peak = Math.max(this.peak, this.inFlight);
    try {
      return await call();
    } finally {
      this.inFlight -= 1;
      this.calls += 1;
    }
  }

  reset(): void {
    this.peak = this.inFlight;
    this.calls = 0;
  }
}
