import { LimiterError } from './errors';
import type { LimiterStore } from './limiter-store';

/**
 * What a limiter is built on: a LimiterStore, or a client that a store adapter turns
 * into one (an ioredis Redis or Cluster, a node-redis client or Cluster: see lib/store/resolve-store.ts).
 */
export type StoreOrClient = LimiterStore | object;

type ClientAdapter = (client: object) => LimiterStore | undefined;

const adapters: ClientAdapter[] = [];

/**
 * Teaches core to build on a kind of client. The stores register themselves: core knows
 * only the LimiterStore interface, so it depends on no store and no client library.
 */
export function addClientAdapter(adapter: ClientAdapter): void {
  if (!adapters.includes(adapter)) adapters.push(adapter);
}

export function resolveStore(target: StoreOrClient): LimiterStore {
  const candidate = target as Partial<LimiterStore> | undefined;
  if (candidate && typeof candidate.semaphore === 'function' && typeof candidate.tokenBucket === 'function') {
    return candidate as LimiterStore;
  }
  for (const adapter of adapters) {
    const store = candidate && adapter(candidate);
    if (store) return store;
  }
  throw new LimiterError(
    'A limiter needs an ioredis Redis or Cluster, a node-redis client or Cluster (or a LimiterStore) as its first argument; received ' +
      (candidate === null ? 'null' : typeof candidate) +
      '.',
  );
}
