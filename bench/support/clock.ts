/**
 * CLOCK_MONOTONIC in ms. On Linux it is one clock for the whole machine, so timestamps
 * taken in different bench processes can be subtracted from one another.
 */
export function hrnow(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Sleeps until hrnow() reaches `at`, finishing with a short spin so all processes start within ~0.1 ms. */
export async function sleepUntil(at: number): Promise<void> {
  const left = at - hrnow();
  if (left > 3) await sleep(left - 2);
  while (hrnow() < at) await new Promise<void>((r) => setImmediate(r));
}
