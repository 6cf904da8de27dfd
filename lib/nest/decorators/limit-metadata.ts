import { GUARDS_METADATA, INTERCEPTORS_METADATA } from '@nestjs/common/constants';
import { LimiterError } from '../../core/errors';
import { checkKnownOptions } from '../../core/known-options';
import type { LimitKindDescriptor } from '../kinds/limit-kind.descriptor';
import { LIMITS_METADATA } from '../limits.constants';
import { notAMethod, onStaticMethod, secondSlot } from '../limiters.messages';
import { LimitsInterceptor } from '../transport/limits.interceptor';
import { LimitsGuard } from '../transport/token-bucket.guard';
import type { Class, LimitRecord } from './limit-options.interface';

/** A decorator for a method or a whole class (every handler of a controller, resolver or gateway). */
export type LimitDecorator = MethodDecorator & ClassDecorator;

/**
 * Records a limit of `type` on a method or a class, in the order written, and puts
 * LimitsInterceptor (once) on the class, which is how limits reach handlers, and for a
 * rate kind LimitsGuard where it is declared, so that Nest knows the guard when it scans
 * the module (transport/handler-placement.ts decides at start which of the two a class uses).
 * Records only: the pipeline does everything else (see pipeline/admission.ts).
 * - the interceptor on the class, not app-wide: an app-wide interceptor puts every route
 *   through Nest's interceptor machinery, about a tenth of a trivial route's throughput;
 * - first among the class's interceptors: a refused request should not run the
 *   controller's own interceptors, as it would not under a guard. (Class decorators apply
 *   after method decorators, so @UseInterceptors on the class appends after it.)
 * On a provider Nest reads no interceptors: LimitsExplorer wraps the method instead.
 */
export function declareLimit(type: LimitKindDescriptor, limit: string | object, extra: object): LimitDecorator {
  const record = recordOf(type, limit, extra);
  return ((target: object, name?: string | symbol, descriptor?: PropertyDescriptor) => {
    const onClass = name === undefined;
    const owner = (onClass ? target : typeof target === 'function' ? target : target.constructor) as Class;
    const declaredAt = onClass ? owner.name : `${owner.name}.${String(name)}`;
    const decorator = type.words.decorator;
    if (!onClass && typeof target === 'function') throw new LimiterError(onStaticMethod(decorator, declaredAt));
    if (!onClass && typeof descriptor?.value !== 'function') throw new LimiterError(notAMethod(decorator, declaredAt));
    // At class definition: a misspelt option is an error the moment the file loads.
    const given = typeof limit === 'string' ? extra : limit;
    const known = typeof limit === 'string' ? type.callOptions : [...type.options, ...type.callOptions];
    checkKnownOptions(given, known, record.registered ?? (record.inline?.name as string | undefined) ?? declaredAt);
    const holder = onClass ? owner : (descriptor!.value as object);
    const earlier: LimitRecord[] = Reflect.getOwnMetadata(LIMITS_METADATA, holder) ?? [];
    if (type.phase === 'slot' && earlier.some((r) => r.kind === type.kind)) {
      throw new LimiterError(secondSlot(type.words, declaredAt));
    }
    // Decorators apply bottom-up: putting each one first keeps the order they are written in.
    Reflect.defineMetadata(LIMITS_METADATA, [{ ...record, declaredAt, onClass }, ...earlier], holder);
    // Inherited as well: a subclass of a limited controller already has it.
    const interceptors: unknown[] = Reflect.getMetadata(INTERCEPTORS_METADATA, owner) ?? [];
    if (!interceptors.includes(LimitsInterceptor)) {
      Reflect.defineMetadata(INTERCEPTORS_METADATA, [LimitsInterceptor, ...interceptors], owner);
    }
    if (type.phase === 'rate') {
      const guards: unknown[] = Reflect.getOwnMetadata(GUARDS_METADATA, holder) ?? [];
      if (!guards.includes(LimitsGuard)) Reflect.defineMetadata(GUARDS_METADATA, [...guards, LimitsGuard], holder);
    }
    return onClass ? undefined : descriptor;
  }) as LimitDecorator;
}

/** Splits a decorator's options into the limiter's own and those of the call (its kind's callOptions). */
function recordOf(
  type: LimitKindDescriptor,
  target: string | object,
  extra: object,
): Omit<LimitRecord, 'declaredAt' | 'onClass'> {
  const inline: Record<string, unknown> = { ...(typeof target === 'string' ? extra : target) };
  const call: Record<string, unknown> = {};
  for (const option of type.callOptions) {
    if (!(option in inline)) continue;
    call[option === type.words.amount ? 'amount' : option] = inline[option];
    delete inline[option];
  }
  const record = { kind: type.kind, ...call } as Omit<LimitRecord, 'declaredAt' | 'onClass'>;
  if (typeof target === 'string') record.registered = target;
  else record.inline = inline;
  return record;
}
