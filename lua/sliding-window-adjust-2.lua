-- Gives tokens back (a refund): to the sub-window they were counted in, or, for tokens
-- taken up to now, off the oldest sub-windows that still count. Either frees no more than
-- the call's own tokens would: an interval from now on that holds an older sub-window
-- holds every later one up to now.
-- KEYS[1] the counts (see sliding-window), KEYS[2] the block (see block)
-- ARGV[1] limit, ARGV[2] window ms, ARGV[3] sub-window ms, ARGV[4] tokens (> 0),
-- ARGV[5] the sub-window they were counted in, as the take answered it (-1: the oldest)
-- Returns what sliding-window-inspect does, after the refund.
-- @include server-time
-- @include block
-- @include sliding-window

local key = KEYS[1]
local limit, window, sub, tokens, counted_in = ARGV[1] + 0, ARGV[2] + 0, ARGV[3] + 0, ARGV[4] + 0, ARGV[5] + 0
local now = server_now_ms()
local span = math.ceil(window / sub)
local state = read_counts(key, sub, span, now)
local top = top_of(state)
if top then
  if counted_in >= 0 then
    if counted_in >= state.first and counted_in <= top then add(state, counted_in, -tokens) end
  else
    local b, last = state.first, floor_div(now, sub)
    if top < last then last = top end
    while tokens > 0 and b <= last do
      local taken = count_at(state, b)
      if taken > tokens then taken = tokens end
      add(state, b, -taken)
      tokens = tokens - taken
      b = b + 1
    end
  end
  write_counts(key, state, sub, span, now)
end
local blocked = blocked_until(KEYS[2], now)
return {remaining_now(state, now, blocked, limit, sub, span), whole_in(state, now, blocked, sub, span)}
