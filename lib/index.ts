// Limiters built on a Redis client (ioredis or node-redis) find their RedisStore through this adapter.
import './store/resolve-store';

export { SemaphoreLimiter } from './core/semaphore-limiter';
export type { SemaphoreOptions, AcquireOptions, TryAcquireOptions } from './core/semaphore-limiter';
export { Permit } from './core/permit';
export { TokenBucketLimiter } from './core/token-bucket-limiter';
export type { TokenBucketOptions } from './core/token-bucket-limiter';
export { FixedWindowLimiter } from './core/fixed-window-limiter';
export type { FixedWindowOptions } from './core/fixed-window-limiter';
export { SlidingWindowLimiter } from './core/sliding-window-limiter';
export type { SlidingWindowOptions } from './core/sliding-window-limiter';
export type { CalendarPeriod } from './core/calendar-windows';
export type { RateLimiter, TakeOptions, TryTakeResult, Reservation } from './core/rate-limiter';
export type { CommonLimiterOptions, LimitMode } from './core/options';
export { CHANNEL_NAMES, channels } from './core/events';
export type {
  LimitEvent,
  LimitEvents,
  AdmitEvent,
  RefuseEvent,
  WaitEvent,
  CancelEvent,
  ReleaseEvent,
  LeaseLostEvent,
  RedisErrorEvent,
  FallbackEvent,
  BreakerOpenEvent,
  BreakerCloseEvent,
  BreakerEvents,
} from './core/events';
export {
  LimiterError,
  InvalidOptionError,
  MaxSleepExceededError,
  RedisUnavailableError,
  BreakerOpenError,
  RedisRefusedError,
  LeaseLostError,
  LimiterClosedError,
} from './core/errors';
export type {
  LimiterStore,
  LimiterRef,
  Grant,
  Listening,
  SemaphoreBackend,
  SemaphoreSnapshot,
  TokenBucketBackend,
  TokenBucketSnapshot,
  FixedWindowBackend,
  FixedWindowShape,
  FixedWindowSnapshot,
  SlidingWindowBackend,
  SlidingWindowShape,
  SlidingWindowSnapshot,
  CalendarPeriods,
  RateBackend,
  TakeReply,
  TokenBucketShape,
} from './core/limiter-store';
export { RedisStore } from './store/redis/redis-store';
export type { NodeRedisClient, NodeRedisCluster } from './store/redis/clients/node-redis';
export { MemoryStore } from './store/memory/memory-store';
export { encodeName } from './core/key-segments';
export { checkRedisPolicy } from './store/redis/server-policy';
export type { EvictingServer } from './store/redis/server-policy';
export { LimitersModule } from './nest/limiters.module';
export { LimitersService } from './nest/limiters.service';
export { LimitersHealthIndicator } from './nest/health/limiters.health';
export type { LimitersHealthOptions, LimitersHealthResult } from './nest/health/limiters.health';
export { LIMITERS_MODULE_OPTIONS } from './nest/limiters.module-definition';
export type { LimitersRootOptions, LimitersRootAsyncOptions } from './nest/limiters.module-definition';
export type {
  LimitersModuleOptions,
  LimitersFeatureOptions,
  LimitersHttpOptions,
  RegisteredSemaphoreOptions,
  RegisteredTokenBucketOptions,
  ResolvedLimitersOptions,
  WhenRedisFails,
  LimitedCallInfo,
} from './nest/limiters-options.interface';
export { UnknownLimiterError } from './nest/unknown-limiter.error';
export { Semaphore, InjectSemaphore, getSemaphoreToken } from './nest/decorators/semaphore.decorator';
export type { InlineSemaphoreOptions } from './nest/decorators/semaphore.decorator';
export { TokenBucket, InjectTokenBucket, getTokenBucketToken } from './nest/decorators/token-bucket.decorator';
export type { InlineTokenBucketOptions } from './nest/decorators/token-bucket.decorator';
export { FixedWindow, InjectFixedWindow, getFixedWindowToken } from './nest/decorators/fixed-window.decorator';
export type { InlineFixedWindowOptions, RegisteredFixedWindowOptions } from './nest/decorators/fixed-window.decorator';
export { SlidingWindow, InjectSlidingWindow, getSlidingWindowToken } from './nest/decorators/sliding-window.decorator';
export type {
  InlineSlidingWindowOptions,
  RegisteredSlidingWindowOptions,
} from './nest/decorators/sliding-window.decorator';
export { SkipLimits } from './nest/decorators/skip-limits.decorator';
export type {
  CallArgs,
  CallLimitOptions,
  CallLimitOptions as MethodLimitOptions,
  LimitKey,
  LimitSkip,
  PerCall,
  TokenCost,
  CallOutcome,
  RefundWhen,
} from './nest/decorators/limit-options.interface';
export type { LimitKind } from './core/limit-kind';
export { TokenBucketGuard } from './nest/transport/token-bucket.guard';
export { LimitsInterceptor } from './nest/transport/limits.interceptor';
export { LimitsExceptionFilter } from './nest/transport/limits-exception.filter';
export { LimitExceededException } from './nest/transport/limit-exceeded.exception';
export type { RefusedLimit } from './nest/transport/limit-exceeded.exception';
export { recordLimiterMetrics } from './nest/metrics/record-limiter-metrics';
export type { LimiterMetricsOptions } from './nest/metrics/record-limiter-metrics';
export type { LimitersMetricsOptions } from './nest/metrics/metrics-options';
export { METRIC_NAMES, METRIC_ATTRIBUTES } from './nest/metrics/metric-names';
export { LimitersBoardModule } from './nest/board/board.module';
export type { LimitersBoardOptions } from './nest/board/board-options.interface';
export type { BoardData, BoardRow } from './nest/board/board-data';
