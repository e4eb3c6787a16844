-- smpp.client: the ESME users touch. smpp.connect binds one or more
-- sessions and the client sends, receives and keeps the binds alive over
-- them. Every call works at top level (it blocks), in coroutines of
-- smpp.spawn and inside cqueues (it yields), and ends by its deadline.
-- The parts: options (what is accepted), sessions (binds and the loop that
-- drives them), send (the one request pipeline), inbound (receipts and MO
-- messages), and smpp.track (what was sent, for the receipts).
local core = require "smpp.core"
local loop = require "smpp.loop"
local limits_mod = require "smpp.limits"
local text = require "smpp.text"
local options = require "smpp.client.options"
local sessions = require "smpp.client.sessions"
local send = require "smpp.client.send"
local inbound = require "smpp.client.inbound"

local concat, format, floor, max = table.concat, string.format, math.floor, math.max
local error, ipairs, pairs, pcall, rawget, setmetatable, tonumber, tostring, type = error, ipairs, pairs, pcall,
    rawget, setmetatable, tonumber, tostring, type
local now_ms = loop.now

sessions.use(send, inbound)

local _M = {}

local Client = {}
Client.__index = Client

local HEADROOM = 0.995
local WEAK_KEYS = { __mode = "k" }
-- lateness of a wake-up forgiven by the throttle (poll timeouts round up):
-- with the headroom, still at most N sends in any 1000 ms (smpp_throttle.h)
local SLACK_MS = 3

