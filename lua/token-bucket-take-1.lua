-- Reserves tokens at the earliest refill that pays for them, or reserves nothing
-- when that is further away than the caller may wait.
-- KEYS[1] bucket: tokens spent and refill boundary in one string (see token-bucket-refill)
-- ARGV[1] capacity, ARGV[2] refill period ms, ARGV[3] refill amount,
-- ARGV[4] tokens wanted, ARGV[5] ms the caller may wait (-1: no limit)
-- Returns {balance after, ms to wait, ms until full after it} when reserved,
--         {balance now, -(ms it would have to wait), ms until full now} when not: a
--         refusal always has a wait of 1 ms or more (more than max_wait >= 0), so the
--         sign says which, one number fewer for Redis to send on every call.
-- @include server-time
-- @include token-bucket-refill

local bucket = KEYS[1]
-- "+ 0" turns each argument into a number without a library call (see token-bucket-refill).
local capacity, period, amount = ARGV[1] + 0, ARGV[2] + 0, ARGV[3] + 0
local wanted, max_wait = ARGV[4] + 0, ARGV[5] + 0
local now = server_now_ms()

local tokens, at, stored_spent, stored_at = refill(bucket, now, capacity, period, amount)
local wait = time_until(tokens, wanted, at, now, period, amount)
local full_in_now = time_until(tokens, capacity, at, now, period, amount)
if max_wait >= 0 and wait > max_wait then
  return {tokens, -wait, full_in_now}
end

local left = tokens - wanted
local full_in = time_until(left, capacity, at, now, period, amount)
-- Once full again (nothing spent, for every capacity) the bucket is the same as a
-- missing one; one more period of life keeps any window from seeing two refill phases
-- closer than a period. A take that leaves that moment where it was (a refill amount
-- above one token pays for several takes) keeps the TTL the last write gave the key.
store_bucket(bucket, capacity, left, at, full_in + period, full_in == full_in_now, stored_spent, stored_at)
return {left, wait, full_in}
