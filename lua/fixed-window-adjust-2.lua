-- Gives tokens back to the window they were counted in (a refund), while it is the last
-- window: giving back to a window before it would let its slots be taken again after
-- later windows were opened, and those hold reservations already counted there.
-- KEYS[1] the window (see fixed-window), KEYS[2] its block (see block)
-- ARGV[1] limit, ARGV[2] window ms (0: calendar windows, from ARGV[6]), ARGV[3] tokens (> 0),
-- ARGV[4] end of the window they were counted in, as the take answered it (0: the
-- window now, for tokens taken in it), ARGV[5] ms added to the server clock (tests only),
-- ARGV[6...] calendar periods: start, end, start, end...
-- Returns what fixed-window-inspect does, after the refund.
-- @include server-time
-- @include block
-- @include fixed-window

local key = KEYS[1]
local limit, length, tokens, counted_in = ARGV[1] + 0, ARGV[2] + 0, ARGV[3] + 0, ARGV[4] + 0
local now = server_now_ms() + ARGV[5]
local layout = new_layout(length, calendar_periods(ARGV, 6))

local count, ends, int_form, last_start, window_now = read_state(key, layout, now)
if not count then return missing_reply(layout) end
if ends > 0 and (counted_in == ends or (counted_in == 0 and last_start <= now)) then
  local after = count - tokens
  if after < 0 then after = 0 end
  -- The key stays, with its TTL, though it may count 0 now: windows before it stay
  -- closed, and the window keeps its start.
  write_window(key, after, ends, now, true, int_form, count)
  count = after
end
return snapshot(count, ends, last_start, window_now, blocked_until(KEYS[2], now), now, limit)
