--- smpp.limits: an account's limits held for every process that uses it.
-- The SMSC counts binds and submits per account, not per host: when the
-- account is used from several workers or machines, its bind slots and its
-- rate must be shared. A coordinator gives both:
--
--   take(n)            -> 0 when n submits may go now, else the milliseconds
--                         to wait; nil, message, code when it cannot tell
--   claim(k, me)       -> whether bind slot k is now held by me (a lease)
--   renew(k, me)       -> whether me still holds slot k (the lease extended;
--                         a slot found free is taken again)
--   release(k, me)     -> slot k given back (when me holds it)
--   want(me, seconds)  -> me, holding no slot, waits for one (for seconds)
--   wanted(me)         -> whether another process waits for a slot: one
--                         that holds a slot takes no further one meanwhile
--
-- Backends: "shm" (an ngx.shared dict: the workers of one nginx) and
-- "redis" (many hosts: a GCRA script run with EVALSHA, leases with SET NX
-- PX). The rate is a GCRA (the generic cell rate algorithm, as redis-cell
-- does): one stored time, the theoretical arrival of the next submit,
-- moved on by 1/rate per submit; no refill timer, one key.
--
-- `smpp.client.connect{ limits = ... }` and `smpp.ngx.start` make their
-- coordinator with `new`.
-- @module smpp.limits
local core = require "smpp.core"

local format, floor, max, min = string.format, math.floor, math.max, math.min
local error, pcall, rawget, setmetatable, tostring, type = error, pcall, rawget, setmetatable, tostring, type
local now_ms = core.now_ms

local _M = {}

--- The share of the rate a coordinator hands out: 0.98. Sends of many
-- processes reach the SMSC with some jitter between them: 2 % of the rate
-- is left as room, so that no second ever counts N + 1.
-- @field HEADROOM
_M.HEADROOM = 0.98
-- A submit that asks up to SLACK_MS after its turn (woken late, a round
-- trip to redis) keeps its place: the sends stay on the 1/rate grid. Each
-- is then at most SLACK_MS late, so any 1000 ms hold at most
-- (1000 + SLACK_MS) / (1000 / (rate * HEADROOM)) + 1 of them: N, while
-- SLACK_MS < 1000 / HEADROOM - 1000 (20 ms).
local SLACK_MS = 10

------------------------------------------------------------------------
-- ngx.shared (one nginx): the dict's operations are atomic one by one;
-- the GCRA step takes a short lock (add with a TTL).

local Shm = {}
Shm.__index = Shm

local LOCK_TTL = 0.05 -- seconds: a crashed holder of the lock cannot stall the others

function Shm:locked(fn)
    local dict, lock = self.dict, self.prefix .. "lock"
    local pause = 0.001
    while not dict:add(lock, true, LOCK_TTL) do
        ngx.sleep(pause)
        pause = min(pause * 2, 0.01)
    end
    local ok, a = pcall(fn)
    dict:delete(lock)
    if not ok then error(a, 0) end
    return a
end

function Shm:take(n)
    if self.rate <= 0 then return 0 end
    local dict, key, interval = self.dict, self.prefix .. "tat", self.interval
    return self:locked(function()
        local now = now_ms()
        local tat = dict:get(key) or now
        if tat > now then return tat - now end
        dict:set(key, max(tat, now - SLACK_MS) + n * interval)
        return 0
    end)
end

function Shm:claim(k, me)
    local key = self.prefix .. "slot:" .. k
    if self.dict:add(key, me, self.lease) then return true end
    return self.dict:get(key) == me
end

function Shm:renew(k, me)
    local key = self.prefix .. "slot:" .. k
    local holder = self.dict:get(key)
    if holder == nil then return self.dict:add(key, me, self.lease) and true or false end
    if holder ~= me then return false end
    self.dict:set(key, me, self.lease)
    return true
end

function Shm:release(k, me)
    local key = self.prefix .. "slot:" .. k
    if self.dict:get(key) == me then self.dict:delete(key) end
    return true
