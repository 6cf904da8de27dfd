-- Takes `permits` of a semaphore, or queues the caller in first-come, first-served order.
-- Called again by the same waiter (same id) to refresh its place and look again.
-- KEYS[1] holders  zset  permit id -> lease deadline (server ms)
-- KEYS[2] queue    zset  waiter id -> arrival number (FIFO order)
-- KEYS[3] waiters  hash  waiter id -> "deadline:leaseMs:{capacity,permits,how}channel"
-- KEYS[4] arrivals counter giving arrival numbers and fencing tokens (see next-number)
-- KEYS[5] weights  hash  permit id -> permits, for permits > 1 (see semaphore-permits)
-- ARGV[1] id, ARGV[2] capacity, ARGV[3] lease ms,
-- ARGV[4] ms the caller may wait in the queue (0: do not queue), ARGV[5] wake-up channel,
-- ARGV[6] permits (1 to capacity), ARGV[7] how the caller listens: 'p' PUBLISH, 's' SPUBLISH
-- Returns the fencing token alone (an integer) when held, for a whole lease of ARGV[3] ms;
-- {0, retry ms, now} when queued, {-1, retry ms, now} when not held and not queued; retry
-- ms is -1 when unknown, now is the server ms the script ran at (a waiter maps published
-- lease ends onto its own clock). A held answer is the usual one, and one integer is
-- cheaper for Redis to build and send than an array.
-- @include server-time
-- @include extend-ttl
-- @include next-number
-- @include semaphore-permits

local holders, queue, waiters, arrivals, weights = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
-- `+ 0`: the VM's own coercion makes the numbers, cheaper than a tonumber call each.
local id, capacity, lease = ARGV[1], ARGV[2] + 0, ARGV[3] + 0
local wait, channel, permits, how = ARGV[4] + 0, ARGV[5], ARGV[6] + 0, ARGV[7]
local now = server_now_ms()

local held = read_held(holders, weights)
local waiting = redis.call('ZCARD', queue)
-- Room, and nobody older waiting: the caller holds (an id that holds already is renewed).
-- Every answer "held" carries a fresh fencing token, above those of every earlier
-- grant: a waiter that missed its grant's message takes its token here.
-- This is the usual call, and it returns before the queue's helpers (semaphore-grant,
-- below) are defined: Lua makes a closure for each function definition it runs, on every call.
if permits_of(held) + permits <= capacity and waiting == 0 then
  add_holder(holders, weights, held, id, permits, now, lease)
  return next_number(arrivals, lease + 1000)
end

-- @include semaphore-grant
-- Expired leases only matter when they stand in the way: no room, or waiters to serve.
-- Permits above this caller's capacity are not its to hand out: they free up by a
-- release, which serves the queue itself, or by leases running out, when each waiter looks again.
waiting = reap_and_grant(KEYS, now, capacity, held, waiting, id, capacity)
-- Room left over after the whole queue was served means nobody older is waiting. The
-- id may hold already (granted while it waited): adding it again renews that lease.
-- One that holds already is renewed too (the reap above left only live leases): a waiter
-- confirming a grant it read late, or whose message was lost, leaves with a whole lease.
if (permits_of(held) + permits <= capacity and waiting == 0) or redis.call('ZSCORE', holders, id) then
  add_holder(holders, weights, held, id, permits, now, lease)
  return next_number(arrivals, lease + 1000)
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
  redis.call('ZADD', queue, next_number(arrivals, ttl), id)
end
extend_ttl(arrivals, ttl, first)
redis.call('HSET', waiters, id, (now + wait) .. ':' .. lease .. ':{' .. capacity .. ',' .. permits .. ',' .. how .. '}' .. channel)
extend_ttl(queue, ttl, first)
extend_ttl(waiters, ttl, first)
return {0, retry, now}
