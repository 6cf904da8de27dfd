import { INTERCEPTORS_METADATA } from '@nestjs/common/constants';
import { LimiterError } from '../../core/errors';
import { LimitsInterceptor } from '../http/limits.interceptor';

/**
 * Records a limit on a method, and puts LimitsInterceptor (once) on its class, which is how
 * the limits reach controller handlers:
 * - on the class, not app-wide: an app-wide interceptor puts every route of the app, limited
 *   or not, through Nest's interceptor machinery, about a tenth of a trivial route's
 *   throughput; controllers without limits now skip it.
 * - first among the class's interceptors, not on the method: class interceptors run before
 *   method ones, and a refused request should not run the controller's own interceptors, as
 *   it would not under a guard. (Class decorators apply after method decorators, so
 *   @UseInterceptors on the class appends after it.)
 * On a provider Nest reads no interceptors: LimitsExplorer wraps the method instead.
 */
export function declareLimit(
  decorator: string,
  metadataKey: string,
  declaration: object,
  { many }: { many: boolean },
): MethodDecorator {
  return (target, name, descriptor: PropertyDescriptor) => {
    const owner = typeof target === 'function' ? target : target.constructor;
    const where = `${owner.name}.${String(name)}`;
    // Limits are applied to the methods of instances: anywhere else they would do nothing.
    if (typeof target === 'function') {
      throw new LimiterError(`${decorator} is on the static method ${where}, which is never limited: use an instance method.`);
    }
    if (typeof descriptor.value !== 'function') {
      throw new LimiterError(`${decorator} is on ${where}, which is not a method (a getter or setter), and would limit nothing.`);
    }
    const method = descriptor.value as object;
    const earlier: unknown = Reflect.getOwnMetadata(metadataKey, method);
    if (many) {
      // Decorators apply bottom-up: putting each one first keeps the order they are written in.
      Reflect.defineMetadata(metadataKey, [declaration, ...((earlier as object[] | undefined) ?? [])], method);
    } else if (earlier !== undefined) {
      // A second would silently replace the first.
      throw new LimiterError(
        `${decorator} is applied twice to ${where}: a method holds one semaphore. ` +
          'Keep one, or put the other on a method it calls.',
      );
    } else {
      Reflect.defineMetadata(metadataKey, declaration, method);
    }
    // Inherited as well: a subclass of a limited controller already has it.
    const interceptors: unknown[] = Reflect.getMetadata(INTERCEPTORS_METADATA, owner) ?? [];
    if (!interceptors.includes(LimitsInterceptor)) {
      Reflect.defineMetadata(INTERCEPTORS_METADATA, [LimitsInterceptor, ...interceptors], owner);
    }
    return descriptor;
  };
}
