-- Extends a live permit's lease. A permit that is no longer among the holders was
-- reaped after its lease ran out: its slot may belong to someone else now.
-- KEYS[1] holders zset
-- ARGV[1] permit id, ARGV[2] lease ms
-- Returns 1 when renewed, 0 when the lease is gone.
-- @include server-time
-- @include extend-ttl

local holders, id, lease = KEYS[1], ARGV[1], tonumber(ARGV[2])
if not redis.call('ZSCORE', holders, id) then
  return 0
end
redis.call('ZADD', holders, 'XX', server_now_ms() + lease, id)
extend_ttl(holders, lease + 1000)
return 1
