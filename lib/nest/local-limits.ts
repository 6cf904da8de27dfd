import { MemoryStore } from '../store/memory/memory-store';
import type { Limiter, LimitKindDescriptor } from './kinds/limit-kind.descriptor';
import { kindOf } from './kinds/limit-kinds';
import { LimiterCache, stableJson } from './limiter-cache';
import type { LimitersService } from './limiters.service';

/** Most stand-ins kept, as for the limiters they stand in for (see LimiterCache). */
const MAX_STAND_INS = 10_000;

/**
 * The in-memory limiters whenRedisFails 'local' uses while Redis is away: for each Redis
 * limiter, one of the same kind, name, key and options in this process's memory, sized to
 * this process's share of the limit (its kind's localShare). Kept for as long as the
 * process runs (bounded), so an outage that comes and goes keeps counting against one local state.
 */
export class LocalLimits {
  private readonly store = new MemoryStore();
  private readonly standIns = new LimiterCache<Limiter>(MAX_STAND_INS);

  constructor(
    private readonly limiters: LimitersService,
    private readonly instances: number,
  ) {}

  standIn(type: LimitKindDescriptor, limiter: Limiter): Limiter {
    const options = this.limiters.optionsOf(limiter);
    // Not made by the service (it always is in the pipeline): nothing to copy the options from.
    if (!options) return limiter;
    const local = { ...options, ...type.localShare(limiter, this.instances) };
    return this.standIns.getOrCreate(`${type.kind} ${stableJson(local)}`, () => type.build(this.store, local));
  }
}

/** One process's share of `limiter`'s limit shared by `instances` processes (see each kind's localShare). */
export function localShare(limiter: Limiter, instances: number): Record<string, number> {
  return kindOf(limiter.identity.kind).localShare(limiter, instances);
}
