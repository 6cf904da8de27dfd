import { Module, type DynamicModule } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import type { LimitKind } from '../core/limit-kind';
import { featureNames, injectedNames } from './inject.decorators';
import { LimitersCoreModule } from './limiters-core.module';
import type { LimitersFeatureOptions } from './limiters-options.interface';
import {
  ConfigurableLimitersModule,
  type LimitersRootAsyncOptions,
  type LimitersRootOptions,
} from './limiters.module-definition';
import { LimitersService } from './limiters.service';
import {
  featureLimiterProviders,
  injectedLimiterProviders,
  LIMITERS_REGISTRY,
  registeredLimiterProviders,
} from './limiter.providers';
import { limitsExports, limitsProviders } from './limits.providers';

/**
 * `LimitersModule.forRoot(options)` / `forRootAsync(...)` once in the root module;
 * `LimitersModule.forFeature({ semaphores, tokenBuckets })` in feature modules.
 */
/** Names injected so far that neither the root's names nor a feature module declare (see injectedNames). */
function undeclared(names: { semaphores?: string[]; tokenBuckets?: string[] }): Record<LimitKind, string[]> {
  const left = (kind: LimitKind, declared: string[] = []) =>
    [...injectedNames[kind]].filter((n) => !featureNames[kind].has(n) && !declared.includes(n));
  return { semaphore: left('semaphore', names.semaphores), 'token-bucket': left('token-bucket', names.tokenBuckets) };
}

@Module({})
export class LimitersModule extends ConfigurableLimitersModule {
  static forRoot(options: LimitersRootOptions): DynamicModule {
    return LimitersModule.withRegistry(super.forRoot(options), {
      semaphores: Object.keys(options.semaphores ?? {}),
      tokenBuckets: Object.keys(options.tokenBuckets ?? {}),
    });
  }

  static forRootAsync(options: LimitersRootAsyncOptions): DynamicModule {
    const { injectable = {}, ...asyncOptions } = options;
    return LimitersModule.withRegistry(super.forRootAsync(asyncOptions), injectable);
  }

  /** Declares named limiters of a feature module, injectable there with @InjectSemaphore / @InjectTokenBucket. */
  static forFeature(feature: LimitersFeatureOptions): DynamicModule {
    for (const name of Object.keys(feature.semaphores ?? {})) featureNames.semaphore.add(name);
    for (const name of Object.keys(feature.tokenBuckets ?? {})) featureNames['token-bucket'].add(name);
    const providers = featureLimiterProviders(feature);
    return { module: LimitersModule, providers, exports: providers.map((p) => p.provide) };
  }

  /** Moves the options providers the builder made into the global core; see LimitersCoreModule. */
  private static withRegistry(
    definition: DynamicModule,
    names: { semaphores?: string[]; tokenBuckets?: string[] },
  ): DynamicModule {
    const core: DynamicModule = {
      module: LimitersCoreModule,
      global: true,
      imports: [...(definition.imports ?? []), DiscoveryModule],
      providers: [
        ...(definition.providers ?? []),
        ...limitsProviders,
        { provide: LIMITERS_REGISTRY, useExisting: LimitersService },
      ],
      exports: [LIMITERS_REGISTRY, ...limitsExports],
    };
    const named = [...registeredLimiterProviders(names), ...injectedLimiterProviders(undeclared(names))];
    return {
      module: LimitersModule,
      global: definition.global,
      imports: [core],
      providers: [{ provide: LimitersService, useExisting: LIMITERS_REGISTRY }, ...named],
      exports: [LimitersService, ...named.map((p) => p.provide)],
    };
  }
}
