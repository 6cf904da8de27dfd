import { declareLimit, type LimitDecorator } from './limit-metadata';
import type { CallLimitOptions, InlineSemaphoreOptions, SemaphoreCost } from './limit-options.interface';

/**
 * Runs the method while holding a slot of a semaphore: inline options, or the name of a
 * semaphore registered with LimitersModule. On a class: every handler of it. Only records
 * metadata (see limit-metadata.ts).
 */
export function Semaphore<Req = any>(
  registered: string,
  options?: CallLimitOptions<Req> & SemaphoreCost<Req>,
): LimitDecorator;
export function Semaphore<Req = any>(options: InlineSemaphoreOptions<Req>): LimitDecorator;
export function Semaphore(
  target: string | InlineSemaphoreOptions,
  extra: CallLimitOptions & SemaphoreCost = {},
): LimitDecorator {
  return declareLimit('@Semaphore', 'semaphore', target as never, extra as never);
}
