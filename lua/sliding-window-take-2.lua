-- Counts tokens in the earliest sub-window where every interval of the window holding it
-- stays within the limit, or counts nothing when that is later than the caller may wait.
-- KEYS[1] the counts (see sliding-window), KEYS[2] the block (see block)
-- ARGV[1] limit, ARGV[2] window ms, ARGV[3] sub-window ms, ARGV[4] tokens wanted,
-- ARGV[5] ms the caller may wait (-1: no limit), ARGV[6] ms a refusal blocks the key (0: never)
-- Returns {tokens left now, ms to wait, ms until whole after it, the sub-window counted in}
--         when counted (a refund names that sub-window),
--         {tokens left now, -(ms it would have to wait), ms until whole now} when not (as
--         token-bucket-take: a refusal's wait is 1 ms or more).
-- @include server-time
-- @include block
-- @include sliding-window

local key, block_key = KEYS[1], KEYS[2]
local limit, window, sub, wanted = ARGV[1] + 0, ARGV[2] + 0, ARGV[3] + 0, ARGV[4] + 0
local max_wait, block_ms = ARGV[5] + 0, ARGV[6] + 0
local now = server_now_ms()
local span = math.ceil(window / sub)
local state = read_counts(key, sub, span, now)
local blocked = 0
if block_ms > 0 then blocked = blocked_until(block_key, now) end

local earliest = now
if blocked > now then earliest = blocked end
local b, at = place(state, earliest, wanted, limit, sub, span)
local wait = at - now
if max_wait >= 0 and wait > max_wait then
  -- Refused: a refusal outside a block starts one, which may only push the wait further.
  if block_ms > 0 and blocked <= now then
    blocked = start_block(block_key, now, block_ms)
    b, at = place(state, blocked, wanted, limit, sub, span)
    wait = at - now
  end
  return {remaining_now(state, now, blocked, limit, sub, span), -wait, whole_in(state, now, blocked, sub, span)}
end

add(state, b, wanted)
write_counts(key, state, sub, span, now)
local left = 0
if at == now then left = limit - sum_of(state, b - span, b) end
return {left, wait, whole_in(state, now, blocked, sub, span), b}
