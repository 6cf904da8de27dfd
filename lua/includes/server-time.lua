-- Milliseconds on the Redis server clock. Every client of a limiter reads this one
-- clock, so skew between application hosts never changes a lease or a refill.
-- TIME answers two strings, seconds and microseconds; the VM's arithmetic turns them
-- into numbers (and x - x % 1000 drops the sub-millisecond part) without the library
-- calls tonumber and math.floor would be, on every script call.
local function server_now_ms()
  local t = redis.call('TIME')
  return t[1] * 1000 + (t[2] - t[2] % 1000) / 1000
end
