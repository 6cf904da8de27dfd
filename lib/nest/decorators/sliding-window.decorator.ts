import type { SlidingWindowOptions } from '../../core/sliding-window-limiter';
import { injectLimiter, limiterTokenOf } from '../inject.decorators';
import { slidingWindowKind } from '../kinds/sliding-window.kind';
import type { RegisteredOptions } from '../limiters-options.interface';
import { declareLimit, type LimitDecorator } from './limit-metadata';
import type { CallLimitOptions, InlineOptions, TokenCost } from './limit-options.interface';

/**
 * `@SlidingWindow({...})`: a sliding window made for this method (or class); `name` defaults to
 * `Class.method` (or `Class`). `limit` and `window` may be functions of the call (a plan's
 * quota).
 */
export type InlineSlidingWindowOptions<Req = unknown> = InlineOptions<SlidingWindowOptions, 'limit' | 'window', Req> &
  TokenCost<Req>;

/** A sliding window declared in module options `slidingWindows` (forRoot, forRootAsync, forFeature). */
export type RegisteredSlidingWindowOptions = RegisteredOptions<SlidingWindowOptions>;

/**
 * Counts the call's tokens in a sliding window before the method runs ("never more than 100 in
 * any minute"): inline options, or the name of a sliding window registered with LimitersModule.
 * On a class: every handler of it. Several rate limits on one method are taken in the order
 * written. Only records metadata (see limit-metadata.ts).
 */
export function SlidingWindow<Req = unknown>(
  registered: string,
  options?: CallLimitOptions<Req> & TokenCost<Req>,
): LimitDecorator;
export function SlidingWindow<Req = unknown>(options: InlineSlidingWindowOptions<Req>): LimitDecorator;
export function SlidingWindow(target: string | InlineSlidingWindowOptions, extra: object = {}): LimitDecorator {
  return declareLimit(slidingWindowKind, target, extra);
}

/** Injects the SlidingWindowLimiter registered as `name`. */
export const InjectSlidingWindow = injectLimiter(slidingWindowKind);

/** Injection token of the sliding window registered as `name` (by forRoot, forRootAsync or forFeature). */
export const getSlidingWindowToken = limiterTokenOf(slidingWindowKind);
