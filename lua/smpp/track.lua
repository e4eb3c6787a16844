--- smpp.track: what was sent, found again by the message id a delivery
-- receipt names, in a store that may outlive the process and be shared by
-- many hosts. The SMSC may send the final receipt a day after the submit
-- (it retries for up to 24 hours): a restart, a deploy, or a receipt that
-- comes on another host's receiver bind still finds the message and its
-- `ref`.
--
-- A tracker keeps, under short keys of a small key-value store:
--
--   m:ID        the record of a part by its message id (canonical form of
--               `smpp.receipt.id_keys`: hex or decimal, zeros, case alike)
--   d:KEY:I     the final stat of part I of the message KEY
--   o:KEY       the one "message done" claim of the message KEY
--   i:REF       a send with `once = true`: "-" while it is sent, then its ids
--
-- Stores (`smpp.connect{ track = ... }`, `smpp.ngx.start{ track = ... }`):
--
--   "memory" or { store = "memory", max = 100000 }  this process, the newest
--          `max` keys (default), and none past the TTL
--   { shm = dict }     an nginx lua_shared_dict (its own LRU bound, and the TTL)
--   { redis = conn }   an smpp.redis connection or its options: many hosts,
--          every key with the TTL
--   { sqlite = path }  a local SQLite file (LuaSQL, Debian lua-sql-sqlite3):
--          survives restarts on one host; expired rows are purged as it goes
--   { store = obj }    your own: obj:get(k), obj:set(k, v, ttl),
--          obj:add(k, v, ttl) (false when k exists), obj:delete(k)
--
-- and `ttl` (seconds, default 72 h: the 24 h of retries plus the longest
-- validity) and `prefix` (default "smpp:") beside any of them.
-- @module smpp.track
local receipt = require "smpp.receipt"
local now_ms = require("smpp.core").now_ms

local byte, concat, find, format, sub = string.byte, table.concat, string.find, string.format, string.sub
local error, ipairs, pairs, pcall, rawget, setmetatable, tonumber, tostring, type =
    error, ipairs, pairs, pcall, rawget, setmetatable, tonumber, tostring, type
local floor = math.floor
local id_keys, final = receipt.id_keys, receipt.final

local _M = {}

--- The default time a record is kept: 72 hours, in seconds.
_M.TTL = 72 * 3600

------------------------------------------------------------------------
-- Values in a store: a flat encoding of strings, numbers, booleans and
-- tables of them.

