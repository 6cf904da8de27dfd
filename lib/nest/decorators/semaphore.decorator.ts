import { SEMAPHORE_LIMIT } from '../limits.constants';
import { declareLimit } from './limit-metadata';
import type { InlineSemaphoreOptions, MethodLimitOptions, SemaphoreDeclaration } from './limit-options.interface';

/**
 * Runs the method while holding a slot of a semaphore: inline options, or the name of
 * a semaphore registered with LimitersModule. Only records metadata (see limit-metadata.ts):
 * LimitsExplorer wraps service methods at start-up and LimitsInterceptor limits controller
 * handlers.
 */
export function Semaphore(registered: string, options?: MethodLimitOptions): MethodDecorator;
export function Semaphore(options: InlineSemaphoreOptions): MethodDecorator;
export function Semaphore(target: string | InlineSemaphoreOptions, extra: MethodLimitOptions = {}): MethodDecorator {
  return declareLimit('@Semaphore', SEMAPHORE_LIMIT, declare(target, extra), { many: false });
}

function declare(target: string | InlineSemaphoreOptions, extra: MethodLimitOptions): SemaphoreDeclaration {
  if (typeof target === 'string') return { registered: target, key: extra.key, maxSleep: extra.maxSleep };
  const { key, maxSleep, ...inline } = target;
  return { inline, key, maxSleep };
}
