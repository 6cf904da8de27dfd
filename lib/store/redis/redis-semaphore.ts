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
  const [holders, queue, waiters, arrivals, weights] = ['holders', 'queue', 'waiters', 'arrivals', 'weights'].map(
    (k) => `${base}:${k}`,
  );
  const all = [holders, queue, waiters, arrivals, weights];
  return {
    // acquire and release run on every admission: the replies are read by the runner, in place.
    acquire: ({ id, capacity, leaseMs, waitMs, permits = 1 }) => {
      // Only a queued waiter is sent anything: it listened (see SemaphoreWait) before it asks.
      const { channel, how } = grants.route(channels.plain, channels.sharded);
      return scripts.run('semaphoreAcquire', all, [id, capacity, leaseMs, waitMs, channel, permits, how], (reply) =>
        acquireReply(reply, leaseMs),
      );
    },
    release: (id, capacity, permits = 1) => scripts.run('semaphoreRelease', all, [id, capacity, permits], isOne),
    renew: (id, leaseMs) => scripts.run('semaphoreRenew', [holders, weights], [id, leaseMs], isOne),
    cancel: (id) => scripts.run('semaphoreCancel', [holders, queue, waiters], [id], cancelReply),
    inspect: async (): Promise<SemaphoreSnapshot> => {
      const [live, waiting] = (await scripts.run('semaphoreInspect', [holders, queue, waiters, weights], [])) as [
        string[],
        string[],
      ];
      const list = [];
      for (let i = 0; i < live.length; i += 3)
        list.push({ id: live[i], leaseLeft: Number(live[i + 1]), permits: Number(live[i + 2]) });
      return { holders: list, waiters: waiting };
    },
    listen: (id, onGranted, onMissed) => {
      const listening = grants.listen(channels, id, onGranted, onMissed);
      return { ready: listening.ready && scripts.bounded(listening.ready), stop: listening.stop };
    },
  };
}

/** semaphore-acquire's reply: the fencing token alone when held, else {0 queued / -1 refused, retry hint, server now}. */
function acquireReply(reply: unknown, leaseMs: number): AcquireReply {
  // Held for a whole lease. BigInt() takes the string a client made with stringNumbers gives.
  if (!Array.isArray(reply))
    return { status: 'held', leaseLeft: leaseMs, fencingToken: BigInt(reply as number | string) };
  const [status, ms, now] = numbers(reply);
  return { status: status === 0 ? 'queued' : 'refused', retryIn: ms < 0 ? undefined : ms, now };
}

function isOne(reply: unknown): boolean {
  return Number(reply) === 1;
}

function cancelReply(reply: unknown): CancelReply {
  const state = Number(reply);
  return state === 1 ? 'held' : state === 0 ? 'dequeued' : 'absent';
}
