/** The part of a client's event emitter that waiting for it needs (ioredis and node-redis alike). */
export interface ClientEvents {
  once(event: string, listener: () => void): unknown;
  off(event: string, listener: () => void): unknown;
}

/**
 * Resolves with `undefined` on the client's `ready` event, or with why not: `notReady()`
 * after `timeout` ms (none: no limit), or `closed` on its `end` event (the app closed it).
 */
export function readyWithin(
  client: ClientEvents,
  events: { ready: string; end: string },
  timeout: number | undefined,
  notReady: () => string,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const done = (reason: string | undefined) => {
      clearTimeout(timer);
      client.off(events.ready, onReady);
      client.off(events.end, onEnd);
      resolve(reason);
    };
    const onReady = () => done(undefined);
    const onEnd = () => done('the Redis client was closed before it was ready');
    const timer = timeout === undefined ? undefined : setTimeout(() => done(notReady()), timeout);
    client.once(events.ready, onReady);
    client.once(events.end, onEnd);
  });
}
