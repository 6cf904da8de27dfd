-- The layout a sliding window did not take (see bench/probes/sliding-window-layout.ts): a
-- sorted set of admissions, scored by their time, each token a member of its own (a
-- sequence number; member '#' keeps the last one in its negative score). Exact to the
-- millisecond, at one member per token. Same keys, arguments and replies as
-- lua/sliding-window-take-2.lua (the sub-window argument is ignored, no block is read).
-- @include server-time

local key = KEYS[1]
local limit, window, wanted, max_wait = ARGV[1] + 0, ARGV[2] + 0, ARGV[4] + 0, ARGV[5] + 0
local now = server_now_ms()
redis.call('ZREMRANGEBYSCORE', key, 0, now - window)
local size = redis.call('ZCARD', key)
local m = 0
if size > 0 then m = size - 1 end
-- Not before the latest admission (callers queue behind reservations), nor before the
-- admission that must leave the window for `wanted` more to fit.
local t = now
if m > 0 then
  local last = tonumber(redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')[2])
  if last > t then t = last end
  local k = m - limit + wanted
  if k >= 1 then
    local e = tonumber(redis.call('ZRANGE', key, k, k, 'WITHSCORES')[2])
    if e + window > t then t = e + window end
  end
end
local wait = t - now
if max_wait >= 0 and wait > max_wait then return {0, -wait, 0} end
local seq = 0
if size > 0 then seq = -tonumber(redis.call('ZSCORE', key, '#')) end
local args = {}
for i = 1, wanted do
  args[#args + 1] = t
  args[#args + 1] = seq + i
end
args[#args + 1] = -(seq + wanted)
args[#args + 1] = '#'
redis.call('ZADD', key, unpack(args))
redis.call('PEXPIRE', key, t + window - now)
local left = 0
if t == now then left = limit - m - wanted end
return {left, wait, t + window - now, seq + 1}
