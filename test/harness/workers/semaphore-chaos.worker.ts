/**
 * Chaos load on one semaphore: `callers` loops that acquire, hold a random while and
 * release, until SIGTERM (then waits are abandoned and held permits released) or until
 * the test SIGKILLs the process. Each step is printed as it happens, so the test can
 * rebuild every work interval across processes even for a worker it killed:
 *   "ev W <wait> <t>"  started waiting   "ev X <wait> <t>"  stopped waiting without a permit
 *   "ev A <permit> <t>" holds, work starts   "ev R <permit> <t>" work ends, release follows
 * Times are wall-clock ms (harness now(), aligned on Redis's clock), comparable across processes.
 */
import { randomUUID } from 'node:crypto';
// lib/core directly, not the package index: the Nest half is not needed in a worker (see core-limiters.ts).
import { MaxSleepExceededError, RedisUnavailableError } from '../../../lib/core/errors';
import type { Permit } from '../../../lib/core/permit';
import { SemaphoreLimiter, type SemaphoreOptions } from '../core-limiters';
import { connectTo, type RedisAddress } from '../redis-address';
import { runWorker, limiterOptions } from '../processes';
import { alignClock, now, sleep } from '../timing';

interface Args {
  redis: RedisAddress;
  name: string;
  capacity: number;
  expiry: number;
  callers: number;
  /** Shortest and longest hold, ms. */
  holdMs: [number, number];
  commandTimeout?: number;
}

// Pipes are written synchronously on Linux: a line printed before a SIGKILL reaches the test.
const emit = (event: string, id: string) => process.stdout.write(`ev ${event} ${id} ${now().toFixed(3)}\n`);

runWorker<Args>(async (args) => {
  const redis = connectTo(args.redis);
  redis.on('error', () => undefined);
  // Redis may already be down in some runs: then this process keeps its own clock.
  await alignClock(redis).catch(() => undefined);
  const semaphore = new SemaphoreLimiter(redis, limiterOptions('semaphore', args) as SemaphoreOptions);
  const stop = new AbortController();
  process.once('SIGTERM', () => stop.abort(new Error('stopping')));
  const counts = { held: 0, maxSleepExceeded: 0, unavailable: 0, lostLeases: 0, otherErrors: [] as string[] };

  const holdOnce = async (caller: number): Promise<void> => {
    // Half the callers wait forever: their queue entries last the longest (two lease periods).
    const maxSleep = caller % 2 === 0 ? 1_000 : Infinity;
    const wait = randomUUID();
    emit('W', wait);
    let permit: Permit;
    try {
      permit = await semaphore.acquire({ maxSleep, signal: stop.signal });
    } catch (error) {
      emit('X', wait);
      if (stop.signal.aborted) return;
      if (error instanceof MaxSleepExceededError) counts.maxSleepExceeded++;
      else if (error instanceof RedisUnavailableError) counts.unavailable++;
      else counts.otherErrors.push(String(error));
      return;
    }
    emit('A', permit.id);
    counts.held++;
    const [min, max] = args.holdMs;
    await sleep(min + Math.random() * (max - min));
    emit('R', permit.id);
    if (!(await permit.release().catch(() => false))) counts.lostLeases++;
  };

  const caller = async (index: number) => {
    while (!stop.signal.aborted) await holdOnce(index);
  };
  await Promise.all(Array.from({ length: args.callers }, (_, i) => caller(i)));
  await redis.quit().catch(() => redis.disconnect());
  return counts;
});
