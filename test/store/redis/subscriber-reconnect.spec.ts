/**
 * Grants travel by pub/sub, which delivers nothing to a subscriber that is reconnecting
 * (a Redis restart, a dropped connection). A waiter granted meanwhile already holds the
 * slot but was not told: it must find out once its subscriber is back, not at its
 * safety-net timer (up to maxSleep or expiry later) while the slot sits idle.
 * Killing subscriber connections disturbs everyone on the server: this file starts its own Redis.
 */
import type Redis from 'ioredis';
import { SemaphoreLimiter } from '../../../lib';
import { closeNodeRedis, nodeRedisAt, type ClientLibrary, type NodeRedis } from '../../harness/node-redis';
import { uniqueName, type LimiterClient } from '../../harness/redis-targets';
import { now, sleep } from '../../harness/timing';
import { useOwnRedis } from '../../harness/own-redis';

describe.each<ClientLibrary>(['ioredis', 'node-redis'])(
  'grants published while the subscriber reconnects, on %s (own Redis)',
  (library) => {
    const nodeRedis: NodeRedis[] = [];
    // Before useOwnRedis, so these clients close before their server stops.
    afterAll(() => Promise.all(nodeRedis.map(closeNodeRedis)));
    const own = useOwnRedis();
    let redis: LimiterClient;
    let admin: Redis;
    beforeAll(async () => {
      if (library === 'ioredis') redis = own.client();
      else nodeRedis.push((redis = await nodeRedisAt(own.server().url).connect()));
      admin = own.client();
    });

    it('a waiter granted while its subscriber was down takes the slot once the subscriber is back', async () => {
      const s = new SemaphoreLimiter(redis, { name: uniqueName('resub'), capacity: 1, expiry: 30_000 });
      const held = await s.acquire();
      const waiting = s.acquire({ maxSleep: 10_000 });
      while ((await s.state()).waiters.length === 0) await sleep(10);

      // The subscriber is gone for at least the client's first retry delay; the grant is published meanwhile.
      expect(await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub')).toBe(1);
      const releasedAt = now();
      expect(await held.release()).toBe(true);
      const permit = await waiting;
      const waited = now() - releasedAt;
      expect((await s.state()).holders.map((h) => h.id)).toEqual([permit.id]);
      await permit.release();
      expect(waited).toBeLessThan(2_000);
    });
  },
);
