import type { FactoryProvider } from '@nestjs/common';
import type { LimitKind } from '../core/limit-kind';
import type { LimitersFeatureOptions } from './limiters-options.interface';
import type { LimitersService } from './limiters.service';
import { getSemaphoreToken, getTokenBucketToken, limiterToken } from './inject.decorators';

/**
 * The registry, exported by a module that is always global so forFeature modules find it
 * whether or not the app made LimitersModule global (as @nestjs/typeorm's core module).
 * Only LimitersModule itself re-exports it as LimitersService.
 */
export const LIMITERS_REGISTRY = 'LimitersService of LimitersModule.forRoot()';

/** Providers of limiters the root module's options declare; built by LimitersService at start-up. */
export function registeredLimiterProviders(names: {
  semaphores?: string[];
  tokenBuckets?: string[];
}): FactoryProvider[] {
  return [
    ...(names.semaphores ?? []).map((name) => ({
      provide: getSemaphoreToken(name),
      useFactory: (limiters: LimitersService) => limiters.getSemaphore(name),
      inject: [LIMITERS_REGISTRY],
    })),
    ...(names.tokenBuckets ?? []).map((name) => ({
      provide: getTokenBucketToken(name),
      useFactory: (limiters: LimitersService) => limiters.getTokenBucket(name),
      inject: [LIMITERS_REGISTRY],
    })),
  ];
}

/**
 * Providers of names injected somewhere (@InjectSemaphore / @InjectTokenBucket) that
 * neither the root nor a feature module declares. Nest would refuse to start with
 * "can't resolve dependencies" and a token; instead the name resolves to its limiter when
 * the options have it (forRootAsync without `injectable`), or to a stand-in that fails
 * every use, and LimitsExplorer fails the start if a class of the app injects one,
 * saying where to declare it. A name injected only by a class outside this app costs nothing.
 */
export function injectedLimiterProviders(names: Record<LimitKind, string[]>): FactoryProvider[] {
  return (Object.keys(names) as LimitKind[]).flatMap((kind) =>
    names[kind].map((name) => ({
      provide: limiterToken(kind, name),
      useFactory: (limiters: LimitersService) => limiters.registeredOrMissing(kind, name),
      inject: [LIMITERS_REGISTRY],
    })),
  );
}

/** Providers of limiters a feature module declares, registered into the app's one registry. */
export function featureLimiterProviders(feature: LimitersFeatureOptions): FactoryProvider[] {
  return [
    ...Object.entries(feature.semaphores ?? {}).map(([name, options]) => ({
      provide: getSemaphoreToken(name),
      useFactory: (limiters: LimitersService) => limiters.registerSemaphore(name, options),
      inject: [LIMITERS_REGISTRY],
    })),
    ...Object.entries(feature.tokenBuckets ?? {}).map(([name, options]) => ({
      provide: getTokenBucketToken(name),
      useFactory: (limiters: LimitersService) => limiters.registerTokenBucket(name, options),
      inject: [LIMITERS_REGISTRY],
    })),
  ];
}
