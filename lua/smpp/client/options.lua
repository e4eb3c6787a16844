-- smpp.client.options: what smpp.connect and the sending calls accept. Every
-- checker returns the checked value, or nil and a message naming the option
-- or field; the public functions raise that message at their caller's line
-- (error(msg, 2)), send_many makes it the entry's result. Unknown names are
-- refused with the nearest valid one.
local track_check = require("smpp.track").check
local format, tostring, type, pairs, ipairs, rawget = string.format, tostring, type, pairs, ipairs, rawget
local min, floor = math.min, math.floor

local _M = {}

local BINDS = { transmitter = "transmitter", receiver = "receiver", transceiver = "transceiver",
    tx = "transmitter", rx = "receiver", trx = "transceiver" }
local LEVELS = { error = 1, warn = 2, info = 3, debug = 4, trace = 5 }
_M.LEVELS = LEVELS

-- The options of smpp.connect, and the fields of a message.
local CONNECT = { "host", "port", "tls", "system_id", "password", "system_type", "address_range",
    "addr_ton", "addr_npi", "bind", "charset", "sessions", "throttle", "window", "enquire_link",
    "response_timeout", "timeout", "max_resends", "resend", "from", "reconnect", "limits", "logger",
    "log_level", "trace", "transport", "on", "max_queued", "join_timeout", "track" }
local MESSAGE = { "to", "from", "text", "data", "encoding", "concat", "substitute", "receipt", "ref",
    "meta", "validity", "schedule", "priority", "service_type", "fields", "from_ton", "from_npi",
    "to_ton", "to_npi", "esm_class", "data_coding", "timeout", "once" }
_M.EVENTS = { receipt = true, message = true, pdu = true, bound = true, close = true, message_done = true }

local function set_of(list)
    local s = {}
    for _, k in ipairs(list) do s[k] = true end
    return s
end
local CONNECT_SET, MESSAGE_SET = set_of(CONNECT), set_of(MESSAGE)

