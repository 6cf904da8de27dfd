-- What the holders of a semaphore hold. `holders` (zset) has one member per permit, scored
-- with its lease end; a permit worth more than one (weighted) is also in `weights` (hash):
-- id -> permits, and field '#' keeps the sum of (permits - 1) over them. So the permits
-- held are ZCARD + '#', read in O(1) however many hold, and a semaphore never used with
-- weights never has a `weights` key. Without holders '#' is not read: a stale sum (left
-- by a previous version reaping weighted holders it could not weigh) only counts while
-- someone holds, and is overwritten when the next weighted holder is the first one.
-- Every script that takes or gives a permit runs this; reaping, which only the hand-off
-- does, is in semaphore-grant (Lua makes a closure for each definition it runs, per call).
-- @include extend-ttl

-- The permits `holders` hold: {count = holders, extra = permits above one each}.
local function read_held(holders, weights)
  local held = {count = redis.call('ZCARD', holders), extra = 0}
  if held.count > 0 then held.extra = tonumber(redis.call('HGET', weights, '#')) or 0 end
  return held
end

local function permits_of(held)
  return held.count + held.extra
end

-- Makes `id` hold `permits` until now + lease (or renews it). Counted once, however often it is added.
local function add_holder(holders, weights, held, id, permits, now, lease)
  local empty = held.count == 0
  local added = redis.call('ZADD', holders, now + lease, id) == 1
  extend_ttl(holders, lease + 1000, empty)
  if added then held.count = held.count + 1 end
  if permits == 1 then return end
  if added and empty then
    redis.call('HSET', weights, id, permits, '#', permits - 1)
  elseif added then
    redis.call('HSET', weights, id, permits)
    redis.call('HINCRBY', weights, '#', permits - 1)
  end
  if added then held.extra = held.extra + permits - 1 end
  -- The hash outlives every weighted lease in it, as `holders` does.
  extend_ttl(weights, lease + 1000, nil)
end

-- Takes `id` (holding `permits`, as its owner says) out of the holders. Returns 1 when it held.
local function drop_holder(holders, weights, id, permits)
  local removed = redis.call('ZREM', holders, id)
  if removed == 1 and permits > 1 then
    redis.call('HDEL', weights, id)
    redis.call('HINCRBY', weights, '#', 1 - permits)
  end
  return removed
end
