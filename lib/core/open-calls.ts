/** Whose call it is, as closing needs to know: the semaphore, by identity and name. */
export interface CallOwner {
  readonly name: string;
}

/** A semaphore wait as closing sees it: it leaves the queue in the store and rejects with `error`. */
export interface OpenWait {
  readonly semaphore: CallOwner;
  close(error: Error): Promise<void>;
}

/** A held permit as closing sees it: it aborts its signal and is released. */
export interface OpenPermit {
  readonly semaphore: CallOwner;
  close(): Promise<unknown>;
}

// Its own small interfaces rather than Permit's: permits register here, and a file that
// imported Permit back would make the two load each other.
export interface OpenCalls {
  waits: Set<OpenWait>;
  permits: Set<OpenPermit>;
}

/**
 * The waits and permits open on each store. Kept per store rather than per limiter:
 * run-time limiters live in an LRU cache and may be dropped while one of their waits is
 * still queued, and closing must find it all the same.
 */
const byStore = new WeakMap<object, OpenCalls>();

export function openCalls(store: object): OpenCalls {
  let calls = byStore.get(store);
  if (!calls) {
    calls = { waits: new Set(), permits: new Set() };
    byStore.set(store, calls);
  }
  return calls;
}

/**
 * Closes the open calls of the semaphores `of` picks on `store`: every wait leaves the
 * queue in the store (so no release hands a slot to a caller that is gone) and rejects
 * with `error`; then, unless `permits` is false, every permit still held aborts its
 * signal and is released, and releases in flight are awaited. Never rejects.
 */
export async function closeOpenCalls(
  store: object,
  of: (semaphore: CallOwner) => boolean,
  error: (semaphore: CallOwner) => Error,
  { permits = true } = {},
): Promise<void> {
  const calls = openCalls(store);
  const waits = [...calls.waits].filter((w) => of(w.semaphore));
  await Promise.all(waits.map((w) => w.close(error(w.semaphore)).catch(() => undefined)));
  if (!permits) return;
  // Taken after the waits: one granted in the instant it was closed may have become a permit.
  const held = [...calls.permits].filter((p) => of(p.semaphore));
  await Promise.all(held.map((p) => p.close()));
}
