-- Milliseconds on the Redis server clock. Every client of a limiter reads this one
-- clock, so skew between application hosts never changes a lease or a refill.
local function server_now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
