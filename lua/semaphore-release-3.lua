-- Gives a slot back and hands it straight to the oldest live waiter, if fewer than that
-- waiter's own capacity are held (see semaphore-grant).
-- KEYS[1] holders zset, KEYS[2] queue zset, KEYS[3] waiters hash (see semaphore-acquire)
-- ARGV[1] permit id, ARGV[2] capacity (stands for waiters queued before entries held theirs)
-- Returns 1 when the permit was held, 0 when it was already gone.
-- @include server-time
-- @include extend-ttl
-- @include semaphore-grant

local holders, queue, waiters = KEYS[1], KEYS[2], KEYS[3]
local removed = redis.call('ZREM', holders, ARGV[1])
-- With nobody queued there is nobody to hand the slot to; expired leases wait for a
-- caller they stand in the way of.
local waiting = redis.call('ZCARD', queue)
if waiting > 0 then
  local held = redis.call('ZCARD', holders)
  reap_and_grant(holders, queue, waiters, server_now_ms(), tonumber(ARGV[2]), held, waiting, nil, nil)
end
return removed
