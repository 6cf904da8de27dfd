-- Keeps a key alive for at least ttl ms. It never shortens a TTL, so a key always
-- outlives the longest lease or reservation stored in it, and then expires.
-- `created`, when the caller knows it: true when this script created the key (it has no
-- TTL yet), false when the key existed before (it has one: every script that creates a
-- key gives it a TTL). Either way one call is enough; when unknown, the TTL is read first.
local function extend_ttl(key, ttl, created)
  ttl = math.ceil(ttl)
  if created then
    redis.call('PEXPIRE', key, ttl)
  elseif created == false and redis.REDIS_VERSION_NUM then
    -- REDIS_VERSION_NUM appeared in Redis 7, as did PEXPIRE's GT: never shortens.
    redis.call('PEXPIRE', key, ttl, 'GT')
  else
    local current = redis.call('PTTL', key)
    if current == -1 or (current >= 0 and current < ttl) then
      redis.call('PEXPIRE', key, ttl)
    end
  end
end
