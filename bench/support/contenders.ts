/**
 * Every library through its own public API, behind two shapes the scenarios share:
 * a concurrency limit (`run(work)`: hold a slot while work runs) and a rate limit
 * (`take()`: wait until admitted; `tryTake()`: answer at once).
 */
import { randomUUID } from 'node:crypto';
import Bottleneck from 'bottleneck';
import IORedis, { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { Semaphore as RedisSemaphore } from 'redis-semaphore';
import { hrnow, sleep } from './clock';
import { floorSemaphore } from './floor-semaphore';
import { lib } from './limiters';

export type SemaphoreContenderName = 'floor' | 'nestjs-limiters' | 'redis-semaphore' | 'bottleneck';
export type BucketContenderName = 'nestjs-limiters' | 'rate-limiter-flexible' | 'bottleneck';

export interface ConcurrencyLimit {
  run(work: () => Promise<void> | void): Promise<void>;
  close(): Promise<void>;
}

export interface RateLimit {
  /**
   * Resolves once admitted (sleeping or retrying as the library does). A library that
   * schedules admissions may resolve with the time it planned (machine-wide clock), so
   * that the scenario can tell its schedule from the timers that carry it out.
   */
  take(): Promise<number | void>;
  /** Admitted now or not; never waits. */
  tryTake(): Promise<boolean>;
  close(): Promise<void>;
}

/** Bottleneck takes the ioredis module itself; it makes its own two connections. */
function bottleneckConnection(url: string) {
  const { hostname, port } = new URL(url);
  return { datastore: 'ioredis' as const, Redis: IORedis, clientOptions: { host: hostname, port: Number(port) } };
}

export function semaphore(
  name: SemaphoreContenderName,
  redis: Redis,
  url: string,
  opts: { key: string; capacity: number },
): ConcurrencyLimit {
  switch (name) {
    case 'floor':
      return floorSemaphore(redis, opts);
    case 'nestjs-limiters': {
      const sem = new lib.SemaphoreLimiter(redis, { name: opts.key, capacity: opts.capacity, maxSleep: 120_000 });
      return { run: (work) => sem.run(async () => void (await work())), close: async () => {} };
    }
    case 'redis-semaphore':
      // Defaults: it polls every retryInterval (10 ms) while the semaphore is full.
      return {
        run: async (work) => {
          const s = new RedisSemaphore(redis, opts.key, opts.capacity, {
            acquireTimeout: 120_000,
            lockTimeout: 30_000,
          });
          await s.acquire();
          try {
            await work();
          } finally {
            await s.release();
          }
        },
        close: async () => {},
      };
    case 'bottleneck': {
      const limiter = new Bottleneck({
        id: opts.key,
        maxConcurrent: opts.capacity,
        clearDatastore: false,
        ...bottleneckConnection(url),
      });
      limiter.on('error', () => undefined);
      return {
        run: (work) => limiter.schedule(async () => void (await work())),
        close: () => limiter.disconnect(true),
      };
    }
  }
}

export interface BucketShape {
  /** Tokens held at most. */
  capacity: number;
  /** ms between refills of one token. */
  periodMs: number;
}

export function rateLimit(
  name: BucketContenderName,
  redis: Redis,
  url: string,
  opts: { key: string } & BucketShape,
): RateLimit {
  switch (name) {
    case 'nestjs-limiters': {
      const bucket = new lib.TokenBucketLimiter(redis, {
        name: opts.key,
        capacity: opts.capacity,
        refillFrequency: opts.periodMs,
        maxSleep: 120_000,
      });
      return {
        // take() is reserve() + a sleep: this is take() with the planned time kept.
        take: async () => {
          const { wait } = await bucket.reserve();
          const planned = hrnow() + wait;
          if (wait > 0) await sleep(wait);
          return planned;
        },
        tryTake: async () => (await bucket.tryTake()).allowed,
        close: async () => {},
      };
    }
    case 'rate-limiter-flexible': {
      // Its model is a fixed window: `points` per `duration` seconds. Same long-run rate.
      const points = Math.round(1000 / opts.periodMs);
      const limiter = new RateLimiterRedis({ storeClient: redis, keyPrefix: opts.key, points, duration: 1 });
      const tryTake = async () => {
        try {
          await limiter.consume('k');
          return true;
        } catch (res) {
          if (res instanceof RateLimiterRes) return false;
          throw res;
        }
      };
      return {
        tryTake,
        take: async () => {
          for (;;) {
            try {
              await limiter.consume('k');
              return;
            } catch (res) {
              if (!(res instanceof RateLimiterRes)) throw res;
              await sleep(res.msBeforeNext);
            }
          }
        },
        close: async () => {},
      };
    }
    case 'bottleneck': {
      // The reservoir as a token bucket: `capacity` to start, +1 every period, never above capacity.
      const limiter = new Bottleneck({
        id: opts.key,
        reservoir: opts.capacity,
        reservoirIncreaseInterval: opts.periodMs,
        reservoirIncreaseAmount: 1,
        reservoirIncreaseMaximum: opts.capacity,
        clearDatastore: false,
        ...bottleneckConnection(url),
      });
      limiter.on('error', () => undefined);
      const noop = async () => undefined;
      return {
        take: async () => void (await limiter.schedule(noop)),
        // Bottleneck has no call that answers without waiting: schedule() of a no-op.
        tryTake: async () => {
          await limiter.schedule(noop);
          return true;
        },
        close: () => limiter.disconnect(true),
      };
    }
  }
}

export const uniqueKey = (what: string) => `bench:${what}:${randomUUID().slice(0, 8)}`;
