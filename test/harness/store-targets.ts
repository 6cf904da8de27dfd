/**
 * The stores a behaviour suite runs on when it needs nothing but a store: both Redis
 * deployments and the in-memory store (`describe.each(storeTargets)('$name', ...)`).
 * Suites that need Redis itself (worker processes, MONITOR, keys) use `targets`.
 */
import { MemoryStore } from '../../lib';
import type { StoreOrClient } from '../../lib/store/resolve-store';
import { targets, useClients, type TargetName } from './redis-targets';

export interface StoreTarget {
  name: TargetName | 'memory';
  /** Call inside a describe: what its limiters are built on; a Redis client is closed in its afterAll. */
  store(): StoreOrClient;
}

export const storeTargets: StoreTarget[] = [
  ...targets.map((target) => ({ name: target.name, store: () => useClients(target).client() })),
  { name: 'memory', store: () => new MemoryStore() },
];
