/**
 * Admissions recorded by the callers themselves, on a clock comparable across processes
 * (timing.now), so a test checks a limit without reading the library's own state. Used
 * in-process (memory store) and by worker processes (Redis) alike.
 */
import type { RateLimiter, SemaphoreLimiter } from '../../lib';
import { now, sleep } from './timing';

/** One job through a semaphore: asked for at `calledAt`, held from `startedAt` to `endedAt`. */
export interface HeldJob {
  capacity: number;
  calledAt: number;
  startedAt: number;
  endedAt: number;
  /** The permits it held (option `permits`). */
  permits: number;
  /** Its permit's fencing token, as a decimal string (JSON has no bigint). */
  fencingToken: string;
  /** With a `gauge`: the permits held by all jobs on it, this one's included, just after it got in. */
  gaugeAtStart?: number;
}

/**
 * A count of held permits the jobs keep in Redis themselves (INCRBY once in, DECRBY before
 * the release is sent): peak concurrency across processes without comparing their clocks.
 */
export interface Gauge {
  redis: { incrby(key: string, by: number): Promise<number>; decrby(key: string, by: number): Promise<number> };
  key: string;
}

/**
 * `callers` concurrent callers, each running `jobs` jobs of `holdMs` one after another.
 * `permits`: the weights jobs ask for, in turn (caller c's job j takes
 * permits[(c + j) % permits.length]); 1 each when absent.
 */
export async function holdJobs(
  semaphore: SemaphoreLimiter,
  { callers, jobs, holdMs, permits = [1] }: { callers: number; jobs: number; holdMs: number; permits?: number[] },
  gauge?: Gauge,
): Promise<HeldJob[]> {
  const held: HeldJob[] = [];
  const caller = async (c: number) => {
    for (let job = 0; job < jobs; job++) {
      const calledAt = now();
      const weight = permits[(c + job) % permits.length];
      const permit = await semaphore.acquire({ permits: weight });
      try {
        const startedAt = now();
        const gaugeAtStart = gauge && (await gauge.redis.incrby(gauge.key, permit.permits));
        await sleep(holdMs);
        if (gauge) await gauge.redis.decrby(gauge.key, permit.permits);
        // Recorded before the release is sent: the interval lies within the lease.
        held.push({
          capacity: semaphore.capacity,
          calledAt,
          startedAt,
          endedAt: now(),
          permits: permit.permits,
          fencingToken: String(permit.fencingToken),
          gaugeAtStart,
        });
      } finally {
        await permit.release();
      }
    }
  };
  await Promise.all(Array.from({ length: callers }, (_, c) => caller(c)));
  return held;
}

/** Most permits held at once, from the jobs' own intervals. An end and a start at the same instant do not overlap. */
export function peakPermits(jobs: Array<Pick<HeldJob, 'startedAt' | 'endedAt' | 'permits'>>): number {
  const events = jobs.flatMap(
    (j) =>
      [
        [j.startedAt, j.permits],
        [j.endedAt, -j.permits],
      ] as const,
  );
  events.sort(([a, x], [b, y]) => a - b || x - y);
  let running = 0;
  let peak = 0;
  for (const [, change] of events) peak = Math.max(peak, (running += change));
  return peak;
}

/** `callers` concurrent callers, each taking one token `takes` times; returns when each was admitted. */
export async function takeTokens(limiter: RateLimiter, { callers, takes }: { callers: number; takes: number }) {
  const admittedAt: number[] = [];
  const caller = async () => {
    for (let i = 0; i < takes; i++) {
      await limiter.take();
      admittedAt.push(now());
    }
  };
  await Promise.all(Array.from({ length: callers }, caller));
  return admittedAt;
}

/** Most admissions in any window of `windowMs`, sliding over the sorted timestamps. */
export function busiestWindow(timestamps: number[], windowMs: number): number {
  const sorted = [...timestamps].sort((a, b) => a - b);
  let most = 0;
  for (let start = 0, end = 0; end < sorted.length; end++) {
    while (sorted[end] - sorted[start] >= windowMs) start++;
    most = Math.max(most, end - start + 1);
  }
  return most;
}

