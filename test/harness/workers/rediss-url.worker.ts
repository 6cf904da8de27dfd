/**
 * A client made from nothing but a rediss:// URL, in a process started with
 * NODE_EXTRA_CA_CERTS naming the test CA: how a deployment that trusts a private CA
 * process-wide connects. Node reads that variable once at start-up, hence a process of its own.
 */
import Redis from 'ioredis';
import { SemaphoreLimiter, TokenBucketLimiter } from '../../../lib';
import { runWorker } from '../processes';
import { now } from '../timing';

runWorker<{ url: string; name: string }>(async ({ url, name }) => {
  const client = new Redis(url);
  try {
    const semaphore = new SemaphoreLimiter(client, { name, capacity: 1, expiry: 60_000, maxSleep: 30_000 });
    const holder = (await semaphore.tryAcquire())!;
    const waiting = semaphore.acquire();
    const queued = async () => (await semaphore.state()).waiters.length === 1;
    while (!(await queued())) await new Promise((r) => setTimeout(r, 10));
    const released = now();
    await holder.release();
    const waiter = await waiting;
    const wokenAfterMs = now() - released;
    await waiter.release();

    const bucket = new TokenBucketLimiter(client, { name, capacity: 1, refillFrequency: 60_000 });
    const takes = [(await bucket.tryTake()).allowed, (await bucket.tryTake()).allowed];
    return { wokenAfterMs, takes };
  } finally {
    await client.quit();
  }
});
