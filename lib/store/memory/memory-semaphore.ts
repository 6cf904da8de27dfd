import type {
  AcquireReply,
  CancelReply,
  Grant,
  Listening,
  SemaphoreBackend,
  SemaphoreSnapshot,
} from '../../core/limiter-store';
import type { ExpiringMap } from './expiring-map';
import type { GrantAnnouncer } from './grant-announcer';

/** A queued waiter: the Lua "deadline:leaseMs:{capacity,permits,how}channel" entry, the channel being the store itself. */
interface Waiter {
  deadline: number;
  lease: number;
  /** The capacity of the limiter that queued it: it gets in only while its permits fit within it. */
  capacity: number;
  permits: number;
}

/** A holder: its lease end and the permits it holds. */
interface Holder {
  deadline: number;
  permits: number;
}

/**
 * One semaphore as the Lua scripts keep it in Redis: holders (id -> lease deadline) and
 * the waiters' queue. Map order is arrival order, and setting an id already queued keeps
 * its place, as the arrival number in the queue zset does.
 */
export interface SemaphoreState {
  holders: Map<string, Holder>;
  /** The permits all holders hold: kept as they come and go, as the Lua scripts keep ZCARD + weights '#'. */
  held: number;
  queue: Map<string, Waiter>;
  /** The latest lease or waiter deadline ever stored: past it, nothing in here matters. */
  expiresAt: number;
}

export interface SemaphoreContext {
  states: ExpiringMap<SemaphoreState>;
  clock: () => number;
  grants: GrantAnnouncer;
  /** The store's fencing token counter (see lua/includes/next-number.lua). */
  nextToken: () => bigint;
}

/** One semaphore's operations, each a port of its script in lua/ (semaphore-*.lua). */
export class MemorySemaphore implements SemaphoreBackend {
  constructor(
    private readonly context: SemaphoreContext,
    private readonly key: string,
  ) {}

  async acquire({
    id,
    capacity,
    leaseMs,
    waitMs,
    permits = 1,
  }: Parameters<SemaphoreBackend['acquire']>[0]): Promise<AcquireReply> {
    return this.change((state, now): AcquireReply => {
      // Permits above this caller's capacity are not its to hand out (see semaphore-acquire-5.lua).
      this.reapAndGrant(state, now, id, capacity);
      const { nextToken } = this.context;
      // Room left over after the whole queue was served means nobody older is waiting; one
      // that holds already (granted while it waited) is renewed, as the script does.
      if ((state.held + permits <= capacity && state.queue.size === 0) || state.holders.has(id)) {
        hold(state, id, permits, now + leaseMs);
        return { status: 'held', leaseLeft: leaseMs, fencingToken: nextToken() };
      }
      const retryIn = earliestLeaseEnd(state, now);
      if (waitMs <= 0) {
        state.queue.delete(id);
        return { status: 'refused', retryIn, now };
      }
      state.queue.set(id, { deadline: now + waitMs, lease: leaseMs, capacity, permits });
      state.expiresAt = Math.max(state.expiresAt, now + waitMs);
      return { status: 'queued', retryIn, now };
    });
  }

  /** No `capacity` argument: every waiter here records its own (Redis keeps it for entries from before they did). */
  async release(id: string): Promise<boolean> {
    return this.change((state, now) => {
      const removed = drop(state, id);
      this.reapAndGrant(state, now, undefined, Infinity);
      return removed;
    });
  }

  async renew(id: string, leaseMs: number): Promise<boolean> {
    return this.change((state, now) => {
      // A lease that ran out is lost, reaped or not: its slot may be someone else's now.
      const holder = state.holders.get(id);
      if (holder === undefined || holder.deadline <= now) {
        drop(state, id);
        return false;
      }
      hold(state, id, holder.permits, now + leaseMs);
      return true;
    });
  }

