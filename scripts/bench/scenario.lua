-- wrk script for every scenario of scripts/bench.sh:
--   wrk ... -s scripts/bench/scenario.lua http://127.0.0.1:PORT -- MODE [DATA_FILE [THREADS [PICTURES]]]
-- MODE: healthz | login | profile | expenses1 | expenses50 | balances |
--       groupbalance | settleup | create | mixed | edit | settle |
--       activity | syncsnap | syncchanges |
--       imageupload | image200 | image304 | refresh
-- THREADS (third argument): wrk's thread count; settle gives each thread its
-- own users, so no split is settled twice.
-- DATA_FILE: users.lua from `splitlyr-bench seed` (not needed for healthz).
-- PICTURES (fourth argument): for imageupload, upload.lua from
-- `splitlyr-bench picture` (the photo, and the bytes varied per upload so
-- every upload is a picture the server has not stored yet); for image200 and
-- image304, the pictures to read: a Lua list of {url=..., etag=...}.
-- image304 sends each picture's ETag in If-None-Match and expects 304 (any
-- other status is counted as unexpected); image200 sends none.
-- refresh: the fourth argument is a Lua list of refresh tokens (one session
-- each); each thread takes every THREADS-th, sends each once and replaces it
-- with the one the answer carries (every refresh rotates the token).
-- balances, groupbalance and settleup rotate over the data file's focus
-- users and (member, focus group) pairs, the same ids in every seeded
-- database; the two balance modes count the non-zero balances of each
-- response.
local here = string.match(debug.getinfo(1, "S").source, "^@(.*/)") or "./"
local lib = dofile(here .. "lib.lua")

local mode, next_user, password
local photo, next_picture, run_base, threads
local categories = { "food", "transport", "entertainment", "shopping", "utilities", "travel", "other" }
local counter = 0
local UPLOAD_USERS_PER_THREAD = 8

local refresh_tokens = {}

setup = lib.setup
done = lib.done

function response(status, headers, body)
  if mode == "refresh" and status == 200 then
    local next_token = string.match(body, '"refreshToken":"([^"]+)"')
    if next_token then
      refresh_tokens[#refresh_tokens + 1] = next_token
    end
  end
  return lib.response(status, headers, body)
end

local function auth_get(path)
  local u = next_user()
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. u.token }, nil)
end

local function money(cents)
  return string.format("%d.%02d", math.floor(cents / 100), cents % 100)
end

