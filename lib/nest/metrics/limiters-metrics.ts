import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Meter } from '@opentelemetry/api';
import { LimiterError } from '../../core/errors';
import type { RateLimiter } from '../../core/rate-limiter';
import { LIMIT_KINDS } from '../kinds/limit-kinds';
import type { ResolvedLimitersOptions } from '../limiters-options.interface';
import { LIMITERS_OPTIONS } from '../limiters-options.provider';
import { LimitersService } from '../limiters.service';
import { metricsApiMissing } from '../limiters.messages';
import { METER_NAME } from './metrics-options';
import { recordLimiterMetrics } from './record-limiter-metrics';

/**
 * Records the limiters' events as OpenTelemetry metrics while the application runs, when
 * the module's `metrics` option asks for it. Without it nothing subscribes to the events,
 * so they cost nothing, and @opentelemetry/api (an optional peer) is never loaded.
 */
@Injectable()
export class LimitersMetrics implements OnModuleInit, OnApplicationShutdown {
  private stop: (() => void) | undefined;

  constructor(
    @Inject(LIMITERS_OPTIONS) private readonly options: ResolvedLimitersOptions,
    private readonly limiters: LimitersService,
  ) {}

  onModuleInit(): void {
    const metrics = this.options.metrics;
    if (!metrics) return;
    const meter = metrics.meter ?? (metrics.meterProvider ?? globalMeterProvider()).getMeter(METER_NAME);
    this.stop = recordLimiterMetrics(meter, {
      attributes: metrics.attributes,
      stateTimeoutMs: metrics.stateTimeoutMs,
      tokenBuckets: () => this.remainingReported(),
    });
  }

  /** Every registered limiter of a kind that reports what it has left (see KindMetrics.remaining). */
  private remainingReported(): RateLimiter[] {
    return LIMIT_KINDS.filter((type) => type.metrics.remaining).flatMap(
      (type) => [...this.limiters.all(type.kind).values()] as RateLimiter[],
    );
  }

  /** Unsubscribed at every shutdown: an app started again must not count each event twice. */
  onApplicationShutdown(): void {
    this.stop?.();
    this.stop = undefined;
  }
}

/** Loaded only here, only when metrics are on: the package does not depend on @opentelemetry/api. */
function globalMeterProvider(): { getMeter(name: string): Meter } {
  let api: typeof import('@opentelemetry/api');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    api = require('@opentelemetry/api');
  } catch (error) {
    throw new LimiterError(metricsApiMissing(error instanceof Error ? error.message : String(error)));
  }
  return api.metrics.getMeterProvider();
}
