-- Reads a semaphore's state as of the server's clock, without changing it.
-- KEYS[1] holders zset, KEYS[2] queue zset, KEYS[3] waiters hash, KEYS[4] weights hash
-- Returns {holder ids, ms left and permits, in threes}, {waiter ids, oldest first}.
-- @include server-time

local now = server_now_ms()
local live = {}
local held = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf', 'WITHSCORES')
for i = 1, #held, 2 do
  live[#live + 1] = held[i]
  live[#live + 1] = tonumber(held[i + 1]) - now
  live[#live + 1] = tonumber(redis.call('HGET', KEYS[4], held[i])) or 1
end
local waiting = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local entry = redis.call('HGET', KEYS[3], id)
  if entry and tonumber(string.match(entry, '^(%d+):')) > now then
    waiting[#waiting + 1] = id
  end
end
return {live, waiting}
