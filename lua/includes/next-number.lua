-- The next number of a counter that never goes back, also when its key expired or was
-- lost in a restart: a fresh counter starts at the server time in microseconds, read
-- again here (`now` is whole ms: a counter lost and started again within one ms would
-- repeat its first number), which is above any number it handed out before, since a key
-- lives at least a second and a Redis thread cannot run a million counting scripts a
-- second. Only a server clock stepping back breaks this. A lost counter is rare, so the
-- extra TIME costs nothing on the common path. Numbers stay below 2^53 (exact in Lua and
-- in JavaScript) until the year 2255.
-- `ttl`: the life of a fresh counter; an existing one keeps its own.
local function next_number(counter, ttl)
  local n = redis.call('INCR', counter)
  if n == 1 then
    local t = redis.call('TIME')
    n = t[1] * 1000000 + t[2]
    redis.call('SET', counter, n, 'PX', math.ceil(ttl))
  end
  return n
end

-- A counter's number as a decimal string: Lua's own tostring keeps 14 digits only.
local function number_text(n)
  return string.format('%.0f', n)
end
