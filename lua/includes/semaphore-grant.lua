-- Drops expired leases, then hands free slots to the oldest of the `waiting` queued
-- waiters still alive. A granted waiter becomes a holder right here and is told on its
-- own channel ("<id>:<lease end, server ms>"), so it needs no second round trip and no
-- other waiter wakes for nothing.
-- Waiter entries are "deadline:leaseMs:{capacity}channel" (deadline in server ms), the
-- capacity of the limiter that queued it: deploys may disagree on it, and each waiter
-- gets in only while fewer than its own capacity are held. Braces mark it because a
-- channel (key prefix, "granted", an id) never holds one; an entry from before capacities
-- were recorded ("deadline:leaseMs:channel") counts as `capacity`, the caller's.
-- Strictly first come, first served: a head waiter that does not fit stops the hand-off,
-- even when one behind it with a larger capacity would fit. So a smaller capacity is never
-- starved by a larger one's traffic (held drains below it), as weighted permits will need.
-- `stop_at`: no grant once this many are held (the acquire script's own capacity; nil: none).
-- `held` is ZCARD of holders; returns it and the queue's length as they are after the hand-off.
-- @include extend-ttl
local function reap_and_grant(holders, queue, waiters, now, capacity, held, waiting, skip_id, stop_at)
  if held > 0 then
    held = held - redis.call('ZREMRANGEBYSCORE', holders, '-inf', now)
  end
  while waiting > 0 and (stop_at == nil or held < stop_at) do
    local head = redis.call('ZRANGE', queue, 0, 0)[1]
    local entry = redis.call('HGET', waiters, head)
    local deadline, lease, fits, channel
    if entry then
      deadline, lease, fits, channel = string.match(entry, '^(%d+):(%d+):{(%d+)}(.*)$')
      if not deadline then
        deadline, lease, channel = string.match(entry, '^(%d+):(%d+):(.*)$')
        fits = capacity
      end
      fits = tonumber(fits)
    end
    -- Peeked, not popped: a live head that does not fit stays first in line.
    if entry and tonumber(deadline) > now and held >= fits then
      break
    end
    redis.call('ZREM', queue, head)
    redis.call('HDEL', waiters, head)
    waiting = waiting - 1
    -- A waiter past its deadline gave up or died: skipping it is what keeps a
    -- dead process from holding up the queue.
    if entry and tonumber(deadline) > now then
      lease = tonumber(lease)
      redis.call('ZADD', holders, now + lease, head)
      extend_ttl(holders, lease + 1000, held == 0)
      held = held + 1
      if head ~= skip_id then
        -- The lease end lets a waiter that reads this late see that it may have run out.
        redis.call('PUBLISH', channel, head .. ':' .. (now + lease))
      end
    end
  end
  return held, waiting
end

-- Milliseconds until the earliest lease runs out: when a waiter should look again
-- if no release wakes it first (the holder may have crashed). -1 when nobody holds.
local function earliest_lease_end(holders, now)
  local first = redis.call('ZRANGE', holders, 0, 0, 'WITHSCORES')
  if first[2] then return math.max(1, tonumber(first[2]) - now) end
  return -1
end
