import type { RedisClient } from './redis-targets';
import { alignClock, sleep } from './timing';

/**
 * Holds each worker process until `parties` of them have arrived. Spawning a process
 * takes seconds on a busy machine, and tests that measure a shared rate need every
 * process competing from the start. Aligns each process's clock (timing.now) on Redis's,
 * so the times workers report compare across processes.
 */
export async function startTogether(redis: RedisClient, barrier: { key: string; parties: number }): Promise<void> {
  await redis.incr(barrier.key);
  await redis.pexpire(barrier.key, 60_000);
  await alignClock(redis);
  while (Number(await redis.get(barrier.key)) < barrier.parties) await sleep(2);
}
