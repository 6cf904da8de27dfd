/** A value that stops mattering at `expiresAt` (store clock ms), like a Redis key with a TTL. */
export interface Expiring {
  expiresAt: number;
}

/**
 * Limiter state by key, dropped once it no longer matters: at once when read after its
 * expiry, and by a sweep for keys nobody reads again, so names used once do not pile up.
 * The sweep timer runs only while the map holds something and never keeps the process alive.
 */
export class ExpiringMap<V extends Expiring> {
  private readonly entries = new Map<string, V>();
  private sweeper?: NodeJS.Timeout;

  constructor(
    private readonly clock: () => number,
    private readonly sweepEvery: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string, now: number): V | undefined {
    const value = this.entries.get(key);
    if (value && value.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return value;
  }

  set(key: string, value: V): void {
    this.entries.set(key, value);
    if (!this.sweeper) {
      this.sweeper = setInterval(() => this.sweep(), this.sweepEvery);
      this.sweeper.unref();
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  private sweep(): void {
    const now = this.clock();
    for (const [key, value] of this.entries) if (value.expiresAt <= now) this.entries.delete(key);
    if (this.entries.size === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }
}
