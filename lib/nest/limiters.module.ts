import { Module, type DynamicModule } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import type { LimitKind } from '../core/limit-kind';
import { featureNames, injectedNames } from './inject.decorators';
import { LIMIT_KINDS } from './kinds/limit-kinds';
import { LimitersCoreModule } from './limiters-core.module';
import type { LimiterNames, LimitersFeatureOptions } from './limiters-options.interface';
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
function undeclared(names: LimiterNames): Map<LimitKind, string[]> {
  return new Map(
    LIMIT_KINDS.map(({ kind, words }) => {
      const declared = names[words.optionsKey] ?? [];
      const left = [...injectedNames.of(kind)].filter((n) => !featureNames.of(kind).has(n) && !declared.includes(n));
      return [kind, left];
    }),
  );
}

/** The names a root or feature module's options declare, by kind. */
function namesOf(options: LimitersFeatureOptions): LimiterNames {
  return Object.fromEntries(
    LIMIT_KINDS.map(({ words }) => [words.optionsKey, Object.keys(options[words.optionsKey] ?? {})]),
  );
}

@Module({})
export class LimitersModule extends ConfigurableLimitersModule {
  static forRoot(options: LimitersRootOptions): DynamicModule {
    return LimitersModule.withRegistry(super.forRoot(options), namesOf(options));
  }

  static forRootAsync(options: LimitersRootAsyncOptions): DynamicModule {
    const { injectable = {}, ...asyncOptions } = options;
    return LimitersModule.withRegistry(super.forRootAsync(asyncOptions), injectable);
  }

  /** Declares named limiters of a feature module, injectable there with @InjectSemaphore / @InjectTokenBucket. */
  static forFeature(feature: LimitersFeatureOptions): DynamicModule {
    for (const { kind, words } of LIMIT_KINDS) {
      for (const name of Object.keys(feature[words.optionsKey] ?? {})) featureNames.of(kind).add(name);
    }
    const providers = featureLimiterProviders(feature);
    return { module: LimitersModule, providers, exports: providers.map((p) => p.provide) };
  }

  /** Moves the options providers the builder made into the global core; see LimitersCoreModule. */
  private static withRegistry(definition: DynamicModule, names: LimiterNames): DynamicModule {
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
