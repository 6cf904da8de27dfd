-- Extends a live permit's lease. A lease that ran out is lost even if no caller has
-- reaped it yet: its slot may belong to someone else by now.
-- KEYS[1] holders zset
-- ARGV[1] permit id, ARGV[2] lease ms
-- Returns 1 when renewed, 0 when the lease is gone.
-- @include server-time
-- @include extend-ttl

local holders, id, lease = KEYS[1], ARGV[1], tonumber(ARGV[2])
local now = server_now_ms()
local deadline = redis.call('ZSCORE', holders, id)
if not deadline then
  return 0
end
if tonumber(deadline) <= now then
  redis.call('ZREM', holders, id)
  return 0
end
redis.call('ZADD', holders, 'XX', now + lease, id)
extend_ttl(holders, lease + 1000, false)
return 1
