-- A waiter gives up. It may have been granted a slot in the same instant: then it
-- is told so, and must take the permit or release it; it is never lost.
-- KEYS[1] holders zset, KEYS[2] queue zset, KEYS[3] waiters hash
-- ARGV[1] waiter id
-- Returns 1 when the id holds a live slot, 0 when it was taken out of the queue,
-- -1 when it was neither (already skipped as expired, or its lease ran out).
-- @include server-time

local holders, queue, waiters, id = KEYS[1], KEYS[2], KEYS[3], ARGV[1]
local deadline = redis.call('ZSCORE', holders, id)
if deadline and tonumber(deadline) > server_now_ms() then
  return 1
end
redis.call('HDEL', waiters, id)
if redis.call('ZREM', queue, id) == 1 then
  return 0
end
return -1
