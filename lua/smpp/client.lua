-- smpp.client: the ESME users touch. smpp.connect binds one or more
-- sessions (each a session engine of the C core carried by a link), and the
-- client sends, receives and keeps the binds alive over them. Every call
-- works at top level (it blocks), in coroutines of smpp.spawn and inside
-- cqueues (it yields): whoever waits drives the sockets, one at a time.
local core = require "smpp.core"
local loop = require "smpp.loop"
local pdu_mod = require "smpp.pdu"
local limits_mod = require "smpp.limits"
local receipt_mod = require "smpp.receipt"
local text = require "smpp.text"

local concat, format, floor, max, min = table.concat, string.format, math.floor, math.max, math.min
local error, ipairs, pairs, pcall, rawget, select = error, ipairs, pairs, pcall, rawget, select
local getmetatable, setmetatable, tonumber, tostring, type = getmetatable, setmetatable, tonumber, tostring, type
local random = math.random
local corunning = coroutine.running
local unpack = table.unpack or unpack -- luacheck: ignore
local now_ms = loop.now

local _M = {}

local Client = {}
Client.__index = Client

local BINDS = { transmitter = "transmitter", receiver = "receiver", transceiver = "transceiver",
    tx = "transmitter", rx = "receiver", trx = "transceiver" }
local SENDS = { transmitter = true, transceiver = true }
local SUBMITS = { submit_sm = true, data_sm = true, submit_multi = true }
local RESP = require("smpp.pdu").response -- request command name -> its response's name
local LEVELS = { error = 1, warn = 2, info = 3, debug = 4, trace = 5 }
local EVENTS = { receipt = true, message = true, pdu = true, bound = true, close = true }
local MAX_TRACKED = 100000 -- messages remembered for matching receipts
local MAX_QUEUED = 1000    -- events kept for wait() when no handler takes them
local ESME_RX_T_APPN = 0x64
local HEADROOM = 0.995
local FROM_TON_NPI, NFROM = {}, 0 -- source_addr -> { ton, npi } guessed (a bounded memo)
-- lateness of a wake-up forgiven by the throttle (poll timeouts round up):
-- with the headroom, still at most N sends in any 1000 ms (smpp_throttle.h)
local SLACK_MS = 3
-- Tags of requests that go the short way: batch block * BLOCK + message index
local BLOCK = 1048576

local status_text = pdu_mod.status_text

-- Bad arguments: an error naming the option, raised where the user called
-- (the public functions catch it from any depth and raise it again there).
local ArgError = {}
local function bad(fn, msg)
    error(setmetatable({ msg = format("smpp.%s: %s", fn, msg) }, ArgError), 0)
end

local pack = table.pack or function(...) return { n = select("#", ...), ... } end

local function public(f)
    return function(...)
        local r = pack(pcall(f, ...))
        if r[1] then return unpack(r, 2, r.n) end
        local e = r[2]
        if getmetatable(e) == ArgError then error(e.msg, 2) end
        error(e, 0)
    end
end

local function opt(opts, name, kind, fn)
    local v = opts[name]
    if v ~= nil and type(v) ~= kind then
        bad(fn, format("%s must be a %s, got %s", name, kind, type(v)))
    end
    return v
end

local function positive(opts, name, default, fn, allow_zero)
    local v = opt(opts, name, "number", fn)
    if v == nil then return default end
    if v < 0 or (v == 0 and not allow_zero) or v ~= v then
        bad(fn, format("%s must be %s, got %s", name, allow_zero and "0 or more" or "positive", v))
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
        bad("connect", "logger must be a function(level, message) or true")
    end
    local limit = LEVELS[opts.log_level or (opts.trace and "trace" or "info")]
    if not limit then
        bad("connect", "log_level must be one of error, warn, info, debug, trace")
    end
    return function(level, msg, ...)
        if LEVELS[level] <= limit then
            sink(level, select("#", ...) > 0 and format(msg, ...) or msg)
        end
    end
end

