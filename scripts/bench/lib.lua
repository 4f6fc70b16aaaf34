-- Shared by the wrk scenarios of scripts/bench.sh: the seeded data file,
-- per-request user rotation, non-2xx counting and the JSON result line.
local lib = {}

-- Threads get an id in setup() (main Lua state), read back in done().
local threads = {}

function lib.setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

-- Loads the data file written by `splitlyr-bench seed` (a Lua table of users).
function lib.load(path)
  if path == nil or path == "" then
    return { users = {}, password = "" }
  end
  local ok, data = pcall(dofile, path)
  if not ok then
    error("cannot load benchmark data " .. path .. ": " .. tostring(data))
  end
  return data
end

-- Users matching `keep`, the rotation pool; all users (and the global
-- `pool_fallback` set) when none matches.
function lib.pool(users, keep)
  local pool = {}
  for _, u in ipairs(users) do
    if keep == nil or keep(u) then
      pool[#pool + 1] = u
    end
  end
  if #pool == 0 then
    pool_fallback = #users > 0
    pool = users
  end
  return pool
end

-- The next user for this thread: threads start at different offsets and walk
-- the pool, so consecutive requests come from different users.
function lib.rotation(pool)
  local i = ((tid or 0) * 389) % math.max(#pool, 1)
  return function()
    i = i % #pool + 1
    return pool[i]
  end
end

-- Counts non-2xx answers and keeps the first unexpected one as a sample (for
-- diagnosis). Unexpected is non-2xx, or, when the scenario set the global
-- `expect_status` (e.g. 304 for conditional GETs), any other status: such a
-- scenario's non-2xx count is its expected answers too, and `unexpected` is
-- its error count. When the scenario set `lib.count` (a function of a 2xx
-- body returning a number), also adds up what it returns: e.g. the non-zero
-- balances of each balance response, reported as `entries_per_response`.
function lib.response(status, _, body)
  local two = status >= 200 and status <= 299
  if not two then
    non2xx = (non2xx or 0) + 1
  end
  local ok = two
  if expect_status ~= nil then
    ok = status == expect_status
  end
  if not ok then
    unexpected = (unexpected or 0) + 1
    if sample == nil then
      sample = tostring(status) .. " " .. string.sub(body or "", 1, 200)
    end
  elseif lib.count ~= nil then
    counted = (counted or 0) + 1
    entries = (entries or 0) + lib.count(body or "")
  end
end

-- Entries of `GET /v1/users/balances`: one object with a "friend" per friend
-- whose balance is not zero.
function lib.count_friend_balances(body)
  local _, n = string.gsub(body, '"friend":{', "")
  return n
end

local member_key = '"' .. string.rep("%x", 24) .. '":([-+%d.eE]+)'

-- Members with a non-zero balance in `GET /v1/expenses/group/:id/balance`:
-- the values of "balances", an object keyed by 24-hex user ids (every member
-- appears, 0 when even; nothing else in the body has such keys).
function lib.count_nonzero_members(body)
  local n = 0
  for value in string.gmatch(body, member_key) do
    if tonumber(value) ~= 0 then
      n = n + 1
    end
  end
  return n
end

local function json_string(s)
  return '"' .. string.gsub(s, '[%c"\\]', function(c)
    return string.format("\\u%04x", string.byte(c))
  end) .. '"'
end

-- Prints one line `BENCH_JSON {...}` that splitlyr-bench report reads.
function lib.done(summary, latency)
  local non2xx_total, unexpected_total, samples, users, fallback = 0, 0, {}, 0, false
  local expect = nil
  local counted_total, entries_total = 0, 0
  for _, t in ipairs(threads) do
    non2xx_total = non2xx_total + (t:get("non2xx") or 0)
    unexpected_total = unexpected_total + (t:get("unexpected") or 0)
    expect = expect or t:get("expect_status")
    counted_total = counted_total + (t:get("counted") or 0)
    entries_total = entries_total + (t:get("entries") or 0)
    local s = t:get("sample")
    if s ~= nil then
      samples[#samples + 1] = s
    end
    users = math.max(users, t:get("pool_size") or 0)
    fallback = fallback or t:get("pool_fallback") == true
  end
  local seconds = summary.duration / 1e6
  local e = summary.errors
  local ms = function(us) return us / 1000 end
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_s":%.3f,"rps":%.2f,' ..
    '"latency_ms":{"p50":%.3f,"p90":%.3f,"p99":%.3f,"max":%.3f,"mean":%.3f},' ..
    '"non2xx":%d,"unexpected":%d,"expected_status":%s,' ..
    '"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},' ..
    '"bytes":%d,"users":%d,"pool_fallback":%s,"entries_per_response":%s,"sample":%s}\n',
    summary.requests, seconds, summary.requests / seconds,
    ms(latency:percentile(50)), ms(latency:percentile(90)), ms(latency:percentile(99)),
    ms(latency.max), ms(latency.mean),
    non2xx_total, unexpected_total, expect and tostring(expect) or "null", e.connect, e.read, e.write, e.timeout,
    summary.bytes, users, tostring(fallback),
    counted_total > 0 and string.format("%.3f", entries_total / counted_total) or "null",
    samples[1] and json_string(samples[1]) or "null"))
end

return lib
