-- A sliding window's state is one string key: the counts of consecutive sub-windows,
-- "<sub-window ms>:<index of the first>:<count>,<count>,..." (a sub-window's index is
-- server ms divided by its length), and a TTL that ends when the last one no longer
-- counts. Every interval of `window` ms that holds an instant of sub-window b touches only
-- sub-windows b - span .. b (span = window / sub-window, rounded up), so an admission in b
-- is allowed while their counts and its tokens stay within the limit; and no call is placed
-- before the highest sub-window that has a count (callers queue behind reservations), so
-- the check made for the last admission of any interval covered all the others in it.
-- Never more than the limit in any interval; a token counts until its whole sub-window has
-- left the window, at most one sub-window longer than its instant would.
-- A key written with another sub-window length (a deploy with another window) is read as
-- all its counts at the end of its last sub-window: later than any of them, so no interval
-- from then on is undercounted.

local function floor_div(x, d)
  return (x - x % d) / d
end

-- {first = index, counts = {...}}: counts[i] is sub-window first + i - 1. Sub-windows no
-- interval from `now` on touches (before now's sub-window - span) are left out, as are
-- empty ones at either end: counts is empty, or starts and ends with a count.
local function read_counts(key, sub, span, now)
  local state = {first = 0, counts = {}}
  local stored = redis.call('GET', key)
  if not stored then return state end
  local length, first, list = string.match(stored, '^(%d+):(%d+):(.*)$')
  length, first = length + 0, first + 0
  local counts = {}
  for c in string.gmatch(list, '%d+') do counts[#counts + 1] = c + 0 end
  if length ~= sub then
    local total = 0
    for _, c in ipairs(counts) do total = total + c end
    first = floor_div((first + #counts) * length - 1, sub)
    counts = {total}
  end
  local lo = floor_div(now, sub) - span
  local from, to = 1, #counts
  while from <= to and (first + from - 1 < lo or counts[from] == 0) do from = from + 1 end
  while to >= from and counts[to] == 0 do to = to - 1 end
  for i = from, to do state.counts[#state.counts + 1] = counts[i] end
  state.first = first + from - 1
  return state
end

local function count_at(state, b)
  return state.counts[b - state.first + 1] or 0
end

-- The highest sub-window with a count; nil when none counts.
local function top_of(state)
  if #state.counts == 0 then return nil end
  return state.first + #state.counts - 1
end

local function sum_of(state, lo, hi)
  local sum = 0
  for b = lo, hi do sum = sum + count_at(state, b) end
  return sum
end

-- The earliest sub-window, from `earliest` on and not before the highest with a count,
-- where `wanted` tokens fit; and when they may go (`earliest` itself in its own sub-window,
-- else the sub-window's start).
local function place(state, earliest, wanted, limit, sub, span)
  local from = floor_div(earliest, sub)
  local b = top_of(state) or from
  if from > b then b = from end
  local sum = sum_of(state, b - span, b)
  while sum + wanted > limit do
    sum = sum - count_at(state, b - span)
    b = b + 1
    sum = sum + count_at(state, b)
  end
  if b == from then return b, earliest end
  return b, b * sub
end

-- Adds `tokens` (< 0: takes them off, never below 0) to sub-window b, which is not below the first.
local function add(state, b, tokens)
  if #state.counts == 0 then state.first = b end
  for i = #state.counts + 1, b - state.first + 1 do state.counts[i] = 0 end
  local i = b - state.first + 1
  local after = state.counts[i] + tokens
  if after < 0 then after = 0 end
  state.counts[i] = after
end

-- Writes the state back, to live until its last count no longer counts.
local function write_counts(key, state, sub, span, now)
  local from, to = 1, #state.counts
  while from <= to and state.counts[from] == 0 do from = from + 1 end
  while to >= from and state.counts[to] == 0 do to = to - 1 end
  if from > to then
    -- Nothing counts: the key goes at once.
    redis.call('PEXPIRE', key, 1)
    return
  end
  local counts = {}
  for i = from, to do counts[#counts + 1] = state.counts[i] end
  local first = state.first + from - 1
  local ends = (first + #counts + span) * sub
  redis.call('SET', key, sub .. ':' .. first .. ':' .. table.concat(counts, ','), 'PX', ends - now)
end

-- Tokens a call could have now: none while blocked or while later sub-windows hold reservations.
local function remaining_now(state, now, blocked, limit, sub, span)
  if blocked > now then return 0 end
  local b = floor_div(now, sub)
  local top = top_of(state)
  if top and top > b then return 0 end
  return limit - sum_of(state, b - span, b)
end

-- Ms until no admission counts any more, nor any block lasts.
local function whole_in(state, now, blocked, sub, span)
  local whole = blocked
  local top = top_of(state)
  if top and (top + span + 1) * sub > whole then whole = (top + span + 1) * sub end
  if whole < now then return 0 end
  return whole - now
end
