-- Gives tokens back to a bucket (a refund) or takes extra from it (a penalty), whatever
-- its balance: a penalty may leave it below 0, a debt that later callers wait out.
-- KEYS[1] bucket (see token-bucket-refill)
-- ARGV[1] capacity, ARGV[2] refill period ms, ARGV[3] refill amount,
-- ARGV[4] tokens: > 0 given back (never above capacity), < 0 taken
-- Returns {balance after, ms to next refill, ms until full}, as token-bucket-inspect does.
-- @include server-time
-- @include token-bucket-refill

local bucket = KEYS[1]
local capacity, period, amount = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local change = tonumber(ARGV[4])
local now = server_now_ms()

local tokens, at = refill(bucket, now, capacity, period, amount)
local after = math.min(capacity, tokens + change)
local full_in = time_until(after, capacity, at, now, period, amount)
-- A refund to a full (or missing) bucket changes nothing: no write, no key made.
-- Otherwise the refill phase stays where it was, and the key lives a period past full,
-- as token-bucket-take leaves it.
if after ~= tokens then
  store_bucket(bucket, capacity, after, at, full_in + period)
end
return {after, at + period - now, full_in}