end

function Shm:holder(k)
    return self.dict:get(self.prefix .. "slot:" .. k)
end

function Shm:want(me, seconds)
    self.dict:set(self.prefix .. "want", me, seconds)
    return true
end

function Shm:wanted(me)
    local who = self.dict:get(self.prefix .. "want")
    return who ~= nil and who ~= me
end

------------------------------------------------------------------------
-- Redis (many hosts). The time is redis's own (TIME), so hosts' clocks
-- need not agree.

local GCRA = [[
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval, n, slack = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat > now then return math.ceil(tat - now) end
local next_tat = math.max(tat, now - slack) + n * interval
redis.call('SET', KEYS[1], string.format('%.3f', next_tat), 'PX', math.ceil(n * interval) + 1000)
return 0
]]

-- (a slot found free is claimed again: redis restarted empty, say; only a
-- slot held by another is lost)
local RENEW = [[
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
elseif not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
]]

local RELEASE = [[
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
]]

local Redis = {}
Redis.__index = Redis

function Redis:take(n)
    if self.rate <= 0 then return 0 end
    local v, err, code = self.conn:script(GCRA, { self.prefix .. "tat" },
        { format("%.6f", self.interval), n, SLACK_MS })
    if v == nil then return nil, err, code end
    return v
end

function Redis:claim(k, me)
    local key = self.prefix .. "slot:" .. k
    local v, err, code = self.conn:call("SET", key, me, "NX", "PX", self.lease_ms)
    if v == nil then return nil, err, code end
    if v == "OK" then return true end
    -- held already: by me (a claim again after a lost connection) or not
    return self:renew(k, me)
end

function Redis:renew(k, me)
    local v, err, code = self.conn:script(RENEW, { self.prefix .. "slot:" .. k }, { me, self.lease_ms })
    if v == nil then return nil, err, code end
    return v == 1
end

function Redis:release(k, me)
    local v, err, code = self.conn:script(RELEASE, { self.prefix .. "slot:" .. k }, { me })
    if v == nil then return nil, err, code end
    return true
end

function Redis:holder(k)
    local v, err, code = self.conn:call("GET", self.prefix .. "slot:" .. k)
    if v == nil then return nil, err, code end
    return type(v) == "string" and v or nil
end

function Redis:want(me, seconds)
    local v, err, code = self.conn:call("SET", self.prefix .. "want", me, "PX", floor(seconds * 1000))
    if v == nil then return nil, err, code end
    return true
end

function Redis:wanted(me)
    local v, err, code = self.conn:call("GET", self.prefix .. "want")
    if v == nil then return nil, err, code end
    return type(v) == "string" and v ~= me
end

function Redis:close()
    self.conn:close()
end

------------------------------------------------------------------------

--- The name a process holds slots under.
-- @param pid the process id (nil: "?")
-- @tparam[opt=false] boolean unique add a random part, for a process with several
--   holders (two clients)
-- @treturn string "host:pid", or "host:pid:random"
function _M.holder_id(pid, unique)
    local host = "?"
    local f = io.open("/proc/sys/kernel/hostname") or io.open("/etc/hostname")
    if f then
        host = f:read("*l") or host
        f:close()
    end
    local id = format("%s:%s", host, tostring(pid or "?"))
    if unique then id = format("%s:%06x", id, math.random(0, 0xFFFFFF)) end
    return id
end

