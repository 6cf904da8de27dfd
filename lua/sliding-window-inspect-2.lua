-- Reads a sliding window as of the server's clock, without changing it.
-- KEYS[1] the counts (see sliding-window), KEYS[2] the block (see block)
-- ARGV[1] limit, ARGV[2] window ms, ARGV[3] sub-window ms
-- Returns {tokens left now, ms until no admission counts any more (and any block is over)}.
-- @include server-time
-- @include block
-- @include sliding-window

local limit, window, sub = ARGV[1] + 0, ARGV[2] + 0, ARGV[3] + 0
local now = server_now_ms()
local span = math.ceil(window / sub)
local state = read_counts(KEYS[1], sub, span, now)
local blocked = blocked_until(KEYS[2], now)
return {remaining_now(state, now, blocked, limit, sub, span), whole_in(state, now, blocked, sub, span)}
