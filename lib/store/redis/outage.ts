import { LimiterClosedError, RedisRefusedError, RedisUnavailableError } from '../../core/errors';

/**
 * Replies that mean the server cannot serve right now, whatever the command: restarting
 * (LOADING), blocked by a script (BUSY), a slot or master missing (CLUSTERDOWN,
 * MASTERDOWN), a demoted master after a failover (READONLY). A refusal that names the
 * deployment (NOPERM, OOM, WRONGPASS, a script error) is not an outage: Redis answered, a
 * retry in a second gets the same answer, and it must reach whoever can fix it.
 */
const OUTAGE_REPLIES = new Set(['LOADING', 'BUSY', 'CLUSTERDOWN', 'MASTERDOWN', 'READONLY']);

/**
 * True when `error` says Redis could not be reached or could not serve: a timeout, a lost
 * connection, or one of the replies above. What the circuit breaker counts, and what
 * `whenRedisFails: 'local'` limits locally.
 */
export function isOutage(error: unknown): boolean {
  if (!(error instanceof RedisUnavailableError) || error instanceof LimiterClosedError) return false;
  return !(error instanceof RedisRefusedError) || OUTAGE_REPLIES.has(error.code);
}
