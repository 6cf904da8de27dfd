import type { AcquireReply, CancelReply, Listening, SemaphoreBackend, SemaphoreSnapshot } from '../../core/limiter-store';
import type { ExpiringMap } from './expiring-map';
import type { GrantAnnouncer } from './grant-announcer';

/** A queued waiter: the Lua "deadline:leaseMs:{capacity}channel" entry, the channel being the store itself. */
interface Waiter {
  deadline: number;
  lease: number;
  /** The capacity of the limiter that queued it: it gets in only while fewer are held. */
  capacity: number;
}

/**
 * One semaphore as the Lua scripts keep it in Redis: holders (id -> lease deadline) and
 * the waiters' queue. Map order is arrival order, and setting an id already queued keeps
 * its place, as the arrival number in the queue zset does.
 */
export interface SemaphoreState {
  holders: Map<string, number>;
  queue: Map<string, Waiter>;
  /** The latest lease or waiter deadline ever stored: past it, nothing in here matters. */
  expiresAt: number;
}

export interface SemaphoreContext {
  states: ExpiringMap<SemaphoreState>;
  clock: () => number;
  grants: GrantAnnouncer;
}

/** One semaphore's operations, each a port of its script in lua/ (semaphore-*.lua). */
export class MemorySemaphore implements SemaphoreBackend {
  constructor(
    private readonly context: SemaphoreContext,
    private readonly key: string,
  ) {}

  async acquire({ id, capacity, leaseMs, waitMs }: Parameters<SemaphoreBackend['acquire']>[0]): Promise<AcquireReply> {
    return this.change((state, now): AcquireReply => {
      // Slots above this caller's capacity are not its to hand out (see semaphore-acquire-4.lua).
      this.reapAndGrant(state, now, id, capacity);
      const held = state.holders.get(id);
      if (held !== undefined) return { status: 'held', leaseLeft: held - now };
      // A slot left over after the whole queue was served means nobody older is waiting.
      if (state.holders.size < capacity && state.queue.size === 0) {
        hold(state, id, now + leaseMs);
        return { status: 'held', leaseLeft: leaseMs };
      }
      const retryIn = earliestLeaseEnd(state, now);
      if (waitMs <= 0) {
        state.queue.delete(id);
        return { status: 'refused', retryIn, now };
      }
      state.queue.set(id, { deadline: now + waitMs, lease: leaseMs, capacity });
      state.expiresAt = Math.max(state.expiresAt, now + waitMs);
      return { status: 'queued', retryIn, now };
    });
  }

  /** `capacity` is unused: every waiter here records its own (Redis keeps it for entries from before they did). */
  async release(id: string, _capacity: number): Promise<boolean> {
    return this.change((state, now) => {
      const removed = state.holders.delete(id);
      this.reapAndGrant(state, now, undefined, Infinity);
      return removed;
    });
  }

  async renew(id: string, leaseMs: number): Promise<boolean> {
    return this.change((state, now) => {
      // A lease that ran out is lost, reaped or not: its slot may be someone else's now.
      const deadline = state.holders.get(id);
      if (deadline === undefined || deadline <= now) {
        state.holders.delete(id);
        return false;
      }
      hold(state, id, now + leaseMs);
      return true;
    });
  }

  async cancel(id: string): Promise<CancelReply> {
    return this.change((state, now) => {
      // Granted in the same instant as giving up: the waiter is told, so the slot is never lost.
      if ((state.holders.get(id) ?? now) > now) return 'held';
      return state.queue.delete(id) ? 'dequeued' : 'absent';
    });
  }

  async inspect(): Promise<SemaphoreSnapshot> {
    const now = this.context.clock();
    const state = this.context.states.get(this.key, now);
    if (!state) return { holders: [], waiters: [] };
    const holders = [...state.holders]
      .filter(([, deadline]) => deadline > now)
      // The order of ZRANGEBYSCORE: earliest lease end first, ties by id.
      .sort(([a, x], [b, y]) => x - y || (a < b ? -1 : a > b ? 1 : 0))
      .map(([id, deadline]) => ({ id, leaseLeft: deadline - now }));
    const waiters = [...state.queue].filter(([, waiter]) => waiter.deadline > now).map(([id]) => id);
    return { holders, waiters };
  }

  listen(id: string, onGranted: (leaseEndsAt?: number) => void): Listening {
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
    const state = states.get(this.key, now) ?? { holders: new Map(), queue: new Map(), expiresAt: now };
    const result = apply(state, now);
    if (state.holders.size === 0 && state.queue.size === 0) states.delete(this.key);
    else states.set(this.key, state);
    return result;
  }

  /**
   * Drops expired leases, then hands free slots to the oldest waiters still alive (see
   * lua/includes/semaphore-grant.lua): each only while fewer than its own capacity are
   * held, strictly in arrival order (a head that does not fit stops the hand-off), and
   * none once `stopAt` are held. A granted waiter holds its slot from here on and is told
   * so, unless it is the caller.
   */
  private reapAndGrant(state: SemaphoreState, now: number, callerId: string | undefined, stopAt: number): void {
    for (const [id, deadline] of state.holders) if (deadline <= now) state.holders.delete(id);
    for (const [id, waiter] of state.queue) {
      if (state.holders.size >= stopAt) break;
      // A waiter past its deadline gave up or stopped refreshing its place: skipping it keeps the queue moving.
      const live = waiter.deadline > now;
      if (live && state.holders.size >= waiter.capacity) break;
      state.queue.delete(id);
      if (!live) continue;
      hold(state, id, now + waiter.lease);
      if (id !== callerId) this.context.grants.announce(id, now + waiter.lease);
    }
  }
}

function hold(state: SemaphoreState, id: string, deadline: number): void {
  state.holders.set(id, deadline);
  state.expiresAt = Math.max(state.expiresAt, deadline);
}

/** Ms until the earliest lease runs out: when a waiter should look again if no release wakes it first. */
function earliestLeaseEnd(state: SemaphoreState, now: number): number | undefined {
  let earliest = Infinity;
  for (const deadline of state.holders.values()) earliest = Math.min(earliest, deadline);
  return earliest === Infinity ? undefined : Math.max(1, earliest - now);
}
