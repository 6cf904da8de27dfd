import type { AcquireReply, CancelReply, SemaphoreBackend, SemaphoreSnapshot } from '../../core/limiter-store';
import type { GrantListener } from './grant-listener';
import { numbers, type ScriptRunner } from './script-runner';

/**
 * A semaphore stored in Redis keys sharing one hash tag (lua/semaphore-*.lua): holders,
 * queue, waiters, arrivals (also the fencing tokens), and weights once a permit is worth
 * more than one. Grants for this process's waiters arrive on the client's channel
 * `plain`, or on a Cluster on `sharded`, a channel in the semaphore's own slot.
 */
export function redisSemaphore(
  scripts: ScriptRunner,
  grants: GrantListener,
  base: string,
  channels: { plain: string; sharded: string },
): SemaphoreBackend {
  const [holders, queue, waiters, arrivals, weights] = ['holders', 'queue', 'waiters', 'arrivals', 'weights'].map((k) => `${base}:${k}`);
  const all = [holders, queue, waiters, arrivals, weights];
  return {
    acquire: async ({ id, capacity, leaseMs, waitMs, permits = 1 }): Promise<AcquireReply> => {
      // Only a queued waiter is sent anything: it listened (see SemaphoreWait) before it asks.
      const { channel, how } = grants.route(channels.plain, channels.sharded);
      const reply = await scripts.run('semaphoreAcquire', all, [id, capacity, leaseMs, waitMs, channel, permits, how]);
      // Held: the fencing token alone (a string with stringNumbers), for a whole lease.
      if (!Array.isArray(reply)) return { status: 'held', leaseLeft: leaseMs, fencingToken: BigInt(reply as number | string) };
      const [status, ms, now] = numbers(reply);
      return { status: status === 0 ? 'queued' : 'refused', retryIn: ms < 0 ? undefined : ms, now };
    },
    release: async (id, capacity, permits = 1) =>
      Number(await scripts.run('semaphoreRelease', all, [id, capacity, permits])) === 1,
    renew: async (id, leaseMs) => Number(await scripts.run('semaphoreRenew', [holders, weights], [id, leaseMs])) === 1,
    cancel: async (id): Promise<CancelReply> => {
      const reply = Number(await scripts.run('semaphoreCancel', [holders, queue, waiters], [id]));
      return reply === 1 ? 'held' : reply === 0 ? 'dequeued' : 'absent';
    },
    inspect: async (): Promise<SemaphoreSnapshot> => {
      const [live, waiting] = (await scripts.run('semaphoreInspect', [holders, queue, waiters, weights], [])) as [
        string[],
        string[],
      ];
      const list = [];
      for (let i = 0; i < live.length; i += 3) list.push({ id: live[i], leaseLeft: Number(live[i + 1]), permits: Number(live[i + 2]) });
      return { holders: list, waiters: waiting };
    },
    listen: (id, onGranted, onMissed) => {
      const listening = grants.listen(channels, id, onGranted, onMissed);
      return { ready: listening.ready && scripts.bounded(listening.ready), stop: listening.stop };
    },
  };
}
