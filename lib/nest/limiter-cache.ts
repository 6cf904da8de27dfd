import { LruMap } from '../core/lru-map';

/**
 * Limiters made at run time (one per tenant, per API token...), reused for the same
 * name and options. Bounded, because such names can be unbounded: dropping the least
 * recently used limiter is safe, as all of its state lives in Redis and a new
 * instance with the same options picks it up, permits of the old one included.
 */
export class LimiterCache<T> extends LruMap<string, T> {}

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
