-- Reserves tokens at the earliest refill that pays for them, or reserves nothing
-- when that is further away than the caller may wait.
-- KEYS[1] bucket: tokens spent and refill boundary in one string (see token-bucket-refill)
-- ARGV[1] capacity, ARGV[2] refill period ms, ARGV[3] refill amount,
-- ARGV[4] tokens wanted, ARGV[5] ms the caller may wait (-1: no limit)
-- Returns {1, balance after, ms to wait, ms until full after it} when reserved,
--         {0, balance now, ms it would have to wait, ms until full now} when not.
-- @include server-time
-- @include token-bucket-refill

local bucket = KEYS[1]
local capacity, period, amount = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local wanted, max_wait = tonumber(ARGV[4]), tonumber(ARGV[5])
local now = server_now_ms()

local tokens, at = refill(bucket, now, capacity, period, amount)
local wait = time_until(tokens, wanted, at, now, period, amount)
if max_wait >= 0 and wait > max_wait then
  return {0, tokens, wait, time_until(tokens, capacity, at, now, period, amount)}
end

local left = tokens - wanted
local full_in = time_until(left, capacity, at, now, period, amount)
-- Once full again (nothing spent, for every capacity) the bucket is the same as a
-- missing one; one more period of life keeps any window from seeing two refill phases
-- closer than a period.
store_bucket(bucket, capacity, left, at, full_in + period)
return {1, left, wait, full_in}
