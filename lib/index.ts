export { SemaphoreLimiter } from './core/semaphore-limiter';
export type { SemaphoreOptions, AcquireOptions } from './core/semaphore-limiter';
export { Permit } from './core/permit';
export { TokenBucketLimiter } from './core/token-bucket-limiter';
export type { TokenBucketOptions, TakeOptions, TryTakeResult } from './core/token-bucket-limiter';
export type { CommonLimiterOptions } from './core/options';
export {
  LimiterError,
  InvalidOptionError,
  MaxSleepExceededError,
  RedisUnavailableError,
  LeaseLostError,
} from './core/errors';
export type {
  LimiterStore,
  LimiterRef,
  SemaphoreBackend,
  SemaphoreSnapshot,
  TokenBucketBackend,
  TokenBucketSnapshot,
} from './store/limiter-store';
export { RedisStore } from './store/redis/redis-store';
export { encodeName } from './store/redis/keys';