-- Misuse raises at the caller's line, naming the function: the first
-- frame outside this module's files (tail calls or not).
local HERE = debug.getinfo(1, "S").source:match("^@(.*/)") or ""
local function check(fn, err)
    if not err then return end
    local level = 2 -- check's caller, then up past the module's own frames
    while true do
        local info = debug.getinfo(level, "S")
        if not info or info.source:sub(2, #HERE + 1) ~= HERE then break end
        level = level + 1
    end
    error(format("smpp.%s: %s", fn, err), level)
end

-- Who holds a bind slot: host, process and a random part (two clients of
-- one process are two holders).
local function identity()
    local ngx = rawget(_G, "ngx")
    local pid = ngx and ngx.worker and ngx.worker.pid and ngx.worker.pid()
    if not pid then
        local f = io.open("/proc/self/stat")
        pid = f and tonumber((f:read("*l") or ""):match("^(%d+)"))
        if f then f:close() end
    end
    return limits_mod.holder_id(pid, true)
end

-- Receipts come without their PDU table when nothing can see it: no pdu
-- handler, no trace, a receipt handler that takes the receipt alone.
local function lean(c)
    local h = c.handlers.receipt
    local info = h and debug.getinfo(h, "u")
    c.lean_receipts = info and info.nparams and info.nparams < 2 and not info.isvararg
        and not c.handlers.pdu and not c.opts.trace or false
end

--- smpp.connect{ host, port, tls, system_id, password, bind, charset,
---   throttle, window, enquire_link, response_timeout, timeout, sessions,
---   reconnect, resend, max_resends, from, system_type, address_range,
---   addr_ton, addr_npi, limits, on, max_queued, join_timeout, logger,
---   log_level, trace, transport }: a bound client, or nil, message, code.
function _M.connect(opts)
    local o, oerr = options.connect(opts)
    check("connect", oerr)
    local T = o.transport
    if o.tls then
        local cfg, err, code = T.tls_config(o.tls == true and {} or o.tls)
        if not cfg then return nil, err, code end
        o.tls_config = cfg
    end
    local c = setmetatable({
        opts = o, log = o.log, handlers = {}, queues = {}, sessions = {}, in_handler = 0, T = T,
        -- always a bucket: it also paces the resends after 0x58 / 0x14 (rate 0:
        -- no limit of our own); the rate leaves 0.5 % headroom for network
        -- jitter, so that N/s sent never reach an SMSC as N + 1 in a second
        bucket = core.throttle{ rate = o.throttle * HEADROOM, slack = SLACK_MS },
        kick = T.cond(), waiting = {}, job_waiting = {}, waiters = setmetatable({}, WEAK_KEYS), split_opts = {},
        charset_opts = { charset = o.charset },
        -- the joiner of long MO messages and the tracker of what was sent
        -- are made when first needed (an idle client stays small)
        joiner = false, tracker = false,
        queue = { head = 1, tail = 0 }, retry = {}, next_job = 0, turned_at = now_ms(), sink = {}, link_changes = 0,
        flush_every = max(8, floor(o.window / 2)),
        counters = { sent = 0, accepted = 0, parts = 0, failed = 0, failed_by_status = {}, unsent = 0, resent = 0,
            late = 0, throttled = 0, receipts = 0, unmatched = 0, messages = 0, partial = 0, delivered = 0,
            deferred = 0, binds = 0, reconnects = 0, disconnects = 0, timeouts = 0 },
    }, Client)
    for name in pairs(options.EVENTS) do c.queues[name] = {} end
    for name, fn in pairs(o.on or {}) do c.handlers[name] = fn end
    lean(c)
    for i, kind in ipairs(o.binds) do
        c.sessions[i] = { index = i, kind = kind, bound = false, failures = 0 }
        if sessions.SENDS[kind] then c.sends = true end -- some bind can send requests
    end
    if o.limits then
        local lok, lim = pcall(limits_mod.new, { redis = o.limits.redis, shm = o.limits.shm, key = o.limits.key,
            rate = o.throttle, lease = o.limits.lease })
        check("connect", not lok and (tostring(lim):gsub("^.-smpp%.limits: ", "limits: ")) or nil)
        c.limits, c.me = lim, identity()
    end
    -- the first bind decides: a refused password or no SMSC ends here; with
    -- shared limits, a standby waits here until one of the slots frees
    local first = c.sessions[1]
    local ok, err, code = sessions.bind(c, first, now_ms() + floor(o.timeout * 1000))
    if not ok and code == "standby" then
        local give_up = o.limits.wait and now_ms() + floor(o.limits.wait * 1000)
        if c.log then c.log("info", "%s: standby: %s", sessions.name(c, first), err) end
        repeat
            T.wait({}, now_ms() + floor(o.limits.lease * 1000 / 4))
            ok, err, code = sessions.bind(c, first, now_ms() + floor(o.timeout * 1000))
        until ok or code ~= "standby" or (give_up and now_ms() >= give_up)
    end
    if not ok then
        if c.limits then
            for _, s in ipairs(c.sessions) do
                if s.slot then c.limits:release(s.slot, c.me) end
            end
        end
        return nil, err, code
    end
    for i = 2, #c.sessions do
        local s = c.sessions[i]
        local sok, serr = sessions.bind(c, s, now_ms() + floor(o.timeout * 1000))
        if not sok then
            if c.log then c.log("warn", "%s: %s (retried later)", sessions.name(c, s), serr) end
            sessions.down(c, s, serr)
        end
    end
    return c
end

-- A result table as the values a call returns.
local function values(r)
    if r[1] == nil and (r.command == nil) then return nil, r[2], r[3], r[4] end
    return r
end

--- Sends a message: { to, from, text | data, encoding, receipt, validity,
--- schedule, ref, meta, concat, priority, service_type, fields, timeout }.
--- Returns the message ids (one per part; .resent when it went twice), or
--- nil, message, code, ids: code is an SMPP status, "unsent" (never left),
--- or "timeout" / "closed" / "invalid" (the SMSC may have it); ids (when
--- given) lists the parts accepted, and ids.resent says it went twice.
function Client:send(m)
    check("send", options.message(m))
    local r = send.one(self, m)
    check("send", r[1] == nil and r[3] == "argument" and r[2] or nil) -- fields the codec cannot write
    return values(r)
end

--- Sends many messages pipelined through the window; one result per
--- message: the ids, or { nil, message, code } (a bad entry's code is
--- "argument"; the others go). opts.timeout: each message's time.
function Client:send_many(list, opts)
    check("send_many", type(list) ~= "table" and "list must be a table of messages" or nil)
    check("send_many", opts ~= nil and type(opts) ~= "table" and "opts must be a table" or nil)
    return send.many(self, list, opts and opts.timeout or self.opts.response_timeout * 3)
end

--- Sends one request PDU (a table with command and fields) and returns its
--- response PDU, or nil, message, code (and the response when there is one).
function Client:request(p, timeout)
    check("request", (type(p) ~= "table" or type(p.command) ~= "string")
        and "the request must be a PDU table with a command" or nil)
    check("request", timeout ~= nil and type(timeout) ~= "number" and "timeout must be a number" or nil)
    local r, err = send.request(self, p, timeout or self.opts.response_timeout * 3)
    check("request", err)
    return values(r)
end

-- A request PDU of a public function fn: its results (a PDU the codec
-- cannot write raises at the line that called fn).
local function request(self, fn, p)
    local r, err = send.request(self, p, self.opts.response_timeout * 3)
    check(fn, err)
    return values(r)
end

-- A request of command with the fields given as they are.
local function request_of(self, fn, command, fields)
    check(fn, type(fields) ~= "table" and "fields must be a table" or nil)
    local p = { command = command }
    for k, v in pairs(fields) do p[k] = v end
    return request(self, fn, p)
end

--- A submit_sm with the fields given as they are: its response, or nil, message, code.
function Client:submit(fields)
    return request_of(self, "submit", "submit_sm", fields)
end

--- data_sm with the fields given: its response, or nil, message, code.
function Client:data_sm(fields)
    return request_of(self, "data_sm", "data_sm", fields)
end

--- submit_multi to a list of numbers: { to = { ... }, from, text, encoding, receipt, fields }.
function Client:submit_multi(m)
    check("submit_multi", (type(m) ~= "table" or type(m.to) ~= "table") and "to must be a list of numbers" or nil)
    local p = { command = "submit_multi", source_addr = m.from or self.opts.from or "", dest_address = {} }
    for i, to in ipairs(m.to) do
        p.dest_address[i] = { dest_addr_ton = 1, dest_addr_npi = 1, destination_addr = to }
    end
    if m.text then
        local octets, dcs = text.encode(m.text, m.encoding or "auto", { charset = self.opts.charset })
        if not octets then return nil, dcs, "text" end
        p.short_message, p.data_coding = octets, dcs
    end
    for k, v in pairs(m.fields or {}) do p[k] = v end
    p.registered_delivery = m.receipt and 1 or 0
    return request(self, "submit_multi", p)
end

--- query_sm: the message's state { message_id, message_state, final_date, error_code } or nil, err, code.
function Client:query(id, from)
    check("query", type(id) ~= "string" and "id must be a string" or nil)
    return request(self, "query", { command = "query_sm", message_id = id, source_addr = from or self.opts.from or "" })
end

--- cancel_sm of a message: true or nil, message, code.
function Client:cancel(id, from)
    check("cancel", type(id) ~= "string" and "id must be a string" or nil)
    local resp, err, code = request(self, "cancel", { command = "cancel_sm", message_id = id,
        source_addr = from or self.opts.from or "" })
    if not resp then return nil, err, code end
    return true
end

--- replace_sm: { id, from, text | short_message, validity, schedule, receipt }.
function Client:replace(m)
    check("replace", (type(m) ~= "table" or type(m.id) ~= "string") and "id must be a string" or nil)
    local p = { command = "replace_sm", message_id = m.id, source_addr = m.from or self.opts.from or "",
        registered_delivery = m.receipt and 1 or 0,
        validity_period = send.smpp_time(m.validity, true),
        schedule_delivery_time = send.smpp_time(m.schedule, false) }
    if m.text then
        local octets, err = text.encode(m.text, "gsm7", { charset = self.opts.charset })
        if not octets then return nil, err, "text" end
        p.short_message = octets
    else
        p.short_message = m.short_message
    end
    local resp, err, code = request(self, "replace", p)
    if not resp then return nil, err, code end
    return true
end

--- on(event, fn): "receipt" fn(receipt, pdu), "message" fn(msg, pdu),
--- "pdu" fn(pdu, session), "bound" fn(info), "close" fn(reason, session).
--- fn = nil removes the handler; events queued meanwhile go to a new one
--- first. Returns the client.
function Client:on(name, fn)
    check("on", options.handler(name, fn))
    self.handlers[name] = fn
    lean(self)
    inbound.flush(self, name)
    return self
end

--- The next event of that kind (its arguments), or nil, "timeout" after
--- seconds (nil: no limit), or nil, "closed" when the client is closed.
function Client:wait(name, seconds)
    check("wait", options.handler(name))
    check("wait", self.handlers[name] and format("a handler takes the %q events; remove it with on(%q, nil) to wait",
        name, name) or nil)
    check("wait", seconds ~= nil and type(seconds) ~= "number" and "seconds must be a number" or nil)
    local q = self.queues[name]
    local deadline = seconds and now_ms() + floor(seconds * 1000)
    local got = sessions.await(self, function() return q[1] ~= nil or self.closed end, deadline)
    local ev = inbound.take(self, name)
    if ev then return ev[1], ev[2] end
    return nil, got and "closed" or "timeout"
end

--- Runs the event loop (handlers are called) until the client is closed,
--- or for seconds when given.
function Client:run(seconds)
    check("run", seconds ~= nil and type(seconds) ~= "number" and "seconds must be a number" or nil)
    local deadline = seconds and now_ms() + floor(seconds * 1000)
    sessions.await(self, function() return self.closed end, deadline)
    return self
end

-- What stats() returns prints as its counters, in the REPL too:
-- "sent=2 accepted=2 parts=3 failed=0 ...".
local STATS_ORDER = { "sent", "accepted", "parts", "failed", "unsent", "resent", "late", "throttled", "timeouts",
    "receipts", "unmatched", "messages", "partial", "delivered", "deferred", "binds", "reconnects", "disconnects",
    "sessions", "bound", "outstanding", "limits" }
local Stats = { __tostring = function(st)
    local out = {}
    for _, k in ipairs(STATS_ORDER) do
        if st[k] ~= nil then out[#out + 1] = k .. "=" .. tostring(st[k]) end
    end
    local by = {}
    for code, n in pairs(st.failed_by_status) do
        by[#by + 1] = (type(code) == "number" and format("0x%02X", code) or code) .. ":" .. n
    end
    table.sort(by)
    if by[1] then out[#out + 1] = "failed_by_status={" .. concat(by, " ") .. "}" end
    if st.slots then out[#out + 1] = "slots={" .. concat(st.slots, ",") .. "}" end
    return concat(out, " ")
end }

--- Counters: sent (messages whose first part left), accepted (messages
--- the SMSC took, all parts) and parts (their parts), failed (and by code),
--- unsent, resent, late (accepted after their call had ended), throttled
--- (the SMSC's 0x58 and 0x14 answers: each sent again while its time
--- allows), receipts (unmatched: not known by id), messages, partial,
--- delivered, deferred (answered 0x64: nobody could take them), binds,
--- reconnects (binds made again after a lost link), disconnects, timeouts;
--- and the sessions: bound, outstanding, queued.
function Client:stats()
    local out = {}
    for k, v in pairs(self.counters) do
        if type(v) == "table" then
            local copy = {}
            for k2, v2 in pairs(v) do copy[k2] = v2 end
            out[k] = copy
        else
            out[k] = v
        end
    end
    out.sessions, out.bound, out.outstanding = #self.sessions, 0, 0
    if self.limits then
        out.slots = {} -- the account's bind slots this process holds
        out.limits = self.limits_down and "unreachable" or self.limits.kind
    end
    for _, s in ipairs(self.sessions) do
        if s.bound then out.bound = out.bound + 1 end
        if s.slot then out.slots[#out.slots + 1] = s.slot end
        if s.engine then
            out.outstanding = out.outstanding + s.engine:outstanding()
            out.throttled = out.throttled + s.engine:refusals()
        end
    end
    return setmetatable(out, Stats)
end

--- Stops new sends (what still waits for a session ends "unsent"), waits
--- at most seconds (default 5) for the responses still due, unbinds every
--- session and closes. Returns true.
function Client:close(seconds)
    check("close", seconds ~= nil and type(seconds) ~= "number" and "seconds must be a number" or nil)
    if self.closed then return true end
    if self.in_handler > 0 then -- inside a handler: once it has returned and been answered
        self.close_requested = seconds or 5
        return true
    end
    self.close_requested = nil
    self.closing = true
    send.drop_queued(self, "the client is closed")
    local deadline = now_ms() + floor((seconds or 5) * 1000)
    sessions.await(self, function()
        for _, s in ipairs(self.sessions) do
            if s.engine and s.engine:outstanding() > 0 then return false end
        end
        return true
    end, deadline)
    local unbinds = {}
    for _, s in ipairs(self.sessions) do
        if s.bound and s.engine then
            local job = send.internal()
            if s.engine:send({ command = "unbind" }, now_ms(), job, 0) then unbinds[#unbinds + 1] = job end
        end
    end
    sessions.await(self, function()
        for _, job in ipairs(unbinds) do if not job.done then return false end end
        return true
    end, deadline)
    for _, s in ipairs(self.sessions) do
        if s.link then
            s.link:flush(now_ms() + 200)
            s.bound = false
            sessions.down(self, s, "closed by the application")
        end
        s.retry_at = nil
    end
    send.drop_queued(self, "the client is closed") -- what the last links left unsent
    self.closed = true
    for w in pairs(self.waiting) do w.cond:signal() end
    for w in pairs(self.job_waiting) do w.cond:signal() end
    return true
end

function Client:__tostring()
    local bound = 0
    for _, s in ipairs(self.sessions) do
        if s.bound then bound = bound + 1 end
    end
    local kinds = {}
    for i, s in ipairs(self.sessions) do kinds[i] = s.kind end
    return format("smpp.client %s@%s:%d%s %s, %d/%d bound, %d sent%s", self.opts.system_id, self.opts.host,
        self.opts.port, self.opts.tls and " (TLS)" or "", concat(kinds, "+"), bound, #self.sessions,
        self.counters.sent, self.closed and ", closed" or "")
end

_M.Client = Client
return _M
