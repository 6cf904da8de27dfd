/**
 * Limiters made at run time (one per tenant, per API token...), reused for the same
 * name and options. Bounded, because such names can be unbounded: dropping the least
 * recently used limiter is safe, as all of its state lives in Redis and a new
 * instance with the same options picks it up, permits of the old one included.
 */
export class LimiterCache<T> {
  private readonly entries = new Map<string, T>();

  private readonly reorderFrom: number;

  constructor(private readonly maxSize: number) {
    this.reorderFrom = Math.floor(maxSize * 0.9);
  }

  getOrCreate(key: string, create: () => T): T {
    const found = this.entries.get(key);
    if (found !== undefined) {
      // Re-inserting moves the key to the end of the Map's order: the most recently used.
      // Only once the cache is nearly full, when the order decides what is dropped: this
      // runs for every limit of every call, and two Map writes a hit are most of its cost.
      if (this.entries.size >= this.reorderFrom) {
        this.entries.delete(key);
        this.entries.set(key, found);
      }
      return found;
    }
    const made = create();
    this.entries.set(key, made);
    if (this.entries.size > this.maxSize) this.entries.delete(this.entries.keys().next().value as string);
    return made;
  }

  get size(): number {
    return this.entries.size;
  }
}

/**
 * The same JSON for equal options whatever their key order. Non-finite numbers are
 * kept as text, as JSON would turn maxSleep: Infinity into null. `mapValue` may stand in
 * for values JSON drops (functions).
 */
export function stableJson(value: unknown, mapValue: (v: unknown) => unknown = (v) => v): string {
  return JSON.stringify(value, (_key, raw: unknown) => {
    const v = mapValue(raw);
    if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}
