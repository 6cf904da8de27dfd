/**
 * A permit's lease is kept on the holder's own clock, from when the request that granted
 * or renewed it was sent: a holder cut off from Redis learns at its lease end, not when
 * its renewal finally times out; a waiter whose process stalled never resolves with a
 * lease Redis already gave away.
 */
import { LeaseLostError, SemaphoreLimiter } from '../../lib';
import { cutOffClient } from '../harness/cut-off-client';
import { startWorker } from '../harness/processes';
import { targets, uniqueName, useClients } from '../harness/redis-targets';
import { now, sleep } from '../harness/timing';

/** Scheduling on a busy 2-core machine: how late a timer or a reply may be read. */
const SLACK_MS = 300;

describe.each(targets)('$name', (target) => {
  const { client } = useClients(target);

  it("aborts a cut-off holder's signal at its lease end, before another client is admitted", async () => {
    const name = uniqueName('cut');
    const expiry = 1_500;
    const cutOff = await cutOffClient(target.name);
    try {
      // Default commandTimeout (5 s): a renewal in flight must not hold the abort back that long.
      const holder = new SemaphoreLimiter(cutOff.client, { name, capacity: 1, expiry });
      const other = new SemaphoreLimiter(client(), { name, capacity: 1, expiry, maxSleep: 10_000 });
      const permit = await holder.acquire();
      const lost = new Promise<{ at: number; reason: unknown }>((resolve) =>
        permit.signal.addEventListener('abort', () => resolve({ at: now(), reason: permit.signal.reason })),
      );
      // Between two renewals, so the lease was last renewed some time before the cut.
      await sleep(expiry / 3 + 200);
      cutOff.cut();
      const cutAt = now();
      const admitted = other.acquire().then((p) => ({ at: now(), permit: p }));
      const [abort, admission] = await Promise.all([lost, admitted]);
      await admission.permit.release();

      const abortAfterCut = abort.at - cutAt;
      const abortBeforeAdmission = admission.at - abort.at;
      console.log(
        `${target.name}: aborted ${abortAfterCut.toFixed(0)} ms after the cut, ` +
          `${abortBeforeAdmission.toFixed(0)} ms before the other client was admitted ` +
          `(${(admission.at - cutAt).toFixed(0)} ms after the cut)`,
      );
      expect(abort.reason).toBeInstanceOf(LeaseLostError);
      expect(abort.at).toBeLessThanOrEqual(admission.at + SLACK_MS);
      expect(abortAfterCut).toBeLessThanOrEqual(expiry + SLACK_MS);
    } finally {
      await cutOff.close();
    }
  });

  it('never hands a stalled waiter a lease that ran out while it was stalled', async () => {
    const name = uniqueName('stall');
    const expiry = 2_100;
    const options = { name, capacity: 1, expiry, maxSleep: 20_000 };
    const here = new SemaphoreLimiter(client(), options);
    const first = await here.acquire();
    const holders: number[] = [];
    const sampling = setInterval(() => {
      here.state().then(
        (s) => holders.push(s.holders.length),
        () => undefined,
      );
    }, 50);
    try {
      const worker = startWorker('test/harness/workers/semaphore-stall.worker.ts', {
        target: target.name,
        ...options,
        stallMs: 4_500,
      });
      await new Promise<void>((resolve) =>
        worker.child.stdout!.on('data', (d: string) => String(d).includes('stalling') && resolve()),
      );
      // The grant reaches the worker's socket while its event loop is blocked.
      await sleep(100);
      await first.release();
      const grantedAt = now();
      // Admitted once the worker's unused lease has run out on the server.
      const mine = await here.acquire();
      const admittedAt = now();
      await sleep(4_000); // past the worker's resumption: it must not run beside this holder
      const releasedAt = now();
      await mine.release();
      const report = (await worker.result) as { resolvedAt: number; releasedAt: number; listed: boolean };

      console.log(
        `${target.name}: other caller admitted ${(admittedAt - grantedAt).toFixed(0)} ms after the grant; ` +
          `stalled waiter resolved ${(report.resolvedAt - grantedAt).toFixed(0)} ms after it, ` +
          `${(report.resolvedAt - releasedAt).toFixed(0)} ms after the other released`,
      );
      expect(admittedAt - grantedAt).toBeGreaterThanOrEqual(expiry - SLACK_MS);
      expect(report.listed).toBe(true);
      // Work intervals measured in each process: never two at once for a capacity of 1.
      expect(overlap([admittedAt, releasedAt], [report.resolvedAt, report.releasedAt])).toBe(false);
      expect(Math.max(...holders)).toBeLessThanOrEqual(1);
    } finally {
      clearInterval(sampling);
    }
  }, 30_000);
});

function overlap([a0, a1]: number[], [b0, b1]: number[]): boolean {
  return a0 < b1 && b0 < a1;
}
