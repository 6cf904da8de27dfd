-- Counts tokens in the earliest window that has room for them, or counts nothing when
-- that window opens later than the caller may wait.
-- KEYS[1] the window (see fixed-window), KEYS[2] its block (see block)
-- ARGV[1] limit, ARGV[2] window ms (0: calendar windows, from ARGV[7]),
-- ARGV[3] tokens wanted, ARGV[4] ms the caller may wait (-1: no limit),
-- ARGV[5] ms a refusal blocks the key (0: never), ARGV[6] ms added to the server clock
-- (a test's offset; 0 otherwise), ARGV[7...] calendar periods: start, end, start, end...
-- Returns {tokens left now, ms to wait, ms until whole after it, end of the window counted in}
--         when counted (a refund names that window),
--         {tokens left now, -(ms it would have to wait), ms until whole now} when not (as
--         token-bucket-take: a refusal's wait is 1 ms or more),
--         {'more', instant...} when no period given holds an instant it needs: the caller
--         sends those periods too and calls again. Nothing is written then.
-- @include server-time
-- @include block
-- @include fixed-window

local key, block_key = KEYS[1], KEYS[2]
local limit, length, wanted, max_wait = ARGV[1] + 0, ARGV[2] + 0, ARGV[3] + 0, ARGV[4] + 0
local block_ms = ARGV[5] + 0
local now = server_now_ms() + ARGV[6]
local layout = new_layout(length, calendar_periods(ARGV, 7))

local count, ends, int_form, last_start = read_state(key, layout, now)
if not count then return missing_reply(layout) end
local blocked = 0
if block_ms > 0 then blocked = blocked_until(block_key, now) end

local earliest = now
if blocked > now then earliest = blocked end
local at, window_end, after = place(layout, count, ends, last_start, earliest, wanted, limit)
if not at then return missing_reply(layout) end
local wait = at - now

if max_wait >= 0 and wait > max_wait then
  -- Refused: a refusal outside a block starts one, which may only push the wait further.
  if block_ms > 0 and blocked <= now then
    blocked = start_block(block_key, now, block_ms)
    at = place(layout, count, ends, last_start, blocked, wanted, limit)
    if not at then return missing_reply(layout) end
    wait = at - now
  end
  local whole = ends
  if blocked > whole then whole = blocked end
  return {remaining_now(count, ends, last_start, blocked, now, limit), -wait, whole - now}
end

write_window(key, after, window_end, now, window_end == ends, int_form, count)
local left = 0
if at == now then left = limit - after end
local whole = window_end
if blocked > whole then whole = blocked end
return {left, wait, whole - now, window_end}
