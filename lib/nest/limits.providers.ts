import type { Provider } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { LimitersHealthIndicator } from './health/limiters.health';
import { LimitersConnection } from './limiters-connection';
import { limitersOptionsProvider } from './limiters-options.provider';
import { LimitersService } from './limiters.service';
import { LIMITS_ADMISSION } from './limits.constants';
import { LimitsExplorer } from './limits.explorer';
import { LimitersMetrics } from './metrics/limiters-metrics';
import { Admission } from './pipeline/admission';
import { HandlerLimits } from './transport/handler-limits';
import { LimitsExceptionFilter } from './transport/limits-exception.filter';

/**
 * The module's parts, provided once by the app's one global core module, so nothing is
 * wrapped or limited twice: resolved options, the registry, the connection's lifecycle,
 * the pipeline with its two entrances (the explorer for service methods, HandlerLimits for
 * the interceptor and the guard), and the filter that answers refused service methods.
 */
export const limitsProviders: Provider[] = [
  limitersOptionsProvider,
  LimitersService,
  LimitersConnection,
  Admission,
  HandlerLimits,
  { provide: LIMITS_ADMISSION, useExisting: HandlerLimits },
  LimitsExplorer,
  LimitersMetrics,
  { provide: APP_FILTER, useClass: LimitsExceptionFilter },
  LimitersHealthIndicator,
];

/**
 * What LimitsInterceptor and TokenBucketGuard need wherever a controller uses them, and the
 * health indicator a health controller injects.
 */
export const limitsExports = [LIMITS_ADMISSION, LimitersHealthIndicator];
