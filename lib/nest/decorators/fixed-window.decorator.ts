import type { FixedWindowOptions } from '../../core/fixed-window-limiter';
import { injectLimiter, limiterTokenOf } from '../inject.decorators';
import { fixedWindowKind } from '../kinds/fixed-window.kind';
import type { RegisteredOptions } from '../limiters-options.interface';
import { declareLimit, type LimitDecorator } from './limit-metadata';
import type { CallLimitOptions, InlineOptions, TokenCost } from './limit-options.interface';

/**
 * `@FixedWindow({...})`: a fixed window made for this method (or class); `name` defaults to
 * `Class.method` (or `Class`). `limit`, `window` and `timezone` may be functions of the call
 * (a plan's quota, a customer's time zone).
 */
export type InlineFixedWindowOptions<Req = unknown> = InlineOptions<
  FixedWindowOptions,
  'limit' | 'window' | 'timezone',
  Req
> &
  TokenCost<Req>;

/** A fixed window declared in module options `fixedWindows` (forRoot, forRootAsync, forFeature). */
export type RegisteredFixedWindowOptions = RegisteredOptions<FixedWindowOptions>;

/**
 * Counts the call's tokens in a fixed window before the method runs ("100 a minute", "10,000
 * a month"): inline options, or the name of a fixed window registered with LimitersModule.
 * On a class: every handler of it. Several rate limits on one method are taken in the order
 * written. Only records metadata (see limit-metadata.ts).
 */
export function FixedWindow<Req = unknown>(
  registered: string,
  options?: CallLimitOptions<Req> & TokenCost<Req>,
): LimitDecorator;
export function FixedWindow<Req = unknown>(options: InlineFixedWindowOptions<Req>): LimitDecorator;
export function FixedWindow(target: string | InlineFixedWindowOptions, extra: object = {}): LimitDecorator {
  return declareLimit(fixedWindowKind, target, extra);
}

/** Injects the FixedWindowLimiter registered as `name`. */
export const InjectFixedWindow = injectLimiter(fixedWindowKind);

/** Injection token of the fixed window registered as `name` (by forRoot, forRootAsync or forFeature). */
export const getFixedWindowToken = limiterTokenOf(fixedWindowKind);
