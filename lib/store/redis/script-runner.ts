import { RedisUnavailableError } from '../../core/errors';
import type { LimiterRef } from '../limiter-store';
import { runScript, type RedisClient, type ScriptName } from './lua-scripts';

/** Runs a limiter's scripts on one client, each call bounded by the limiter's commandTimeout. */
export class ScriptRunner {
  constructor(
    private readonly client: RedisClient,
    private readonly ref: LimiterRef,
  ) {}

  run(script: ScriptName, keys: string[], args: Array<string | number>): Promise<unknown> {
    return this.bounded(runScript(this.client, script, keys, args));
  }

  /**
   * ioredis queues commands while it reconnects, possibly for a long time. Callers get a
   * clear error after commandTimeout instead; the command may still run later, which
   * every script tolerates (a stray lease expires, a stray reservation only under-admits).
   */
  bounded<T>(call: Promise<T>): Promise<T> {
    const { name, commandTimeout } = this.ref;
    // One promise and one timer per call: this wraps every command on the hot path.
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new RedisUnavailableError(name, new Error(`no answer within commandTimeout ${commandTimeout} ms`))),
        commandTimeout,
      );
      call.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error instanceof RedisUnavailableError ? error : new RedisUnavailableError(name, error));
        },
      );
    });
  }
}

/**
 * A script's integer array reply as numbers. A client made with `stringNumbers: true`
 * (ioredis's guard against integers past 2^53) hands integers over as strings, and
 * "1" === 1 is false: every grant would read as a refusal.
 */
export function numbers(reply: unknown): number[] {
  return (reply as Array<number | string>).map(Number);
}
