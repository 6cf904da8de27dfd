/** Metadata keys the decorators write and the pipeline reads. */
export const LIMITS_METADATA = 'nestjs-limiters:limits';
export const SKIP_LIMITS_METADATA = 'nestjs-limiters:skip';

/**
 * What LimitsInterceptor and TokenBucketGuard are given by the module: the admission
 * pipeline, by token, so the decorators (which put the interceptor on classes) load
 * neither the pipeline nor a Redis client.
 */
export const LIMITS_ADMISSION = 'nestjs-limiters:admission';
