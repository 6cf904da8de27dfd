/**
 * The core limiters for worker processes, without the package's entry point: lib/index.ts
 * also loads the Nest layer (Nest itself), which no worker uses and which doubled the CPU
 * time a worker took to start, on a machine where tests start a few hundred of them.
 */
// Makes Redis clients usable as stores, as loading the entry point does.
import '../../lib/store/resolve-store';

export { CHANNEL_NAMES, type RefuseEvent } from '../../lib/core/events';
export { SemaphoreLimiter, type SemaphoreOptions } from '../../lib/core/semaphore-limiter';
export { TokenBucketLimiter, type TokenBucketOptions } from '../../lib/core/token-bucket-limiter';
export { FixedWindowLimiter, type FixedWindowOptions } from '../../lib/core/fixed-window-limiter';
export { SlidingWindowLimiter, type SlidingWindowOptions } from '../../lib/core/sliding-window-limiter';
