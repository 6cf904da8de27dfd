import type { AcquireReply, CancelReply, SemaphoreBackend, SemaphoreSnapshot } from '../../core/limiter-store';
import type { GrantListener } from './grant-listener';
import { numbers, type ScriptRunner } from './script-runner';

/**
 * A semaphore stored in four Redis keys sharing one hash tag (lua/semaphore-*.lua).
 * Grants for this process's waiters arrive on `channel`.
 */
export function redisSemaphore(
  scripts: ScriptRunner,
  grants: GrantListener,
  base: string,
  channel: string,
): SemaphoreBackend {
  const [holders, queue, waiters, arrivals] = ['holders', 'queue', 'waiters', 'arrivals'].map((k) => `${base}:${k}`);
  return {
    acquire: async ({ id, capacity, leaseMs, waitMs }): Promise<AcquireReply> => {
      const [status, ms, now] = numbers(
        await scripts.run('semaphoreAcquire', [holders, queue, waiters, arrivals], [id, capacity, leaseMs, waitMs, channel]),
      );
      if (status === 1) return { status: 'held', leaseLeft: ms };
      return { status: status === 0 ? 'queued' : 'refused', retryIn: ms < 0 ? undefined : ms, now };
    },
    release: async (id, capacity) =>
      Number(await scripts.run('semaphoreRelease', [holders, queue, waiters], [id, capacity])) === 1,
    renew: async (id, leaseMs) => Number(await scripts.run('semaphoreRenew', [holders], [id, leaseMs])) === 1,
    cancel: async (id): Promise<CancelReply> => {
      const reply = Number(await scripts.run('semaphoreCancel', [holders, queue, waiters], [id]));
      return reply === 1 ? 'held' : reply === 0 ? 'dequeued' : 'absent';
    },
    inspect: async (): Promise<SemaphoreSnapshot> => {
      const [live, waiting] = (await scripts.run('semaphoreInspect', [holders, queue, waiters], [])) as [
        string[],
        string[],
      ];
      const list = [];
      for (let i = 0; i < live.length; i += 2) list.push({ id: live[i], leaseLeft: Number(live[i + 1]) });
      return { holders: list, waiters: waiting };
    },
    listen: (id, onGranted, onMissed) => {
      const listening = grants.listen(channel, id, onGranted, onMissed);
      return { ready: listening.ready && scripts.bounded(listening.ready), stop: listening.stop };
    },
  };
}
