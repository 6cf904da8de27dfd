import type { FactoryProvider } from '@nestjs/common';
import type { LimitKind } from '../core/limit-kind';
import { LIMIT_KINDS } from './kinds/limit-kinds';
import type { LimiterNames, LimitersFeatureOptions } from './limiters-options.interface';
import type { LimitersService } from './limiters.service';
import { limiterToken } from './inject.decorators';

/**
 * The registry, exported by a module that is always global so forFeature modules find it
 * whether or not the app made LimitersModule global (as @nestjs/typeorm's core module).
 * Only LimitersModule itself re-exports it as LimitersService.
 */
export const LIMITERS_REGISTRY = 'LimitersService of LimitersModule.forRoot()';

/** Providers of limiters the root module's options declare; built by LimitersService at start-up. */
export function registeredLimiterProviders(names: LimiterNames): FactoryProvider[] {
  return LIMIT_KINDS.flatMap(({ kind, words }) =>
    (names[words.optionsKey] ?? []).map((name) => provider(kind, name, (limiters) => limiters.registered(kind, name))),
  );
}

/**
 * Providers of names injected somewhere (@InjectSemaphore / @InjectTokenBucket) that
 * neither the root nor a feature module declares. Nest would refuse to start with
 * "can't resolve dependencies" and a token; instead the name resolves to its limiter when
 * the options have it (forRootAsync without `injectable`), or to a stand-in that fails
 * every use, and LimitsExplorer fails the start if a class of the app injects one,
 * saying where to declare it. A name injected only by a class outside this app costs nothing.
 */
export function injectedLimiterProviders(names: Map<LimitKind, string[]>): FactoryProvider[] {
  return [...names].flatMap(([kind, injected]) =>
    injected.map((name) => provider(kind, name, (limiters) => limiters.registeredOrMissing(kind, name))),
  );
}

/** Providers of limiters a feature module declares, registered into the app's one registry. */
export function featureLimiterProviders(feature: LimitersFeatureOptions): FactoryProvider[] {
  return LIMIT_KINDS.flatMap(({ kind, words }) =>
    Object.entries(feature[words.optionsKey] ?? {}).map(([name, options]) =>
      provider(kind, name, (limiters) => limiters.registerAs(kind, name, options)),
    ),
  );
}

function provider(kind: LimitKind, name: string, make: (limiters: LimitersService) => unknown): FactoryProvider {
  return { provide: limiterToken(kind, name), useFactory: make, inject: [LIMITERS_REGISTRY] };
}
