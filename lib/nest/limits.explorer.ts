import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import { Observable } from 'rxjs';
import { LimitGate } from './limit-gate';
import { limitObservable, limitPromise } from './limited-call';
import { readMethodLimits, type MethodLimits } from './method-limits';

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
 * Finds @Semaphore / @TokenBucket methods of providers once at start-up and wraps them
 * on the instance, so the body runs inside the limits with no wiring by the user.
 * Controllers are left alone: LimitsInterceptor limits their handlers, so a refusal
 * becomes the right HTTP answer.
 */
@Injectable()
export class LimitsExplorer implements OnModuleInit, OnApplicationBootstrap {
  private readonly logger = new Logger('LimitersModule');

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly gate: LimitGate,
  ) {}

  onModuleInit(): void {
    for (const { wrapper, instance, prototype, methodName, limits } of this.limitedMethods(this.discovery.getProviders())) {
      if (!wrapper.isDependencyTreeStatic()) this.warnNotStatic(wrapper, limits);
      else this.wrap(instance, prototype, methodName, limits);
    }
  }

  /**
   * Checks every decorated method's limits, on providers and on controllers (limited per
   * request by LimitsInterceptor), so that a bad one fails the start rather than the
   * method's first call. After every module's onModuleInit: one may register a limiter
   * with LimitersService there.
   */
  onApplicationBootstrap(): void {
    const classes = [...this.discovery.getProviders(), ...this.discovery.getControllers()];
    for (const { limits } of this.limitedMethods(classes)) this.gate.check(limits);
  }

  private *limitedMethods(wrappers: InstanceWrapper[]): Generator<LimitedMethod> {
    for (const wrapper of wrappers) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      const prototype = instance && Object.getPrototypeOf(instance);
      if (!prototype) continue;
      for (const methodName of this.scanner.getAllMethodNames(prototype)) {
        const limits = readMethodLimits(prototype[methodName], prototype.constructor.name, methodName);
        if (limits) yield { wrapper, instance, prototype, methodName, limits };
      }
    }
  }

  private wrap(instance: Record<string, unknown>, prototype: object, methodName: string, limits: MethodLimits): void {
    const original = instance[methodName] as ((...args: unknown[]) => unknown) & { [WRAPPED]?: true };
    if (original[WRAPPED]) return;
    const gate = this.gate;
    // A limit is entered asynchronously, so a method gives back a Promise, unless it is
    // declared to return an Observable: then it still does, and limits its subscription.
    const returnsObservable = Reflect.getMetadata('design:returntype', prototype, methodName) === Observable;
    const limited = returnsObservable
      ? function (this: unknown, ...args: unknown[]) {
          return limitObservable(
            (giveUp) => gate.enter(limits, args, giveUp),
            () => original.apply(this, args) as Observable<unknown>,
          );
        }
      : function (this: unknown, ...args: unknown[]) {
          return limitPromise(() => gate.enter(limits, args), () => original.apply(this, args));
        };
    instance[methodName] = Object.assign(limited, { [WRAPPED]: true as const });
  }

  private warnNotStatic(wrapper: InstanceWrapper, limits: MethodLimits): void {
    this.logger.warn(
      `${limits.owner} is not limited: ${wrapper.name} is request-scoped or transient, and limits are ` +
        'only applied to singleton providers. Put the limit on a singleton service it calls.',
    );
  }
}
