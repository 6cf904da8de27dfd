-- Reads a bucket as of the server's clock, without changing it.
-- KEYS[1] bucket; ARGV[1] capacity, ARGV[2] refill period ms, ARGV[3] refill amount
-- Returns {balance for this capacity (negative: promised to sleeping callers), ms to next refill, ms until full}.
-- @include server-time
-- @include token-bucket-refill

local capacity, period, amount = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local now = server_now_ms()
local tokens, at = refill(KEYS[1], now, capacity, period, amount)
return {tokens, at + period - now, time_until(tokens, capacity, at, now, period, amount)}
