import { Controller, Get, HttpCode, Inject, Post } from '@nestjs/common';
import { InjectSemaphore, LimitersService, SemaphoreLimiter } from '../../../lib';
import { RefusalLog } from '../events/refusal-log';
import { Admissions } from '../quotes/admissions';
import { UpstreamMeter } from '../quotes/upstream-meter';
import { PER_KEY, SLOW_API } from '../sample-limits';
import type { StoreChoice } from '../store/choose-store';

export const STORE_CHOICE = Symbol('StoreChoice');

/** What the app measured, and the limits it really runs with (read from the limiters themselves). */
@Controller('stats')
export class StatsController {
  constructor(
    private readonly meter: UpstreamMeter,
    private readonly admissions: Admissions,
    private readonly refusals: RefusalLog,
    private readonly limiters: LimitersService,
    @InjectSemaphore(SLOW_API.name) private readonly slots: SemaphoreLimiter,
    @Inject(STORE_CHOICE) private readonly store: StoreChoice,
  ) {}

  @Get()
  async stats() {
    const { holders, waiters } = await this.slots.state();
    const perKey = this.limiters.getTokenBucket(PER_KEY.name);
    return {
      store: { kind: this.store.kind, description: this.store.description },
      limits: {
        slowApi: { capacity: this.slots.capacity, callMs: SLOW_API.callMs },
        perKey: { ...perKey.shape, ratePerSecond: (perKey.shape.refillAmount * 1_000) / perKey.shape.refillFrequency },
      },
      slowApi: {
        inFlight: this.meter.inFlight,
        peak: this.meter.peak,
        calls: this.meter.calls,
        holders: holders.length,
        waiters: waiters.length,
      },
      admissions: this.admissions.snapshot(),
      /** Refusals per limit, counted from the library's nestjs-limiters:refuse events. */
      refusedByEvents: this.refusals.snapshot(),
    };
  }

  /** Starts a new measurement: peak back to what is in flight now, counters to zero. */
  @Post('reset')
  @HttpCode(204)
  reset(): void {
    this.meter.reset();
    this.admissions.reset();
    this.refusals.reset();
  }
}
