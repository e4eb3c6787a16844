-- smpp.client.inbound: what the SMSC sends the application. A deliver_sm
-- (or data_sm) is a delivery receipt (matched to what was sent through the
-- tracker) or an MO message (its parts joined first). It is answered
-- ESME_ROK only once the application has it: its handler returned, or
-- wait() returned it. When nobody can take it (the handler raised, no
-- handler and the queue full) the answer is ESME_RX_T_APPN (0x64), so the
-- SMSC delivers it again later.
local loop = require "smpp.loop"
local pdu_mod = require "smpp.pdu"
local receipt_mod = require "smpp.receipt"
local text = require "smpp.text"
local tracking = require "smpp.client.tracking"

local format, floor, tostring, pcall, ipairs, setmetatable = string.format, math.floor, tostring, pcall,
    ipairs, setmetatable
local now_ms = loop.now

local _M = {}

local ESME_ROK, ESME_RX_T_APPN, ESME_RINVCMDID = 0, 0x64, 0x03
local RESP = pdu_mod.response -- request command name -> its response's name

-- MO messages: readable in the REPL.
local Message = {}
Message.__index = Message
Message.__tostring = function(m)
    local t = m.text or ("<" .. #(m.payload or "") .. " octets>")
    if #t > 60 then t = t:sub(1, 57) .. "..." end
    return format("smpp.message from %s to %s: %q (data_coding %d%s%s)", m.from or "?", m.to or "?", t,
        m.data_coding or 0, (m.parts or 1) > 1 and format(", %d parts", m.parts) or "",
        m.partial and ", partial" or "")
end

-- Answers the SMSC's request seq on the engine it came on (a request of a
-- link since lost is not answered: the SMSC delivers it again).
local function answer(s, engine, seq, command, status)
    if not engine or s.engine ~= engine or engine:state() == "closed" then return end
    engine:answer(now_ms(), seq, RESP[command] or "generic_nack", status, command == "data_sm" and "" or nil)
end

-- Calls a handler; close() called inside one waits until it returns.
local function call(c, handler, a, b)
    c.in_handler = c.in_handler + 1
    local ok, err = loop.pcall(handler, a, b)
    c.in_handler = c.in_handler - 1
    return ok, err
end

local function failed(c, s, name, err)
    if c.log then
        c.log("error", "%s: %s handler failed, answering ESME_RX_T_APPN: %s", s and ("session " .. s.index) or "client",
            name, tostring(err))
    end
end

-- Calls the handler of name with a, b; then the SMSC's request behind it
-- (when seq) is answered: ESME_ROK, or 0x64 when the handler raised.
local function handle(c, handler, name, a, b, s, engine, seq, command, whole)
    local ok, err = call(c, handler, a, b)
    if ok and whole then c.joiner:handled(whole) end
    if seq then
        if not ok then failed(c, s, name, err) end
        answer(s, engine, seq, command, ok and ESME_ROK or ESME_RX_T_APPN)
    end
    return ok, err
end

