/**
 * A real store (Redis or memory) behind a thin wrapper that counts the token bucket
 * calls reaching it and can hold their answers back: to see what a limiter asked the
 * store, and to let a reply arrive after something the test did meanwhile. No mock:
 * every call still runs on the store underneath.
 */
import type { LimiterRef, LimiterStore, TakeReply, TokenBucketBackend } from '../../lib/core/limiter-store';
import { resolveStore, type StoreOrClient } from '../../lib/core/store-resolver';
import '../../lib/store/resolve-store';

export interface CountingStore extends LimiterStore {
  /** take() calls that reached the store underneath. */
  takes: number;
  /** While set, take() replies wait for this promise after the store has answered. */
  holdTakes?: Promise<void>;
}

export function countingStore(target: StoreOrClient): CountingStore {
  const inner = resolveStore(target);
  const store: CountingStore = {
    takes: 0,
    semaphore: (ref: LimiterRef) => inner.semaphore(ref),
    tokenBucket(ref: LimiterRef): TokenBucketBackend {
      const backend = inner.tokenBucket(ref);
      return {
        inspect: (shape) => backend.inspect(shape),
        adjust: (shape, tokens) => backend.adjust(shape, tokens),
        async take(shape, tokens, maxWait): Promise<TakeReply> {
          store.takes++;
          const reply = await backend.take(shape, tokens, maxWait);
          if (store.holdTakes) await store.holdTakes;
          return reply;
        },
      };
    },
  };
  return store;
}
