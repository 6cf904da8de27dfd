/**
 * A Redis reached over TLS only (no plain port), its certificate signed by a CA made for
 * the test: the core limiters and the Nest module work through a rediss:// URL and
 * through `tls: { ca }` options, a client that does not trust the CA fails clearly, and a
 * hand-off between two TLS connections stays as prompt as on plain TCP.
 */
import { readFileSync } from 'node:fs';
import Redis, { type RedisOptions } from 'ioredis';
import { RedisUnavailableError, SemaphoreLimiter } from '../../../../lib';
import { closeClient, connect, type RedisClient } from '../../../harness/connect';
import { everyOperationWorks } from '../../../harness/every-operation';
import { startWorker } from '../../../harness/processes';
import { uniqueName } from '../../../harness/redis-targets';
import { useTlsRedis } from '../../../harness/tls';
import { median, now, waitUntil } from '../../../harness/timing';
import { throughTheModule } from '../../../harness/nest/deployment-app';

const HAND_OFFS = 30;

/** Median ms from a holder's release() to the queued waiter's acquire() resolving, each on its own connection. */
async function handOffMs(holderClient: RedisClient, waiterClient: RedisClient): Promise<number> {
  const name = uniqueName('tls-hand-off');
  // Leases and maxSleep far longer than the test: only the pub/sub grant can wake the waiter in time.
  const options = { name, capacity: 1, expiry: 60_000, maxSleep: 30_000 };
  const holderSide = new SemaphoreLimiter(holderClient, options);
  const waiterSide = new SemaphoreLimiter(waiterClient, options);
  const times: number[] = [];
  for (let i = 0; i < HAND_OFFS; i++) {
    const holder = (await holderSide.tryAcquire())!;
    const waiting = waiterSide.acquire();
    await waitUntil('the waiter is queued', async () => (await holderSide.state()).waiters.length === 1);
    const released = now();
    await holder.release();
    const waiter = await waiting;
    times.push(now() - released);
    await waiter.release();
  }
  return median(times);
}

describe('TLS: a Redis with a TLS port only and a certificate from a private CA', () => {
  const tls = useTlsRedis();
  const clients: RedisClient[] = [];
  afterAll(async () => {
    await Promise.all(clients.splice(0).map(closeClient));
  });
  const ca = () => readFileSync(tls.files().ca);
  const tlsOptions = (): RedisOptions => ({ host: tls.server().host, port: tls.server().port, tls: { ca: ca() } });
  const track = <T extends RedisClient>(client: T): T => {
    client.on('error', () => undefined);
    clients.push(client);
    return client;
  };

  describe('core limiters, client from the rediss:// URL with tls: { ca }', () => {
    everyOperationWorks(() => track(new Redis(tls.server().url, { tls: { ca: ca() } })));
  });

  describe('core limiters, client from host, port and tls: { ca }', () => {
    everyOperationWorks(() => track(new Redis(tlsOptions())));
  });

  describe('through the module, RedisOptions with tls: { ca } (the module owns the connection)', () => {
    throughTheModule(tlsOptions);
  });

  describe("through the module, the app's own client from the rediss:// URL", () => {
    throughTheModule(() => track(new Redis(tls.server().url, { tls: { ca: ca() } })));
  });

  it('the rediss:// URL alone, in a process trusting the CA through NODE_EXTRA_CA_CERTS', async () => {
    const worker = startWorker(
      'test/harness/workers/rediss-url.worker.ts',
      { url: tls.server().url, name: uniqueName('tls-url') },
      {
        env: { NODE_EXTRA_CA_CERTS: tls.files().ca },
      },
    );
    const { wokenAfterMs, takes } = await worker.result;
    expect(wokenAfterMs).toBeLessThan(1_000);
    expect(takes).toEqual([true, false]);
  });

  it('a client that does not trust the CA gets RedisUnavailableError within commandTimeout, not a hang', async () => {
    // No `ca`: Node checks the certificate against its default roots, and the handshake fails.
    // No reconnecting either, so the client ends and leaves no timer behind.
    const untrusting = track(new Redis(tls.server().url, { retryStrategy: () => null }));
    const handshakeFailed = new Promise<Error>((resolve) => untrusting.once('error', resolve));
    const semaphore = new SemaphoreLimiter(untrusting, {
      name: uniqueName('tls-untrusted'),
      capacity: 1,
      commandTimeout: 1_000,
    });
    const started = now();
    await expect(semaphore.tryAcquire()).rejects.toBeInstanceOf(RedisUnavailableError);
    expect(now() - started).toBeLessThan(1_000 + 1_000);
    expect((await handshakeFailed).message).toMatch(/certificate/);
  });

  it('hands a slot to a waiter on another TLS connection about as fast as over plain TCP', async () => {
    const overTls = await handOffMs(track(new Redis(tlsOptions())), track(new Redis(tlsOptions())));
    // The shared harness server (plain TCP) in the same run, for comparison under the same load.
    const overTcp = await handOffMs(track(connect('standalone')), track(connect('standalone')));
    console.log(
      JSON.stringify({ handOffs: HAND_OFFS, medianHandOffMs: { tls: +overTls.toFixed(2), tcp: +overTcp.toFixed(2) } }),
    );
    // A grant lost on the TLS subscriber would leave the waiter to its 30 s safety net.
    expect(overTls).toBeLessThan(100);
    expect(overTls).toBeLessThan(overTcp * 5 + 20);
  });
});
