import type { FactoryProvider } from '@nestjs/common';
import type { LimitersModuleOptions, ResolvedLimitersOptions } from './limiters-options.interface';
import { LIMITERS_MODULE_OPTIONS } from './limiters.module-definition';
import { adoptStore, resolveModuleOptions } from './resolve-module-options';

/** The module options once checked, with defaults filled in and the store chosen: read by every part of the module. */
export const LIMITERS_OPTIONS = 'nestjs-limiters:resolved-options';

export const limitersOptionsProvider: FactoryProvider<ResolvedLimitersOptions> = {
  provide: LIMITERS_OPTIONS,
  useFactory: (options: LimitersModuleOptions) => ({ ...resolveModuleOptions(options), ...adoptStore(options) }),
  inject: [LIMITERS_MODULE_OPTIONS],
};
