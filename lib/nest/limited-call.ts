import { Observable, isObservable, type Subscriber, type Subscription } from 'rxjs';
import type { Release } from './limit-gate';

/** Enters the limits of one call; aborting the signal gives up waiting for a semaphore slot. */
export type Enter = (signal: AbortSignal) => Promise<Release>;

/** Runs `call` inside the limits, giving them back when its result settles, also when it throws. */
export async function limitPromise<T>(enter: Enter, call: () => T | Promise<T>): Promise<T> {
  const release = await enter(new AbortController().signal);
  try {
    return await call();
  } finally {
    release();
  }
}

/**
 * An Observable that enters the limits on subscription and gives them back when the
 * source completes, errors or is unsubscribed. Nothing runs until someone subscribes,
 * as with any cold Observable.
 */
export function limitObservable<T>(enter: Enter, source: () => Observable<T>): Observable<T> {
  return new Observable<T>((subscriber) => {
    const waiting = new AbortController();
    let release: Release | undefined;
    let inner: Subscription | undefined;
    let closed = false;
    enter(waiting.signal).then(
      (entered) => {
        release = entered;
        // Unsubscribed while waiting: the permit arrived for nobody, so it goes straight back.
        if (closed) return release();
        inner = subscribeTo(source, subscriber);
      },
      (error: unknown) => subscriber.error(error),
    );
    return () => {
      closed = true;
      waiting.abort();
      inner?.unsubscribe();
      release?.();
    };
  });
}

function subscribeTo<T>(source: () => Observable<T>, subscriber: Subscriber<T>): Subscription | undefined {
  let observable: Observable<T>;
  try {
    observable = source();
  } catch (error) {
    subscriber.error(error);
    return undefined;
  }
  if (!isObservable(observable)) {
    subscriber.error(new TypeError('A method declared to return an Observable returned something else.'));
    return undefined;
  }
  return observable.subscribe(subscriber);
}
