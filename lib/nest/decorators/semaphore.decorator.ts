import type { SemaphoreOptions } from '../../core/semaphore-limiter';
import { injectLimiter, limiterTokenOf } from '../inject.decorators';
import { semaphoreKind } from '../kinds/semaphore.kind';
import { declareLimit, type LimitDecorator } from './limit-metadata';
import type { CallLimitOptions, InlineOptions, SemaphoreCost } from './limit-options.interface';

/** `@Semaphore({...})`: a semaphore made for this method (or class); `name` defaults to `Class.method` (or `Class`). */
export type InlineSemaphoreOptions<Req = unknown> = InlineOptions<SemaphoreOptions, 'capacity', Req> &
  SemaphoreCost<Req>;

/**
 * Runs the method while holding a slot of a semaphore: inline options, or the name of a
 * semaphore registered with LimitersModule. On a class: every handler of it. Only records
 * metadata (see limit-metadata.ts).
 */
export function Semaphore<Req = unknown>(
  registered: string,
  options?: CallLimitOptions<Req> & SemaphoreCost<Req>,
): LimitDecorator;
export function Semaphore<Req = unknown>(options: InlineSemaphoreOptions<Req>): LimitDecorator;
export function Semaphore(target: string | InlineSemaphoreOptions, extra: object = {}): LimitDecorator {
  return declareLimit(semaphoreKind, target, extra);
}

/** Injects the SemaphoreLimiter registered as `name`. */
export const InjectSemaphore = injectLimiter(semaphoreKind);

/** Injection token of the semaphore registered as `name` (by forRoot, forRootAsync or forFeature). */
export const getSemaphoreToken = limiterTokenOf(semaphoreKind);
