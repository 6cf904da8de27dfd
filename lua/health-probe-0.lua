-- The health probe: proves a server runs the limiters' scripts, touching nothing.
-- No keys, no arguments. Returns the server's TIME {seconds, microseconds}.
-- It has no "no-writes" flag on purpose: Redis then treats it as it treats every
-- limiter script, so a server out of memory (OOM), a read-only replica (READONLY) or a
-- user who may not run EVALSHA or TIME (NOPERM) refuses the probe as it would a limit.
return redis.call('TIME')
