import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { MemoryStore } from '../store/memory/memory-store';
import { connectionFor, type RedisClientLike } from '../store/redis/clients/connection-for';
import { isIoredis } from '../store/redis/clients/ioredis';
import type { ResolvedLimitersOptions } from './limiters-options.interface';
import { LIMITERS_OPTIONS } from './limiters-options.provider';
import { MEMORY_STORE_WARNING, redisConnectionError, redisConnectionRecovered } from './limiters.messages';
import { LimitersService } from './limiters.service';
import { warnIfRedisEvicts } from './redis-policy-warning';
import { closeRedis } from './resolve-module-options';

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
    // Connecting now shows a wrong address in the start-up log, not at the first request.
    // A failure is logged by reportConnection and retried by ioredis. (A connection the
    // module makes is an ioredis one; the app connects its own.)
    if (ownsRedis && isIoredis(redis) && redis.status === 'wait') redis.connect().catch(() => undefined);
    warnIfRedisEvicts(redis, this.logger);
  }

  async onApplicationShutdown(): Promise<void> {
    const { redis, ownsRedis } = this.options;
    this.stopReporting();
    // Every wait and permit goes back while the connection is still there to take them.
    await this.limiters.close();
    if (ownsRedis && isIoredis(redis!)) await closeRedis(redis);
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
