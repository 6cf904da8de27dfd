import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import { Observable } from 'rxjs';
import { LimiterError } from '../core/errors';
import { limiterOfToken } from './inject.decorators';
import { LimitersService } from './limiters.service';
import { LIMITS_METADATA } from './limits.constants';
import { classLimitOnProvider, notLimitedNotStatic } from './limiters.messages';
import { Admission } from './pipeline/admission';
import { Refusal } from './pipeline/admission-outcome';
import type { Class, Method } from './decorators/limit-options.interface';
import { limitsOf, type MethodLimits } from './pipeline/declared-limits';
import { limitObservable, limitPromise, type GiveUp } from './pipeline/limited-call';
import { placeHandlerLimits } from './transport/handler-placement';

/** A decorated method of a provider or controller instance. */
interface LimitedMethod {
  wrapper: InstanceWrapper;
  instance: Record<string, unknown>;
  prototype: Record<string, unknown>;
  methodName: string;
  limits: MethodLimits;
}

/** Marks a method this explorer already wrapped, in case the module is set up more than once. */
const WRAPPED = Symbol('nestjs-limiters:wrapped');

/**
 * Handlers that Nest calls through interceptors although they live on providers: GraphQL
 * resolvers and WebSocket gateways. LimitsInterceptor limits them; wrapping them too
 * would limit each call twice.
 */
const HANDLER_METADATA = ['graphql:resolver_type', 'websockets:message_mapping'];
const HANDLER_CLASS_METADATA = ['graphql:resolver_type', 'graphql:resolver_name', 'websockets:is_gateway'];

/**
 * Finds limited methods of providers once at start-up and wraps them on the instance, so
 * the body runs inside the limits (through the one pipeline) with no wiring by the user.
 * Controllers, resolvers and gateways are left to LimitsInterceptor, so a refusal becomes
 * the transport's answer. At bootstrap it checks every limit of the app.
 */
@Injectable()
export class LimitsExplorer implements OnModuleInit, OnApplicationBootstrap {
  private readonly logger = new Logger('LimitersModule');

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly admission: Admission,
    private readonly limiters: LimitersService,
  ) {
    // Here, not in onModuleInit: Nest builds the routes, reading their guards and interceptors, before that.
    for (const wrapper of [...discovery.getControllers(), ...discovery.getProviders()]) {
      if (typeof wrapper.metatype === 'function') placeHandlerLimits(wrapper.metatype as Class, scanner);
    }
  }

  onModuleInit(): void {
    for (const { wrapper, instance, prototype, methodName, limits } of this.limitedMethods(
      this.discovery.getProviders(),
    )) {
      const owner = prototype.constructor as Class;
      if (isHandler(owner, prototype[methodName] as Method)) continue;
      // A plain service has no handlers: a limit on its class would have nothing to apply to.
      if (Reflect.hasOwnMetadata(LIMITS_METADATA, owner)) throw new LimiterError(classLimitOnProvider(owner.name));
      if (!wrapper.isDependencyTreeStatic()) this.logger.warn(notLimitedNotStatic(limits.owner, wrapper.name));
      else this.wrap(instance, prototype, methodName, limits);
    }
  }

  /**
   * Checks every limit of the app, on providers and on handlers, so that a bad one fails
   * the start rather than the method's first call. After every module's onModuleInit: one
   * may register a limiter with LimitersService there.
   */
  onApplicationBootstrap(): void {
    const classes = [...this.discovery.getProviders(), ...this.discovery.getControllers()];
    for (const wrapper of classes) this.checkInjected(wrapper);
    this.admission.checkAll([...this.limitedMethods(classes)].map((m) => m.limits));
  }

  /**
   * A class that injects a limiter nobody declared holds a stand-in (see
   * injectedLimiterProviders): fail the start, saying where to declare it.
   */
  private checkInjected(wrapper: InstanceWrapper): void {
    const metatype = wrapper.metatype as Class | undefined;
    if (typeof metatype !== 'function') return;
    const params: Array<{ param: unknown }> = Reflect.getMetadata('self:paramtypes', metatype) ?? [];
    const properties: Array<{ type: unknown }> = Reflect.getMetadata('self:properties_metadata', metatype) ?? [];
    for (const token of [...params.map((p) => p.param), ...properties.map((p) => p.type)]) {
      const limiter = limiterOfToken(token);
      if (limiter) this.limiters.registered(limiter.kind, limiter.name);
    }
  }

  private *limitedMethods(wrappers: InstanceWrapper[]): Generator<LimitedMethod> {
    for (const wrapper of wrappers) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      const prototype = instance && Object.getPrototypeOf(instance);
      if (!prototype) continue;
      for (const methodName of this.scanner.getAllMethodNames(prototype)) {
        const limits = limitsOf(prototype.constructor as Class, prototype[methodName] as Method, methodName);
        if (limits) yield { wrapper, instance, prototype, methodName, limits };
      }
    }
  }

  private wrap(instance: Record<string, unknown>, prototype: object, methodName: string, limits: MethodLimits): void {
    const original = instance[methodName] as ((...args: unknown[]) => unknown) & { [WRAPPED]?: true };
    if (original[WRAPPED]) return;
    const admission = this.admission;
    // A service method's caller gets the limiter's own error (MaxSleepExceededError,
    // RedisUnavailableError); LimitsExceptionFilter answers it if it reaches a handler.
    const enter = (args: unknown[], giveUp?: GiveUp) =>
      admission.enter(limits, { args, giveUp }).then(
        (admitted) => admitted.release,
        (error: unknown) => Promise.reject(error instanceof Refusal ? error.error : error),
      );
    // A limit is entered asynchronously, so a method gives back a Promise, unless it is
    // declared to return an Observable: then it still does, and limits its subscription.
    const returnsObservable = Reflect.getMetadata('design:returntype', prototype, methodName) === Observable;
    const limited = returnsObservable
      ? function (this: unknown, ...args: unknown[]) {
          return limitObservable(
            (giveUp) => enter(args, giveUp),
            () => original.apply(this, args) as Observable<unknown>,
          );
        }
      : function (this: unknown, ...args: unknown[]) {
          return limitPromise(
            () => enter(args),
            () => original.apply(this, args),
          );
        };
    instance[methodName] = Object.assign(limited, { [WRAPPED]: true as const });
  }
}

function isHandler(owner: Class, method: Method): boolean {
  return (
    HANDLER_METADATA.some((key) => Reflect.hasMetadata(key, method)) ||
    HANDLER_CLASS_METADATA.some((key) => Reflect.hasMetadata(key, owner))
  );
}
