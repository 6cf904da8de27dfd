-- Keeps a key alive for at least ttl ms. It never shortens a TTL, so a key always
-- outlives the longest lease or reservation stored in it, and then expires.
local function extend_ttl(key, ttl)
  ttl = math.ceil(ttl)
  local current = redis.call('PTTL', key)
  if current == -1 or (current >= 0 and current < ttl) then
    redis.call('PEXPIRE', key, ttl)
  end
end
