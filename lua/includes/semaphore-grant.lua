-- Drops expired leases, then hands free slots to the oldest of the `waiting` queued
-- waiters still alive. A granted waiter becomes a holder right here and is told on its
-- own channel ("<id>:<lease end, server ms>"), so it needs no second round trip and no
-- other waiter wakes for nothing.
-- Waiter entries are "deadline:leaseMs:channel" (deadline in server ms).
-- `held` is ZCARD of holders; returns it and the queue's length as they are after the hand-off.
local function reap_and_grant(holders, queue, waiters, now, capacity, held, waiting, skip_id)
  if held > 0 then
    held = held - redis.call('ZREMRANGEBYSCORE', holders, '-inf', now)
  end
  while held < capacity and waiting > 0 do
    local head = redis.call('ZPOPMIN', queue)[1]
    waiting = waiting - 1
    local entry = redis.call('HGET', waiters, head)
    redis.call('HDEL', waiters, head)
    if entry then
      local deadline, lease, channel = string.match(entry, '^(%d+):(%d+):(.*)$')
      lease = tonumber(lease)
      -- A waiter past its deadline gave up or died: skipping it is what keeps a
      -- dead process from holding up the queue.
      if tonumber(deadline) > now then
        redis.call('ZADD', holders, now + lease, head)
        extend_ttl(holders, lease + 1000, held == 0)
        held = held + 1
        if head ~= skip_id then
          -- The lease end lets a waiter that reads this late see that it may have run out.
          redis.call('PUBLISH', channel, head .. ':' .. (now + lease))
        end
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
