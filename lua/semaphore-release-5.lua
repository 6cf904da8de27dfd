-- Gives a permit back and hands the freed room straight to the oldest live waiters, as
-- many as now fit, in order (see semaphore-grant).
-- KEYS[1] holders, KEYS[2] queue, KEYS[3] waiters, KEYS[4] arrivals, KEYS[5] weights
-- (see semaphore-acquire)
-- ARGV[1] permit id, ARGV[2] capacity (stands for waiters queued before entries held theirs),
-- ARGV[3] the permits it holds
-- Returns 1 when the permit was held, 0 when it was already gone.
-- @include semaphore-permits

local holders, queue, weights = KEYS[1], KEYS[2], KEYS[5]
local removed = drop_holder(holders, weights, ARGV[1], ARGV[3] + 0)
-- With nobody queued there is nobody to hand the room to; expired leases wait for a
-- caller they stand in the way of. This is the usual call, and it returns before the
-- hand-off's helpers (below) are defined: Lua makes a closure for each function
-- definition it runs, on every call.
local waiting = redis.call('ZCARD', queue)
if waiting == 0 then return removed end

-- @include server-time
-- @include semaphore-grant
reap_and_grant(KEYS, server_now_ms(), ARGV[2] + 0, read_held(holders, weights), waiting, nil, nil)
return removed
