import type { LoggerService } from '@nestjs/common';
import { checkRedisPolicy } from '../store/redis/server-policy';
import type { RedisClientLike } from '../store/redis/clients/connection-for';
import { evictingRedis, redisPolicyUnknown } from './limiters.messages';

/**
 * Warns once if the Redis evicts keys. Never awaited and never throws: the start is not
 * held up for it, nor failed by it. CONFIG is often denied (ACLs, managed Redis), which
 * says nothing about the policy: that is only worth a debug line.
 */
export function warnIfRedisEvicts(redis: RedisClientLike, logger: LoggerService): void {
  checkRedisPolicy(redis).then(
    (evicting) => {
      if (evicting.length > 0) logger.warn(evictingRedis(evicting));
    },
    (error: unknown) => logger.debug?.(redisPolicyUnknown(error instanceof Error ? error.message : String(error))),
  );
}