-- Damerau-Levenshtein distance of two short names.
local function distance(a, b)
    local d = {}
    for i = 0, #a do d[i] = { [0] = i } end
    for j = 0, #b do d[0][j] = j end
    for i = 1, #a do
        for j = 1, #b do
            local cost = a:byte(i) == b:byte(j) and 0 or 1
            local v = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a:byte(i) == b:byte(j - 1) and a:byte(i - 1) == b:byte(j) then
                v = min(v, d[i - 2][j - 2] + 1)
            end
            d[i][j] = v
        end
    end
    return d[#a][#b]
end

--- The valid name nearest to name (at most a third of its letters off), or nil.
function _M.nearest(name, names)
    local best, best_d = nil, floor(#name / 3) + 1
    for _, n in ipairs(names) do
        local dist = distance(name, n)
        if dist < best_d then best, best_d = n, dist end
    end
    return best
end

-- nil, "unknown <what> name" (with a suggestion) for the first key of t not in set.
local function unknown(t, set, names, what)
    for k in pairs(t) do
        if not set[k] then
            local near = type(k) == "string" and _M.nearest(k, names)
            return format("unknown %s %s%s", what, type(k) == "string" and format("%q", k) or tostring(k),
                near and format(" (did you mean %q?)", near) or "")
        end
    end
end

local function kind_of(opts, name, kind)
    local v = opts[name]
    if v ~= nil and type(v) ~= kind then
        return nil, format("%s must be a %s, got %s", name, kind, type(v))
    end
    return v
end

local function number_of(opts, name, default, allow_zero)
    local v, err = kind_of(opts, name, "number")
    if err then return nil, err end
    if v == nil then return default end
    if v ~= v or v < 0 or (v == 0 and not allow_zero) then
        return nil, format("%s must be %s, got %s", name, allow_zero and "0 or more" or "positive", tostring(v))
    end
    return v
end

-- A logger: a function(level, message), true (stderr), or nil (silent).
local function make_logger(opts)
    local sink = opts.logger
    if sink == nil or sink == false then return nil end
    if sink == true then
        sink = function(level, msg)
            io.stderr:write(os.date("!%H:%M:%S "), level, " smpp: ", msg, "\n")
        end
    elseif type(sink) ~= "function" then
        return nil, "logger must be a function(level, message) or true"
    end
    local limit = LEVELS[opts.log_level or (opts.trace and "trace" or "info")]
    if not limit then
        return nil, "log_level must be one of error, warn, info, debug, trace"
    end
    return function(level, msg, ...)
        if LEVELS[level] <= limit then
            sink(level, select("#", ...) > 0 and format(msg, ...) or msg)
        end
    end
end

local function transport_of(tr)
    if tr == nil then
        -- inside nginx the sockets are cosockets (the posix ones would block a worker)
        local ngx = rawget(_G, "ngx")
        tr = ngx and ngx.socket and ngx.socket.tcp and "ngx" or "posix"
    end
    if tr == "posix" or tr == "ngx" then
        return require("smpp.transport." .. tr)
    elseif type(tr) == "table" and tr.connect and tr.link and tr.wait and tr.cond then
        return tr
    end
    return nil, "transport must be \"posix\", \"ngx\" or a transport module"
end

-- The tracker's store: its form checked here (smpp.track.check), the
-- store opened by the client.
local function track_of(t)
    local bad = track_check(t)
    if bad then return nil, bad end
    return t
end

local function limits_of(l, o)
    if l == nil then return nil end
    if type(l) ~= "table" or (l.redis == nil and l.shm == nil) then
        return nil, "limits must be { redis = \"host:port\" | shm = \"dict\", key =, lease =, binds = }"
    end
    local lease, lerr = number_of(l, "lease", 10)
    if not lease then return nil, "limits." .. lerr end
    local binds, berr = number_of(l, "binds", o.sessions)
    if not binds then return nil, "limits." .. berr end
    return { redis = l.redis, shm = l.shm, key = l.key or ("smpp:" .. o.system_id), lease = lease,
        wait = l.wait, binds = binds }
end

local function binds_of(opts, o)
    local kinds = opts.bind or "transceiver"
    if type(kinds) == "string" then kinds = { kinds } end
    if type(kinds) ~= "table" then
        return nil, "bind must be \"transmitter\", \"receiver\", \"transceiver\" or a list of them"
    end
    if opts.sessions == nil and #kinds > 1 then o.sessions = #kinds end
    local binds = {}
    for i = 1, o.sessions do
        local k = kinds[(i - 1) % #kinds + 1]
        binds[i] = BINDS[k]
        if not binds[i] then
            return nil, format("unknown bind type %q (transmitter, receiver or transceiver)", tostring(k))
        end
    end
    return binds
end

local function reconnect_of(rc)
    if rc == nil or rc == true then return { min = 1, max = 60 } end
    if rc == false then return false end
    if type(rc) ~= "table" then return nil, "reconnect must be true, false or { min =, max =, tries = }" end
    return { min = rc.min or 1, max = rc.max or 60, tries = rc.tries }
end

--- The checked options of smpp.connect, or nil, message.
function _M.connect(opts)
    if type(opts) ~= "table" then return nil, "options must be a table" end
    local bad = unknown(opts, CONNECT_SET, CONNECT, "option")
    if bad then return nil, bad end
    local o, err = {}, nil
    local function take(name, v, e)
        if e then err = err or e end
        o[name] = v
    end
    take("host", kind_of(opts, "host", "string"))
    -- "[::1]" (as URLs and this library's messages write an IPv6 address) is ::1
    o.host = o.host and (o.host:match("^%[(.+)%]$") or o.host) or "127.0.0.1"
    local tls_kind = type(opts.tls)
    if opts.tls ~= nil and tls_kind ~= "boolean" and tls_kind ~= "table" and tls_kind ~= "userdata" then
        return nil, "tls must be true, a table of TLS options or a tls_config"
    end
    o.tls = opts.tls
    take("port", kind_of(opts, "port", "number"))
    o.port = o.port or (o.tls and 8143 or 2775)
    if err then return nil, err end
    if o.port < 1 or o.port > 65535 or o.port % 1 ~= 0 then
        return nil, "port must be 1 to 65535, got " .. o.port
    end
    local id = opts.system_id
    if type(id) ~= "string" or id == "" then return nil, "system_id is required (a string)" end
    id = id:gsub("-", "") -- account ids are written with dashes: 123-456-789-12345
    if #id > 15 then
        return nil, format("system_id %q is %d characters, at most 15 allowed", id, #id)
    end
    o.system_id = id
    take("password", kind_of(opts, "password", "string"))
    if err then return nil, err end
    o.password = o.password or ""
    if #o.password > 8 then
        return nil, format("password is %d characters, the SMSC takes at most 8", #o.password)
    end
    for _, name in ipairs({ "system_type", "address_range", "from", "charset" }) do
        take(name, kind_of(opts, name, "string"))
    end
    for _, name in ipairs({ "addr_ton", "addr_npi" }) do take(name, kind_of(opts, name, "number")) end
    if err then return nil, err end
    o.system_type, o.address_range = o.system_type or "", o.address_range or ""
    o.addr_ton, o.addr_npi = o.addr_ton or 0, o.addr_npi or 0
    o.charset = o.charset or "gsm7"
    if o.charset ~= "gsm7" and o.charset ~= "latin1" then
        return nil, format("charset must be \"gsm7\" or \"latin1\", got %q", o.charset)
    end
    take("sessions", number_of(opts, "sessions", 1))
    take("throttle", number_of(opts, "throttle", 0, true))
    take("window", number_of(opts, "window", 10))
    take("enquire_link", number_of(opts, "enquire_link", 20, true))
    take("response_timeout", number_of(opts, "response_timeout", 10))
    take("timeout", number_of(opts, "timeout", 10))
    take("max_resends", number_of(opts, "max_resends", 10, true))
    take("max_queued", number_of(opts, "max_queued", 1000, true))
    take("join_timeout", number_of(opts, "join_timeout", 300))
    if err then return nil, err end
    take("binds", binds_of(opts, o))
    take("reconnect", reconnect_of(opts.reconnect))
    take("limits", limits_of(opts.limits, o))
    take("log", make_logger(opts))
    take("transport", transport_of(opts.transport))
    take("track", track_of(opts.track))
    if err then return nil, err end
    o.resend, o.trace = opts.resend == true, opts.trace == true
    o.slots = o.sessions -- the account's binds
    if o.limits and o.limits.binds < o.sessions then -- this process opens at most binds of them
        o.sessions = o.limits.binds
        for i = o.sessions + 1, #o.binds do o.binds[i] = nil end
    end
    if opts.on ~= nil then
        if type(opts.on) ~= "table" then return nil, "on must be a table of handlers { receipt = fn, ... }" end
        for name, fn in pairs(opts.on) do
            local herr = _M.handler(name, fn)
            if herr then return nil, "on." .. herr end
        end
        o.on = opts.on
    end
    return o
end

--- nil when fn may handle the event name, else a message.
function _M.handler(name, fn)
    if not _M.EVENTS[name] then
        local near = type(name) == "string" and _M.nearest(name,
            { "receipt", "message", "pdu", "bound", "close", "message_done" })
        return format("unknown event %q (receipt, message, pdu, bound, close, message_done)%s", tostring(name),
            near and format("; did you mean %q?", near) or "")
    end
    if fn ~= nil and type(fn) ~= "function" then return "the handler must be a function" end
end

-- What each field of a message may be: nil when v is fine, else why not.
local function byte_value(name)
    return function(v)
        if type(v) ~= "number" or v < 0 or v > 255 or v % 1 ~= 0 then
            return format("%s must be an integer 0 to 255", name)
        end
    end
end
local function string_value(name, max_len, what)
    return function(v)
        if type(v) ~= "string" then return name .. " must be a string" end
        if max_len and #v > max_len then
            return format("%s is %d characters, a %s holds at most %d", name, #v, what, max_len)
        end
    end
end
local function table_value(name)
    return function(v) if type(v) ~= "table" then return name .. " must be a table" end end
end
local function time_value(name)
    return function(v)
        if type(v) ~= "number" and type(v) ~= "string" then
            return format("%s must be a number or an SMPP time string", name)
        end
    end
end
local function any() end
--- nil when v may be an address of the field what (destination_addr,
--- dl_name: 20 characters at most), else why not, naming it name.
function _M.address(name, what, v)
    if type(v) ~= "string" or v == "" then return name .. " must be a non-empty string" end
    if #v > 20 then return format("%s is %d characters, a %s holds at most 20", name, #v, what) end
end
local FIELD = {
    to = function(v) return _M.address("to", "destination_addr", v) end,
    from = string_value("from", 20, "source_addr"), text = string_value("text"), data = string_value("data"),
    encoding = string_value("encoding"), concat = string_value("concat"), substitute = any, receipt = any,
    ref = any, meta = table_value("meta"), fields = table_value("fields"), once = any,
    service_type = string_value("service_type", 5, "service_type"),
    validity = time_value("validity"), schedule = time_value("schedule"),
    timeout = function(v)
        if type(v) ~= "number" or v <= 0 then return "timeout must be a positive number of seconds" end
    end,
}
for _, name in ipairs({ "from_ton", "from_npi", "to_ton", "to_npi", "esm_class", "data_coding", "priority" }) do
    FIELD[name] = byte_value(name)
end
for _, name in ipairs(MESSAGE) do assert(FIELD[name], name) end

--- nil when the message table m is well formed, else a message naming the
--- field (one pass over the fields given).
function _M.message(m)
    if type(m) ~= "table" then return "the message must be a table" end
    for k, v in pairs(m) do
        local check = FIELD[k]
        if not check then return unknown({ [k] = true }, MESSAGE_SET, MESSAGE, "message field") end
        local err = check(v)
        if err then return err end
    end
    if m.to == nil then return "to must be a non-empty string" end
    if (m.text == nil) == (m.data == nil) then return "give text or data (one of them)" end
    if m.once and (type(m.ref) ~= "string" or m.ref == "") then
        return "once = true needs ref, a non-empty string: the message's own reference"
    end
end

return _M
