/**
 * Issue 12, item 5: on a Redis 7 Cluster a grant goes by sharded pub/sub (SPUBLISH to a
 * channel in the semaphore's own slot), so it no longer crosses the cluster bus to every
 * other master as a plain PUBLISH does. Counted from CLUSTER INFO on every master:
 * cluster_stats_messages_publish_received is what the bus delivered of PUBLISHes.
 */
import { SemaphoreLimiter } from '../../../lib';
import { masters, targets, uniqueName, useClients } from '../../harness/redis-targets';
import { median, now, waitUntil } from '../../harness/timing';

const cluster = targets.find((t) => t.name === 'cluster')!;

/** Plain pub/sub messages the cluster bus delivered, summed over the masters. */
async function busPublishesReceived(client: Parameters<typeof masters>[0]): Promise<number> {
  const infos = await Promise.all((await masters(client)).map((m) => m.cluster('INFO') as Promise<string>));
  return infos.reduce(
    (sum, info) => sum + Number(/cluster_stats_messages_publish_received:(\d+)/.exec(info)?.[1] ?? 0),
    0,
  );
}

describe('grants on a Redis 7 Cluster', () => {
  const { client } = useClients(cluster);
  const HANDOFFS = 20;

  it('go by sharded pub/sub: a hand-off reaches no other master over the bus, where a PUBLISH reaches each', async () => {
    const [holderClient, waiterClient] = [client(), client()];
    const name = uniqueName('sharded');
    // A long lease and maxSleep: only a grant message, not a waiter's timer, wakes a waiter within the test.
    const options = { name, capacity: 1, expiry: 60_000, maxSleep: 30_000 };
    const holderSide = new SemaphoreLimiter(holderClient, options);
    const waiterSide = new SemaphoreLimiter(waiterClient, options);

    const beforeGrants = await busPublishesReceived(holderClient);
    const latencies: number[] = [];
    for (let i = 0; i < HANDOFFS; i++) {
      const held = await holderSide.acquire();
      let grantedAt = 0;
      const waiting = waiterSide.acquire().then((p) => ((grantedAt = now()), p));
      await waitUntil('the waiter is queued', async () => (await holderSide.state()).waiters.length === 1);
      const releasedAt = now();
      await held.release();
      const permit = await waiting;
      latencies.push(grantedAt - releasedAt);
      await permit.release();
    }
    const grantsOverBus = (await busPublishesReceived(holderClient)) - beforeGrants;

    // The same number of plain PUBLISHes, as grants went before: each reaches every other master.
    const beforePublishes = await busPublishesReceived(holderClient);
    for (let i = 0; i < HANDOFFS; i++) await holderClient.publish(`limiters:granted:${name}`, `${i}`);
    const otherMasters = (await masters(holderClient)).length - 1;
    await waitUntil(
      'the PUBLISHes crossed the bus',
      async () => (await busPublishesReceived(holderClient)) - beforePublishes >= HANDOFFS * otherMasters,
    );
    const publishesOverBus = (await busPublishesReceived(holderClient)) - beforePublishes;

    expect(publishesOverBus).toBeGreaterThanOrEqual(HANDOFFS * otherMasters);
    // Nothing of ours crosses the bus; other test files on this cluster wait on their own semaphores the same way.
    expect(grantsOverBus).toBe(0);
    // Every waiter was woken by its grant message.
    expect(Math.max(...latencies)).toBeLessThan(1_000);
    expect(median(latencies)).toBeLessThan(50);
  });
});