--- Hands event name (arguments a, b) to its handler or the queue for wait().
--- A request of the SMSC behind it (session s, its engine, seq, command) is
--- answered once the application has it; whole is a joined long message.
function _M.emit(c, name, a, b, s, seq, command, whole)
    local handler = c.handlers[name]
    local engine = s and s.engine
    if handler then return handle(c, handler, name, a, b, s, engine, seq, command, whole) end
    local q = c.queues[name]
    if #q >= c.opts.max_queued then -- nobody can take it now: the SMSC keeps it
        if seq then
            c.counters.deferred = c.counters.deferred + 1
            answer(s, engine, seq, command, ESME_RX_T_APPN)
        end
        return false
    end
    q[#q + 1] = { a, b, s = s, engine = engine, seq = seq, command = command, whole = whole }
    return true
end

--- The next queued event of name, answered now that the application has it:
--- its two values, or nil.
function _M.take(c, name)
    local ev = table.remove(c.queues[name], 1)
    if not ev then return nil end
    if ev.whole then c.joiner:handled(ev.whole) end
    if ev.seq then answer(ev.s, ev.engine, ev.seq, ev.command, ESME_ROK) end
    return ev
end

--- Hands what waits in the queue of name to its handler (set later with on()).
function _M.flush(c, name)
    local q, handler = c.queues[name], c.handlers[name]
    while handler and q[1] do
        local ev = table.remove(q, 1)
        handle(c, handler, name, ev[1], ev[2], ev.s, ev.engine, ev.seq, ev.command, ev.whole)
        handler = c.handlers[name]
    end
end

-- A receipt: matched to what was sent (smpp.client.tracking), to its
-- handler (or queue); a lookup that fails still hands it on.
local function on_receipt(c, s, seq, command, r, p)
    local counters = c.counters
    counters.receipts = counters.receipts + 1
    local done = tracking.match(c, r)
    if not r.message then counters.unmatched = counters.unmatched + 1 end
    local ok, herr = _M.emit(c, "receipt", r, p, s, seq, command)
    if done and c.handlers.message_done then _M.emit(c, "message_done", r.message, r.outcome) end
    return ok, herr
end

--- A receipt read in C from a deliver_sm (no PDU table: its handler takes
--- the receipt alone).
function _M.receipt(c, s, seq, r)
    c.counters.delivered = c.counters.delivered + 1
    return on_receipt(c, s, seq, "deliver_sm", r)
end

-- A joined (or single) inbound message as the application sees it.
local function message_of(c, whole)
    local m = setmetatable({ from = whole.source_addr, to = whole.destination_addr,
        data_coding = whole.data_coding or 0, payload = whole.payload, parts = whole.parts,
        partial = whole.partial, missing = whole.missing }, Message)
    local ok, s = pcall(text.decode, whole.payload, m.data_coding, c.charset_opts)
    if ok then m.text = s end
    c.counters.messages = c.counters.messages + 1
    return m
end

-- Long messages that will never be whole (their time is up, or they were
-- pushed out by the joiner's memory bound): once, partial.
local function partials(c, list)
    for _, whole in ipairs(list) do
        c.counters.partial = c.counters.partial + 1
        _M.emit(c, "message", message_of(c, whole), nil, nil, nil, nil, whole)
    end
end

--- A request of the SMSC (a table event).
function _M.request(c, s, p)
    local command, seq, engine = p.command, p.sequence_number, s.engine
    if command ~= "deliver_sm" and command ~= "data_sm" then
        if c.handlers.pdu then call(c, c.handlers.pdu, p, s.index) end
        if command ~= "alert_notification" and command ~= "outbind" then
            answer(s, engine, seq, command, ESME_RINVCMDID)
        end
        return
    end
    c.counters.delivered = c.counters.delivered + 1
    if c.handlers.pdu then
        local ok, err = call(c, c.handlers.pdu, p, s.index)
        if not ok then
            failed(c, s, "pdu", err)
            return answer(s, engine, seq, command, ESME_RX_T_APPN)
        end
    end
    if receipt_mod.is_receipt(p) then
        local r = receipt_mod.parse(p, c.charset_opts)
        if r then return on_receipt(c, s, seq, command, r, p) end
    end
    local joiner = c.joiner
    if not joiner then -- made at the first MO message
        joiner = text.joiner{ timeout = c.opts.join_timeout }
        c.joiner = joiner
    end
    local whole, kind, released = joiner:add(p, os.time())
    if released then partials(c, released) end
    if kind == "held" or kind == "again" then -- a part kept, or one seen already
        return answer(s, engine, seq, command, ESME_ROK)
    end
    return _M.emit(c, "message", message_of(c, whole), p, s, seq, command, kind == "whole" and whole or nil)
end

--- Releases the long messages whose time is up; returns wake, or the
--- earlier time (loop.now milliseconds) the next one is due.
function _M.expire(c, wake)
    local joiner = c.joiner
    if not joiner then return wake end
    local at = joiner:next_expiry()
    if not at then return wake end
    local now = os.time()
    if now >= at then
        partials(c, joiner:expire(now))
        at = joiner:next_expiry()
        if not at then return wake end
    end
    local ms = now_ms() + floor((at - now) * 1000)
    if not wake or ms < wake then wake = ms end
    return wake
end

return _M
