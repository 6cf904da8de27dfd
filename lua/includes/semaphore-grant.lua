-- Drops expired leases, then hands free permits to the oldest of the queued waiters still
-- alive. A granted waiter becomes a holder right here and is told on its own channel, so
-- it needs no second round trip and no other waiter wakes for nothing.
-- Waiter entries are "deadline:leaseMs:{capacity,permits,how}channel" (deadline in server
-- ms): the capacity of the limiter that queued it (deploys may disagree on it, and each
-- waiter gets in only while what is held leaves room for its permits within its own
-- capacity), the permits it asks for, and how its process listens: 'p' for SUBSCRIBE
-- (PUBLISH reaches it), 's' for SSUBSCRIBE on the shard of this semaphore (SPUBLISH).
-- Braces mark them because a channel never holds one. Such a waiter is told
-- "<id>:<lease end, server ms>:<fencing token>". Entries of earlier versions, told
-- "<id>:<lease end>" by PUBLISH and granted one permit: "deadline:leaseMs:{capacity}channel",
-- and "deadline:leaseMs:channel", which counts as `capacity`, the caller's.
-- Strictly first come, first served: a head waiter that does not fit stops the hand-off,
-- even when one behind it (asking fewer permits, or with a larger capacity) would fit. So
-- a large request is never starved by a stream of small ones: held drains until it fits.
-- `stop_at`: no grant beyond this many held (the acquire script's own capacity; nil: none).
-- `held` is what read_held gave; updated in place. Returns the queue's length after.
-- @include extend-ttl
-- @include next-number
-- @include semaphore-permits

-- Drops the leases that ran out by `now`, with their weights: a crashed holder's permits come back.
local function reap(holders, weights, held, now)
  if held.count == 0 then return end
  if held.extra == 0 then
    held.count = held.count - redis.call('ZREMRANGEBYSCORE', holders, '-inf', now)
    return
  end
  -- Rare (a holder died, or stalled past its lease): each expired weighted holder is weighed.
  local expired = redis.call('ZRANGEBYSCORE', holders, '-inf', now)
  if #expired == 0 then return end
  local above = 0
  for _, id in ipairs(expired) do
    local w = tonumber(redis.call('HGET', weights, id))
    if w then
      above = above + w - 1
      redis.call('HDEL', weights, id)
    end
  end
  if above > 0 then redis.call('HINCRBY', weights, '#', -above) end
  held.count = held.count - redis.call('ZREMRANGEBYSCORE', holders, '-inf', now)
  held.extra = held.count == 0 and 0 or held.extra - above
end

local function parse_waiter(entry, capacity)
  local deadline, lease, fits, permits, how, channel = string.match(entry, '^(%d+):(%d+):{(%d+),(%d+),([ps])}(.*)$')
  if not deadline then
    permits = 1
    deadline, lease, fits, channel = string.match(entry, '^(%d+):(%d+):{(%d+)}(.*)$')
    if not deadline then
      deadline, lease, channel = string.match(entry, '^(%d+):(%d+):(.*)$')
      fits = capacity
    end
  end
  return tonumber(deadline), tonumber(lease), tonumber(fits), tonumber(permits), how, channel
end

local function reap_and_grant(keys, now, capacity, held, waiting, skip_id, stop_at)
  local holders, queue, waiters, arrivals, weights = keys[1], keys[2], keys[3], keys[4], keys[5]
  reap(holders, weights, held, now)
  while waiting > 0 and (stop_at == nil or permits_of(held) < stop_at) do
    local head = redis.call('ZRANGE', queue, 0, 0)[1]
    local entry = redis.call('HGET', waiters, head)
    local deadline, lease, fits, permits, how, channel
    if entry then
      deadline, lease, fits, permits, how, channel = parse_waiter(entry, capacity)
    end
    local live = entry and deadline > now
    -- Peeked, not popped: a live head that does not fit stays first in line.
    if live and (permits_of(held) + permits > fits or (stop_at and permits_of(held) + permits > stop_at)) then
      break
    end
    redis.call('ZREM', queue, head)
    redis.call('HDEL', waiters, head)
    waiting = waiting - 1
    -- A waiter past its deadline gave up or died: skipping it is what keeps a
    -- dead process from holding up the queue.
    if live then
      add_holder(holders, weights, held, head, permits, now, lease)
      -- The caller's own grant is answered by its script; anyone else is told here.
      -- The lease end lets a waiter that reads this late see that it may have run out.
      if head ~= skip_id and how then
        local token = next_number(arrivals, lease + 1000)
        local message = head .. ':' .. (now + lease) .. ':' .. number_text(token)
        if how == 's' then
          redis.call('SPUBLISH', channel, message)
        else
          redis.call('PUBLISH', channel, message)
        end
      elseif head ~= skip_id then
        redis.call('PUBLISH', channel, head .. ':' .. (now + lease))
      end
    end
  end
  return waiting
end

-- Milliseconds until the earliest lease runs out: when a waiter should look again
-- if no release wakes it first (the holder may have crashed). -1 when nobody holds.
local function earliest_lease_end(holders, now)
  local first = redis.call('ZRANGE', holders, 0, 0, 'WITHSCORES')
  if first[2] then return math.max(1, tonumber(first[2]) - now) end
  return -1
end
