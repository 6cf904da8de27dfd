/**
 * The waiters of one MemoryStore, keyed by waiter id, told when a release hands them a
 * slot. Like a Redis pub/sub message, the news arrives after the granting call has
 * returned, never inside it, so a waiter never runs in the middle of someone's release.
 */
export class GrantAnnouncer {
  private readonly waiters = new Map<string, (leaseEndsAt: number) => void>();

  listen(id: string, onGranted: (leaseEndsAt: number) => void): () => void {
    this.waiters.set(id, onGranted);
    return () => void this.waiters.delete(id);
  }

  /** `leaseEndsAt` on the store's clock, as the Redis grant message carries it. */
  announce(id: string, leaseEndsAt: number): void {
    // Looked up on delivery, as the Redis subscriber does: a waiter that stopped listening meanwhile hears nothing.
    queueMicrotask(() => this.waiters.get(id)?.(leaseEndsAt));
  }
}
