-- A fixed window limiter's state is one string key: the end of the last window that
-- holds admissions (server ms) and the tokens counted in it, and a TTL that ends with
-- that window. Windows before the last are closed: a call is counted in the last window
-- while it has room, else in the window after it, so a window only ever opens once every
-- window before it is full (or too full for a weighted call), and what was counted in
-- them needs no keeping. A reservation in a later window (take with maxSleep) makes that
-- window the last one; callers until then find the windows before it closed.
--
-- Windows of a length (ms) start at their first admission, as @nestjs/throttler's do, or
-- right at the end of the last window when a caller waits for the next one. Calendar
-- windows (a day, a week, a month in a time zone) are given by the caller as start, end
-- pairs around the instants it needs: Lua has no time zone database, and the client,
-- which has one (Intl), cannot know the server's clock; so the script picks the period
-- that holds its own clock among those it is sent, and asks for more when none does.
--
-- The count and the end share one value (see packed-count).
-- @include packed-count

-- Returns the count and the end of the last window (0, 0 when there is none, or it is
-- over), and whether the value is in the integer form.
local function read_window(key, now)
  local stored = redis.call('GET', key)
  if not stored then return 0, 0, false end
  local count, ends, int_form = unpack_count(stored)
  if ends <= now then return 0, 0, false end
  return count, ends, int_form
end

-- Writes `count` tokens counted in the window ending at `ends`. `same`: the key holds that
-- window already (its TTL is right), with `stored_count` in it; one more token in the
-- integer form is an INCR. A new window's key lives exactly as long as the window.
local function write_window(key, count, ends, now, same, int_form, stored_count)
  if not int_form then stored_count = nil end
  store_count(key, count, ends, ends - now, same, stored_count)
end

-- Calendar windows from ARGV[first] on, as {start, end, start, end, ...}; nil for windows of a length.
local function calendar_periods(argv, first)
  if #argv < first then return nil end
  local periods = {}
  for i = first, #argv do periods[#periods + 1] = argv[i] + 0 end
  return periods
end

-- The window layout: `length` ms, or calendar `periods`. Instants no given period holds
-- are noted in `missing`, for the caller to send; the lookup then answers nil.
local function new_layout(length, periods)
  return {length = length, periods = periods, missing = {}}
end

-- The calendar period holding `t`: start, end.
local function period_at(layout, t)
  local periods = layout.periods
  for i = 1, #periods - 1, 2 do
    if periods[i] <= t and t < periods[i + 1] then return periods[i], periods[i + 1] end
  end
  layout.missing[#layout.missing + 1] = t
end

-- When the window ending at `ends` began. A calendar window's end that is no boundary
-- (written under another time zone or period) ends a window begun at the boundary before it.
local function start_of(layout, ends)
  if layout.length > 0 then return ends - layout.length end
  return (period_at(layout, ends - 1))
end

-- The end of a window first counted in at `t`: a length's window starts there, a calendar
-- window is the period holding it.
local function end_from(layout, t)
  if layout.length > 0 then return t + layout.length end
  local _, e = period_at(layout, t)
  return e
end

-- The end of the window holding `now` (a closed one, when later windows hold reservations).
local function current_end(layout, ends, now)
  if layout.length > 0 then
    local behind = ends - 1 - now
    return ends - (behind - behind % layout.length)
  end
  local _, e = period_at(layout, now)
  return e
end

-- Where `wanted` tokens are counted: the last window when it is still open at `earliest`
-- (the block's end, or now) and has room, else a window after it. Returns when they may
-- go, the end of their window and its count after them; nil when a period is missing.
local function place(layout, count, ends, last_start, earliest, wanted, limit)
  if ends > earliest and count + wanted <= limit then
    if last_start < earliest then return earliest, ends, count + wanted end
    return last_start, ends, count + wanted
  end
  local t = ends
  if earliest > t then t = earliest end
  local e = end_from(layout, t)
  if not e then return nil end
  return t, e, wanted
end

-- Tokens a call could have now: none while blocked or while later windows hold reservations.
local function remaining_now(count, ends, last_start, blocked, now, limit)
  if blocked > now then return 0 end
  if ends == 0 then return limit end
  if last_start <= now then return limit - count end
  return 0
end

-- The reply that asks the caller for the periods holding these instants.
local function missing_reply(layout)
  local reply = {'more'}
  for _, t in ipairs(layout.missing) do reply[#reply + 1] = t end
  return reply
end

-- The window state as of `now`: count, end of the last window, whether it is in the
-- integer form, when that window began and the end of the window holding now. nil when a
-- period is missing.
local function read_state(key, layout, now)
  local count, ends, int_form = read_window(key, now)
  if ends == 0 then return 0, 0, false, now, 0 end
  local last_start = start_of(layout, ends)
  local window_now = current_end(layout, ends, now)
  if not last_start or not window_now then return nil end
  return count, ends, int_form, last_start, window_now
end

-- What inspect and adjust answer: {tokens left now, ms until the window now ends (0: none
-- has begun), ms until whole (every window with admissions over, and any block)}.
local function snapshot(count, ends, last_start, window_now, blocked, now, limit)
  local whole = ends
  if blocked > whole then whole = blocked end
  if whole < now then whole = now end
  local reset_in = 0
  if ends > 0 then reset_in = window_now - now end
  return {remaining_now(count, ends, last_start, blocked, now, limit), reset_in, whole - now}
end
