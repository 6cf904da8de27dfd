import type { Grant } from '../../core/limiter-store';

/**
 * The waiters of one MemoryStore, keyed by waiter id, told when a release hands them a
 * slot. Like a Redis pub/sub message, the news arrives after the granting call has
 * returned, never inside it, so a waiter never runs in the middle of someone's release.
 */
export class GrantAnnouncer {
  private readonly waiters = new Map<string, (grant: Grant) => void>();

  listen(id: string, onGranted: (grant: Grant) => void): () => void {
    this.waiters.set(id, onGranted);
    return () => void this.waiters.delete(id);
  }

  /** The lease end on the store's clock and the fencing token, as the Redis grant message carries them. */
  announce(id: string, grant: Required<Grant>): void {
    // Looked up on delivery, as the Redis subscriber does: a waiter that stopped listening meanwhile hears nothing.
    queueMicrotask(() => this.waiters.get(id)?.(grant));
  }
}
