import { GUARDS_METADATA, INTERCEPTORS_METADATA } from '@nestjs/common/constants';
import { LimiterError } from '../../core/errors';
import { checkKnownOptions, LIMITER_OPTIONS } from '../../core/known-options';
import { LIMITS_METADATA } from '../limits.constants';
import { notAMethod, onStaticMethod, secondSemaphore } from '../limiters.messages';
import { LimitsInterceptor } from '../transport/limits.interceptor';
import { LimitsGuard } from '../transport/token-bucket.guard';
import type { LimitKind } from '../../core/limit-kind';
import { BUCKET_CALL_OPTIONS, SEMAPHORE_CALL_OPTIONS, type LimitRecord } from './limit-options.interface';

/** A decorator for a method or a whole class (every handler of a controller, resolver or gateway). */
export type LimitDecorator = MethodDecorator & ClassDecorator;

/**
 * Records a limit on a method or a class, in the order written, and puts LimitsInterceptor
 * (once) on the class, which is how limits reach handlers, and for a token bucket
 * LimitsGuard where it is declared, so that Nest knows the guard when it scans the module
 * (transport/handler-placement.ts decides at start which of the two a class uses).
 * Records only: the pipeline does everything else (see pipeline/admission.ts).
 * - the interceptor on the class, not app-wide: an app-wide interceptor puts every route
 *   through Nest's interceptor machinery, about a tenth of a trivial route's throughput;
 * - first among the class's interceptors: a refused request should not run the
 *   controller's own interceptors, as it would not under a guard. (Class decorators apply
 *   after method decorators, so @UseInterceptors on the class appends after it.)
 * On a provider Nest reads no interceptors: LimitsExplorer wraps the method instead.
 */
export function declareLimit(
  decorator: string,
  kind: LimitKind,
  limit: string | Record<string, unknown>,
  extra: Record<string, unknown>,
): LimitDecorator {
  const record = recordOf(kind, limit, extra);
  return ((target: object, name?: string | symbol, descriptor?: PropertyDescriptor) => {
    const onClass = name === undefined;
    const owner = (onClass ? target : typeof target === 'function' ? target : target.constructor) as Function;
    const declaredAt = onClass ? owner.name : `${owner.name}.${String(name)}`;
    if (!onClass && typeof target === 'function') throw new LimiterError(onStaticMethod(decorator, declaredAt));
    if (!onClass && typeof descriptor?.value !== 'function') throw new LimiterError(notAMethod(decorator, declaredAt));
    // At class definition: a misspelt option is an error the moment the file loads.
    const given = typeof limit === 'string' ? extra : limit;
    const callOptions = kind === 'token-bucket' ? BUCKET_CALL_OPTIONS : SEMAPHORE_CALL_OPTIONS;
    const known = typeof limit === 'string' ? callOptions : [...LIMITER_OPTIONS[kind], ...callOptions];
    checkKnownOptions(given, known, record.registered ?? (record.inline?.name as string | undefined) ?? declaredAt);
    const holder = onClass ? owner : (descriptor!.value as object);
    const earlier: LimitRecord[] = Reflect.getOwnMetadata(LIMITS_METADATA, holder) ?? [];
    if (record.kind === 'semaphore' && earlier.some((r) => r.kind === 'semaphore')) {
      throw new LimiterError(secondSemaphore(decorator, declaredAt));
    }
    // Decorators apply bottom-up: putting each one first keeps the order they are written in.
    Reflect.defineMetadata(LIMITS_METADATA, [{ ...record, declaredAt, onClass }, ...earlier], holder);
    // Inherited as well: a subclass of a limited controller already has it.
    const interceptors: unknown[] = Reflect.getMetadata(INTERCEPTORS_METADATA, owner) ?? [];
    if (!interceptors.includes(LimitsInterceptor)) {
      Reflect.defineMetadata(INTERCEPTORS_METADATA, [LimitsInterceptor, ...interceptors], owner);
    }
    if (kind === 'token-bucket') {
      const guards: unknown[] = Reflect.getOwnMetadata(GUARDS_METADATA, holder) ?? [];
      if (!guards.includes(LimitsGuard)) Reflect.defineMetadata(GUARDS_METADATA, [...guards, LimitsGuard], holder);
    }
    return onClass ? undefined : descriptor;
  }) as LimitDecorator;
}

/** Splits a decorator's options into the limiter's own and those of the call. */
function recordOf(
  kind: LimitKind,
  target: string | Record<string, unknown>,
  extra: Record<string, unknown>,
): Omit<LimitRecord, 'declaredAt' | 'onClass'> {
  const options = typeof target === 'string' ? extra : target;
  const { key, skip, maxSleep, tokens, refundWhen, permits, ...inline } = options as Partial<LimitRecord> &
    Record<string, unknown>;
  const call = { key, skip, maxSleep, tokens, refundWhen, permits };
  return typeof target === 'string' ? { kind, registered: target, ...call } : { kind, inline, ...call };
}
