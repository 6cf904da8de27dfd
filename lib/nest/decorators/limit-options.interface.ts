import type { SemaphoreOptions } from '../../core/semaphore-limiter';
import type { TokenBucketOptions } from '../../core/token-bucket-limiter';

/**
 * Derives the key that gives each caller (API token, user, tenant) its own limit: the
 * limit of the pair (name, key), which no other name or key shares (core option `key`).
 * - On a service method it is called with the method's arguments.
 * - On a controller handler it is called with `(request, context: ExecutionContext)`;
 *   outside HTTP, `request` is the handler's first argument (RPC data, WebSocket client).
 * Returning undefined or '' uses the unkeyed, shared limit. A number (a user id) is used as
 * its decimal string; anything else fails the call with InvalidOptionError.
 */
export type LimitKey = (...args: any[]) => string | number | undefined;

/** What a decorator may add to a limiter, inline or registered. */
export interface MethodLimitOptions {
  key?: LimitKey;
  /** Overrides the limiter's maxSleep (ms) for calls of this method. 0: answer at once. */
  maxSleep?: number;
}

/** `@Semaphore({...})`: a limiter made for this method; `name` defaults to `ClassName.methodName`. */
export type InlineSemaphoreOptions = Omit<SemaphoreOptions, 'name' | 'key'> & { name?: string } & MethodLimitOptions;

/** `@TokenBucket({...})`: a limiter made for this method; `name` defaults to `ClassName.methodName`. */
export type InlineTokenBucketOptions = Omit<TokenBucketOptions, 'name' | 'key'> & { name?: string } & TokenCost &
  MethodLimitOptions;

export interface TokenCost {
  /** Tokens one call takes. Default 1. */
  tokens?: number;
}

/** What a decorator records: either inline limiter options or the name of a registered limiter. */
export interface LimitDeclaration<LimiterOptions> extends MethodLimitOptions, TokenCost {
  /** A limiter registered with LimitersModule.forRoot/forFeature. */
  registered?: string;
  /** Options of a limiter made for this method (without key, maxSleep override or tokens). */
  inline?: LimiterOptions;
}

export type SemaphoreDeclaration = LimitDeclaration<Omit<InlineSemaphoreOptions, keyof MethodLimitOptions>>;
export type TokenBucketDeclaration = LimitDeclaration<
  Omit<InlineTokenBucketOptions, keyof MethodLimitOptions | keyof TokenCost>
>;
