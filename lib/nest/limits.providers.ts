import type { Provider } from '@nestjs/common';
import { RequestLimits } from './http/request-limits';
import { LimitGate } from './limit-gate';
import { LimitsExplorer } from './limits.explorer';

/**
 * What makes @Semaphore / @TokenBucket work with no wiring: the explorer wraps service
 * methods; the decorators put LimitsInterceptor on controller handlers, and Nest makes it
 * in the controller's module from what this exports. Provided once, by the app's one
 * global core module, so nothing is wrapped or limited twice.
 */
export const limitsProviders: Provider[] = [LimitGate, RequestLimits, LimitsExplorer];

/** What LimitsInterceptor and TokenBucketGuard need wherever a controller uses them. */
export const limitsExports = [LimitGate, RequestLimits];
