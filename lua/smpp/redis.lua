--- smpp.redis: a small Redis client (RESP2) for the account limits shared
-- between hosts (smpp.limits). It runs on the same transports as the SMPP
-- client: smpp.core sockets (blocking at top level, yielding inside
-- smpp.spawn or cqueues) or, inside nginx, a cosocket. Every call has a
-- deadline; an error closes the connection and the next call opens another.
--
--   local r = assert(redis.connect{ host = "127.0.0.1", port = 6379, timeout = 1 })
--   r:call("SET", "k", "v", "NX", "PX", 10000)  --> "OK" | ngx-like nil (key existed)
--   r:script(source, keys, args)                 --> EVALSHA, loading the script once
-- @module smpp.redis
local core = require "smpp.core"

local concat, format, floor = table.concat, string.format, math.floor
local find, sub = string.find, string.sub
local ipairs, select, setmetatable, tonumber, tostring, type =
    ipairs, select, setmetatable, tonumber, tostring, type
local now_ms = core.now_ms

local _M = {}

local NULL = setmetatable({}, { __tostring = function() return "redis.null" end })
--- The value of a nil bulk or multi-bulk reply (`tostring`: "redis.null").
-- @field null
_M.null = NULL -- a nil bulk or multi-bulk reply

local Conn = {}
Conn.__index = Conn

------------------------------------------------------------------------
-- Byte streams: smpp.core sockets through smpp.loop, or an nginx cosocket.

local Posix = {}
Posix.__index = Posix

local function posix_open(host, port, deadline)
    local loop = require "smpp.loop"
    local sock, err = require("smpp.transport.posix").connect(host, port,
        { timeout = math.max(0.001, (deadline - now_ms()) / 1000) })
    if not sock then return nil, err end
    return setmetatable({ sock = sock, loop = loop, buf = "", from = 1 }, Posix)
end

-- One write of what is left of self.out: false while the socket is full.
local function write_step(self)
    local n, err = self.sock:write(self.out, self.from)
    if not n then return nil, err end
    self.from = self.from + n
    if self.from > #self.out then return true end
    return false
end

function Posix:send(data, deadline)
    self.out, self.from = data, 1
    local ok, err = self.loop.ready(self.sock, "w", deadline, write_step, self)
    self.out = nil
    if ok == false then return nil, "timeout" end
    return ok, err
end

-- One read into the buffer: false when there is nothing yet.
local function read_step(self)
    local data, err = self.sock:read()
    if data then
        self.buf = self.buf .. data
        return true
    elseif data == nil then
        return nil, err == "closed" and "connection closed by redis" or err
    end
    return false
end

-- More bytes into the buffer; true or nil, message.
function Posix:fill(deadline)
    local ok, err = self.loop.ready(self.sock, "r", deadline, read_step, self)
    if ok == false then return nil, "timeout" end
    return ok, err
end

function Posix:line(deadline)
    while true do
        local e = find(self.buf, "\r\n", 1, true)
        if e then
            local l = sub(self.buf, 1, e - 1)
            self.buf = sub(self.buf, e + 2)
            return l
        end
        local ok, err = self:fill(deadline)
        if not ok then return nil, err end
    end
end

function Posix:bytes(n, deadline)
    while #self.buf < n do
        local ok, err = self:fill(deadline)
        if not ok then return nil, err end
    end
    local b = sub(self.buf, 1, n)
    self.buf = sub(self.buf, n + 1)
    return b
end

function Posix:close()
    self.loop.forget(self.sock)
    self.sock:close()
end

local Cosocket = {}
Cosocket.__index = Cosocket

local function cosocket_open(host, port, deadline)
    local sock = ngx.socket.tcp()
    local ms = math.max(1, deadline - now_ms())
    sock:settimeouts(ms, ms, ms)
    local ok, err = sock:connect(host, port)
    if not ok then return nil, err end
    return setmetatable({ sock = sock }, Cosocket)
end

local function cosocket_timeout(self, deadline)
    local ms = math.max(1, deadline - now_ms())
    self.sock:settimeouts(ms, ms, ms)
end

function Cosocket:send(data, deadline)
    cosocket_timeout(self, deadline)
    return self.sock:send(data)
end

function Cosocket:line(deadline)
    cosocket_timeout(self, deadline)
    return self.sock:receive("*l")
end

function Cosocket:bytes(n, deadline)
    cosocket_timeout(self, deadline)
    return self.sock:receive(n)
end

function Cosocket:close()
    self.sock:close()
end

------------------------------------------------------------------------
-- RESP

