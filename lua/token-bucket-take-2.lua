-- Reserves tokens at the earliest refill that pays for them, or reserves nothing
-- when that is further away than the caller may wait.
-- KEYS[1] bucket: tokens spent and refill boundary in one string (see token-bucket-refill)
-- KEYS[2] its block (see block): read only when ARGV[6] > 0
-- ARGV[1] capacity, ARGV[2] refill period ms, ARGV[3] refill amount,
-- ARGV[4] tokens wanted, ARGV[5] ms the caller may wait (-1: no limit),
-- ARGV[6] ms a refusal blocks the bucket (0: never)
-- Returns {balance after, ms to wait, ms until full after it} when reserved,
--         {balance now, -(ms it would have to wait), ms until full now} when not: a
--         refusal always has a wait of 1 ms or more (more than max_wait >= 0), so the
--         sign says which, one number fewer for Redis to send on every call.
--         While blocked, a balance above 0 is answered as 0: no token can be had.
-- @include server-time
-- @include token-bucket-refill
-- @include block

local bucket = KEYS[1]
-- "+ 0" turns each argument into a number without a library call (see token-bucket-refill).
local capacity, period, amount = ARGV[1] + 0, ARGV[2] + 0, ARGV[3] + 0
local wanted, max_wait, block_ms = ARGV[4] + 0, ARGV[5] + 0, ARGV[6] + 0
local now = server_now_ms()

local tokens, at, stored_spent, stored_at = refill(bucket, now, capacity, period, amount)
local wait = time_until(tokens, wanted, at, now, period, amount)
local full_in_now = time_until(tokens, capacity, at, now, period, amount)
-- Without blockDuration, nothing more than before runs on this path.
local blocked = 0
if block_ms > 0 then
  blocked = blocked_until(KEYS[2], now) - now
  if blocked > wait then wait = blocked end
end
if max_wait >= 0 and wait > max_wait then
  if block_ms > 0 then
    if blocked <= 0 then
      start_block(KEYS[2], now, block_ms)
      blocked = block_ms
      if blocked > wait then wait = blocked end
    end
    if blocked > full_in_now then full_in_now = blocked end
    if tokens > 0 then tokens = 0 end
  end
  return {tokens, -wait, full_in_now}
end

local left = tokens - wanted
local full_in = time_until(left, capacity, at, now, period, amount)
-- Once full again (nothing spent, for every capacity) the bucket is the same as a
-- missing one; one more period of life keeps any window from seeing two refill phases
-- closer than a period. A take that leaves that moment where it was (a refill amount
-- above one token pays for several takes) keeps the TTL the last write gave the key.
store_bucket(bucket, capacity, left, at, full_in + period, full_in == full_in_now, stored_spent, stored_at)
if blocked > 0 then
  if blocked > full_in then full_in = blocked end
  if left > 0 then left = 0 end
end
return {left, wait, full_in}
