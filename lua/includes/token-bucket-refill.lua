-- A bucket is stored as what was spent from it, as of the last refill boundary `at`,
-- not as a balance: deploys may disagree on the capacity, and each caller sees its own
-- capacity minus what was spent. A bucket emptied by capacity 2 (spent 2) still leaves 8
-- to capacity 10, capacity 10 having spent 9 leaves capacity 2 nothing until refills
-- bring it below 2, and no caller ever sees more than its own capacity. Refills pay what
-- was spent back toward 0 (full for every capacity), never below.
-- Refills land on at + k * period, so the phase never drifts with rounding or
-- with when callers happen to arrive. Spent beyond the caller's capacity (a negative
-- balance) is tokens already promised to callers sleeping until their reserved refill.
--
-- Both numbers live in one string key, which costs far less memory per idle bucket
-- than a hash and is read with one GET and written with one SET.
-- Usually it is the digits of `at` followed by six digits of spent (0..999999):
-- a string of digits that fits in 64 bits, which Redis keeps as an integer in
-- the key's object itself (OBJECT ENCODING "int"), with no separate allocation.
-- More spent than that is written "spent:at" instead.
local SPENT_DIGITS_LIMIT = 1000000

-- Returns the balance this caller sees (its capacity minus what was spent) and the
-- boundary, as of `now`; a missing bucket is full.
local function refill(bucket, now, capacity, period, amount)
  local stored = redis.call('GET', bucket)
  if not stored then
    return capacity, now
  end
  local spent, at
  local colon = string.find(stored, ':', 1, true)
  if colon then
    spent, at = tonumber(string.sub(stored, 1, colon - 1)), tonumber(string.sub(stored, colon + 1))
  else
    spent, at = tonumber(string.sub(stored, -6)), tonumber(string.sub(stored, 1, -7))
  end
  local periods = math.floor((now - at) / period)
  if periods > 0 then
    spent = math.max(0, spent - periods * amount)
    at = at + periods * period
  end
  return capacity - spent, at
end

-- Writes what a caller of `capacity` leaves spent with balance `tokens`, at boundary
-- `at`, to expire in ttl ms (one command, one round of keyspace work: SET replaces the
-- value and the TTL together).
local function store_bucket(bucket, capacity, tokens, at, ttl)
  local spent = capacity - tokens
  local value
  if spent < SPENT_DIGITS_LIMIT then
    value = string.format('%d%06d', at, spent)
  else
    value = string.format('%.17g:%.17g', spent, at)
  end
  redis.call('SET', bucket, value, 'PX', ttl)
end

-- Milliseconds from now until a balance is back at `target`.
local function time_until(tokens, target, at, now, period, amount)
  if tokens >= target then return 0 end
  return at + math.ceil((target - tokens) / amount) * period - now
end
