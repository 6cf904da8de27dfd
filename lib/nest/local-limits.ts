import type { TokenBucketShape } from '../core/limiter-store';
import { SemaphoreLimiter } from '../core/semaphore-limiter';
import { TokenBucketLimiter } from '../core/token-bucket-limiter';
import { MemoryStore } from '../store/memory/memory-store';
import { LimiterCache, stableJson } from './limiter-cache';
import type { LimitersService } from './limiters.service';

type Limiter = SemaphoreLimiter | TokenBucketLimiter;

/** Most stand-ins kept, as for the limiters they stand in for (see LimiterCache). */
const MAX_STAND_INS = 10_000;

/**
 * The in-memory limiters whenRedisFails 'local' uses while Redis is away: for each Redis
 * limiter, one of the same kind, name, key and options in this process's memory, sized to
 * this process's share of the limit (see localShare). Kept for as long as the process
 * runs (bounded), so an outage that comes and goes keeps counting against one local state.
 */
export class LocalLimits {
  private readonly store = new MemoryStore();
  private readonly standIns = new LimiterCache<Limiter>(MAX_STAND_INS);

  constructor(
    private readonly limiters: LimitersService,
    private readonly instances: number,
  ) {}

  standIn<L extends Limiter>(limiter: L): L {
    const options = this.limiters.optionsOf(limiter);
    // Not made by the service (it always is in the pipeline): nothing to copy the options from.
    if (!options) return limiter;
    const local = { ...options, ...localShare(limiter, this.instances) };
    return this.standIns.getOrCreate(`${limiter.identity.kind} ${stableJson(local)}`, () =>
      limiter instanceof SemaphoreLimiter
        ? new SemaphoreLimiter(this.store, local as never)
        : new TokenBucketLimiter(this.store, local as never),
    ) as L;
  }
}

/**
 * One process's share of a limit shared by `instances` processes, never 0 and never above
 * the share: a semaphore's capacity divided and rounded down (at least 1); a bucket's
 * capacity likewise, and its rate (refillAmount per refillFrequency) divided by stretching
 * the period rather than rounding the amount, so 1 token every 100 ms over 3 instances is
 * 1 every 300 ms each, not 0 or 1 every 100 ms.
 */
export function localShare(limiter: Limiter, instances: number): Record<string, number> {
  const part = (n: number) => Math.max(1, Math.floor(n / instances));
  if (limiter instanceof SemaphoreLimiter) return { capacity: part(limiter.capacity) };
  const { capacity, refillAmount, refillFrequency }: TokenBucketShape = limiter.shape;
  const amount = part(refillAmount);
  return {
    capacity: part(capacity),
    refillAmount: amount,
    refillFrequency: Math.ceil((refillFrequency * instances * amount) / refillAmount),
  };
}