  async cancel(id: string): Promise<CancelReply> {
    return this.change((state, now) => {
      // Granted in the same instant as giving up: the waiter is told, so the slot is never lost.
      if ((state.holders.get(id)?.deadline ?? now) > now) return 'held';
      return state.queue.delete(id) ? 'dequeued' : 'absent';
    });
  }

  async inspect(): Promise<SemaphoreSnapshot> {
    const now = this.context.clock();
    const state = this.context.states.get(this.key, now);
    if (!state) return { holders: [], waiters: [] };
    const holders = [...state.holders]
      .filter(([, holder]) => holder.deadline > now)
      // The order of ZRANGEBYSCORE: earliest lease end first, ties by id.
      .sort(([a, x], [b, y]) => x.deadline - y.deadline || (a < b ? -1 : a > b ? 1 : 0))
      .map(([id, { deadline, permits }]) => ({ id, leaseLeft: deadline - now, permits }));
    const waiters = [...state.queue].filter(([, waiter]) => waiter.deadline > now).map(([id]) => id);
    return { holders, waiters };
  }

  listen(id: string, onGranted: (grant: Grant) => void): Listening {
    return { stop: this.context.grants.listen(id, onGranted) };
  }

  /**
   * Applies one change to the state, atomically since it runs without a pause. Like
   * Redis, which deletes a sorted set once it is empty, no state is kept for a name with
   * neither holders nor waiters.
   */
  private change<T>(apply: (state: SemaphoreState, now: number) => T): T {
    const { states, clock } = this.context;
    const now = clock();
    const state = states.get(this.key, now) ?? { holders: new Map(), held: 0, queue: new Map(), expiresAt: now };
    const result = apply(state, now);
    if (state.holders.size === 0 && state.queue.size === 0) states.delete(this.key);
    else states.set(this.key, state);
    return result;
  }

  /**
   * Drops expired leases, then hands free permits to the oldest waiters still alive (see
   * lua/includes/semaphore-grant.lua): each only while its permits fit within its own
   * capacity, strictly in arrival order (a head that does not fit stops the hand-off), and
   * none beyond `stopAt` held. A granted waiter holds its permits from here on and is told
   * so, with its fencing token, unless it is the caller (whose answer carries one).
   */
  private reapAndGrant(state: SemaphoreState, now: number, callerId: string | undefined, stopAt: number): void {
    for (const [id, holder] of state.holders) if (holder.deadline <= now) drop(state, id);
    for (const [id, waiter] of state.queue) {
      if (state.held >= stopAt) break;
      // A waiter past its deadline gave up or stopped refreshing its place: skipping it keeps the queue moving.
      const live = waiter.deadline > now;
      if (live && state.held + waiter.permits > Math.min(waiter.capacity, stopAt)) break;
      state.queue.delete(id);
      if (!live) continue;
      hold(state, id, waiter.permits, now + waiter.lease);
      if (id !== callerId)
        this.context.grants.announce(id, { leaseEndsAt: now + waiter.lease, fencingToken: this.context.nextToken() });
    }
  }
}

/** Makes `id` hold `permits` until `deadline`, or renews it; counted once. */
function hold(state: SemaphoreState, id: string, permits: number, deadline: number): void {
  if (!state.holders.has(id)) state.held += permits;
  state.holders.set(id, { deadline, permits });
  state.expiresAt = Math.max(state.expiresAt, deadline);
}

function drop(state: SemaphoreState, id: string): boolean {
  const holder = state.holders.get(id);
  if (holder === undefined) return false;
  state.holders.delete(id);
  state.held -= holder.permits;
  return true;
}

/** Ms until the earliest lease runs out: when a waiter should look again if no release wakes it first. */
function earliestLeaseEnd(state: SemaphoreState, now: number): number | undefined {
  let earliest = Infinity;
  for (const { deadline } of state.holders.values()) earliest = Math.min(earliest, deadline);
  return earliest === Infinity ? undefined : Math.max(1, earliest - now);
}
