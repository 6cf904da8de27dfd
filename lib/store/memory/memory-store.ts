import type {
  FixedWindowBackend,
  LimiterRef,
  LimiterStore,
  SemaphoreBackend,
  SlidingWindowBackend,
  TokenBucketBackend,
} from '../../core/limiter-store';
import { ExpiringMap } from './expiring-map';
import { GrantAnnouncer } from './grant-announcer';
import { MemoryBlocks } from './memory-blocks';
import { MemoryFixedWindow, type WindowState } from './memory-fixed-window';
import { MemorySlidingWindow, type CountsState } from './memory-sliding-window';
import { MemorySemaphore, type SemaphoreState } from './memory-semaphore';
import { MemoryTokenBucket, type BucketState } from './memory-token-bucket';

/** How often state nobody reads again is looked at, to drop what no longer matters. */
const SWEEP_EVERY_MS = 1_000;

/**
 * Limiter state in this process's memory, with the semantics of RedisStore: each
 * operation is a port of its Lua script, run without a pause, so it is as atomic here
 * as a script is in Redis. Limits hold within this one process only, and only among
 * limiters built on the same MemoryStore instance: for tests without Redis and for
 * single-process apps.
 */
export class MemoryStore implements LimiterStore {
  /**
   * The store clock: whole ms since 1970, like the Redis TIME the scripts read, so replies
   * are the same whole numbers and calendar windows fall where they do there. Counted from
   * the process's start on the monotonic clock, so it never jumps when the wall clock is set.
   */
  private readonly clock = () => Math.floor(performance.timeOrigin + performance.now());
  private readonly semaphores = new ExpiringMap<SemaphoreState>(this.clock, SWEEP_EVERY_MS);
  private readonly buckets = new ExpiringMap<BucketState>(this.clock, SWEEP_EVERY_MS);
  private readonly bucketBlocks = new MemoryBlocks(this.clock, SWEEP_EVERY_MS);
  private readonly windows = new ExpiringMap<WindowState>(this.clock, SWEEP_EVERY_MS);
  private readonly windowBlocks = new MemoryBlocks(this.clock, SWEEP_EVERY_MS);
  private readonly slidingWindows = new ExpiringMap<CountsState>(this.clock, SWEEP_EVERY_MS);
  private readonly slidingBlocks = new MemoryBlocks(this.clock, SWEEP_EVERY_MS);
  private readonly grants = new GrantAnnouncer();
  /** One counter for every semaphore here: strictly increasing for each name, as it is for all. */
  private lastToken = 0n;
  private readonly nextToken = () => ++this.lastToken;

  /** How many limiters (and blocks) have state here: idle ones count until the next sweep drops them. */
  get size(): number {
    return (
      this.semaphores.size +
      this.buckets.size +
      this.bucketBlocks.size +
      this.windows.size +
      this.windowBlocks.size +
      this.slidingWindows.size +
      this.slidingBlocks.size
    );
  }

  semaphore(ref: LimiterRef): SemaphoreBackend {
    return new MemorySemaphore(
      { states: this.semaphores, clock: this.clock, grants: this.grants, nextToken: this.nextToken },
      stateKey(ref),
    );
  }

  tokenBucket(ref: LimiterRef): TokenBucketBackend {
    return new MemoryTokenBucket(
      { buckets: this.buckets, blocks: this.bucketBlocks, clock: this.clock },
      stateKey(ref),
    );
  }

  fixedWindow(ref: LimiterRef): FixedWindowBackend {
    return new MemoryFixedWindow(
      { windows: this.windows, blocks: this.windowBlocks, clock: this.clock },
      stateKey(ref),
    );
  }

  slidingWindow(ref: LimiterRef): SlidingWindowBackend {
    return new MemorySlidingWindow(
      { windows: this.slidingWindows, blocks: this.slidingBlocks, clock: this.clock },
      stateKey(ref),
    );
  }
}

/**
 * Prefix, name and key kept apart whatever characters they hold, a keyed limit apart from
 * every plain name (each kind lives in maps of its own).
 */
function stateKey(ref: LimiterRef): string {
  return JSON.stringify([ref.keyPrefix, ref.name, ref.keyId ?? null]);
}
