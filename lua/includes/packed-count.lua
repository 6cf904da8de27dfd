-- A count and an instant (server ms) in one string key: a token bucket's tokens spent and
-- its refill boundary, a fixed window's count and its end. Usually the digits of the
-- instant followed by six digits of the count: a string of digits that fits in 64 bits,
-- which Redis keeps as an integer in the key's object itself (OBJECT ENCODING "int"), with
-- no separate allocation, and adds one to in place (INCR). A count of a million or more is
-- written "count:instant" instead.
-- This runs on every admission: it uses the Lua VM's own arithmetic (strings coerce to
-- numbers) where a library call (tonumber) would cost more.
local COUNT_DIGITS_LIMIT = 1000000

-- The count and the instant a value holds, and true when it is in the integer form.
local function unpack_count(stored)
  local colon = string.find(stored, ':', 1, true)
  if colon then
    return string.sub(stored, 1, colon - 1) + 0, string.sub(stored, colon + 1) + 0, false
  end
  return string.sub(stored, -6) + 0, string.sub(stored, 1, -7) + 0, true
end

-- Writes `count` at `at`, to expire in ttl ms. `keep_ttl`: the key's TTL is already right,
-- so the write leaves it as it is. `stored_count`: what the key holds at this same instant
-- in the integer form, if it does (nil otherwise): writing it again does nothing, and one
-- more is an INCR. Any other write with keep_ttl is a SET ... KEEPTTL, and without it a
-- SET ... PX: one command each time, and none the ACL rule in the docs lacks.
local function store_count(key, count, at, ttl, keep_ttl, stored_count)
  if keep_ttl and stored_count then
    if count == stored_count then return end
    if count == stored_count + 1 and count < COUNT_DIGITS_LIMIT then
      redis.call('INCR', key)
      return
    end
  end
  local value
  if count < COUNT_DIGITS_LIMIT then
    value = string.format('%d%06d', at, count)
  else
    value = string.format('%.17g:%.17g', count, at)
  end
  if keep_ttl then
    redis.call('SET', key, value, 'KEEPTTL')
  else
    redis.call('SET', key, value, 'PX', ttl)
  end
end
