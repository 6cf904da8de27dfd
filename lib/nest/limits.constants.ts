/** Metadata keys the decorators write and the explorer, guard and interceptor read. */
export const SEMAPHORE_LIMIT = 'nestjs-limiters:semaphore';
export const TOKEN_BUCKET_LIMIT = 'nestjs-limiters:token-bucket';
