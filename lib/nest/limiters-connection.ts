import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { MemoryStore } from '../store/memory/memory-store';
import { connectionFor, type RedisClientLike } from '../store/redis/clients/connection-for';
import { isIoredis, type IoredisClient } from '../store/redis/clients/ioredis';
import { RedisStore } from '../store/redis/redis-store';
import type { ResolvedLimitersOptions } from './limiters-options.interface';
import { LIMITERS_OPTIONS } from './limiters-options.provider';
import {
  breakerClosed,
  breakerOpened,
  MEMORY_STORE_WARNING,
  redisConnectionError,
  redisConnectionRecovered,
} from './limiters.messages';
import { LimitersService } from './limiters.service';
import { warnIfRedisEvicts } from './redis-policy-warning';
import { closeRedis } from './resolve-module-options';

/** Between an unasked-for end of the module's own connection and connecting it again. */
const RECONNECT_AFTER_END_MS = 200;

/**
 * The module's side of the Redis connection: connects one it made at start, says once when
 * a connection (made here or passed in) is lost and once when it is back, and at shutdown
 * gives every wait and permit back before closing a connection it made.
 */
@Injectable()
export class LimitersConnection implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('LimitersModule');
  /** Takes the listeners off again: a client the app passed in outlives this module. */
  private stopReporting = () => undefined as void;
  private shuttingDown = false;
  private stopReportingBreakers = () => undefined as void;

  constructor(
    @Inject(LIMITERS_OPTIONS) private readonly options: ResolvedLimitersOptions,
    private readonly limiters: LimitersService,
  ) {}

  onModuleInit(): void {
    const { store, redis, ownsRedis } = this.options;
    // Said at every start: an app scaled to N instances silently admits N times its limits.
    if (store instanceof MemoryStore) this.logger.warn(MEMORY_STORE_WARNING);
    if (!redis) return;
    this.reportConnection(redis);
    if (store instanceof RedisStore) this.reportBreakers(store);
    // A connection the module makes is an ioredis one; the app connects its own.
    if (ownsRedis && isIoredis(redis)) {
      if ((redis as Redis).options?.sentinels) this.keepConnected(redis);
      // Connecting now shows a wrong address in the start-up log, not at the first request.
      // A failure is logged by reportConnection and retried by ioredis.
      if (redis.status === 'wait') redis.connect().catch(() => undefined);
    }
    warnIfRedisEvicts(redis, this.logger);
  }

  async onApplicationShutdown(): Promise<void> {
    const { redis, ownsRedis } = this.options;
    this.shuttingDown = true;
    this.stopReporting();
    this.stopReportingBreakers();
    // Every wait and permit goes back while the connection is still there to take them.
    await this.limiters.close();
    if (ownsRedis && isIoredis(redis!)) await closeRedis(redis);
  }

  /**
   * ioredis can end a connection for good without being asked (a Sentinel client with
   * failoverDetector that sees +switch-master while it reconnects after its master crashed),
   * and every later call would fail. A Sentinel connection the module made is connected
   * again until shutdown (others end only when their retryStrategy says so).
   */
  private keepConnected(redis: IoredisClient): void {
    const reconnect = () => {
      // Not from within ioredis's own 'end': it flushes its queues right after emitting it.
      setTimeout(
        () => redis.status === 'end' && !this.shuttingDown && redis.connect().catch(() => undefined),
        RECONNECT_AFTER_END_MS,
      ).unref();
    };
    redis.on('end', reconnect);
  }

  /** Each breaker of the module's client says once when it opens and once when it closes. */
  private reportBreakers(store: RedisStore): void {
    this.stopReportingBreakers = store.breakers.onChange((change) => {
      if (change.state === 'open') this.logger.warn(breakerOpened(change.server, change.failures, change.reason));
      else this.logger.log(breakerClosed(change.server, change.openMs));
    });
  }

  /** One warning per outage and one line when it ends: the client reports every failed reconnection attempt. */
  private reportConnection(redis: RedisClientLike): void {
    let down = false;
    const lost = (error: Error) => {
      if (!down) this.logger.warn(redisConnectionError(error.message, this.options.ownsRedis));
      down = true;
    };
    const back = () => {
      if (down) this.logger.log(redisConnectionRecovered());
      down = false;
    };
    this.stopReporting = connectionFor(redis)!.watchConnection(lost, back);
  }
}
