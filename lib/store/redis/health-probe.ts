import { RedisRefusedError } from '../../core/errors';
import { connectionFor, type RedisClientLike } from './clients/connection-for';
import type { MasterServer } from './clients/redis-connection';
import { ScriptRunner } from './script-runner';

/** What one probe found: every master answered, or the first reason one did not. */
export type ProbeOutcome = { ok: true; masters: number } | { ok: false; reason: string };

/**
 * Runs the healthProbe script (TIME, no keys) on every master behind `client`, through the
 * ScriptRunner the limiters use, so that what refuses a limit (NOPERM, OOM, an ACL user
 * without EVALSHA) fails the probe too. Each master is bounded by `timeout` ms. On a
 * Cluster every master holds the keys of its slots, so one master down is a limit down.
 */
export async function probeRedis(client: RedisClientLike, keyPrefix: string, timeout: number): Promise<ProbeOutcome> {
  const masters = await connectionFor(client)!.masters({ timeout, connect: true });
  if ('reason' in masters) return { ok: false, reason: masters.reason };
  if (masters.unserved) return { ok: false, reason: masters.unserved };
  const failures = await Promise.all(masters.servers.map((server) => probeServer(server, keyPrefix, timeout)));
  const reason = failures.find((f) => f !== undefined);
  return reason === undefined ? { ok: true, masters: masters.servers.length } : { ok: false, reason };
}

async function probeServer(
  { address: at, connection, lost }: MasterServer,
  keyPrefix: string,
  timeout: number,
): Promise<string | undefined> {
  if (lost) return `${at}: ${lost}`;
  const runner = new ScriptRunner(connection, { name: 'health probe', keyPrefix, commandTimeout: timeout });
  try {
    await runner.run('healthProbe', [], []);
    return undefined;
  } catch (error) {
    // A refusal says what Redis refused and why; anything else is why Redis was not reached.
    if (error instanceof RedisRefusedError) return `${at}: ${error.message}`;
    const cause = (error as Error).cause;
    const reason = cause instanceof Error ? cause.message : String(cause ?? error);
    // The runner names the limiters' option; here the bound is the probe's own timeout.
    return `${at}: ${reason.replace(/^no answer within commandTimeout (\d+) ms$/, 'no answer within $1 ms')}`;
  }
}
