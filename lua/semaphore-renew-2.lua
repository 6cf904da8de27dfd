-- Extends a live permit's lease. A lease that ran out is lost even if no caller has
-- reaped it yet: its permits may belong to someone else by now.
-- KEYS[1] holders zset, KEYS[2] weights hash (see semaphore-permits)
-- ARGV[1] permit id, ARGV[2] lease ms
-- Returns 1 when renewed, 0 when the lease is gone.
-- @include server-time
-- @include extend-ttl
-- @include semaphore-permits

local holders, weights, id, lease = KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2])
local now = server_now_ms()
local deadline = redis.call('ZSCORE', holders, id)
if not deadline then
  return 0
end
if tonumber(deadline) <= now then
  -- Rare: weighed from the hash, which holds every weighted permit.
  drop_holder(holders, weights, id, tonumber(redis.call('HGET', weights, id)) or 1)
  return 0
end
redis.call('ZADD', holders, 'XX', now + lease, id)
extend_ttl(holders, lease + 1000, false)
-- Whoever renews keeps the weights alive as long as the lease (a no-op without weights).
extend_ttl(weights, lease + 1000, false)
return 1