local function command(...)
    local n = select("#", ...)
    local out = { "*" .. n .. "\r\n" }
    for i = 1, n do
        local a = tostring((select(i, ...)))
        out[#out + 1] = "$" .. #a .. "\r\n" .. a .. "\r\n"
    end
    return concat(out)
end

-- One reply: value, or nil, message, kind ("redis": an error reply; "net").
local function reply(stream, deadline)
    local l, err = stream:line(deadline)
    if not l then return nil, err, "net" end
    local t, rest = sub(l, 1, 1), sub(l, 2)
    if t == "+" then
        return rest
    elseif t == "-" then
        return nil, rest, "redis"
    elseif t == ":" then
        return tonumber(rest)
    elseif t == "$" then
        local n = tonumber(rest)
        if not n then return nil, "unreadable reply from redis: " .. l, "net" end
        if n < 0 then return NULL end
        local b, berr = stream:bytes(n + 2, deadline)
        if not b then return nil, berr, "net" end
        return sub(b, 1, n)
    elseif t == "*" then
        local n = tonumber(rest)
        if not n then return nil, "unreadable reply from redis: " .. l, "net" end
        if n < 0 then return NULL end
        local list = {}
        for i = 1, n do
            local v, verr, kind = reply(stream, deadline)
            if v == nil and kind == "net" then return nil, verr, kind end
            list[i] = v == nil and { err = verr } or v
        end
        return list
    end
    return nil, "unreadable reply from redis: " .. l, "net"
end

-- ----------------------------------------------------------------------
-- Connections

--- A connection, opened on its first call (and again after an error).
-- @tparam string|table opts "host:port", or the options:
-- @tparam[opt="127.0.0.1"] string opts.host the server
-- @tparam[opt=6379] number opts.port its port
-- @tparam[opt] string opts.password sent with AUTH
-- @tparam[opt] number opts.db chosen with SELECT
-- @tparam[opt=1] number opts.timeout seconds for each call
-- @treturn[1] Conn the connection
-- @return[2] nil
-- @treturn[2] string message (opts is neither)
function _M.connect(opts)
    if type(opts) == "string" then
        local host, port = opts:match("^(.*):(%d+)$")
        opts = { host = host or opts, port = tonumber(port) }
    end
    if type(opts) ~= "table" then return nil, "redis: options must be a table or \"host:port\"" end
    local c = setmetatable({ host = opts.host or "127.0.0.1", port = opts.port or 6379, password = opts.password,
        db = opts.db, timeout = floor((opts.timeout or 1) * 1000), shas = {},
        open = rawget(_G, "ngx") and ngx.socket and ngx.socket.tcp and cosocket_open or posix_open }, Conn)
    return c
end

local function fail(self, err, kind)
    if self.stream and kind == "net" then
        self.stream:close()
        self.stream = nil
    end
    return nil, format("redis %s:%d: %s", self.host, self.port, tostring(err)), kind == "redis" and "redis" or "net"
end

local function roundtrip(self, cmd, deadline)
    local ok, err = self.stream:send(cmd, deadline)
    if not ok then return nil, err, "net" end
    return reply(self.stream, deadline)
end

local function ensure(self, deadline)
    if self.stream then return true end
    local stream, err = self.open(self.host, self.port, deadline)
    if not stream then return fail(self, err, "net") end
    self.stream = stream
    if self.password then
        local ok, aerr, kind = roundtrip(self, command("AUTH", self.password), deadline)
        if not ok then return fail(self, aerr, kind == "redis" and "net" or kind) end
    end
    if self.db then
        local ok, serr, kind = roundtrip(self, command("SELECT", self.db), deadline)
        if not ok then return fail(self, serr, kind == "redis" and "net" or kind) end
    end
    return true
end

-- One command at a time on a connection: coroutines (smpp.spawn, cqueues)
-- and nginx light threads that share it take turns.
local function new_cond()
    local ngx = rawget(_G, "ngx")
    if ngx and ngx.socket and ngx.socket.tcp then return require("smpp.transport.ngx").cond() end
    return require("smpp.loop").cond()
end

local function take_turn(self, deadline)
    while self.busy do
        self.turns = self.turns or new_cond()
        self.turns:wait(deadline)
        if now_ms() >= deadline and self.busy then return false end
    end
    self.busy = true
    return true
end

local function end_turn(self)
    self.busy = false
    if self.turns then self.turns:signal() end
end

--- A connection made by `connect`; coroutines and light threads that share
-- one take turns.
-- @type Conn

--- Runs one command.
-- @param ... the command and its arguments: `conn:call("SET", "k", "v", "NX")`
-- @return[1] its reply: a string, a number, a list, or `null`
-- @return[2] nil
-- @treturn[2] string message
-- @treturn[2] string "redis" (an error reply) or "net" (unreachable, timed out:
--   it connects again at the next call)
function Conn:call(...)
    local deadline = now_ms() + self.timeout
    if not take_turn(self, deadline) then
        return nil, format("redis %s:%d: busy (timed out waiting for the connection)", self.host, self.port), "net"
    end
    local ok, err, kind = ensure(self, deadline)
    if not ok then
        end_turn(self)
        return nil, err, kind
    end
    local v
    v, err, kind = roundtrip(self, command(...), deadline)
    if v == nil then v, err, kind = fail(self, err, kind) end
    end_turn(self)
    return v, err, kind
end

--- Runs a Lua script by its SHA1 (EVALSHA), loading it when redis does not
-- know it (after a restart, too).
-- @tparam string source the script
-- @tparam {string,...} keys its KEYS
-- @tparam table args its ARGV
-- @return[1] its reply
-- @return[2] nil
-- @treturn[2] string message
-- @treturn[2] string "redis" or "net"
function Conn:script(source, keys, args)
    local sha = self.shas[source]
    if not sha then
        local loaded, err, kind = self:call("SCRIPT", "LOAD", source)
        if not loaded then return nil, err, kind end
        sha = loaded
        self.shas[source] = sha
    end
    local call = { "EVALSHA", sha, #keys }
    for _, k in ipairs(keys) do call[#call + 1] = k end
    for _, a in ipairs(args) do call[#call + 1] = a end
    local v, err, kind = self:call((table.unpack or unpack)(call)) -- luacheck: ignore
    if v == nil and kind == "redis" and err:find("NOSCRIPT", 1, true) then
        self.shas[source] = nil
        return self:script(source, keys, args)
    end
    return v, err, kind
end

--- Closes the connection (the next call opens another).
function Conn:close()
    if self.stream then
        self.stream:close()
        self.stream = nil
    end
end

return _M
