/**
 * The floor for scenarios 2 and 3: the least work a Redis semaphore that hands slots over
 * can do. One script call to take a slot or join a list, one to free it or hand it to the
 * head of the list with a PUBLISH; a dedicated subscriber wakes the waiter. No leases, no
 * renewals, no deadlines, no crash safety: a holder that dies keeps its slot forever.
 * Nobody should use it. It shows what the machine allows, so that the libraries' figures
 * can be read as a share of what is reachable here, not only of the arithmetic ideal.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ConcurrencyLimit } from './contenders';

const TAKE = `
if redis.call('INCR', KEYS[1]) <= tonumber(ARGV[1]) then return 1 end
redis.call('DECR', KEYS[1])
redis.call('RPUSH', KEYS[2], ARGV[2])
return 0`;

const FREE = `
local next = redis.call('LPOP', KEYS[2])
if next then
  local channel, id = string.match(next, '^(.*)|(.*)$')
  redis.call('PUBLISH', channel, id)
  return 1
end
redis.call('DECR', KEYS[1])
return 0`;

type Scripts = Redis & {
  floorTake(count: string, queue: string, capacity: number, member: string): Promise<number>;
  floorFree(count: string, queue: string): Promise<number>;
};

export function floorSemaphore(redis: Redis, opts: { key: string; capacity: number }): ConcurrencyLimit {
  const client = redis as Scripts;
  client.defineCommand('floorTake', { lua: TAKE, numberOfKeys: 2 });
  client.defineCommand('floorFree', { lua: FREE, numberOfKeys: 2 });
  const [count, queue] = [`{${opts.key}}:count`, `{${opts.key}}:queue`];
  const channel = `${opts.key}:wake:${randomUUID()}`;
  const wakers = new Map<string, () => void>();
  const subscriber = redis.duplicate();
  subscriber.on('message', (_channel: string, id: string) => wakers.get(id)?.());
  const subscribed = subscriber.subscribe(channel);
  let next = 0;
  return {
    run: async (work) => {
      await subscribed;
      const id = String(next++);
      const woken = new Promise<void>((resolve) => wakers.set(id, resolve));
      if ((await client.floorTake(count, queue, opts.capacity, `${channel}|${id}`)) === 0) await woken;
      wakers.delete(id);
      try {
        await work();
      } finally {
        await client.floorFree(count, queue);
      }
    },
    close: async () => void subscriber.disconnect(),
  };
}
