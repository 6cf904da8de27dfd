-- blockDuration: a key its limit refused stays refused for that long after the refusal,
-- as @nestjs/throttler's option. The block is a key of its own beside the limiter's (the
-- limiter's key with ":blocked" after it, so in its hash tag), which exists only while the
-- block lasts: its TTL is what is left of it. A limiter's own key keeps its layout, and a
-- version that knows no blocks reads it as before. Refusals during a block do not lengthen
-- it: a client that keeps calling is let in again once the block is over.

-- Server ms at which the block of `block_key` ends; 0 when it is not blocked.
local function blocked_until(block_key, now)
  local left = redis.call('PTTL', block_key)
  if left > 0 then return now + left end
  return 0
end

-- Blocks for `ms` from now; returns when the block ends.
local function start_block(block_key, now, ms)
  redis.call('SET', block_key, 1, 'PX', ms)
  return now + ms
end
