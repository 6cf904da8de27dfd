// Set by alignClock: what this process's clock is behind Redis's.
let offsetMs = 0;

/**
 * Wall-clock ms with sub-ms precision. Comparable across processes only once each has
 * called alignClock: performance.timeOrigin is read from the wall clock at start, apart
 * from the monotonic clock, and a process preempted between the two reads (a busy 2-core
 * machine) starts off by milliseconds, enough to make a hand-off between two processes
 * look like an overlap.
 */
export function now(): number {
  return performance.timeOrigin + performance.now() + offsetMs;
}

/**
 * Sets now() to Redis's clock (TIME, µs), read over the quickest of a few round trips,
 * so every process aligned this way shares one clock to within that round trip's half.
 * All our Redis processes run on this machine, so any node's TIME will do.
 */
export async function alignClock(redis: { time(): Promise<unknown> }): Promise<void> {
  let quickest = Infinity;
  for (let i = 0; i < 7; i++) {
    const sentAt = performance.now();
    const [seconds, micros] = (await redis.time()) as [string | number, string | number];
    const back = performance.now();
    if (back - sentAt >= quickest) continue;
    quickest = back - sentAt;
    offsetMs = Number(seconds) * 1000 + Number(micros) / 1000 - (performance.timeOrigin + (sentAt + back) / 2);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Resolves with how many ms after `at` (now()'s clock) a timer armed for `at` fired. A wait
 * that ends on a timer (a waiter woken when a lease runs out) is late by as much, and on a
 * busy machine that can be a second: a bound on such a wait counts it instead of guessing it.
 */
export function lateness(at: number): Promise<number> {
  return new Promise((resolve) => setTimeout(() => resolve(Math.max(0, now() - at)), Math.max(0, at - now())));
}

/** Polls `check` until it returns true; throws with `what` after timeoutMs. For test set-up only. */
export async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}
