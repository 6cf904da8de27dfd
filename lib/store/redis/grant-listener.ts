import type { RedisClient } from './lua-scripts';

/**
 * One subscriber connection per client, shared by every waiter of that client.
 * Waiting happens here and never on the client's command connection, so other
 * callers' commands are not held up behind a blocked waiter.
 * Scripts PUBLISH a granted waiter's id on the channel the waiter named when it queued.
 */
export class GrantListener {
  private subscriber?: RedisClient;
  private readonly subscribed = new Map<string, Promise<unknown>>();
  private readonly waiters = new Map<string, () => void>();

  constructor(private readonly client: RedisClient) {
    // The subscriber must not keep the process alive after the user closes their client.
    client.once('end', () => this.close());
  }

  async listen(channel: string, id: string, onGranted: () => void): Promise<() => void> {
    this.waiters.set(id, onGranted);
    const stop = () => void this.waiters.delete(id);
    try {
      await this.subscribe(channel);
    } catch (error) {
      stop();
      throw error;
    }
    return stop;
  }

  close(): void {
    this.subscriber?.disconnect();
    this.subscriber = undefined;
    this.subscribed.clear();
  }

  private subscribe(channel: string): Promise<unknown> {
    let done = this.subscribed.get(channel);
    if (!done) {
      done = this.connection().subscribe(channel);
      // A failed subscribe is retried by the next waiter instead of being cached.
      done.catch(() => this.subscribed.delete(channel));
      this.subscribed.set(channel, done);
    }
    return done;
  }

  private connection(): RedisClient {
    if (!this.subscriber) {
      const subscriber = (this.client.duplicate as () => RedisClient).call(this.client);
      subscriber.on('message', (_channel: string, id: string) => this.waiters.get(id)?.());
      // Connection errors surface to waiters through their own timers and calls;
      // without a listener ioredis would print them as unhandled.
      subscriber.on('error', () => undefined);
      this.subscriber = subscriber;
    }
    return this.subscriber;
  }
}
