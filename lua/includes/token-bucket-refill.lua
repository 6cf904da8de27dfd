-- A bucket is stored as its token balance at the last refill boundary `at`.
-- Refills land on at + k * period, so the phase never drifts with rounding or
-- with when callers happen to arrive. A negative balance is tokens already
-- promised to callers sleeping until their reserved refill.
-- Returns the balance and boundary as of `now`; a missing bucket is full.
local function refill(bucket, now, capacity, period, amount)
  local state = redis.call('HMGET', bucket, 'tokens', 'at')
  if not state[1] then
    return capacity, now
  end
  local tokens, at = tonumber(state[1]), tonumber(state[2])
  local periods = math.floor((now - at) / period)
  if periods > 0 then
    tokens = math.min(capacity, tokens + periods * amount)
    at = at + periods * period
  end
  return tokens, at
end

-- Milliseconds from now until a balance is back at `target`.
local function time_until(tokens, target, at, now, period, amount)
  if tokens >= target then return 0 end
  return at + math.ceil((target - tokens) / amount) * period - now
end
