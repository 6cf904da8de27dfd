import { GUARDS_METADATA, INTERCEPTORS_METADATA } from '@nestjs/common/constants';
import type { MetadataScanner } from '@nestjs/core';
import type { Class, Method } from '../decorators/limit-options.interface';
import { limitsOf, type MethodLimits } from '../pipeline/declared-limits';
import { LimitsInterceptor } from './limits.interceptor';
import { LimitsGuard } from './token-bucket.guard';

/**
 * How a limited class's handlers reach the pipeline, decided once at start-up, after Nest
 * has scanned the modules (registering the guards and interceptors it found) and before it
 * builds the routes from them. The decorators put LimitsInterceptor on the class, and
 * LimitsGuard where a rate (a token bucket) is declared; this keeps one of the two:
 * - no handler of the class holds a slot (a semaphore's): the guard, and the interceptor goes.
 *   Rates need nothing once the handler runs, and a request through an interceptor
 *   costs Nest a chain of Observables that a guard does not (app CPU per request,
 *   BENCHMARKS.md section 5). The guard goes last among each handler's own guards, so it
 *   runs after every guard of the app, the class and the handler (an auth guard's
 *   `req.user` is there for `key`), as the interceptor did; it refuses before any
 *   interceptor runs, as a guard does.
 * - otherwise (a slot, or a rate with refundWhen, which needs the handler's outcome) the
 *   interceptor, which enters every limit of the call, rates then slot.
 */
export function placeHandlerLimits(owner: Class, scanner: MetadataScanner): void {
  const interceptors: unknown[] = Reflect.getMetadata(INTERCEPTORS_METADATA, owner) ?? [];
  if (!interceptors.includes(LimitsInterceptor)) return;
  const prototype = owner.prototype as Record<string, Method>;
  const limited: Array<{ method: Method; limits: MethodLimits }> = [];
  for (const name of scanner.getAllMethodNames(prototype)) {
    const limits = limitsOf(owner, prototype[name], name);
    if (limits) limited.push({ method: prototype[name], limits });
  }
  // refundWhen needs the handler's outcome, which only the interceptor sees.
  const guardOnly = !limited.some(({ limits }) =>
    limits.limits.some((limit) => limit.type.phase !== 'rate' || limit.refundWhen),
  );
  withoutGuard(owner);
  for (const { method } of limited) {
    const guards = withoutGuard(method);
    if (guardOnly) Reflect.defineMetadata(GUARDS_METADATA, [...guards, LimitsGuard], method);
  }
  if (guardOnly)
    Reflect.defineMetadata(
      INTERCEPTORS_METADATA,
      interceptors.filter((i) => i !== LimitsInterceptor),
      owner,
    );
}

/** Takes LimitsGuard off a class or method; returns the guards left. */
function withoutGuard(target: object): unknown[] {
  const guards: unknown[] = Reflect.getMetadata(GUARDS_METADATA, target) ?? [];
  if (!guards.includes(LimitsGuard)) return guards;
  const left = guards.filter((g) => g !== LimitsGuard);
  Reflect.defineMetadata(GUARDS_METADATA, left, target);
  return left;
}
