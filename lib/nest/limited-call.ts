import { Observable, isObservable, type Subscriber, type Subscription } from 'rxjs';
import type { Release } from './limit-gate';

/**
 * Tells a semaphore wait that its caller went away. The AbortController is made only when
 * a wait asks for the signal: a call limited by a token bucket alone never does, and
 * making one and aborting it (which builds a DOMException) costs more per request than
 * the rest of the interceptor's own work.
 */
export class GiveUp {
  private controller: AbortController | undefined;

  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    return this.controller.signal;
  }

  /** Aborts the wait that read the signal, if any did. */
  now(): void {
    this.controller?.abort();
  }
}

/** Enters the limits of one call; aborting `giveUp`'s signal gives up waiting for a semaphore slot. */
export type Enter = (giveUp: GiveUp) => Promise<Release>;

/**
 * Runs `call` inside the limits, giving them back when its result settles, also when it
 * throws. Nothing ever gives up a promise call's wait, so `enter` gets no signal.
 */
export async function limitPromise<T>(enter: () => Promise<Release>, call: () => T | Promise<T>): Promise<T> {
  const release = await enter();
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
    const giveUp = new GiveUp();
    let release: Release | undefined;
    let inner: Subscription | undefined;
    let closed = false;
    enter(giveUp).then(
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
      // Once entered there is no wait left to give up.
      if (!release) giveUp.now();
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
