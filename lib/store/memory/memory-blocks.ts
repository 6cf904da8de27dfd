import { ExpiringMap, type Expiring } from './expiring-map';

/**
 * The blocks of one kind's limiters (option blockDuration), as lua/includes/block.lua keeps
 * them in Redis: an entry exists only while its block lasts, and a refusal during a block
 * does not lengthen it. Store clock ms, as the map's.
 */
export class MemoryBlocks {
  private readonly blocks: ExpiringMap<Expiring>;

  constructor(clock: () => number, sweepEvery: number) {
    this.blocks = new ExpiringMap(clock, sweepEvery);
  }

  /** When the block of `key` ends; 0 when it is not blocked. */
  until(key: string, now: number): number {
    return this.blocks.get(key, now)?.expiresAt ?? 0;
  }

  /** Blocks `key` for `ms` from `now`; returns when the block ends. */
  start(key: string, now: number, ms: number): number {
    this.blocks.set(key, { expiresAt: now + ms });
    return now + ms;
  }

  get size(): number {
    return this.blocks.size;
  }
}
