/**
 * Runs semaphore-chaos.worker.ts in several processes and SIGKILLs them at random
 * (replacing each victim with a fresh process), then rebuilds every work interval from
 * what the workers printed. The peak is counted from those intervals, independently of
 * the library: work starts after acquire() resolved and ends before release() is sent,
 * and a killed worker's open work ends when it was killed.
 */
import { startWorker, type WorkerHandle } from './processes';
import { now, sleep, waitUntil } from './timing';
import type { RedisAddress } from './redis-address';

export interface ChaosOptions {
  redis: RedisAddress;
  name: string;
  capacity: number;
  expiry: number;
  processes: number;
  callers: number;
  holdMs: [number, number];
  durationMs: number;
  /** Shortest and longest pause between two kills, ms. */
  killEveryMs: [number, number];
}

export interface ChaosReport {
  /** Most work intervals open at one instant, over every process. */
  peak: number;
  /** Work intervals seen (permits held), including those of killed processes. */
  permitsHeld: number;
  kills: number;
  /** Kills of a process that held at least one permit at that moment, and the permits it held. */
  killedHolding: { processes: number; permits: number };
  /** Kills of a process with callers queued at that moment, and how many were queued. */
  killedWaiting: { processes: number; waiters: number };
  processesStarted: number;
  /** When the last process was killed, and when the survivors were told to stop (harness now()). */
  lastKillAt: number;
  stoppedAt: number;
  /** What the surviving processes counted: MaxSleepExceededError, RedisUnavailableError, lost leases. */
  survivors: Array<{
    held: number;
    maxSleepExceeded: number;
    unavailable: number;
    lostLeases: number;
    otherErrors: string[];
  }>;
}

interface Tracked {
  handle: WorkerHandle;
  /** Set by its first event: a process still starting holds nothing and is not worth killing. */
  running: boolean;
  open: Map<string, number>;
  waiting: number;
  killedAt?: number;
  closed: Promise<void>;
}

const WORKER = 'test/harness/workers/semaphore-chaos.worker.ts';

/** The most intervals open at once; an interval ending at the instant another starts does not overlap it. */
export function peakConcurrency(intervals: Array<[number, number]>): number {
  const points = intervals.flatMap(([start, end]): Array<[number, number]> => [
    [start, 1],
    [end, -1],
  ]);
  points.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let peak = 0;
  for (const [, delta] of points) peak = Math.max(peak, (open += delta));
  return peak;
}

const pick = <T>(items: T[]): T | undefined => items[Math.floor(Math.random() * items.length)];

