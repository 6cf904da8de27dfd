import { SKIP_LIMITS_METADATA } from '../limits.constants';

/**
 * Exempts a handler (or service method) from limits: with no names, from every limit on
 * it and on its class; with names, from the limits of those names only. On a class: every
 * method of the class. Like @SkipThrottle().
 */
export function SkipLimits(...names: string[]): MethodDecorator & ClassDecorator {
  return ((target: object, name?: string | symbol, descriptor?: PropertyDescriptor) => {
    const holder = name === undefined ? target : (descriptor!.value as object);
    Reflect.defineMetadata(SKIP_LIMITS_METADATA, names.length === 0 ? true : names, holder);
    return descriptor;
  }) as MethodDecorator & ClassDecorator;
}
