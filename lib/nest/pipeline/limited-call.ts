import { Observable, isObservable, type Subscriber, type Subscription } from 'rxjs';
import { LazyAbortController } from '../../core/lazy-abort-controller';
import { LimiterError } from '../../core/errors';
import { NOT_AN_OBSERVABLE } from '../limiters.messages';
import type { CallOutcome } from '../decorators/limit-options.interface';
import type { Release } from './admission-outcome';

/**
 * Tells a call's waits that its caller went away: the sleep until its tokens exist, and
 * the wait for a semaphore slot. Its signal is made only when a wait asks for it (a call
 * that never waits never does); an abort that came first is kept for the wait after it.
 */
export type GiveUp = LazyAbortController;

/** Enters the limits of one call; aborting `giveUp` gives up its waits (see GiveUp). */
export type Enter = (giveUp: GiveUp) => Promise<Release>;

/**
 * Runs `call` inside the limits, giving them back when its result settles, also when it
 * throws, with that outcome (for refundWhen). Nothing ever gives up a promise call's wait,
 * so `enter` gets no signal.
 */
export async function limitPromise<T>(enter: () => Promise<Release>, call: () => T | Promise<T>): Promise<T> {
  const release = await enter();
  let outcome: CallOutcome | undefined;
  try {
    const result = await call();
    outcome = { result };
    return result;
  } catch (error) {
    outcome = { error };
    throw error;
  } finally {
    release(outcome);
  }
}

/**
 * An Observable that enters the limits on subscription and gives them back when the
 * source completes (the outcome: its last value), errors (that error) or is unsubscribed
 * before either (no outcome). Nothing runs until someone subscribes, as with any cold Observable.
 */
export function limitObservable<T>(enter: Enter, source: () => Observable<T>): Observable<T> {
  return new Observable<T>((subscriber) => {
    const giveUp = new LazyAbortController();
    let release: Release | undefined;
    let inner: Subscription | undefined;
    let closed = false;
    const ended: Ended = {};
    enter(giveUp).then(
      (entered) => {
        release = entered;
        // Unsubscribed while waiting: the permit arrived for nobody, so it goes straight back.
        if (closed) return release();
        inner = subscribeTo(source, subscriber, ended);
      },
      (error: unknown) => subscriber.error(error),
    );
    return () => {
      closed = true;
      // Once entered there is no wait left to give up.
      if (!release) giveUp.abort();
      inner?.unsubscribe();
      release?.(ended.outcome);
    };
  });
}

/** How the source ended, set before the subscriber hears of it: its teardown reads it. */
interface Ended {
  last?: unknown;
  outcome?: CallOutcome;
}

function subscribeTo<T>(
  source: () => Observable<T>,
  subscriber: Subscriber<T>,
  ended: Ended,
): Subscription | undefined {
  const fail = (error: unknown) => {
    ended.outcome = { error };
    subscriber.error(error);
  };
  let observable: Observable<T>;
  try {
    observable = source();
  } catch (error) {
    fail(error);
    return undefined;
  }
  if (!isObservable(observable)) {
    fail(new LimiterError(NOT_AN_OBSERVABLE));
    return undefined;
  }
  return observable.subscribe({
    next: (value) => {
      ended.last = value;
      subscriber.next(value);
    },
    error: fail,
    complete: () => {
      ended.outcome = { result: ended.last };
      subscriber.complete();
    },
  });
}