/**
 * Admissions per second along sorted `timestamps`: the median of the rates between every
 * two of them (Theil–Sen). A caller sees its admission late when its process stalls, never
 * early; the median ignores a minority of late points at either end, where the rate from
 * the first to the last admission moves by all of the last one's lateness.
 */
export function steadyRate(sorted: number[]): number {
  const rates: number[] = [];
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + 1; j < sorted.length; j++) {
      if (sorted[j] > sorted[i]) rates.push(((j - i) * 1000) / (sorted[j] - sorted[i]));
    }
  }
  rates.sort((a, b) => a - b);
  return rates[rates.length >> 1];
}

/**
 * Checks admissions of a fixed window of `limit` per `windowMs` that callers sleeping in
 * take() saturated, from the callers' own clocks: windows then follow each other from the
 * first hit, and a caller wakes at its window's start or later, never before. So before the
 * k-th window boundary at most k windows' worth were admitted. `firstSentAt` (when the
 * first call was sent, no later than the first hit) places the boundaries no later than
 * they are; `earlyMs` more: a Node timer may fire up to a millisecond early, the store counts
 * whole milliseconds, and clocks of several processes agree to within a round trip.
 * Returns how many windows the admissions spread over.
 */
export function expectFixedWindows(
  admitted: number[],
  firstSentAt: number,
  { limit, windowMs, earlyMs = 2 }: { limit: number; windowMs: number; earlyMs?: number },
): number {
  const last = Math.max(...admitted);
  const overAdmitted: Array<{ boundary: number; before: number; allowed: number }> = [];
  for (let k = 1; firstSentAt + k * windowMs <= last; k++) {
    const before = admitted.filter((t) => t < firstSentAt + k * windowMs - earlyMs).length;
    if (before > k * limit) overAdmitted.push({ boundary: k, before, allowed: k * limit });
  }
  expect(overAdmitted).toEqual([]);
  return Math.floor((last - firstSentAt) / windowMs) + 1;
}

/**
 * The windows a fixed window of `windowMs` opened for callers calling tryTake() in a loop,
 * found again from their own record of each admitted call (sent at `sentAt`, answered at
 * `at`). Calls fast enough fill a window within a few ms of its start and are refused
 * until it ends, so each window's admissions form one burst, apart from the next by most
 * of a window: bursts are split at gaps of half a window. Returns each burst's start (its
 * first answer) and count.
 */
export function admissionBursts(
  admitted: Array<{ sentAt: number; at: number }>,
  windowMs: number,
): Array<{ start: number; count: number }> {
  const times = admitted.map((a) => a.at).sort((a, b) => a - b);
  const bursts: Array<{ start: number; count: number }> = [];
  for (const [i, t] of times.entries()) {
    if (i === 0 || t - times[i - 1] > windowMs / 2) bursts.push({ start: t, count: 0 });
    bursts[bursts.length - 1].count++;
  }
  return bursts;
}

/**
 * The most tokens admitted in any interval of `windowMs`, wherever it starts, from the
 * callers' own record of each admitted call: counted by the store somewhere between when
 * it was sent and when its answer came (`at`). Intervals are taken shorter by the longest
 * of those round trips, so that the tokens found in one were counted, on the store's
 * clock, within an interval of `windowMs`: what a sliding window promises to keep within its limit.
 */
export function heaviestInterval(
  admitted: Array<{ sentAt: number; at: number; tokens: number }>,
  windowMs: number,
): { tokens: number; slack: number } {
  const slack = Math.max(0, ...admitted.map((a) => a.at - a.sentAt));
  const sorted = [...admitted].sort((a, b) => a.at - b.at);
  let most = 0;
  for (let start = 0, end = 0, inside = 0; end < sorted.length; end++) {
    inside += sorted[end].tokens;
    while (sorted[end].at - sorted[start].at >= windowMs - slack) inside -= sorted[start++].tokens;
    most = Math.max(most, inside);
  }
  return { tokens: most, slack };
}
