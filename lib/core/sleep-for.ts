import { setTimeout as sleep } from 'node:timers/promises';
import { MAX_TIMER_MS } from './options';

/**
 * Sleeps `ms`, in steps one Node timer can carry: a reservation made with maxSleep
 * Infinity can lie further ahead than 2^31-1 ms, where a single timer would fire at once.
 * TokenBucketLimiter.take() sleeps here; so do callers that reserve() and wait themselves.
 * When `signal` aborts, rejects at once with its reason.
 */
export async function sleepFor(ms: number, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted();
  const options = signal && { signal };
  try {
    for (let left = ms; left > 0; left -= MAX_TIMER_MS) await sleep(Math.min(left, MAX_TIMER_MS), undefined, options);
  } catch (error) {
    // timers/promises rejects with its own AbortError; the caller gave its reason.
    throw signal?.aborted ? signal.reason : error;
  }
}