local function encode(v, out)
    local t = type(v)
    if t == "string" then
        out[#out + 1] = "s" .. #v .. ":"
        out[#out + 1] = v
    elseif t == "number" then
        out[#out + 1] = format("n%.17g;", v)
    elseif t == "boolean" then
        out[#out + 1] = v and "T" or "F"
    elseif t == "table" then
        local n = 0
        for _ in pairs(v) do n = n + 1 end
        out[#out + 1] = "{" .. n .. ":"
        for k, x in pairs(v) do
            local kt, xt = type(k), type(x)
            if (kt == "string" or kt == "number")
                and (xt == "string" or xt == "number" or xt == "boolean" or xt == "table") then
                encode(k, out)
                encode(x, out)
            else
                encode(tostring(k), out)
                encode(tostring(x), out)
            end
        end
    else
        encode(tostring(v), out)
    end
    return out
end

local function decode(s, i)
    local tag = byte(s, i)
    if tag == 115 then -- s
        local colon = find(s, ":", i, true)
        local n = tonumber(sub(s, i + 1, colon - 1))
        return sub(s, colon + 1, colon + n), colon + n + 1
    elseif tag == 110 then -- n
        local semi = find(s, ";", i, true)
        return tonumber(sub(s, i + 1, semi - 1)), semi + 1
    elseif tag == 84 then -- T
        return true, i + 1
    elseif tag == 70 then -- F
        return false, i + 1
    elseif tag == 123 then -- {
        local colon = find(s, ":", i, true)
        local n = tonumber(sub(s, i + 1, colon - 1))
        local t, k, v = {}, nil, nil -- luacheck: ignore (assigned in the loop)
        i = colon + 1
        for _ = 1, n do
            k, i = decode(s, i)
            v, i = decode(s, i)
            t[k] = v
        end
        return t, i
    end
    error("damaged value")
end

--- Writes a value for a store: strings, numbers, booleans and tables of
-- them (other values as their `tostring`).
-- @function encode
-- @param v the value
-- @treturn string its encoding
_M.encode = function(v) return concat(encode(v, {})) end

--- Reads a value `encode` wrote.
-- @function decode
-- @tparam string s the encoding
-- @return the value (raises on a damaged one)
_M.decode = function(s) return (decode(s, 1)) end

------------------------------------------------------------------------
-- Stores.

local Memory = {}
Memory.__index = Memory

-- (raw: it keeps the records themselves, not their encoding)
local function memory_store(max)
    return setmetatable({ max = max or 100000, v = {}, exp = {}, order = {}, first = 1, n = 0, raw = true }, Memory)
end

function Memory:get(k)
    local e = self.exp[k]
    if e and e <= now_ms() then
        self.v[k], self.exp[k] = nil, nil
    end
    return self.v[k]
end

function Memory:set(k, v, ttl)
    if self.v[k] == nil then
        local n = self.n + 1
        self.n, self.order[n] = n, k
        if n - self.first >= self.max then
            local first = self.first
            local old = self.order[first]
            self.v[old], self.exp[old], self.order[first] = nil, nil, nil
            self.first = first + 1
        end
    end
    self.v[k], self.exp[k] = v, ttl and now_ms() + ttl * 1000 or nil
    return true
end

function Memory:add(k, v, ttl)
    if self:get(k) ~= nil then return false end
    return self:set(k, v, ttl)
end

function Memory:delete(k)
    self.v[k], self.exp[k] = nil, nil
    return true
end

local Shm = {}
Shm.__index = Shm

function Shm:get(k)
    return self.dict:get(k)
end

function Shm:set(k, v, ttl)
    local ok, err = self.dict:set(k, v, ttl or 0)
    if not ok then return nil, "shared dict: " .. tostring(err) end
    return true
end

function Shm:add(k, v, ttl)
    local ok, err = self.dict:add(k, v, ttl or 0)
    if ok then return true end
    if err == "exists" then return false end
    return nil, "shared dict: " .. tostring(err)
end

function Shm:delete(k)
    self.dict:delete(k)
    return true
end

local Redis = {}
Redis.__index = Redis

function Redis:get(k)
    local v, err = self.conn:call("GET", k)
    if v == nil then return nil, err end
    if type(v) ~= "string" then return nil end -- redis.null
    return v
end

function Redis:set(k, v, ttl)
    local ok, err = self.conn:call("SET", k, v, "EX", floor(ttl or _M.TTL))
    if ok == nil then return nil, err end
    return true
end

function Redis:add(k, v, ttl)
    local ok, err = self.conn:call("SET", k, v, "NX", "EX", floor(ttl or _M.TTL))
    if ok == nil then return nil, err end
    return ok == "OK"
end

function Redis:delete(k)
    local ok, err = self.conn:call("DEL", k)
    if ok == nil then return nil, err end
    return true
end

-- SQLite: one table of keys, hex values (LuaSQL passes SQL text, and a
-- value may hold any octet), an expiry time in ms.
local Sqlite = {}
Sqlite.__index = Sqlite

local function hex(s)
    return (s:gsub(".", function(c) return format("%02x", byte(c)) end))
end

local function unhex(h)
    return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end))
end

local function sqlite_store(path)
    local ok, driver = pcall(require, "luasql.sqlite3")
    if not ok then
        error("smpp.track: sqlite needs LuaSQL (Debian: apt-get install lua-sql-sqlite3)", 3)
    end
    local env = assert(driver.sqlite3())
    local conn, err = env:connect(path)
    if not conn then error("smpp.track: sqlite " .. tostring(path) .. ": " .. tostring(err), 3) end
    -- (WAL with synchronous NORMAL: a commit survives the process' crash
    -- without waiting for the disk; one of the machine may lose the last ones)
    for _, sql in ipairs({ "PRAGMA busy_timeout = 5000", "PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL",
        "CREATE TABLE IF NOT EXISTS smpp_track (k TEXT PRIMARY KEY, v TEXT NOT NULL, exp INTEGER NOT NULL)" }) do
        local cur, serr = conn:execute(sql)
        if not cur then error("smpp.track: sqlite " .. tostring(path) .. ": " .. tostring(serr), 3) end
        if type(cur) == "userdata" then cur:close() end
    end
    return setmetatable({ env = env, conn = conn, path = path, writes = 0 }, Sqlite)
end

function Sqlite:exec(sql)
    local r, err = self.conn:execute(sql)
    if not r then return nil, "sqlite " .. self.path .. ": " .. tostring(err) end
    return r
end

function Sqlite:get(k)
    local cur, err = self:exec(format("SELECT v FROM smpp_track WHERE k = '%s' AND exp > %d",
        self.conn:escape(k), now_ms()))
    if not cur then return nil, err end
    local v = cur:fetch()
    cur:close()
    return v and unhex(v) or nil
end

function Sqlite:purge()
    self.writes = self.writes + 1
    if self.writes % 1000 == 0 then self:exec(format("DELETE FROM smpp_track WHERE exp <= %d", now_ms())) end
end

function Sqlite:set(k, v, ttl)
    self:purge()
    local ok, err = self:exec(format("INSERT OR REPLACE INTO smpp_track (k, v, exp) VALUES ('%s', '%s', %d)",
        self.conn:escape(k), hex(v), now_ms() + floor((ttl or _M.TTL) * 1000)))
    if not ok then return nil, err end
    return true
end

function Sqlite:add(k, v, ttl)
    self:purge()
    local ek = self.conn:escape(k)
    local ok, err = self:exec(format("DELETE FROM smpp_track WHERE k = '%s' AND exp <= %d", ek, now_ms()))
    if not ok then return nil, err end
    local n
    n, err = self:exec(format("INSERT OR IGNORE INTO smpp_track (k, v, exp) VALUES ('%s', '%s', %d)",
        ek, hex(v), now_ms() + floor((ttl or _M.TTL) * 1000)))
    if not n then return nil, err end
    return n == 1
end

function Sqlite:delete(k)
    local ok, err = self:exec(format("DELETE FROM smpp_track WHERE k = '%s'", self.conn:escape(k)))
    if not ok then return nil, err end
    return true
end

------------------------------------------------------------------------
-- The tracker.

local Tracker = {}
Tracker.__index = Tracker

local seq = 0

local OPTIONS = { store = true, redis = true, sqlite = true, shm = true, ttl = true, prefix = true, max = true }

--- What is wrong with a spec for `new`, if anything (its form only: a store
-- is not opened).
-- @param spec as for `new`
-- @treturn string|nil the message, or nil when it is well formed
function _M.check(spec)
    if spec == nil or spec == "memory" then return nil end
    if type(spec) ~= "table" then
        return "track must be \"memory\" or a table: { redis = ... }, { sqlite = path }, "
            .. "{ shm = dict }, { store = obj }"
    end
    for k in pairs(spec) do
        if not OPTIONS[k] then
            return format("unknown track option %s (store, redis, sqlite, shm, ttl, prefix, max)", tostring(k))
        end
    end
end

--- Makes a tracker over one of the stores of the module's description.
-- @param[opt] spec "memory" (nil: the same), or a table of one store and its options:
-- @param[opt="memory"] spec.store "memory", or your own object: `get(k)`, `set(k, v, ttl)`,
--   `add(k, v, ttl)` (false when k exists), `delete(k)`; each may return nil, error
-- @tparam[opt=100000] number spec.max the memory store: the newest keys kept
-- @param[opt] spec.shm an nginx `lua_shared_dict`, or its name
-- @param[opt] spec.redis an `smpp.redis` connection, or its `connect` options ("host:port")
-- @tparam[opt] string spec.sqlite the path of a SQLite file (made when missing)
-- @tparam[opt=259200] number spec.ttl seconds every key is kept (72 h)
-- @tparam[opt="smpp:"] string spec.prefix put before every key
-- @treturn Tracker the tracker (raises on a bad spec)
function _M.new(spec)
    local bad = _M.check(spec)
    if bad then error("smpp.track: " .. bad, 3) end
    if spec == nil or spec == "memory" then spec = {} end
    local store
    if spec.redis then
        local conn = spec.redis
        if type(conn) ~= "table" or not conn.call then conn = assert(require("smpp.redis").connect(conn)) end
        store = setmetatable({ conn = conn }, Redis)
    elseif spec.shm then
        local dict = spec.shm
        if type(dict) == "string" then dict = rawget(_G, "ngx") and rawget(_G, "ngx").shared[dict] end
        if not dict then error(format("smpp.track: no lua_shared_dict %q", tostring(spec.shm)), 3) end
        store = setmetatable({ dict = dict }, Shm)
    elseif spec.sqlite then
        store = sqlite_store(spec.sqlite)
    elseif type(spec.store) == "table" then
        store = spec.store
    elseif spec.store == nil or spec.store == "memory" then
        store = memory_store(spec.max)
    else
        error("smpp.track: unknown store " .. tostring(spec.store), 3)
    end
    local ttl = spec.ttl or _M.TTL
    if type(ttl) ~= "number" or ttl <= 0 then error("smpp.track: ttl must be a positive number of seconds", 3) end
    seq = seq + 1
    return setmetatable({ store = store, ttl = ttl, prefix = spec.prefix or "smpp:",
        -- message keys unique across processes: time, this tracker, a counter
        tag = format("%x.%s.%x", now_ms(), tostring({}):match("(%x+)$") or "0", seq),
        count = 0 }, Tracker)
end

--- A tracker made by `new`.
-- @type Tracker

--- A key for one message, unique across processes and restarts: the
-- `key` field of the records of its parts.
-- @treturn string
function Tracker:message_key()
    self.count = self.count + 1
    return self.tag .. "." .. self.count
end

--- Keeps what was sent under a part's message id.
-- @tparam string id the message id of the part
-- @tparam table record what was sent: `ids` (of its parts, this one's among
--   them), `parts`, `key` (`message_key`), `ref`, `to`, `from`, `meta`, `submitted`...
--   (in memory, the table itself: what is added to it later shows)
-- @treturn[1] true
-- @return[2] nil
-- @treturn[2] string the store's error
function Tracker:put(id, record)
    local store = self.store
    return store:set(self.prefix .. "m:" .. id_keys(id)[1], store.raw and record or _M.encode(record), self.ttl)
end

--- What was sent as a message id, in any of the forms of `smpp.receipt.id_keys`.
-- @tparam[opt] string id the message id (nil: nil)
-- @return[1] the record, or nil when the store does not know the id
-- @return[2] nil
-- @treturn[2] string the store's error
function Tracker:find(id)
    if not id then return nil end
    local store, prefix = self.store, self.prefix .. "m:"
    for _, key in ipairs(id_keys(id)) do
        local v, err = store:get(prefix .. key)
        if err then return nil, err end
        if v then
            if store.raw then return v end
            local ok, record = pcall(_M.decode, v)
            if ok then return record end
            return nil, "damaged record under " .. prefix .. key
        end
    end
end

--- The state of the whole message after a receipt for one of its parts:
-- "delivered" when every part is delivered, "failed" when a part failed,
-- else "pending"; and true once, to one caller of all hosts, when the last
-- part is final.
-- @tparam table record the message's record (`find`)
-- @tparam string id the receipt's message id (which part it is)
-- @tparam string stat the receipt's stat
-- @treturn[1] string "delivered", "failed" or "pending"
-- @treturn[1] boolean whether the message is done with this receipt (once)
-- @return[2] nil
-- @treturn[2] string the store's error
function Tracker:settle(record, id, stat)
    local store, ttl, p = self.store, self.ttl, self.prefix
    local key, n = record.key, record.parts or 1
    if not key then return "pending", false end
    local part, canonical = 1, id_keys(id)[1]
    for i, other in pairs(record.ids or {}) do
        if other ~= "" and id_keys(other)[1] == canonical then part = i end
    end
    local is_final = stat and final(stat)
    if n == 1 then -- one part: its receipt is the message's state
        if not is_final then return "pending", false end
        local won, err = store:add(p .. "o:" .. key, "1", ttl)
        if won == nil then return nil, err end
        return stat:upper() == "DELIVRD" and "delivered" or "failed", won
    end
    if is_final then
        local ok, err = store:set(format("%sd:%s:%d", p, key, part), stat, ttl)
        if not ok then return nil, err end
    end
    local state, all = "delivered", true
    for i = 1, n do
        local s, err = store:get(format("%sd:%s:%d", p, key, i))
        if err then return nil, err end
        if not s then
            all = false
        elseif s:upper() ~= "DELIVRD" then
            state = "failed"
        end
    end
    if not all and state ~= "failed" then state = "pending" end
    if not all or not is_final then return state, false end
    local won, err = store:add(p .. "o:" .. key, "1", ttl)
    if won == nil then return nil, err end
    return state, won
end

--- Claims a `ref` for a send with `once = true`.
-- @tparam string ref the user's reference
-- @treturn[1] string "claimed": this send goes on; "busy": another send of it is under way
--   (or died before its result was known)
-- @treturn[2] table the ids of the message already accepted under ref
-- @return[3] nil
-- @treturn[3] string the store's error
function Tracker:claim(ref)
    local k = self.prefix .. "i:" .. ref
    local won, err = self.store:add(k, "-", self.ttl)
    if won == nil then return nil, err end
    if won then return "claimed" end
    local v
    v, err = self.store:get(k)
    if err then return nil, err end
    if v == nil then return self:claim(ref) end -- expired or released meanwhile
    if v == "-" then return "busy" end
    local ok, ids = pcall(_M.decode, v)
    if not ok or type(ids) ~= "table" then return nil, "damaged record under " .. k end
    return ids
end

--- Records the ids a claimed send got.
-- @tparam string ref the user's reference
-- @tparam table ids the message ids
-- @treturn[1] true
-- @return[2] nil
-- @treturn[2] string the store's error
function Tracker:claimed(ref, ids)
    return self.store:set(self.prefix .. "i:" .. ref, _M.encode(ids), self.ttl)
end

--- Gives up a claim whose send surely did not reach the SMSC: the ref may
-- be sent again.
-- @tparam string ref the user's reference
function Tracker:release(ref)
    return self.store:delete(self.prefix .. "i:" .. ref)
end

return _M
