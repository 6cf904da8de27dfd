import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { LimiterNames, LimitersModuleOptions } from './limiters-options.interface';

export const {
  ConfigurableModuleClass: ConfigurableLimitersModule,
  MODULE_OPTIONS_TOKEN: LIMITERS_MODULE_OPTIONS,
  OPTIONS_TYPE: LIMITERS_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: LIMITERS_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<LimitersModuleOptions>({ moduleName: 'Limiters' })
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: false }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();

/** What LimitersModule.forRoot takes: the module options plus `isGlobal`. */
export type LimitersRootOptions = typeof LIMITERS_OPTIONS_TYPE;

/** What LimitersModule.forRootAsync takes. */
export type LimitersRootAsyncOptions = typeof LIMITERS_ASYNC_OPTIONS_TYPE & {
  /**
   * Names of limiters in the factory's options to make injectable with @InjectSemaphore /
   * @InjectTokenBucket. Nest fixes the providers before the factory runs, so they are
   * listed here; all of them are reachable through LimitersService either way.
   */
  injectable?: LimiterNames;
};
