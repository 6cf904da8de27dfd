/**
 * The stores a behaviour suite runs on when it needs nothing but a store: both Redis
 * deployments, each through ioredis and node-redis, and the in-memory store (`describe.each(storeTargets)('$name', ...)`).
 * Suites that need Redis itself (worker processes, MONITOR, keys) use `targets`.
 */
// From its module rather than the package index, which loads lib/nest as well: core and
// store specs run on core and store alone.
import { MemoryStore } from '../../lib/store/memory/memory-store';
import type { StoreOrClient } from '../../lib/store/resolve-store';
import { clientTargets, useLimiterClients } from './redis-targets';

export interface StoreTarget {
  /** 'standalone', 'cluster', 'node-redis standalone', 'node-redis cluster' or 'memory'. */
  name: string;
  /** Call inside a describe: what its limiters are built on; a Redis client is closed in its afterAll. */
  store(): StoreOrClient;
}

export const storeTargets: StoreTarget[] = [
  ...clientTargets.map((target) => ({ name: target.name, store: () => useLimiterClients(target).client() })),
  { name: 'memory', store: () => new MemoryStore() },
];
