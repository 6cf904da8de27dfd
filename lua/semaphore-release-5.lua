-- Gives a permit back and hands the freed room straight to the oldest live waiters, as
-- many as now fit, in order (see semaphore-grant).
-- KEYS[1] holders, KEYS[2] queue, KEYS[3] waiters, KEYS[4] arrivals, KEYS[5] weights
-- (see semaphore-acquire)
-- ARGV[1] permit id, ARGV[2] capacity (stands for waiters queued before entries held theirs),
-- ARGV[3] the permits it holds
-- Returns 1 when the permit was held, 0 when it was already gone.
-- @include server-time
-- @include extend-ttl
-- @include semaphore-grant

local holders, queue, weights = KEYS[1], KEYS[2], KEYS[5]
local removed = drop_holder(holders, weights, ARGV[1], tonumber(ARGV[3]))
-- With nobody queued there is nobody to hand the room to; expired leases wait for a
-- caller they stand in the way of.
local waiting = redis.call('ZCARD', queue)
if waiting > 0 then
  reap_and_grant(KEYS, server_now_ms(), tonumber(ARGV[2]), read_held(holders, weights), waiting, nil, nil)
end
return removed