-- An expense body splitting a random amount between `me` and `others`
-- (exactly: the first split takes the leftover cents).
local function expense_body(me, others, group, payer)
  counter = counter + 1
  local people = { me.id }
  for _, o in ipairs(others) do people[#people + 1] = o end
  local cents = math.random(100, 25000)
  local share = math.floor(cents / #people)
  local splits = {}
  for i, id in ipairs(people) do
    local amount = share
    if i == 1 then amount = cents - share * (#people - 1) end
    splits[#splits + 1] = string.format('{"user":"%s","amount":%s}', id, money(amount))
  end
  local extra = ""
  if group ~= nil then extra = extra .. string.format(',"groupId":"%s"', group) end
  if payer ~= nil then extra = extra .. string.format(',"paidBy":"%s"', payer) end
  return string.format(
    '{"description":"Bench expense %d-%d","amount":%s,"category":"%s","splitWith":[%s]%s}',
    tid or 0, counter, money(cents), categories[math.random(#categories)],
    table.concat(splits, ","), extra)
end

local function post_expense(body, u)
  return wrk.format("POST", "/v1/expenses", {
    ["Authorization"] = "Bearer " .. u.token,
    ["Content-Type"] = "application/json",
  }, body)
end

-- A valid expense between a user and one friend; 30% paid by the friend.
local function friend_expense()
  local u = next_user()
  local payer = nil
  if math.random() < 0.3 then payer = u.friend end
  return post_expense(expense_body(u, { u.friend }, nil, payer), u)
end

-- A valid group expense between a user and 1-3 groupmates.
local function group_expense()
  local u = next_user()
  if u.group == nil or #u.groupmates == 0 then
    return post_expense(expense_body(u, { u.friend }, nil, nil), u)
  end
  local others, n = {}, math.random(1, math.min(3, #u.groupmates))
  local start = math.random(#u.groupmates)
  for k = 0, n - 1 do
    others[#others + 1] = u.groupmates[(start + k - 1) % #u.groupmates + 1]
  end
  return post_expense(expense_body(u, others, u.group, nil), u)
end

-- The photo with its variant bytes set from the bits of a number: every
-- number below 2^#slots is a different picture once the server re-encodes it.
local function photo_variant(n)
  local parts, from = {}, 1
  for k, slot in ipairs(photo.slots) do
    parts[#parts + 1] = string.sub(photo.bytes, from, slot.offset - 1)
    parts[#parts + 1] = string.char(slot.base + math.floor(n / 2 ^ (k - 1)) % 2)
    from = slot.offset + 1
  end
  parts[#parts + 1] = string.sub(photo.bytes, from)
  return table.concat(parts)
end

local requests = {
  healthz = function() return wrk.format("GET", "/v1/healthz", nil, nil) end,
  login = function()
    local u = next_user()
    return wrk.format("POST", "/v1/auth/login", { ["Content-Type"] = "application/json" },
      string.format('{"email":"%s","password":"%s"}', u.email, password))
  end,
  profile = function() return auth_get("/v1/users/profile") end,
  expenses1 = function() return auth_get("/v1/expenses?page=1") end,
  expenses50 = function() return auth_get("/v1/expenses?page=50") end,
  balances = function() return auth_get("/v1/users/balances") end,
  -- The newest 20 items of my activity feed.
  activity = function() return auth_get("/v1/activity?limit=20") end,
  -- The first page (100 objects) of a snapshot sync: me, my friends, my
  -- groups, then my expenses.
  syncsnap = function() return auth_get("/v1/sync?limit=100") end,
  -- 100 changes of my feed from its start (a phone long offline catching up).
  syncchanges = function() return auth_get("/v1/sync?limit=100&since=s0." .. os.time()) end,
  groupbalance = function()
    local u = next_user()
    return wrk.format("GET", "/v1/expenses/group/" .. u.group .. "/balance",
      { ["Authorization"] = "Bearer " .. u.token }, nil)
  end,
  -- The fewest transfers that settle the group (read from the ledger).
  settleup = function()
    local u = next_user()
    return wrk.format("GET", "/v1/groups/" .. u.group .. "/settle-up",
      { ["Authorization"] = "Bearer " .. u.token }, nil)
  end,
  create = friend_expense,
  -- PUT of one field of an open expense the user created (no If-Match: the
  -- server checks the version it read and re-applies on a conflict).
  edit = function()
    local u = next_user()
    counter = counter + 1
    return wrk.format("PUT", "/v1/expenses/" .. u.own[counter % #u.own + 1], {
      ["Authorization"] = "Bearer " .. u.token,
      ["Content-Type"] = "application/json",
    }, string.format('{"description":"Edited %d-%d"}', tid or 0, counter))
  end,
  -- PATCH settle of the next split the user owes (each is settled once).
  settle = function()
    -- Skip users whose owed splits are all settled (at most once round).
    local u = next_user()
    for _ = 1, pool_size do
      if (u.settled or 0) < #u.owe then break end
      u = next_user()
    end
    u.settled = (u.settled or 0) + 1
    local id = u.owe[u.settled] or u.owe[#u.owe]
    return wrk.format("PATCH", "/v1/expenses/" .. id .. "/settle", {
      ["Authorization"] = "Bearer " .. u.token,
      ["Content-Type"] = "application/json",
    }, "{}")
  end,
  -- A new profile photo (raw JPEG body) replacing the user's previous one.
  -- The variant numbers of a wrk run are distinct across its threads, and
  -- runs start 4,096 numbers apart a second (run_base), so no upload repeats
  -- one stored before unless a run makes more than 4,096 uploads.
  -- UPLOAD_USERS_PER_THREAD users per thread, the threads' apart: once the
  -- warm-up has given each of them a photo, every upload replaces one (the
  -- steady state: the stored pictures do not grow), and with up to that many
  -- uploads in flight per thread no user has two at once.
  imageupload = function()
    local u = next_user()
    counter = counter + 1
    local n = (run_base + (tid or 0) + threads * counter) % 2 ^ #photo.slots
    return wrk.format("PUT", "/v1/users/profile/image", {
      ["Authorization"] = "Bearer " .. u.token,
      ["Content-Type"] = "image/jpeg",
    }, photo_variant(n))
  end,
  -- A token is used once: the answer's replaces it (a failed refresh loses it).
  refresh = function()
    local token = table.remove(refresh_tokens, 1) or "no-token-left"
    return wrk.format("POST", "/v1/auth/refresh", { ["Content-Type"] = "application/json" },
      string.format('{"refreshToken":"%s"}', token))
  end,
  -- Avatars need no token.
  image200 = function()
    return wrk.format("GET", next_picture().url, nil, nil)
  end,
  image304 = function()
    local p = next_picture()
    return wrk.format("GET", p.url, { ["If-None-Match"] = p.etag }, nil)
  end,
  -- 80% reads across the read endpoints, 20% writes (half friend, half group expenses).
  mixed = function()
    local r = math.random(100)
    if r <= 20 then return auth_get("/v1/users/profile")
    elseif r <= 45 then return auth_get("/v1/expenses?page=1")
    elseif r <= 65 then return auth_get("/v1/users/balances")
    elseif r <= 80 then
      local u = next_user()
      return wrk.format("GET", "/v1/expenses/group/" .. u.group .. "/balance",
        { ["Authorization"] = "Bearer " .. u.token }, nil)
    elseif r <= 90 then return friend_expense()
    else return group_expense() end
  end,
}

function init(args)
  mode = args[1]
  if requests[mode] == nil then
    error("unknown scenario mode " .. tostring(mode))
  end
  local data = lib.load(args[2])
  password = data.password
  local keep = nil
  if mode == "expenses50" then
    -- Users whose history reaches page 50 (10 per page); all users if none does.
    keep = function(u) return (u.expenses or 0) >= 500 end
  elseif mode == "mixed" then
    keep = function(u) return u.group ~= nil end
  elseif mode == "edit" then
    keep = function(u) return u.own ~= nil and #u.own > 0 end
  elseif mode == "settle" then
    -- Users are split between the threads by position.
    local threads, position = tonumber(args[3]) or 1, 0
    keep = function(u)
      position = position + 1
      return u.owe ~= nil and #u.owe > 0 and position % threads == (tid or 0) % threads
    end
  end
  local pool
  if mode == "refresh" then
    local ok, tokens = pcall(dofile, args[4] or "")
    if not ok then
      error("cannot load the refresh tokens " .. tostring(args[4]) .. ": " .. tostring(tokens))
    end
    local n = tonumber(args[3]) or 1
    for i, token in ipairs(tokens) do
      if (i - 1) % n == (tid or 0) % n then
        refresh_tokens[#refresh_tokens + 1] = token
      end
    end
    return
  end
  if mode == "imageupload" or mode == "image200" or mode == "image304" then
    local ok, pictures = pcall(dofile, args[4] or "")
    if not ok then
      error("cannot load the pictures file " .. tostring(args[4]) .. ": " .. tostring(pictures))
    end
    if mode == "imageupload" then
      local f = assert(io.open(pictures.path, "rb"))
      photo = { bytes = f:read("*a"), slots = pictures.slots }
      f:close()
      if #photo.bytes ~= pictures.size then
        error("photo " .. pictures.path .. " is not the one upload.lua describes")
      end
      threads = tonumber(args[3]) or 1
      run_base = (os.time() % 1024) * 4096
      -- After the focus users (their photos are the GET scenarios').
      local first = #(data.focus_users or {}) + 1
      pool = {}
      for k = 0, UPLOAD_USERS_PER_THREAD - 1 do
        pool[#pool + 1] = data.users[first + (tid or 0) + threads * k]
      end
      if #pool < UPLOAD_USERS_PER_THREAD then
        error("not enough users in " .. tostring(args[2]) .. " for the uploads")
      end
      pool_size = #pool
      next_user = lib.rotation(pool)
      math.randomseed(1000 + (tid or 0))
      return
    else
      if #pictures == 0 then
        error("no pictures in " .. tostring(args[4]))
      end
      next_picture = lib.rotation(pictures)
      if mode == "image304" then
        expect_status = 304
      end
      pool_size = #pictures
      math.randomseed(1000 + (tid or 0))
      return
    end
  end
  if mode == "balances" or mode == "groupbalance" or mode == "settleup" then
    if data.focus_users == nil or data.focus_groups == nil then
      error("no focus users or groups in " .. tostring(args[2]) .. " (seeded by an older splitlyr-bench?)")
    end
    pool = {}
    if mode == "balances" then
      for _, i in ipairs(data.focus_users) do
        pool[#pool + 1] = data.users[i]
      end
      lib.count = lib.count_friend_balances
    else
      -- Every member of every focus group asks for that group's balance.
      for _, g in ipairs(data.focus_groups) do
        for _, i in ipairs(g.members) do
          pool[#pool + 1] = { token = data.users[i].token, group = g.id }
        end
      end
      if mode == "groupbalance" then
        lib.count = lib.count_nonzero_members
      end
    end
  else
    pool = lib.pool(data.users, keep)
  end
  pool_size = #pool
  if #pool == 0 and mode ~= "healthz" then
    error("no users in " .. tostring(args[2]))
  end
  next_user = lib.rotation(pool)
  math.randomseed(1000 + (tid or 0))
end

function request()
  return requests[mode]()
end
