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
-- Both numbers live in one string key (see packed-count), which costs far less memory
-- per idle bucket than a hash and is read with one GET.
--
-- Every write leaves the key to expire no sooner than `period` after the bucket is full
-- again (see store_bucket). Scripts rely on it to leave the TTL alone when a write does
-- not move that moment.
--
-- This runs on every admission: it uses the Lua VM's own arithmetic (strings coerce to
-- numbers, x % p for floor) where a library call (tonumber, math.floor) would cost more.
-- @include packed-count

-- Returns the balance this caller sees (its capacity minus what was spent) and the
-- boundary, as of `now`; a missing bucket is full. Then, for store_bucket, the spent
-- and boundary as stored when the key holds the integer form (nil otherwise).
local function refill(bucket, now, capacity, period, amount)
  local stored = redis.call('GET', bucket)
  if not stored then
    return capacity, now
  end
  local spent, at, int_form = unpack_count(stored)
  local stored_spent, stored_at = spent, at
  local elapsed = now - at
  local periods = (elapsed - elapsed % period) / period
  if periods > 0 then
    spent = spent - periods * amount
    if spent < 0 then spent = 0 end
    at = at + periods * period
  end
  if int_form then
    return capacity - spent, at, stored_spent, stored_at
  end
  return capacity - spent, at
end

-- Writes what a caller of `capacity` leaves spent with balance `tokens`, at boundary
-- `at`, to expire in ttl ms. `keep_ttl`: the key's TTL is already right (the write does
-- not move when the bucket is full again), so the write leaves it as it is. Given the
-- stored_spent and stored_at refill returned, a write of one more token spent at the
-- same boundary (the usual admission) is an INCR, done in place (see store_count).
local function store_bucket(bucket, capacity, tokens, at, ttl, keep_ttl, stored_spent, stored_at)
  if at ~= stored_at then stored_spent = nil end
  store_count(bucket, capacity - tokens, at, ttl, keep_ttl, stored_spent)
end

-- Milliseconds from now until a balance is back at `target`.
local function time_until(tokens, target, at, now, period, amount)
  if tokens >= target then return 0 end
  return at + math.ceil((target - tokens) / amount) * period - now
end
