import { Inject, Injectable } from '@nestjs/common';
import { InvalidOptionError } from '../../core/errors';
import { COMMON_DEFAULTS } from '../../core/options';
import { MemoryStore } from '../../store/memory/memory-store';
import { probeRedis } from '../../store/redis/health-probe';
import type { ResolvedLimitersOptions } from '../limiters-options.interface';
import { LIMITERS_OPTIONS } from '../limiters-options.provider';
import { HEALTH_STORE_NOT_PROBED, healthTimeoutRequirement } from '../limiters.messages';

/** Options of LimitersHealthIndicator.isHealthy. */
export interface LimitersHealthOptions {
  /** Longest wait for each Redis master to answer the probe, in ms; default 1000. */
  timeout?: number;
}

/**
 * A health indicator result, in the shape `@nestjs/terminus` reads (its HealthIndicatorResult):
 * `{ [key]: { status, ...details } }`. Declared here so that the package's types never name
 * terminus, an optional peer an app without health checks does not install.
 */
export type LimitersHealthResult<Key extends string = string> = Record<
  Key,
  { status: 'up' | 'down'; message?: string; store?: 'redis' | 'memory' | 'custom'; masters?: number }
>;

const DEFAULT_TIMEOUT_MS = 1_000;

/**
 * The limiters' health for `@nestjs/terminus`: up when every Redis master the limiters use
 * runs a limiter script (TIME, no keys) within the timeout, down with the cause otherwise.
 * Provided by LimitersModule everywhere in the app; it loads nothing of terminus, so apps
 * without health checks need not install it.
 *
 * It builds its result itself rather than through terminus's HealthIndicatorService: that
 * service only composes `{ [key]: { ...data, status } }`, and injecting it would make
 * terminus's class a token this module loads at start-up.
 */
@Injectable()
export class LimitersHealthIndicator {
  constructor(@Inject(LIMITERS_OPTIONS) private readonly options: ResolvedLimitersOptions) {}

  /**
   * `{ [key]: { status: 'up', store: 'redis', masters } }` when every master answered, or
   * `{ [key]: { status: 'down', store: 'redis', message } }` saying which one did not and why
   * (no answer within the timeout, the connection lost, or what Redis refused). With the
   * in-memory store always up, `store: 'memory'`. Never says a caller's key.
   */
  async isHealthy<const Key extends string>(
    key: Key,
    options: LimitersHealthOptions = {},
  ): Promise<LimitersHealthResult<Key>> {
    const timeout = options.timeout ?? DEFAULT_TIMEOUT_MS;
    if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout < 1) {
      throw new InvalidOptionError('timeout', undefined, healthTimeoutRequirement(), timeout);
    }
    const { redis, store } = this.options;
    if (!redis) {
      const details =
        store instanceof MemoryStore
          ? { store: 'memory' as const }
          : { store: 'custom' as const, message: HEALTH_STORE_NOT_PROBED };
      return result(key, { status: 'up', ...details });
    }
    const outcome = await probeRedis(redis, this.options.keyPrefix ?? COMMON_DEFAULTS.keyPrefix, timeout);
    return outcome.ok
      ? result(key, { status: 'up', store: 'redis', masters: outcome.masters })
      : result(key, { status: 'down', store: 'redis', message: outcome.reason });
  }
}

function result<Key extends string>(key: Key, details: LimitersHealthResult[string]): LimitersHealthResult<Key> {
  return { [key]: details } as LimitersHealthResult<Key>;
}
