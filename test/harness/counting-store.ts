/**
 * A real store (Redis or memory) behind a thin wrapper that counts the rate kinds' take
 * calls reaching it and can hold their answers back: to see what a limiter asked the
 * store, and to let a reply arrive after something the test did meanwhile. No mock:
 * every call still runs on the store underneath.
 */
import type { LimiterRef, LimiterStore, RateBackend, TakeReply } from '../../lib/core/limiter-store';
import { resolveStore, type StoreOrClient } from '../../lib/core/store-resolver';
import '../../lib/store/resolve-store';

export interface CountingStore extends LimiterStore {
  /** take() calls that reached the store underneath, of every rate kind. */
  takes: number;
  /** While set, take() replies wait for this promise after the store has answered. */
  holdTakes?: Promise<void>;
}

export function countingStore(target: StoreOrClient): CountingStore {
  const inner = resolveStore(target);
  const counted = <S, N>(backend: RateBackend<S, N>): RateBackend<S, N> => ({
    inspect: (shape) => backend.inspect(shape),
    adjust: (shape, tokens, slot) => backend.adjust(shape, tokens, slot),
    async take(shape, tokens, maxWait): Promise<TakeReply> {
      store.takes++;
      const reply = await backend.take(shape, tokens, maxWait);
      if (store.holdTakes) await store.holdTakes;
      return reply;
    },
  });
  const store: CountingStore = {
    takes: 0,
    semaphore: (ref: LimiterRef) => inner.semaphore(ref),
    tokenBucket: (ref: LimiterRef) => counted(inner.tokenBucket(ref)),
    fixedWindow: (ref: LimiterRef) => counted(inner.fixedWindow(ref)),
    slidingWindow: (ref: LimiterRef) => counted(inner.slidingWindow(ref)),
  };
  return store;
}