--- Makes a coordinator (Redis is not reached before its first call).
-- @tparam table opts the options:
-- @tparam[opt] string|table opts.redis "host:port" or `{ host, port, password, db, timeout }`
--   (see `smpp.redis.connect`): many hosts
-- @tparam[opt] string opts.shm the name of a lua_shared_dict: the workers of one nginx
-- @tparam string opts.key the prefix of the keys, required
-- @tparam[opt=0] number opts.rate submits per second of the account (0: none)
-- @tparam[opt=10] number opts.lease seconds a slot is held without renewal
-- @treturn Coordinator the coordinator
-- @raise on a bad option, or neither `redis` nor `shm`
function _M.new(opts)
    if type(opts) ~= "table" then error("smpp.limits: options must be a table", 2) end
    local rate = opts.rate or 0
    if type(rate) ~= "number" or rate < 0 then error("smpp.limits: rate must be a number >= 0", 2) end
    local lease = opts.lease or 10
    if type(lease) ~= "number" or lease <= 0 then
        error("smpp.limits: lease must be a positive number of seconds", 2)
    end
    if type(opts.key) ~= "string" or opts.key == "" then error("smpp.limits: key is required", 2) end
    local self = { rate = rate, interval = rate > 0 and 1000 / (rate * _M.HEADROOM) or 0, lease = lease,
        lease_ms = floor(lease * 1000), prefix = opts.key .. ":" }
    if opts.shm ~= nil then
        local dict = rawget(_G, "ngx") and ngx.shared[opts.shm]
        if not dict then error(format("smpp.limits: no lua_shared_dict %q", tostring(opts.shm)), 2) end
        self.dict = dict
        self.kind = "shm"
        return setmetatable(self, Shm)
    elseif opts.redis ~= nil then
        local redis = require "smpp.redis"
        local conn, err = redis.connect(opts.redis)
        if not conn then error("smpp.limits: " .. err, 2) end
        self.conn = conn
        self.kind = "redis"
        return setmetatable(self, Redis)
    end
    error("smpp.limits: give redis = \"host:port\" (many hosts) or shm = \"dict\" (one nginx)", 2)
end

--- A coordinator made by `new`: the same calls with either backend.
-- @type Coordinator

--- Takes n submits of the account's rate (a GCRA: one stored time).
-- @function Coordinator:take
-- @tparam number n how many (the parts of one message)
-- @treturn[1] number 0 when they may go now, else the milliseconds to wait
-- @return[2] nil
-- @treturn[2] string message
-- @treturn[2] string code: "net" or "redis" (it cannot tell)

--- Claims bind slot k for me (a lease of `lease` seconds).
-- @function Coordinator:claim
-- @tparam number k the slot, 1 to the account's binds
-- @tparam string me the holder's name (`holder_id`)
-- @treturn[1] boolean whether me holds it now
-- @return[2] nil
-- @treturn[2] string message
-- @treturn[2] string code

--- Renews the lease of slot k; a slot found free is taken again.
-- @function Coordinator:renew
-- @tparam number k the slot
-- @tparam string me the holder's name
-- @treturn[1] boolean whether me still holds it (false: another does)
-- @return[2] nil
-- @treturn[2] string message
-- @treturn[2] string code

--- Gives slot k back, when me holds it.
-- @function Coordinator:release
-- @tparam number k the slot
-- @tparam string me the holder's name
-- @treturn[1] boolean true
-- @return[2] nil
-- @treturn[2] string message
-- @treturn[2] string code

--- Says that me holds no slot and waits for one: for `seconds`, processes
-- that hold a slot take no further one (`wanted`).
-- @function Coordinator:want
-- @tparam string me the holder's name
-- @tparam number seconds how long the wish stands (it is said again while it lasts)
-- @treturn[1] boolean true
-- @return[2] nil
-- @treturn[2] string message
-- @treturn[2] string code

--- Whether another process than me waits for a slot (`want`).
-- @function Coordinator:wanted
-- @tparam string me the holder's name
-- @treturn[1] boolean
-- @return[2] nil
-- @treturn[2] string message
-- @treturn[2] string code

--- Who holds slot k.
-- @function Coordinator:holder
-- @tparam number k the slot
-- @treturn string|nil the holder's name, or nil when it is free

--- Closes the Redis connection (the Redis backend only).
-- @function Coordinator:close

--- Runs fn holding the shared dict's short lock (the shm backend only).
-- @function Coordinator:locked
-- @tparam function fn what runs
-- @return what fn returns

return _M
