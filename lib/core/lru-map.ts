/**
 * A Map of at most `maxSize` entries that drops the least recently used one to make room.
 * For what a process keeps per limiter or per caller key, whose number has no bound of its
 * own (one per tenant, per API token): memory stays bounded however many callers come.
 */
export class LruMap<K, V> {
  private readonly entries = new Map<K, V>();
  private readonly reorderFrom: number;

  constructor(private readonly maxSize: number) {
    this.reorderFrom = Math.floor(maxSize * 0.9);
  }

  get(key: K): V | undefined {
    const found = this.entries.get(key);
    // Re-inserting moves the key to the end of the Map's order: the most recently used.
    // Only once the map is nearly full, when the order decides what is dropped: this runs
    // on every limited call, and two Map writes a hit are most of what a hit costs.
    if (found !== undefined && this.entries.size >= this.reorderFrom) {
      this.entries.delete(key);
      this.entries.set(key, found);
    }
    return found;
  }

  /** Stores `value` as the most recently used; returns the entry dropped to make room, if any. */
  set(key: K, value: V): V | undefined {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size <= this.maxSize) return undefined;
    const [oldestKey, oldest] = this.entries.entries().next().value as [K, V];
    this.entries.delete(oldestKey);
    return oldest;
  }

  /** The entry of `key`, made by `create` if there is none. */
  getOrCreate(key: K, create: () => V): V {
    const found = this.get(key);
    if (found !== undefined) return found;
    const made = create();
    this.set(key, made);
    return made;
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
