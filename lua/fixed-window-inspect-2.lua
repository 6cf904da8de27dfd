-- Reads a fixed window as of the server's clock, without changing it.
-- KEYS[1] the window (see fixed-window), KEYS[2] its block (see block)
-- ARGV[1] limit, ARGV[2] window ms (0: calendar windows, from ARGV[4]),
-- ARGV[3] ms added to the server clock (tests only), ARGV[4...] calendar periods
-- Returns {tokens left now, ms until the window now ends (0: none has begun), ms until
-- whole (every window with admissions over, and any block)}, or {'more', instant...} as
-- fixed-window-take.
-- @include server-time
-- @include block
-- @include fixed-window

local limit, length = ARGV[1] + 0, ARGV[2] + 0
local now = server_now_ms() + ARGV[3]
local layout = new_layout(length, calendar_periods(ARGV, 4))

local count, ends, _, last_start, window_now = read_state(KEYS[1], layout, now)
if not count then return missing_reply(layout) end
return snapshot(count, ends, last_start, window_now, blocked_until(KEYS[2], now), now, limit)
