-- Takes a semaphore slot, or queues the caller in first-come, first-served order.
-- Called again by the same waiter (same id) to refresh its place and look again.
-- KEYS[1] holders  zset  permit id -> lease deadline (server ms)
-- KEYS[2] queue    zset  waiter id -> arrival number (FIFO order)
-- KEYS[3] waiters  hash  waiter id -> "deadline:leaseMs:{capacity}channel"
-- KEYS[4] arrivals counter giving arrival numbers
-- ARGV[1] id, ARGV[2] capacity, ARGV[3] lease ms,
-- ARGV[4] ms the caller may wait in the queue (0: do not queue), ARGV[5] wake-up channel
-- Returns {1, lease ms left} when held, {0, retry ms, now} when queued,
-- {-1, retry ms, now} when not held and not queued; retry ms is -1 when unknown, now is
-- the server ms the script ran at (a waiter maps published lease ends onto its own clock).
-- @include server-time
-- @include extend-ttl
-- @include semaphore-grant

local holders, queue, waiters, arrivals = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local id, capacity, lease = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local wait, channel = tonumber(ARGV[4]), ARGV[5]
local now = server_now_ms()

local held = redis.call('ZCARD', holders)
local waiting = redis.call('ZCARD', queue)
-- Expired leases only matter when they stand in the way: a full set, or waiters to serve.
-- Slots above this caller's capacity are not its to hand out: they free up by a release,
-- which serves the queue itself, or by leases running out, when each waiter looks again.
if held >= capacity or waiting > 0 then
  held, waiting = reap_and_grant(holders, queue, waiters, now, capacity, held, waiting, id, capacity)
end
-- A slot left over after the whole queue was served means nobody older is waiting. The
-- id may hold one already (granted while it waited): adding it again renews that lease.
if held < capacity and waiting == 0 then
  redis.call('ZADD', holders, now + lease, id)
  extend_ttl(holders, lease + 1000, held == 0)
  return {1, lease}
end
local mine = redis.call('ZSCORE', holders, id)
if mine then
  return {1, tonumber(mine) - now}
end

local retry = earliest_lease_end(holders, now)
if wait <= 0 then
  if redis.call('ZREM', queue, id) == 1 then redis.call('HDEL', waiters, id) end
  return {-1, retry, now}
end
-- The queue exists exactly when someone is in it. The waiters hash may keep a stray
-- entry or two beside an empty queue, and the counter may outlive it, but each got a TTL
-- when created: with the queue empty, setting theirs afresh (maybe shorter) loses no one.
local first = waiting == 0
local ttl = wait + 1000
if first or not redis.call('ZSCORE', queue, id) then
  local arrival = redis.call('INCR', arrivals)
  redis.call('ZADD', queue, arrival, id)
  extend_ttl(arrivals, ttl, first or arrival == 1)
else
  extend_ttl(arrivals, ttl, false)
end
redis.call('HSET', waiters, id, (now + wait) .. ':' .. lease .. ':{' .. capacity .. '}' .. channel)
extend_ttl(queue, ttl, first)
extend_ttl(waiters, ttl, first)
return {0, retry, now}
