import type { Provider } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { LimitsInterceptor } from './http/limits.interceptor';
import { RequestLimits } from './http/request-limits';
import { LimitGate } from './limit-gate';
import { LimitsExplorer } from './limits.explorer';

/**
 * What makes @Semaphore / @TokenBucket work with no wiring: the explorer wraps service
 * methods, the global interceptor limits controller handlers. Provided once, by the
 * app's one global core module, so nothing is wrapped or limited twice.
 */
export const limitsProviders: Provider[] = [
  LimitGate,
  RequestLimits,
  LimitsExplorer,
  { provide: APP_INTERCEPTOR, useClass: LimitsInterceptor },
];

/** What TokenBucketGuard needs wherever a controller uses it. */
export const limitsExports = [LimitGate, RequestLimits];
