import type { Meter, MeterProvider } from '@opentelemetry/api';
import type { LimiterMetricsOptions } from './record-limiter-metrics';

/**
 * `metrics` of LimitersModule: where the module records. `true`: the meter
 * "nestjs-limiters" of the global MeterProvider (`metrics.getMeterProvider()` of
 * @opentelemetry/api, set by the OpenTelemetry SDK); or a `meter`, or a `meterProvider`
 * to take that meter from.
 */
export interface LimitersMetricsOptions extends Pick<LimiterMetricsOptions, 'attributes' | 'stateTimeoutMs'> {
  meter?: Meter;
  meterProvider?: MeterProvider;
}

/** The instrumentation scope the module's meter is named after. */
export const METER_NAME = 'nestjs-limiters';
