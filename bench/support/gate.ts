/**
 * A start line for worker processes. Spawning a tsx process takes a second or more on a
 * busy machine; every worker reports ready, then the orchestrator gives all of them the
 * same start time (on the machine-wide monotonic clock), so load starts everywhere at once
 * and the orchestrator knows when to reset Redis statistics.
 */
import type { Redis } from 'ioredis';
import { hrnow, sleep, sleepUntil } from './clock';

/** Worker side: reports ready and resolves at the start time; returns it. */
export async function waitForStart(redis: Redis, gate: string): Promise<number> {
  await redis.incr(`${gate}:ready`);
  let go: string | null = null;
  while (!(go = await redis.get(`${gate}:go`))) await sleep(10);
  const at = Number(go);
  await sleepUntil(at);
  return at;
}

/**
 * Orchestrator side: waits for `parties` workers, then sets a start time `leadMs` ahead and
 * resolves once every worker has had time to read it (half the lead), before the start.
 */
export async function openGate(redis: Redis, gate: string, parties: number, leadMs = 600): Promise<number> {
  const deadline = Date.now() + 120_000;
  while (Number(await redis.get(`${gate}:ready`)) < parties) {
    if (Date.now() > deadline)
      throw new Error(`only ${await redis.get(`${gate}:ready`)} of ${parties} workers became ready`);
    await sleep(20);
  }
  const at = hrnow() + leadMs;
  await redis.set(`${gate}:go`, String(at), 'PX', 120_000);
  await sleep(leadMs / 2);
  return at;
}
