-- A bucket is stored as its token balance at the last refill boundary `at`.
-- Refills land on at + k * period, so the phase never drifts with rounding or
-- with when callers happen to arrive. A negative balance is tokens already
-- promised to callers sleeping until their reserved refill.
--
-- Both numbers live in one string key, which costs far less memory per idle
-- bucket than a hash and is read with one GET and written with one SET.
-- Usually it is the digits of `at` followed by six digits of balance + 500000:
-- a string of digits that fits in 64 bits, which Redis keeps as an integer in
-- the key's object itself (OBJECT ENCODING "int"), with no separate allocation.
-- A balance outside -500000..499999 is written "balance:at" instead.
local BALANCE_OFFSET = 500000

-- Returns the balance and boundary as of `now`; a missing bucket is full.
local function refill(bucket, now, capacity, period, amount)
  local stored = redis.call('GET', bucket)
  if not stored then
    return capacity, now
  end
  local tokens, at
  local colon = string.find(stored, ':', 1, true)
  if colon then
    tokens, at = tonumber(string.sub(stored, 1, colon - 1)), tonumber(string.sub(stored, colon + 1))
  else
    tokens, at = tonumber(string.sub(stored, -6)) - BALANCE_OFFSET, tonumber(string.sub(stored, 1, -7))
  end
  local periods = math.floor((now - at) / period)
  if periods > 0 then
    tokens = math.min(capacity, tokens + periods * amount)
    at = at + periods * period
  end
  return tokens, at
end

-- Writes a balance at boundary `at`, to expire in ttl ms (one command, one round of
-- keyspace work: SET replaces the value and the TTL together).
local function store_bucket(bucket, tokens, at, ttl)
  local value
  if tokens >= -BALANCE_OFFSET and tokens < BALANCE_OFFSET then
    value = string.format('%d%06d', at, tokens + BALANCE_OFFSET)
  else
    value = string.format('%.17g:%.17g', tokens, at)
  end
  redis.call('SET', bucket, value, 'PX', ttl)
end

-- Milliseconds from now until a balance is back at `target`.
local function time_until(tokens, target, at, now, period, amount)
  if tokens >= target then return 0 end
  return at + math.ceil((target - tokens) / amount) * period - now
end