export async function runSemaphoreChaos(options: ChaosOptions): Promise<ChaosReport> {
  const { processes, durationMs, killEveryMs, ...workerArgs } = options;
  const intervals: Array<[number, number]> = [];
  const live = new Set<Tracked>();
  const all: Tracked[] = [];
  const report = {
    kills: 0,
    killedHolding: { processes: 0, permits: 0 },
    killedWaiting: { processes: 0, waiters: 0 },
  };

  const spawn = (): Tracked => {
    const handle = startWorker(WORKER, workerArgs, { timeoutMs: durationMs + 120_000 });
    const tracked: Tracked = { handle, running: false, open: new Map(), waiting: 0, closed: Promise.resolve() };
    let buffer = '';
    handle.child.stdout!.on('data', (chunk: string) => {
      const lines = (buffer += chunk).split('\n');
      buffer = lines.pop()!;
      for (const line of lines) {
        const [tag, event, id, at] = line.split(' ');
        if (tag !== 'ev') continue;
        const t = Number(at);
        tracked.running = true;
        if (event === 'W') tracked.waiting++;
        else if (event === 'X') tracked.waiting--;
        else if (event === 'A') {
          tracked.waiting--;
          tracked.open.set(id, t);
        } else if (event === 'R') {
          intervals.push([tracked.open.get(id)!, t]);
          tracked.open.delete(id);
        }
      }
    });
    // Everything the process printed before it died has been read once its streams close.
    tracked.closed = new Promise((resolve) => handle.child.once('close', () => resolve()));
    void tracked.closed.then(() => {
      if (tracked.killedAt === undefined) return;
      if (tracked.open.size > 0) {
        report.killedHolding.processes++;
        report.killedHolding.permits += tracked.open.size;
      }
      if (tracked.waiting > 0) {
        report.killedWaiting.processes++;
        report.killedWaiting.waiters += tracked.waiting;
      }
      for (const start of tracked.open.values()) intervals.push([start, tracked.killedAt]);
      tracked.open.clear();
    });
    live.add(tracked);
    all.push(tracked);
    return tracked;
  };

  for (let i = 0; i < processes; i++) spawn();
  // Starting Node and compiling TypeScript takes seconds on a busy machine: kill only once all run.
  await waitUntil('every worker holds or waits', () => [...live].every((w) => w.open.size + w.waiting > 0), 60_000);

  const startedAt = now();
  let lastKillAt = startedAt;
  const kill = (victim: Tracked) => {
    lastKillAt = victim.killedAt = now();
    victim.handle.child.kill('SIGKILL');
    live.delete(victim);
    report.kills++;
  };
  let turn = 0;
  while (now() - startedAt < durationMs) {
    const [min, max] = killEveryMs;
    await sleep(min + Math.random() * (max - min));
    // Alternate between a process that holds permits and one that only waits, when there is one.
    const candidates = [...live].filter((w) => w.running);
    if (candidates.length === 0) continue;
    const holding = candidates.filter((w) => w.open.size > 0);
    const onlyWaiting = candidates.filter((w) => w.open.size === 0 && w.waiting > 0);
    kill((turn++ % 2 === 0 ? pick(holding) : pick(onlyWaiting)) ?? pick(candidates)!);
    spawn();
  }
  // The last victim holds permits (its leases are the last to come back), and is not replaced.
  await waitUntil('a process holds a permit', () => [...live].some((w) => w.open.size > 0), 10_000).catch(
    () => undefined,
  );
  kill(pick([...live].filter((w) => w.open.size > 0)) ?? pick([...live])!);

  const stoppedAt = now();
  const survivors = [...live];
  for (const w of survivors) w.handle.child.kill('SIGTERM');
  // A replacement still starting up has no SIGTERM handler yet and dies of the signal: it held nothing.
  const results = await Promise.all(survivors.map((w) => w.handle.result.catch(() => null)));
  await Promise.all(all.map((w) => w.closed));
  const stillOpen = survivors.reduce((sum, w) => sum + w.open.size, 0);
  if (stillOpen > 0) throw new Error(`${stillOpen} work intervals never ended in processes that exited cleanly`);

  return {
    ...report,
    peak: peakConcurrency(intervals),
    permitsHeld: intervals.length,
    processesStarted: all.length,
    lastKillAt,
    stoppedAt,
    survivors: results.filter((r) => r !== null),
  };
}

export interface Recovery {
  /** Ms from stoppedAt until no lease was left, and until no queue entry was left either. */
  holdersGoneAfter: number;
  waitersGoneAfter: number;
}

/**
 * Watches the semaphore (state() changes nothing) until no lease and no queue entry is
 * left: a dead holder's lease runs out within one expiry, and a dead waiter's queue
 * entry within min(its maxSleep, two lease periods) of its last refresh.
 */
export async function watchRecovery(
  state: () => Promise<{ holders: unknown[]; waiters: unknown[] }>,
  stoppedAt: number,
  expiry: number,
): Promise<Recovery> {
  let holdersGoneAfter: number | undefined;
  let waitersGoneAfter: number | undefined;
  await waitUntil(
    'no holder and no waiter is left',
    async () => {
      const { holders, waiters } = await state();
      const after = Math.round(now() - stoppedAt);
      if (holders.length === 0) holdersGoneAfter ??= after;
      if (waiters.length === 0) waitersGoneAfter ??= after;
      return holders.length === 0 && waiters.length === 0;
    },
    3 * expiry + 10_000,
  );
  return { holdersGoneAfter: holdersGoneAfter!, waitersGoneAfter: waitersGoneAfter! };
}

// A busy 2-core machine: the survivors' last releases, and state() polls.
const RECOVERY_SLACK_MS = 1_500;

/**
 * What is promised once the killing stops: every lease back within one expiry, every
 * queue entry of a dead waiter gone within two, and then exactly capacity permits.
 */
export async function expectFullRecovery(
  s: {
    capacity: number;
    leaseMs: number;
    state: () => Promise<{ holders: unknown[]; waiters: unknown[] }>;
    tryAcquire: () => Promise<{ release(): Promise<boolean> } | null>;
  },
  stoppedAt: number,
): Promise<Recovery> {
  const expiry = s.leaseMs;
  const recovery = await watchRecovery(() => s.state(), stoppedAt, expiry);
  expect(recovery.holdersGoneAfter).toBeLessThanOrEqual(expiry + RECOVERY_SLACK_MS);
  expect(recovery.waitersGoneAfter).toBeLessThanOrEqual(2 * expiry + RECOVERY_SLACK_MS);
  const permits = await Promise.all(Array.from({ length: s.capacity }, () => s.tryAcquire()));
  expect(permits.every(Boolean)).toBe(true);
  expect(await s.tryAcquire()).toBeNull();
  await Promise.all(permits.map((p) => p!.release()));
  return recovery;
}