-- A PDU as the log shows it: passwords masked, with its octets when traced.
local function show_pdu(p, with_hex)
    local shown = p
    if p.password and p.password ~= "" then
        shown = {}
        for k, v in pairs(p) do shown[k] = v end
        shown.password = ("*"):rep(#p.password)
    end
    local line = pdu_mod.tostring(shown)
    if with_hex then
        local ok, bytes = pcall(pdu_mod.encode, shown)
        if ok then line = line .. "\n" .. pdu_mod.hexdump(bytes) end
    end
    return line
end

------------------------------------------------------------------------
-- Options

local function check_options(opts)
    if type(opts) ~= "table" then
        bad("connect", "options must be a table")
    end
    local o = {}
    o.host = opt(opts, "host", "string", "connect") or "127.0.0.1"
    o.tls = opts.tls
    if o.tls ~= nil and type(o.tls) ~= "boolean" and type(o.tls) ~= "table" and type(o.tls) ~= "userdata" then
        bad("connect", "tls must be true, a table of TLS options or a tls_config")
    end
    o.port = opt(opts, "port", "number", "connect") or (o.tls and 8143 or 2775)
    if o.port < 1 or o.port > 65535 or o.port % 1 ~= 0 then
        bad("connect", "port must be 1 to 65535, got " .. o.port)
    end
    local id = opt(opts, "system_id", "string", "connect")
    if not id or id == "" then bad("connect", "system_id is required") end
    id = id:gsub("-", "") -- account ids are written with dashes: 123-456-789-12345
    if #id > 15 then
        bad("connect", format("system_id %q is %d characters, at most 15 allowed", id, #id))
    end
    o.system_id = id
    o.password = opt(opts, "password", "string", "connect") or ""
    if #o.password > 8 then
        bad("connect", format("password is %d characters, the SMSC takes at most 8", #o.password))
    end
    o.system_type = opt(opts, "system_type", "string", "connect") or ""
    o.address_range = opt(opts, "address_range", "string", "connect") or ""
    o.addr_ton = opt(opts, "addr_ton", "number", "connect") or 0
    o.addr_npi = opt(opts, "addr_npi", "number", "connect") or 0
    o.charset = opt(opts, "charset", "string", "connect") or "gsm7"
    if o.charset ~= "gsm7" and o.charset ~= "latin1" then
        bad("connect", format("charset must be \"gsm7\" or \"latin1\", got %q", o.charset))
    end
    o.sessions = positive(opts, "sessions", 1, "connect")
    -- bind: one kind for every session, or a list (a TX+RX pair: { "transmitter", "receiver" })
    local kinds = opts.bind or "transceiver"
    if type(kinds) == "string" then kinds = { kinds } end
    if type(kinds) ~= "table" then
        bad("connect", "bind must be \"transmitter\", \"receiver\", \"transceiver\" or a list of them")
    end
    if opts.sessions == nil and #kinds > 1 then o.sessions = #kinds end
    o.binds = {}
    for i = 1, o.sessions do
        local k = kinds[(i - 1) % #kinds + 1]
        o.binds[i] = BINDS[k]
        if not o.binds[i] then
            bad("connect", format("unknown bind type %q (transmitter, receiver or transceiver)", tostring(k)))
        end
    end
    o.throttle = positive(opts, "throttle", 0, "connect", true)
    o.window = positive(opts, "window", 10, "connect")
    o.enquire_link = positive(opts, "enquire_link", 20, "connect", true)
    o.response_timeout = positive(opts, "response_timeout", 10, "connect")
    o.timeout = positive(opts, "timeout", 10, "connect")
    o.max_resends = positive(opts, "max_resends", 10, "connect", true)
    o.resend = opts.resend == true
    o.from = opt(opts, "from", "string", "connect")
    local rc = opts.reconnect
    if rc == nil or rc == true then
        rc = { min = 1, max = 60 }
    elseif type(rc) == "table" then
        rc = { min = rc.min or 1, max = rc.max or 60, tries = rc.tries }
    elseif rc ~= false then
        bad("connect", "reconnect must be true, false or { min =, max =, tries = }")
    end
    o.reconnect = rc
    o.slots = o.sessions -- the account's binds
    local l = opts.limits
    if l ~= nil then
        if type(l) ~= "table" or (l.redis == nil and l.shm == nil) then
            bad("connect", "limits must be { redis = \"host:port\" | shm = \"dict\", key =, lease =, binds = }")
        end
        o.limits = { redis = l.redis, shm = l.shm, key = l.key or ("smpp:" .. o.system_id),
            lease = positive(l, "lease", 10, "connect"), wait = l.wait,
            binds = positive(l, "binds", o.sessions, "connect") }
        if o.limits.binds < o.sessions then -- this process opens at most binds of the account's sessions
            o.sessions = o.limits.binds
            for i = o.sessions + 1, #o.binds do o.binds[i] = nil end
        end
    end
    o.log = make_logger(opts)
    o.trace = opts.trace == true
    local tr = opts.transport
    if tr == nil then
        -- inside nginx the sockets are cosockets (the posix ones would block a worker)
        local ngx = rawget(_G, "ngx")
        tr = ngx and ngx.socket and ngx.socket.tcp and "ngx" or "posix"
    end
    if tr == "posix" or tr == "ngx" then
        o.transport = require("smpp.transport." .. tr)
    elseif type(tr) == "table" and tr.connect and tr.link and tr.wait and tr.cond then
        o.transport = tr
    else
        bad("connect", "transport must be \"posix\", \"ngx\" or a transport module")
    end
    return o
end

------------------------------------------------------------------------
-- Requests: one record per request, resolved exactly once.

local function resolve(rec, resp, err, code)
    if rec.done then return end
    rec.done, rec.resp, rec.err, rec.code = true, resp, err, code
    rec.pdu, rec.sent = nil, nil -- what was sent is not needed any more: let it go
end

------------------------------------------------------------------------
-- Sessions (one bind each)

local function session_name(c, s)
    return format("%s#%d %s", c.opts.system_id, s.index, s.kind)
end

-- Calls a handler; close() called inside one waits until it returns.
local function call(c, handler, ...)
    c.in_handler = c.in_handler + 1
    local ok, err = pcall(handler, ...)
    c.in_handler = c.in_handler - 1
    return ok, err
end

local function emit(c, name, ...)
    local handler = c.handlers[name]
    if handler then
        return call(c, handler, ...)
    end
    local q = c.queues[name]
    if q and #q < MAX_QUEUED then
        q[#q + 1] = { ... }
    end
    return true
end

local tagged -- events of requests that went the short way (below)

-- A response that could not be read ends its request: the SMSC may have
-- taken the message, the client cannot know.
local UNREADABLE = "the response could not be read (the SMSC may have taken the request): "

-- A request whose link went down before its answer: it goes again, once,
-- on another session when the user asked for that (resend), else it ends.
local function lost(c, rec, why)
    if c.opts.resend and rec.resendable and not rec.resent and not c.closing then
        rec.resent = true
        c.retry[#c.retry + 1] = rec
    else
        resolve(rec, nil, "connection lost before the response: " .. why, "closed")
    end
end

-- The session is gone: requests it held end (or go again, once, with
-- resend), and a reconnect is planned.
local function session_down(c, s, why)
    if s.engine and s.engine:state() ~= "closed" then
        -- requests that went the short way end through their (aborted) events
        s.engine:close(why)
        for _, ev in ipairs(s.engine:events(now_ms())) do
            if ev.tag then tagged(c, ev) end
        end
    end
    if s.link then
        s.link:close()
        s.link = nil
    end
    local was_bound = s.bound
    s.bound, s.engine = false, nil
    if s.slot then -- given back: a standby elsewhere may take it
        c.limits:release(s.slot, c.me)
        s.slot = nil
    end
    for id, rec in pairs(s.pending) do
        s.pending[id] = nil
        lost(c, rec, why)
    end
    if was_bound then
        c.counters.disconnects = c.counters.disconnects + 1
        if c.log then
            c.log(c.closing and "info" or "warn", "%s: %s: %s", session_name(c, s),
                c.closing and "closed" or "link lost", why)
        end
        emit(c, "close", why, s.index)
    end
    local rc = c.opts.reconnect
    if rc and not c.closing then
        s.failures = s.failures + 1
        local base = min(rc.max, rc.min * 2 ^ (s.failures - 1))
        s.retry_at = now_ms() + floor(base * 1000 * (0.5 + random()))
        if rc.tries and s.failures > rc.tries then s.retry_at = nil end
    else
        s.retry_at = nil
    end
end

-- Dispatches one engine event of session s.
local dispatch
local claim_slot

-- Answers a request of the SMSC: after the handler returns, with a
-- temporary error when it raised, so that the SMSC delivers again.
local function answer(c, s, seq, request, status)
    if not s.engine then return end
    local command = RESP[request] or "generic_nack"
    s.engine:answer(now_ms(), seq, command, status, request == "data_sm" and "" or nil)
    if c.log and c.opts.trace then
        local resp = { command = command, sequence_number = seq, command_status = status }
        c.log("trace", "%s -> %s", session_name(c, s), show_pdu(resp, true))
    end
end

-- The key a message id is kept under: lower case, no leading zeros (the
-- first of id_keys of any form of the same id).
local id_key = core.receipt_id_key

-- What was sent, found by a receipt's id (hex, decimal, leading zeros, case).
local function id_keys(id)
    local keys = { id_key(id) }
    if #id <= 15 and id:match("^%x+$") then
        local n = tonumber(id, 16)
        if n then keys[#keys + 1] = tostring(n) end
    end
    if #id <= 18 and id:match("^%d+$") then
        local n = tonumber(id)
        if n then keys[#keys + 1] = format("%x", n) end
    end
    return keys
end

local function track(c, id, sent)
    local t = c.tracked
    t.n = t.n + 1
    t.order[t.n] = id
    t.by_key[id_key(id)] = sent
    if t.n - t.first >= MAX_TRACKED then
        t.by_key[id_key(t.order[t.first])] = nil
        t.order[t.first] = nil
        t.first = t.first + 1
    end
end

local function find_sent(c, id)
    if not id then return nil end
    local by_key = c.tracked.by_key
    local sent = by_key[id_key(id)] -- the same form: the common case
    if sent then return sent end
    for _, k in ipairs(id_keys(id)) do
        sent = by_key[k]
        if sent then return sent end
    end
end

------------------------------------------------------------------------
-- The short way: a message of one part of text and no extra fields goes as
-- a submit built in C from its values (no PDU table, no request record) with
-- a tag naming its batch and place; its response comes back as a compact
-- pair (tag, message_id), not an event table. Everything else, and every
-- message of a client with trace or resend on, goes the long way.

-- A batch: the messages of one send or send_many call, blocks of tags.
local function open_batch(c, list)
    local first, n = c.next_block, max(1, math.ceil(#list / BLOCK))
    local b = { base = first * BLOCK, first = first, blocks = n, list = list, results = {}, left = 0,
        submitted = os.time() }
    for k = first, first + n - 1 do c.batches[k] = b end
    c.next_block = first + n
    return b
end

-- Ends a batch: what has no result by now timed out; late events are ignored.
local function close_batch(c, b, n)
    for k = b.first, b.first + b.blocks - 1 do c.batches[k] = nil end
    local results, counters = b.results, c.counters
    for i = 1, n do
        local r = results[i]
        if r == false then -- sent, never answered
            r = { nil, "no response in time", "timeout" }
            results[i] = r
        end
        if r then
            if r[1] ~= nil then
                counters.sent, counters.parts = counters.sent + 1, counters.parts + 1
            else
                counters.failed = counters.failed + 1
                counters.failed_by_status[r[3]] = (counters.failed_by_status[r[3]] or 0) + 1
            end
        end
    end
    return results
end

local function track_sent(c, b, i, ids)
    local m = b.list[i]
    track(c, ids[1], { ids = ids, to = m.to, from = m.from or c.opts.from, ref = m.ref, text = m.text,
        submitted = b.submitted })
end

-- A short-way message accepted: its id, known at once (a receipt may follow).
local function fast_done(c, tag, id)
    local b = c.batches[floor(tag / BLOCK)]
    if not b then return end
    local i = tag - b.base + 1
    local ids = { id }
    b.results[i], b.left = ids, b.left - 1
    if id ~= "" and b.list[i].receipt then track_sent(c, b, i, ids) end
end

local function fast_fail(c, tag, err, code)
    local b = c.batches[floor(tag / BLOCK)]
    if not b then return end
    b.results[tag - b.base + 1], b.left = { nil, err, code }, b.left - 1
end

-- An event of a short-way request that came as a table (not as a pair).
function tagged(c, ev)
    local t = ev.type
    if t == "response" then
        local p = ev.pdu
        if p.command_status == 0 and p.command == "submit_sm_resp" then
            return fast_done(c, ev.tag, p.message_id or "")
        end
        return fast_fail(c, ev.tag, status_text(p.command_status), p.command_status)
    elseif t == "timeout" then
        c.counters.timeouts = c.counters.timeouts + 1
        return fast_fail(c, ev.tag, format("no response to submit_sm within %g s", c.opts.response_timeout),
            "timeout")
    elseif t == "aborted" then
        return fast_fail(c, ev.tag, "connection lost before the response: " .. (ev.message or "closed"), "closed")
    elseif t == "invalid" then
        return fast_fail(c, ev.tag, UNREADABLE .. (ev.message or "?"), "invalid")
    end
end

-- MO messages: readable in the REPL.
local Message = {}
Message.__index = Message
Message.__tostring = function(m)
    local t = m.text or ("<" .. #(m.payload or "") .. " octets>")
    if #t > 60 then t = t:sub(1, 57) .. "..." end
    return format("smpp.message from %s to %s: %q (data_coding %d%s)", m.from or "?", m.to or "?", t,
        m.data_coding or 0, (m.parts or 1) > 1 and format(", %d parts", m.parts) or "")
end

-- After a deliver_sm's handlers: the answer, a temporary error when one raised.
local function delivered(c, s, seq, command, ok, err)
    if not ok and c.log then
        c.log("error", "%s: handler failed, answering ESME_RX_T_APPN: %s", session_name(c, s), tostring(err))
    end
    answer(c, s, seq, command, ok and 0 or ESME_RX_T_APPN)
end

-- A receipt: matched to what was sent, to its handler (or queue).
local function on_receipt(c, r, p)
    local counters = c.counters
    counters.receipts = counters.receipts + 1
    r.message = find_sent(c, r.id)
    return emit(c, "receipt", r, p)
end

-- A receipt that came in the compact list: no PDU table (its handler takes
-- the receipt alone).
local function compact_receipt(c, s, seq, r)
    c.counters.delivered = c.counters.delivered + 1
    return delivered(c, s, seq, "deliver_sm", on_receipt(c, r))
end

local function on_deliver(c, s, p)
    c.counters.delivered = c.counters.delivered + 1
    local ok, err = true, nil
    if c.handlers.pdu then
        ok, err = call(c, c.handlers.pdu, p, s.index)
    end
    if ok and receipt_mod.is_receipt(p) then
        local r = receipt_mod.parse(p, c.charset_opts)
        if r then
            ok, err = on_receipt(c, r, p)
        end
    elseif ok then
        local whole = c.joiner:add(p)
        if whole then
            local m = setmetatable({ from = whole.source_addr, to = whole.destination_addr,
                data_coding = whole.data_coding or 0, payload = whole.payload, parts = whole.parts,
                complete = whole.complete }, Message)
            local tok, s_or_err = pcall(text.decode, whole.payload, m.data_coding, c.charset_opts)
            if tok then m.text = s_or_err end
            c.counters.messages = c.counters.messages + 1
            ok, err = emit(c, "message", m, p)
        end
    end
    delivered(c, s, p.sequence_number, p.command, ok, err)
end

dispatch = function(c, s, ev)
    local t = ev.type
    if c.log and c.opts.trace and ev.pdu then
        c.log("trace", "%s <- %s", session_name(c, s), show_pdu(ev.pdu, true))
    end
    if ev.tag then return tagged(c, ev) end
    if t == "response" then
        local rec = s.pending[ev.id]
        if rec then
            s.pending[ev.id] = nil
            local status = ev.pdu.command_status
            if status == 0 then
                if rec.sent then -- a receipt may come at once: know the id already
                    local id = ev.pdu.message_id
                    rec.sent.ids[rec.part] = id
                    if id and id ~= "" then track(c, id, rec.sent) end
                end
                resolve(rec, ev.pdu)
            else
                resolve(rec, ev.pdu, status_text(status), status)
            end
        end
    elseif t == "timeout" or t == "aborted" then
        local rec = s.pending[ev.id]
        if rec then
            s.pending[ev.id] = nil
            if t == "timeout" then
                c.counters.timeouts = c.counters.timeouts + 1
                resolve(rec, nil, format("no response to %s within %g s", ev.command or "the request",
                    c.opts.response_timeout), "timeout")
            else
                lost(c, rec, ev.message or "closed")
            end
        end
    elseif t == "request" then
        local p = ev.pdu
        if p.command == "deliver_sm" or p.command == "data_sm" then
            on_deliver(c, s, p)
        else
            if c.handlers.pdu then call(c, c.handlers.pdu, p, s.index) end
            if p.command ~= "alert_notification" and p.command ~= "outbind" then
                answer(c, s, p.sequence_number, p.command, 0x03)
            end
        end
    elseif t == "invalid" and ev.id and s.pending[ev.id] then -- its request ends with it
        local rec = s.pending[ev.id]
        s.pending[ev.id] = nil
        resolve(rec, nil, UNREADABLE .. (ev.message or "?"), "invalid")
    elseif t == "closed" then
        session_down(c, s, ev.message or "closed")
    elseif c.log and (t == "invalid" or t == "unexpected") then
        c.log("warn", "%s: %s %s", session_name(c, s), t, ev.message or (ev.pdu and show_pdu(ev.pdu)) or "")
    end
end

-- After a send: the driver may be asleep in poll, not watching for writes:
-- the bytes go now.
local function nudge(c, s)
    if c.driver ~= nil and c.driver ~= corunning() then
        s.link:flush(now_ms())
    end
end

-- Dispatches what the engine of session s has to say.
local function dispatch_all(c, s)
    if s.engine then
        for _, ev in ipairs(s.engine:events(now_ms())) do dispatch(c, s, ev) end
    end
end

-- Sends a request on session s; returns its record (already resolved when
-- it could not go).
local function issue(c, s, rec)
    local p = rec.pdu
    local id, err, code = s.engine:send(p, now_ms())
    if not id then
        return nil, err, code
    end
    rec.session = s
    s.pending[id] = rec
    if c.log and c.opts.trace then c.log("trace", "%s -> %s", session_name(c, s), show_pdu(p, true)) end
    nudge(c, s)
    return rec
end

-- Sends a short-way message (its values in the batch) on session s.
local function fast_send(c, s, b)
    local id, err, code = s.engine:submit(now_ms(), b.tag, b.from, b.ton, b.npi, b.to, 1, 1,
        b.rd, 0, b.dcs, b.octets)
    if not id then return nil, err, code end
    nudge(c, s)
    -- half a window goes out at once: the SMSC starts on it while the
    -- rest is made (both sides busy, not taking turns)
    local n = s.unflushed + 1
    if n >= c.flush_every then
        s.link:flush(now_ms())
        n = 0
    end
    s.unflushed = n
    return true
end

------------------------------------------------------------------------
-- The account's limits shared with other processes (smpp.limits): a bind
-- needs a slot; a submit needs a token of the account's rate.

-- A free bind slot of the account, claimed: its number, or nil, message,
-- "standby" (all held elsewhere) or "limits" (the coordinator is unreachable).
function claim_slot(c)
    local mine = {}
    for _, s in ipairs(c.sessions) do
        if s.slot then mine[s.slot] = true end
    end
    for k = 1, c.opts.slots do
        if not mine[k] then
            local ok, err = c.limits:claim(k, c.me)
            if ok == nil then return nil, "limits: " .. err, "limits" end
            if ok then return k end
        end
    end
    return nil, format("all %d bind slots of the account are held", c.opts.slots), "standby"
end

-- Milliseconds until the next submit may go at the account's rate (0: now).
-- When the coordinator cannot be reached, fail closed: this process sends
-- at most its share of the rate (the slots it holds out of all of them).
local function shared_wait(c)
    local now = now_ms()
    if not c.limits_down or now >= c.limits_retry_at then
        local wait, err = c.limits:take(1)
        if wait then
            if c.limits_down and c.log then c.log("info", "limits: coordinator back") end
            c.limits_down = nil
            return wait
        end
        if not c.limits_down and c.log then
            c.log("warn", "limits: %s; sending at this process's share of the rate", err)
        end
        c.limits_down, c.limits_retry_at = err, now + 1000
    end
    local held = 0
    for _, s in ipairs(c.sessions) do
        if s.slot and s.bound then held = held + 1 end
    end
    local share = c.opts.throttle * held / c.opts.slots
    if share <= 0 then return 100 end
    if c.share_rate ~= share then
        c.share_rate, c.share_bucket = share, core.throttle{ rate = share * limits_mod.HEADROOM }
    end
    if c.share_bucket:take(now) then return 0 end
    return max(1, c.share_bucket:delay(now))
end

-- Renews the leases of the slots held; a slot found held by another ends
-- its bind (the account's bind limit comes first).
local function renew_slots(c)
    local now = now_ms()
    if now < (c.renew_at or 0) then return end
    c.renew_at = now + floor(c.opts.limits.lease * 1000 / 3)
    for _, s in ipairs(c.sessions) do
        if s.slot then
            local ok, err = c.limits:renew(s.slot, c.me)
            if ok == false then
                if c.log then c.log("warn", "%s: bind slot %d lost to another process", session_name(c, s), s.slot) end
                s.slot = nil
                if s.link then session_down(c, s, "bind slot lost to another process") end
            elseif ok == nil and c.log and not c.limits_down then
                c.log("warn", "limits: cannot renew slot %d: %s", s.slot, err)
            end
        end
    end
end

-- Connects and binds session s; true or nil, message, code.
local function bind_session(c, s)
    local o = c.opts
    if c.limits and not s.slot then
        local k, kerr, kcode = claim_slot(c)
        if not k then return nil, kerr, kcode end
        s.slot = k
    end
    local stream, err, code = c.T.connect(o.host, o.port, { tls = o.tls_config or o.tls, timeout = o.timeout,
        server_name = type(o.tls) == "table" and o.tls.server_name or nil })
    if not stream then
        return nil, err, code
    end
    local engine = core.session{ role = "esme", window = o.window, response_timeout = o.response_timeout,
        enquire_link = o.enquire_link, throttle = c.bucket, max_resends = o.max_resends, charset = o.charset }
    s.engine, s.link, s.pending = engine, c.T.link(stream, engine), {}
    local rec = { pdu = { command = "bind_" .. s.kind, system_id = o.system_id, password = o.password,
        system_type = o.system_type, interface_version = 0x34, addr_ton = o.addr_ton, addr_npi = o.addr_npi,
        address_range = o.address_range } }
    local ok, ierr, icode = issue(c, s, rec)
    if not ok then
        session_down(c, s, ierr)
        return nil, ierr, icode
    end
    local deadline = now_ms() + floor(o.timeout * 1000)
    while not rec.done do
        if now_ms() >= deadline then
            session_down(c, s, "bind timed out")
            return nil, format("bind_%s: no answer within %g s", s.kind, o.timeout), "timeout"
        end
        for _, ev in ipairs(s.link:step(deadline)) do dispatch(c, s, ev) end
    end
    if rec.err then
        local why = format("bind_%s refused: %s", s.kind, rec.err)
        if s.link then
            s.link:close()
            s.link, s.engine = nil, nil
        end
        return nil, why, rec.code
    end
    s.bound, s.failures = true, 0
    s.peer = rec.resp.system_id
    c.counters.binds = c.counters.binds + 1
    if c.log then c.log("info", "%s: bound to %s:%d (%s)", session_name(c, s), o.host, o.port, s.peer or "") end
    emit(c, "bound", { session = s.index, bind = s.kind, system_id = s.peer })
    return true
end

------------------------------------------------------------------------
-- Driving the sockets: one turn of every session.

local function live(c)
    local links, who = {}, {}
    for _, s in ipairs(c.sessions) do
        if s.link then
            links[#links + 1], who[#who + 1] = s.link, s
        end
    end
    return links, who
end

-- A session that may send now, or nil: bound, able to transmit, the least busy.
local function pick(c)
    local best
    for _, s in ipairs(c.sessions) do
        if s.bound and SENDS[s.kind] and s.engine
            and (not best or s.engine:outstanding() < best.engine:outstanding()) then
            best = s
        end
    end
    return best
end

-- Sends again, in their order, the requests a lost link took (resend = true).
local function resend_lost(c)
    while c.retry[1] do
        local s = pick(c)
        if not s or not issue(c, s, c.retry[1]) then return end
        table.remove(c.retry, 1)
    end
end

-- Reconnects what is due, re-issues what waits for a session; whether a
-- session was bound again.
local function maintain(c)
    if c.closing then return false end
    local rebound = false
    if c.limits then renew_slots(c) end
    resend_lost(c)
    for _, s in ipairs(c.sessions) do
        if not s.link and s.retry_at and now_ms() >= s.retry_at then
            c.counters.reconnects = c.counters.reconnects + 1
            local ok, err, code = bind_session(c, s)
            rebound = rebound or ok == true
            if not ok then
                if c.log then c.log("warn", "%s: reconnect failed: %s", session_name(c, s), err) end
                session_down(c, s, err)
                if code == 0x0E or code == 0x0F then s.retry_at = nil end -- the account is refused: stop
                if code == "standby" or code == "limits" then -- look for a free slot again soon
                    s.retry_at = now_ms() + floor(c.opts.limits.lease * 1000 / 4)
                end
            end
        end
    end
    return rebound
end

-- Reads what session s has, dispatches its events, writes what they
-- caused; whether anything came.
local function pump(c, s)
    if not s.link then return false end
    local got, gone = s.link:drain()
    -- (a list of its own each time: a receipt handler may send, and so pump again)
    local sink, receipts = c.sink, c.lean_receipts and {} or nil
    local evs, n, nr = s.engine:events(now_ms(), sink, receipts)
    for k = 1, 2 * n, 2 do fast_done(c, sink[k], sink[k + 1]) end
    for k = 1, 2 * nr, 2 do compact_receipt(c, s, receipts[k], receipts[k + 1]) end
    if gone then
        s.engine:close(gone)
        for _, ev in ipairs(s.engine:events(now_ms())) do evs[#evs + 1] = ev end
    end
    for _, ev in ipairs(evs) do dispatch(c, s, ev) end
    if s.link then s.link:flush(now_ms()) end
    if c.close_requested and c.in_handler == 0 then
        c:close(c.close_requested)
    end
    return got or #evs > 0 or n > 0 or nr > 0
end

-- One turn: move bytes both ways on every session, dispatch what came,
-- or wait (at most until deadline) for something to happen.
local function turn(c, deadline)
    if maintain(c) then return end -- a waiter may go on now: let it look
    local _, who = live(c)
    local wake = deadline
    for _, s in ipairs(who) do
        local d = s.engine:deadline()
        if d and (not wake or d < wake) then wake = d end
    end
    for _, s in ipairs(c.sessions) do
        if not s.link and s.retry_at and (not wake or s.retry_at < wake) then wake = s.retry_at end
    end
    -- output first; then wait for any link (or the time) and read
    for _, s in ipairs(who) do
        if s.link and not s.link:flush(now_ms()) then
            dispatch_all(c, s) -- a write error: the engine says closed among its events
        end
    end
    local links
    links, who = live(c)
    -- a link may hold data already read (TLS records decrypted along with
    -- earlier ones, a reader that got ahead): take that before sleeping
    local early = false
    for _, s in ipairs(who) do
        if s.link:buffered() and pump(c, s) then early = true end
    end
    if early then return end
    if wake == nil or wake > now_ms() then
        c.T.wait(links, wake or (#links == 0 and now_ms() + 1000 or nil))
    end
    for _, s in ipairs(who) do pump(c, s) end
end

-- Waits until done() is true or deadline: whoever waits drives the
-- sockets; when another coroutine already does, waits to be woken by it.
local function await(c, done, deadline)
    local me = corunning()
    while not done() do
        if deadline and now_ms() >= deadline then
            return false
        end
        local driver = c.driver
        if driver == nil or driver == me then -- a handler may send: it drives too
            c.driver = me
            local ok, err = pcall(turn, c, deadline)
            c.driver = driver
            c.cond:signal()
            if not ok then error(err, 0) end
        else
            c.cond:wait(deadline)
        end
    end
    return true
end

------------------------------------------------------------------------
-- Sending

local function can_send(c)
    for _, s in ipairs(c.sessions) do
        if SENDS[s.kind] then return true end
    end
    return false
end

-- Whether some sending session is bound or will try again.
local function hope(c)
    for _, s in ipairs(c.sessions) do
        if SENDS[s.kind] and (s.link or s.retry_at) then return true end
    end
    return false
end

-- Waits for a session with room in its window and for the throttle, and
-- sends there with send(c, s, x): true, or nil, message, code when it cannot.
local function admit(c, submit, deadline, send, x)
    if c.closing then
        return nil, "the client is closed", "closed"
    end
    if not can_send(c) then
        return nil, "a receiver bind cannot send requests", "state"
    end
    local token = false -- of the account's rate shared with other processes
    while true do
        if not hope(c) then
            return nil, "no session is bound and none will reconnect", "closed"
        end
        resend_lost(c) -- what waits for a session after a lost link goes first
        local s = pick(c)
        local err, code, shared
        if s and not c.retry[1] and c.limits and submit and not token
            and s.engine:outstanding() < c.opts.window then
            shared = shared_wait(c)
            if shared <= 0 then token = true end
        end
        if s and not c.retry[1] and (shared or 0) <= 0 then
            local ok
            ok, err, code = send(c, s, x)
            if ok then return true end
            if code == "state" or code == nil then
                return nil, err, "state"
            end
            if code == "closed" then -- the link died under us: its end is among its events
                dispatch_all(c, s)
            end
        end
        local wait_until = deadline
        if code == "throttled" then
            c.counters.throttled = c.counters.throttled + 1
            wait_until = min(deadline, now_ms() + max(1, s.engine:submit_delay(now_ms())))
        elseif shared and shared > 0 then -- the account's rate, shared with other processes
            code = "throttled"
            wait_until = min(deadline, now_ms() + shared)
        end
        local room = s and s.engine and s.engine:outstanding()
        local reached = await(c, function()
            if now_ms() >= wait_until then return true end
            if code == "window" then return s.engine == nil or s.engine:outstanding() < room end
            return code ~= "throttled" and pick(c) ~= nil and not c.retry[1]
        end, wait_until)
        if not reached and now_ms() >= deadline or c.closing then
            local why = c.closing and "the client is closed"
                or (pick(c) and "timed out waiting to send" or "no session is bound")
            return nil, why, c.closing and "closed" or "timeout"
        end
    end
end

-- Starts a request; returns its record (resolved when it could not go).
local function start(c, p, deadline, resendable, sent, part)
    local rec = { pdu = p, resendable = resendable, sent = sent, part = part }
    local ok, err, code = admit(c, SUBMITS[p.command], deadline, issue, rec)
    if not ok then resolve(rec, nil, err, code) end
    return rec
end

-- Waits for the records' responses, and for the short-way ones of batch b.
local function finish(c, recs, deadline, b)
    local first = 1 -- recs before it are done: each is looked at once
    await(c, function()
        while recs[first] and recs[first].done do first = first + 1 end
        return recs[first] == nil and (b == nil or b.left == 0)
    end, deadline)
    for _, r in ipairs(recs) do
        if not r.done then
            resolve(r, nil, "no response in time", "timeout")
            if r.session then
                for id, x in pairs(r.session.pending) do
                    if x == r then r.session.pending[id] = nil end
                end
            end
        end
    end
end

-- SMPP times: seconds from now (relative) or an epoch (absolute), or a string.
local function relative_time(seconds)
    seconds = floor(seconds)
    local days = floor(seconds / 86400)
    local years = floor(days / 365)
    days = days - years * 365
    local months = floor(days / 30)
    days = days - months * 30
    local rest = seconds % 86400
    return format("%02d%02d%02d%02d%02d%02d000R", years, months, days, floor(rest / 3600),
        floor(rest % 3600 / 60), rest % 60)
end

local function smpp_time(v, name, relative)
    if v == nil or type(v) == "string" then return v end
    if type(v) ~= "number" then
        bad("send", format("%s must be a number or an SMPP time string", name))
    end
    if relative then return relative_time(v) end
    return os.date("!%y%m%d%H%M%S", floor(v)) .. "000+"
end

-- The source_addr_ton and _npi of a sender: an international number, a
-- short code, or alphanumeric.
local function guess_ton_npi(from)
    local guess = FROM_TON_NPI[from]
    if not guess then
        guess = from:match("^%d+$") and { #from > 6 and 1 or 0, 1 } or { from:match("%a") and 5 or 0, 0 }
        if NFROM < 1000 then FROM_TON_NPI[from], NFROM = guess, NFROM + 1 end
    end
    return guess[1], guess[2]
end

-- The submit_sm PDUs of a message table.
local function build(c, m, fn)
    if type(m) ~= "table" then bad(fn, "the message must be a table") end
    local to = m.to
    if type(to) ~= "string" or to == "" then bad(fn, "to must be a non-empty string") end
    local from = m.from or c.opts.from or ""
    if type(from) ~= "string" then bad(fn, "from must be a string") end
    if (m.text == nil) == (m.data == nil) then bad(fn, "give text or data (one of them)") end
    local parts
    if m.text ~= nil then
        if type(m.text) ~= "string" then bad(fn, "text must be a string") end
        local err, code
        local so = c.split_opts -- one table for every message (split keeps nothing of it)
        so.encoding, so.charset, so.concat, so.to, so.substitute =
            m.encoding or "auto", c.opts.charset, m.concat, to, m.substitute
        parts, err, code = text.split(m.text, so)
        if not parts then return nil, err, code or "text" end
    else
        if type(m.data) ~= "string" then bad(fn, "data must be a string") end
        parts = { { short_message = m.data, esm_class = m.esm_class or 0, data_coding = m.data_coding or 4 } }
    end
    local ton, npi = m.from_ton, m.from_npi
    if ton == nil or npi == nil then
        local gton, gnpi = guess_ton_npi(from)
        ton, npi = ton or gton, npi or gnpi
    end
    local validity = smpp_time(m.validity, "validity", true)
    local schedule = smpp_time(m.schedule, "schedule", false)
    local fields = type(m.fields) == "table" and m.fields or nil
    for i, part in ipairs(parts) do
        -- only the fields given: a smaller table, and fewer for the encoder to walk
        local p = { command = "submit_sm", source_addr = from, destination_addr = to,
            source_addr_ton = ton, source_addr_npi = npi, dest_addr_ton = m.to_ton or 1, dest_addr_npi = m.to_npi or 1,
            registered_delivery = m.receipt and 1 or 0, short_message = part.short_message,
            esm_class = part.esm_class, data_coding = part.data_coding }
        if m.service_type ~= nil then p.service_type = m.service_type end
        if m.priority ~= nil then p.priority_flag = m.priority end
        if validity ~= nil then p.validity_period = validity end
        if schedule ~= nil then p.schedule_delivery_time = schedule end
        if part.message_payload ~= nil then p.message_payload = part.message_payload end
        if part.sar_msg_ref_num ~= nil then
            p.sar_msg_ref_num, p.sar_total_segments, p.sar_segment_seqnum =
                part.sar_msg_ref_num, part.sar_total_segments, part.sar_segment_seqnum
        end
        if fields then
            for k, v in pairs(fields) do p[k] = v end
        end
        parts[i] = p -- the parts list becomes the list of PDUs
    end
    return parts
end

-- Starts every part of a message; returns a job.
local function start_message(c, m, deadline)
    local list, err, code = build(c, m, "send")
    if not list then return { err = err, code = code } end
    local job = { m = m, recs = {} }
    local sent = m.receipt and { ids = {}, to = m.to, from = m.from or c.opts.from, ref = m.ref, text = m.text,
        submitted = os.time() } or nil
    for i, p in ipairs(list) do
        job.recs[i] = start(c, p, deadline, true, sent, i)
        if job.recs[i].done and job.recs[i].err then break end
    end
    return job
end

-- Message i of batch b the short way when it can go so: true when it took
-- the message (sent, or failed with its result), false when it must go the
-- long way (which also says what is wrong with a bad one).
local function start_fast(c, b, i, m, deadline)
    if type(m) ~= "table" or m.data ~= nil or m.encoding ~= nil or m.concat ~= nil or m.substitute ~= nil
        or m.fields ~= nil or m.validity ~= nil or m.schedule ~= nil or m.service_type ~= nil
        or m.priority ~= nil or m.from_ton ~= nil or m.from_npi ~= nil or m.to_ton ~= nil or m.to_npi ~= nil then
        return false
    end
    local to, from, txt = m.to, m.from or c.opts.from or "", m.text
    if type(to) ~= "string" or to == "" or type(from) ~= "string" or type(txt) ~= "string" then
        return false
    end
    local octets, dcs = text.one_part(txt, c.charset_opts)
    if not octets then return false end -- more parts, or text that cannot go as it is
    b.tag, b.from, b.to, b.rd, b.dcs, b.octets = b.base + i - 1, from, to, m.receipt and 1 or 0, dcs, octets
    b.ton, b.npi = guess_ton_npi(from)
    b.results[i], b.left = false, b.left + 1 -- its events may come before admit returns
    local ok, err, code = admit(c, true, deadline, fast_send, b)
    if not ok then
        b.results[i], b.left = { nil, err, code }, b.left - 1
    end
    return true
end

-- The result of a job: the ids, or nil, message, status.
local function result(c, job)
    if job.err then return nil, job.err, job.code end
    local ids = {}
    for i, r in ipairs(job.recs) do
        if r.err then
            c.counters.failed = c.counters.failed + 1
            local fs = c.counters.failed_by_status
            fs[r.code] = (fs[r.code] or 0) + 1
            return nil, r.err, r.code, ids
        end
        ids[i] = r.resp.message_id
    end
    c.counters.sent = c.counters.sent + 1
    c.counters.parts = c.counters.parts + #ids
    return ids
end

------------------------------------------------------------------------
-- The public client

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

--- smpp.connect{ host, port, tls, system_id, password, bind, charset,
---   throttle, window, enquire_link, response_timeout, timeout, sessions,
---   reconnect, resend, from, system_type, address_range, addr_ton, addr_npi,
---   logger, log_level, trace }: a bound client, or nil, message, code.
function _M.connect(opts)
    local o = check_options(opts)
    local T = o.transport
    if o.tls then
        local cfg, err, code = T.tls_config(o.tls == true and {} or o.tls)
        if not cfg then return nil, err, code end
        o.tls_config = cfg
    end
    local c = setmetatable({
        opts = o, log = o.log, handlers = {}, queues = {}, retry = {}, sessions = {}, in_handler = 0,
        -- always a bucket: it also paces the resends after 0x58 / 0x14 (rate 0:
        -- no limit of our own); the rate leaves 0.5 % headroom for network
        -- jitter, so that N/s sent never reach an SMSC as N + 1 in a second
        bucket = core.throttle{ rate = o.throttle * HEADROOM, slack = SLACK_MS },
        T = T, joiner = text.joiner(), cond = T.cond(), split_opts = {},
        -- the short way (not with trace: every PDU is shown; not with resend: a
        -- lost request goes again from its record)
        fast = not o.trace and not o.resend, batches = {}, next_block = 1, sink = {},
        -- options that name the account charset alone (for plain text and receipts)
        charset_opts = { charset = o.charset }, flush_every = max(8, floor(o.window / 2)),
        tracked = { n = 0, first = 1, order = {}, by_key = {} },
        counters = { sent = 0, parts = 0, failed = 0, failed_by_status = {}, throttled = 0, receipts = 0,
            messages = 0, delivered = 0, binds = 0, reconnects = 0, disconnects = 0, timeouts = 0 },
    }, Client)
    for name in pairs(EVENTS) do c.queues[name] = {} end
    for i, kind in ipairs(o.binds) do
        c.sessions[i] = { index = i, kind = kind, bound = false, pending = {}, failures = 0, unflushed = 0 }
    end
    if o.limits then
        local lok, lim = pcall(limits_mod.new, { redis = o.limits.redis, shm = o.limits.shm, key = o.limits.key,
            rate = o.throttle, lease = o.limits.lease })
        if not lok then bad("connect", (tostring(lim):gsub("^.-smpp%.limits: ", "limits: "))) end
        c.limits, c.me = lim, identity()
    end
    -- the first bind decides: a refused password or no SMSC ends here; with
    -- shared limits, a standby waits here until one of the slots frees
    local ok, err, code = bind_session(c, c.sessions[1])
    if not ok and code == "standby" then
        local give_up = o.limits.wait and now_ms() + floor(o.limits.wait * 1000)
        if c.log then c.log("info", "%s: standby: %s", session_name(c, c.sessions[1]), err) end
        repeat
            T.wait({}, now_ms() + floor(o.limits.lease * 1000 / 4))
            ok, err, code = bind_session(c, c.sessions[1])
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
        local sok, serr = bind_session(c, s)
        if not sok then
            if c.log then c.log("warn", "%s: %s (retried later)", session_name(c, s), serr) end
            session_down(c, s, serr)
        end
    end
    return c
end

--- Sends a message: { to, from, text | data, encoding, receipt, validity,
--- schedule, ref, concat, priority, service_type, fields, timeout }.
--- Returns the message ids (one per part), or nil, message, status.
function Client:send(m)
    local seconds = type(m) == "table" and m.timeout or self.opts.response_timeout * 3
    local deadline = now_ms() + floor(seconds * 1000)
    if self.fast then
        local b = open_batch(self, { m })
        local went = start_fast(self, b, 1, m, deadline)
        if went then finish(self, {}, deadline, b) end
        local r = close_batch(self, b, 1)[1]
        if went then
            if r[1] == nil then return nil, r[2], r[3] end
            return r
        end
    end
    local job = start_message(self, m, deadline)
    if job.recs then finish(self, job.recs, deadline) end
    return result(self, job)
end

--- Sends many messages pipelined through the window; one result per
--- message: the ids, or { nil, message, status }.
function Client:send_many(list, opts)
    if type(list) ~= "table" then bad("send_many", "list must be a table of messages") end
    local per = (opts and opts.timeout or self.opts.response_timeout * 3) * 1000
    local b = self.fast and open_batch(self, list)
    local jobs, results, n = {}, {}, 0
    local deadline = now_ms() + per
    for i, m in ipairs(list) do
        n = i
        if not (b and start_fast(self, b, i, m, deadline)) then
            jobs[i] = start_message(self, m, deadline)
        end
        deadline = now_ms() + per -- each message gets its own time to find room
    end
    local all = {}
    for i = 1, n do
        local job = jobs[i]
        if job then
            for _, r in ipairs(job.recs or {}) do all[#all + 1] = r end
        end
    end
    finish(self, all, deadline, b or nil)
    if b then results = close_batch(self, b, n) end
    for i = 1, n do
        local job = jobs[i]
        if job then
            local ids, err, code = result(self, job)
            results[i] = ids or { nil, err, code }
        end
    end
    return results
end

--- Sends one request PDU (a table with command and fields) and returns its
--- response PDU, or nil, message, status (and the response when there is one).
function Client:request(p, timeout)
    if type(p) ~= "table" or type(p.command) ~= "string" then
        bad("request", "the request must be a PDU table with a command")
    end
    local deadline = now_ms() + floor((timeout or self.opts.response_timeout * 3) * 1000)
    local rec = start(self, p, deadline, p.command == "submit_sm" or p.command == "data_sm")
    finish(self, { rec }, deadline)
    if rec.err then return nil, rec.err, rec.code, rec.resp end
    return rec.resp
end

-- A request of command with the fields given as they are.
local function request_of(self, fn, command, fields)
    if type(fields) ~= "table" then bad(fn, "fields must be a table") end
    local p = { command = command }
    for k, v in pairs(fields) do p[k] = v end
    return self:request(p)
end

--- A submit_sm with the fields given as they are: its response, or nil, message, status.
function Client:submit(fields)
    return request_of(self, "submit", "submit_sm", fields)
end

--- data_sm with the fields given: its response, or nil, message, status.
function Client:data_sm(fields)
    return request_of(self, "data_sm", "data_sm", fields)
end

--- submit_multi to a list of numbers: { to = { ... }, from, text | short_message, ... }.
function Client:submit_multi(m)
    if type(m) ~= "table" or type(m.to) ~= "table" then bad("submit_multi", "to must be a list of numbers") end
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
    return self:request(p)
end

--- query_sm: the message's state { message_id, message_state, final_date, error_code } or nil, err, status.
function Client:query(id, from)
    if type(id) ~= "string" then bad("query", "id must be a string") end
    return self:request{ command = "query_sm", message_id = id, source_addr = from or self.opts.from or "" }
end

--- cancel_sm of a message: true or nil, message, status.
function Client:cancel(id, from)
    if type(id) ~= "string" then bad("cancel", "id must be a string") end
    local resp, err, code = self:request{ command = "cancel_sm", message_id = id,
        source_addr = from or self.opts.from or "" }
    if not resp then return nil, err, code end
    return true
end

--- replace_sm: { id, from, text | short_message, validity, schedule, receipt }.
function Client:replace(m)
    if type(m) ~= "table" or type(m.id) ~= "string" then bad("replace", "id must be a string") end
    local p = { command = "replace_sm", message_id = m.id, source_addr = m.from or self.opts.from or "",
        registered_delivery = m.receipt and 1 or 0,
        validity_period = smpp_time(m.validity, "validity", true),
        schedule_delivery_time = smpp_time(m.schedule, "schedule", false) }
    if m.text then
        local octets, err = text.encode(m.text, "gsm7", { charset = self.opts.charset })
        if not octets then return nil, err, "text" end
        p.short_message = octets
    else
        p.short_message = m.short_message
    end
    local resp, err, code = self:request(p)
    if not resp then return nil, err, code end
    return true
end

--- on(event, fn): "receipt" fn(receipt, pdu), "message" fn(msg, pdu),
--- "pdu" fn(pdu, session), "bound" fn(info), "close" fn(reason, session).
--- fn = nil removes the handler. Returns the client.
function Client:on(name, fn)
    if not EVENTS[name] then
        bad("on", format("unknown event %q (receipt, message, pdu, bound, close)", tostring(name)))
    end
    if fn ~= nil and type(fn) ~= "function" then bad("on", "the handler must be a function") end
    self.handlers[name] = fn
    -- receipts come without their PDU table when nothing can see it: no pdu
    -- handler, no trace, a receipt handler that takes the receipt alone
    local h, info = self.handlers.receipt, nil
    if h then info = debug.getinfo(h, "u") end
    local lean = info and info.nparams and info.nparams < 2 and not info.isvararg
    self.lean_receipts = lean and not self.handlers.pdu and not self.opts.trace or false
    return self
end

--- The next event of that kind (its arguments), or nil, "timeout" after
--- seconds (nil: no limit), or nil, "closed" when the client is closed.
function Client:wait(name, seconds)
    if not EVENTS[name] then
        bad("wait", format("unknown event %q (receipt, message, pdu, bound, close)", tostring(name)))
    end
    if self.handlers[name] then
        bad("wait", format("a handler takes the %q events; remove it with on(%q, nil) to wait", name, name))
    end
    local q = self.queues[name]
    local deadline = seconds and now_ms() + floor(seconds * 1000)
    local got = await(self, function() return q[1] ~= nil or self.closed end, deadline)
    if q[1] then
        local ev = table.remove(q, 1)
        return unpack(ev, 1, 2)
    end
    return nil, got and "closed" or "timeout"
end

--- Runs the event loop (handlers are called) until the client is closed,
--- or for seconds when given.
function Client:run(seconds)
    local deadline = seconds and now_ms() + floor(seconds * 1000)
    await(self, function() return self.closed end, deadline)
    return self
end

--- Counters: sent, parts, accepted, failed (and by status), receipts,
--- messages, binds, reconnects, disconnects, timeouts; and the sessions.
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
        if s.engine then out.outstanding = out.outstanding + s.engine:outstanding() end
    end
    return out
end

--- Stops new sends, waits (at most seconds, default 5) for the responses
--- still due, unbinds every session and closes. Returns true.
function Client:close(seconds)
    if self.closed then return true end
    if self.in_handler > 0 then -- inside a handler: once it has returned and been answered
        self.close_requested = seconds or 5
        return true
    end
    self.close_requested = nil
    self.closing = true
    local deadline = now_ms() + floor((seconds or 5) * 1000)
    for _, r in ipairs(self.retry) do resolve(r, nil, "the client is closed", "closed") end
    self.retry = {}
    await(self, function()
        for _, s in ipairs(self.sessions) do
            if s.engine and s.engine:outstanding() > 0 then return false end
        end
        return true
    end, deadline)
    local unbinds = {}
    for _, s in ipairs(self.sessions) do
        if s.bound and s.engine then
            local rec = { pdu = { command = "unbind" } }
            if issue(self, s, rec) then unbinds[#unbinds + 1] = rec end
        end
    end
    await(self, function()
        for _, r in ipairs(unbinds) do if not r.done then return false end end
        return true
    end, deadline)
    for _, s in ipairs(self.sessions) do
        if s.link then
            s.link:flush(now_ms() + 200)
            s.bound = false
            session_down(self, s, "closed by the application")
        end
        s.retry_at = nil
    end
    self.closed = true
    self.cond:signal()
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

-- Every public function raises its argument errors at the caller's line.
for _, name in ipairs({ "send", "send_many", "request", "submit", "data_sm", "submit_multi", "query", "cancel",
    "replace", "on", "wait", "run", "close" }) do
    Client[name] = public(Client[name])
end
_M.connect = public(_M.connect)

_M.Client = Client
_M.id_keys = id_keys -- the forms a message id may come back in (smpp.ngx matches receipts with them)
return _M
