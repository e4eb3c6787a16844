--- smpp.server: an SMSC simulator on the same session engine as the client,
-- for tests, demos and users' own test suites. It plays the reference SMSC's
-- profile: accounts and passwords, a bind limit and a throttle per account,
-- an idle timeout, delivery receipts and MO messages, and faults on demand.
-- It runs inside `smpp.loop` (`smpp.spawn` / `smpp.run`); `bin/smpp-sim` is
-- the same simulator as a program.
-- @module smpp.server
local core = require "smpp.core"
local loop = require "smpp.loop"
local posix = require "smpp.transport.posix"
local text = require "smpp.text"

local format, floor, sub = string.format, math.floor, string.sub
local error, ipairs, next, pairs = error, ipairs, next, pairs
local pcall, setmetatable, tostring, type = pcall, setmetatable, tostring, type

local _M = {}

local Server = {}
Server.__index = Server

local BIND_TYPES = { bind_transmitter = "tx", bind_receiver = "rx", bind_transceiver = "trx" }
local MAX_QUEUED = 10000 -- receipts and MOs kept for an account with no receiver bound
local MAX_MESSAGES = 100000 -- submitted messages remembered for query_sm, cancel_sm, replace_sm
local SUCCESS = { DELIVRD = true, ACCEPTD = true } -- receipt_stat words of a success
local RESP = require("smpp.pdu").response -- request command name -> its response's name
local pdu_encode, pdu_decode = core.encode, core.decode

local function check(opts, name, kind)
    local v = opts[name]
    if v ~= nil and type(v) ~= kind then
        error(format("smpp.server: %s must be a %s", name, kind), 3)
    end
    return v
end

--- Makes a simulator: smpp.server. It answers like a strict SMSC: 0x0E
-- for a wrong password, 0x0F for an unknown system_id, 0x0D beyond the bind
-- limit, 0x05 for a second bind, 0x04 for a submit before the bind or on a
-- receiver, 0x58 beyond the account's rate, the codec's status for a bad
-- field, generic_nack 0x03 for an unknown command.
-- @tparam[opt] table opts the options:
-- @tparam[opt="127.0.0.1"] string opts.host the address to listen on
-- @tparam[opt=2775] number opts.port the plain TCP port (0: any free one)
-- @tparam[opt] number opts.tls_port the TLS port (0: any free one); needs `tls`
-- @tparam[opt] table opts.tls the server's TLS: `{ cert, key, ca, ca_dir, verify }`
--   (with `ca` or `ca_dir`, clients must present a certificate issued by one of
--   these CAs; `verify = false` turns that off)
-- @tparam[opt={}] table opts.accounts `{ [system_id] = password }`
-- @tparam[opt=2] number opts.max_binds binds per account at once
-- @tparam[opt=10] number opts.throttle submits per second per account, at most that
--   many in any second (0: no limit)
-- @tparam[opt=30] number opts.idle_timeout seconds without a PDU from the peer
--   before the session is dropped (0: never)
-- @tparam[opt] number opts.enquire_link seconds of silence before the simulator
--   sends enquire_link itself (default: it does not)
-- @tparam[opt=true] boolean opts.receipts send a receipt for each submit that asks
--   for one (appendix B text, with `receipted_message_id` and `message_state`),
--   to the submitting transceiver or a receiver of the account (queued until one binds)
-- @tparam[opt=0] number opts.receipt_delay seconds before a receipt is sent
-- @tparam[opt="DELIVRD"] string opts.receipt_stat the receipts' stat
-- @tparam[opt] string opts.mo_echo a prefix: a submit whose text starts with it comes
--   back as an MO (the rest of the text, to the sender)
-- @tparam[opt={}] table opts.faults failures on purpose:
--   `submit_status` (every submit is refused with it), `withhold = true` (submits get
--   no answer), `delay` (seconds before each submit's answer), `generic_nack`
--   (true: 0x08, or a status), `malformed = true` (an unreadable answer),
--   `stall = true` (half a PDU, then silence), `drop_after` (the link is cut
--   after that many PDUs)
-- @tparam[opt] function opts.log `function(line)`, given every PDU both ways
-- @tparam[opt=100000] number opts.max_messages submitted messages remembered
--   for query_sm, cancel_sm and replace_sm
-- @treturn Server the simulator, not listening yet
-- @raise on an option of the wrong type, or `tls_port` without `tls`
-- @usage local sim = smpp.server{ port = 0, accounts = { test = "secret" }, throttle = 10 }
-- local port = assert(sim:start())
function _M.new(opts)
    opts = opts or {}
    check(opts, "accounts", "table")
    if opts.tls_port ~= nil and opts.tls == nil then
        error("smpp.server: tls_port needs tls = { cert = ..., key = ... }", 2)
    end
    local self = setmetatable({
        host = check(opts, "host", "string") or "127.0.0.1",
        port = check(opts, "port", "number") or 2775,
        tls_port = check(opts, "tls_port", "number"),
        tls = opts.tls,
        accounts = opts.accounts or {},
        max_binds = check(opts, "max_binds", "number") or 2,
        rate = check(opts, "throttle", "number") or 10,
        idle_timeout = check(opts, "idle_timeout", "number") or 30,
        enquire_link = check(opts, "enquire_link", "number"),
        receipts = opts.receipts ~= false,
        receipt_delay = check(opts, "receipt_delay", "number") or 0,
        receipt_stat = check(opts, "receipt_stat", "string") or "DELIVRD",
        mo_echo = check(opts, "mo_echo", "string"),
        faults = check(opts, "faults", "table") or {},
        log = opts.log,
        state = {},      -- per account: binds, throttle window, queue
        messages = {},   -- message_id -> destination_addr
        states = {},     -- message_id -> message_state, when not 2 (DELIVERED)
        order = {},      -- message ids, oldest first, at most MAX_MESSAGES remembered
        oldest = 1, newest = 0,
        max_messages = check(opts, "max_messages", "number") or MAX_MESSAGES,
        next_id = 0,
        links = {},
        stats = { connections = 0, binds = 0, peak_binds = 0, refused_binds = 0, submits = 0, throttled = 0,
            receipts = 0, mos = 0, idle_drops = 0, dropped = 0 },
        running = false,
    }, Server)
    return self
end

local function account(self, system_id)
    local st = self.state[system_id]
    if not st then
        -- queue: deliver_sm to send, each a PDU table or, for a receipt, the
        -- octets of its submit (its message id and submit time in ids, times)
        st = { binds = 0, queue = { head = 1, tail = 0, ids = {}, times = {} },
            window = self.rate > 0 and { n = 0, times = {} } or nil }
        self.state[system_id] = st
    end
    return st
end

-- The throttle of an account, strict: at most rate submits accepted in any
-- 1000 ms (a sliding window over the times of the last rate accepted ones).
local function admit(w, rate, now)
    local limit = floor(rate)
    if limit < 1 then limit = 1 end
    local times, n = w.times, w.n
    local oldest = times[(n % limit) + 1] -- the time of the limit-th latest accept
    if n >= limit and oldest and now - oldest < 1000 then
        return false
    end
    times[(n % limit) + 1] = now
    w.n = n + 1
    return true
end

-- The SMPP absolute time of now, "YYMMDDhhmm" (for receipts), made once a second.
local date_t, date_s
local function receipt_date(t)
    if t ~= date_t then
        date_t, date_s = t, os.date("!%y%m%d%H%M", t)
    end
    return date_s
end

-- Hands queued deliver_sm to a receiving link while its window has room;
-- whether the queue is empty. A receipt is made of its submit in C: the
-- 3.4 appendix B text ("id:... sub:001 dlvrd:... submit date:... done
-- date:... stat:... err:... text:<the first 20 characters>") and the TLVs
-- receipted_message_id and message_state.
local function flush_queue(self, link)
    local q = account(self, link.account).queue
    local session, stat = link.session, self.receipt_stat
    local err = SUCCESS[stat] and "000" or "001"
    while q.head <= q.tail do
        local h, now = q.head, loop.now()
        local item = q[h]
        local ok, why, code
        -- tagged: the answers come back as compact pairs, not event tables
        if type(item) == "string" then
            ok, why, code = session:receipt(now, 1, item, q.ids[h], stat, err, receipt_date(q.times[h]),
                receipt_date(os.time()))
        else
            ok = session:send(item, now, 1)
        end
        if code == "encode" then -- no deliver_sm can carry it (addresses too long)
            self.stats.dropped = self.stats.dropped + 1
            if link.log then link.log("receipt dropped: " .. why) end
        elseif not ok then
            return false
        end
        q[h], q.ids[h], q.times[h] = nil, nil, nil
        q.head = h + 1
    end
    return true
end

-- Sends a deliver_sm on a receiving link of the account (prefer first), in
-- order behind what waits; queues it when no window has room (at most
-- MAX_QUEUED wait; beyond, it is dropped and counted). Whether it went now.
-- item: a PDU table, or the octets of a submit to send the receipt of (its
-- message id and submit time in id, submitted).
local function deliver(self, acct, item, prefer, id, submitted)
    local q = account(self, acct).queue
    if q.tail - q.head + 1 >= MAX_QUEUED then
        self.stats.dropped = self.stats.dropped + 1
        return false
    end
    local t = q.tail + 1
    q[t], q.ids[t], q.times[t], q.tail = item, id, submitted, t
    if prefer and prefer.receives and flush_queue(self, prefer) then
        return true
    end
    for link in pairs(self.links) do
        if link.account == acct and link.receives and link ~= prefer and flush_queue(self, link) then
            return true
        end
    end
    return false
end

-- Whether a submit's registered_delivery (bits 1-0, 3.4 section 5.2.17)
-- asks for a receipt of the outcome the simulator plays (receipt_stat;
-- DELIVRD and ACCEPTD are successes): 0 never, 1 always, 2 on failure only,
-- and 3 (reserved in 3.4) on success only, as SMPP 5.0 defines it.
local function receipt_wanted(self, registered_delivery)
    local kind = (registered_delivery or 0) % 4
    if kind < 2 then return kind == 1 end
    return (kind == 2) ~= (SUCCESS[self.receipt_stat] == true)
end

-- A receipt for a submit (its octets), now or after the receipt delay.
local function send_receipt(self, link, submit, id)
    self.stats.receipts = self.stats.receipts + 1
    local acct, submitted = link.account, os.time()
    if self.receipt_delay > 0 then
        loop.spawn(function()
            loop.sleep(self.receipt_delay)
            deliver(self, acct, submit, link, id, submitted)
        end)
    else
        deliver(self, acct, submit, link, id, submitted)
    end
end

-- Keeps a message for query_sm, cancel_sm and replace_sm; the oldest are
-- forgotten beyond MAX_MESSAGES, so a long run does not grow without bound.
-- What is kept is the destination; the state only once it is not DELIVRD.
local function remember(self, id, destination)
    local order, newest = self.order, self.newest + 1
    self.messages[id] = destination
    order[newest], self.newest = id, newest
    if newest - self.oldest + 1 > self.max_messages then
        local old = order[self.oldest]
        self.messages[old], self.states[old] = nil, nil
        order[self.oldest] = nil
        self.oldest = self.oldest + 1
    end
end

--- A simulator made by `new`. Its `stats` table counts connections,
-- binds, peak_binds, refused_binds, submits, throttled, receipts, mos,
-- idle_drops and dropped; `port` and `tls_port` are the ports it listens on.
-- @type Server

--- A message the simulator remembers (the newest `max_messages`).
-- @tparam string id its message id
-- @treturn[1] table `{ id, state, destination }`: its message_state (2:
--   delivered, or as cancel_sm left it) and destination_addr
-- @return[2] nil when it is not known
function Server:message(id)
    local destination = self.messages[id]
    if destination == nil then return nil end
    return { id = id, state = self.states[id] or 2, destination = destination }
end

local function new_message_id(self)
    self.next_id = self.next_id + 1
    return format("%08X", self.next_id)
end

-- mo_echo: a submit whose text starts with the prefix comes back as an MO
-- from its destination, without the prefix. The parts of a long message are
-- joined first (a joiner per account), so that the whole text comes back.
local function echo(self, link, p)
    local st = account(self, link.account)
    local joiner = st.joiner
    if not joiner then
        joiner = text.joiner{ timeout = 60 }
        st.joiner = joiner
    end
    joiner:expire() -- parts whose message never completed are forgotten
    local whole = joiner:add(p)
    if not whole then return end -- a part: the others are to come
    joiner:handled(whole)
    local ok, said = pcall(text.decode, whole.payload, whole.data_coding or 0)
    local prefix = self.mo_echo
    if ok and sub(said, 1, #prefix) == prefix then
        self:deliver{ account = link.account, source_addr = p.destination_addr or "",
            destination_addr = p.source_addr or "", text = sub(said, #prefix + 1) }
    end
end

local function answer(link, p, status, fields)
    local resp = fields or {}
    resp.command = RESP[p.command] or p.command .. "_resp"
    resp.sequence_number = p.sequence_number
    resp.command_status = status
    link.session:respond(resp, loop.now())
    if link.log then
        link.log("-> " .. require("smpp.pdu").tostring(resp))
    end
end

-- The answer to an accepted submit, late when the delay fault says so.
local function answer_submit(self, link, p, id)
    local fields = p.command == "submit_multi" and { message_id = id, unsuccess_sme = {} } or { message_id = id }
    if self.faults.delay then -- answer late, in a coroutine of its own
        loop.spawn(function()
            loop.sleep(self.faults.delay)
            answer(link, p, 0, fields)
            link:flush(loop.now() + 1000)
        end)
    else
        answer(link, p, 0, fields)
    end
end

-- Faults that replace the answer to a submit; true when one did.
local function submit_fault(self, link, p)
    local f = self.faults
    if f.withhold then
        return true
    elseif f.generic_nack then
        link.session:respond({ command = "generic_nack", sequence_number = p.sequence_number,
            command_status = f.generic_nack == true and 0x08 or f.generic_nack }, loop.now())
        return true
    elseif f.submit_status then
        answer(link, p, f.submit_status)
        return true
    elseif f.malformed or f.stall then
        -- octets written past the engine: a command_length under 16, or half a PDU
        link:flush(loop.now() + 1000)
        local bytes = f.malformed and "\0\0\0\12\128\0\0\4\0\0\0\0"
            or sub(require("smpp.pdu").encode{ command = "deliver_sm", sequence_number = 1,
                destination_addr = "1", short_message = "stalled" }, 1, 20)
        link.sock:write(bytes)
        if f.stall then -- and then nothing more: no answer, no receipt, no ping
            link.stalled, link.receives = true, false
        end
        return true
    end
    return false
end

local function on_submit(self, link, p)
    local st = account(self, link.account)
    if submit_fault(self, link, p) then
        return
    end
    if st.window and not admit(st.window, self.rate, loop.now()) then
        self.stats.throttled = self.stats.throttled + 1
        return answer(link, p, 0x58)
    end
    self.stats.submits = self.stats.submits + 1
    local id = new_message_id(self)
    if p.command ~= "submit_multi" and not self.faults.delay and not link.log then
        -- the common answer, made in one go
        link.session:answer(loop.now(), p.sequence_number, RESP[p.command], 0, id)
    else
        answer_submit(self, link, p, id)
    end
    remember(self, id, p.destination_addr or "")
    if self.receipts and receipt_wanted(self, p.registered_delivery) then
        send_receipt(self, link, pdu_encode(p), id) -- made of the submit's octets
    end
    if self.mo_echo then echo(self, link, p) end
end

-- A submit_sm on a link with no faults, log or echo to play (the common
-- case, from session:events' compact requests); submit: its octets when it
-- asks for a receipt.
local function on_plain_submit(self, link, seq, destination, submit)
    local st, now = account(self, link.account), loop.now()
    if st.window and not admit(st.window, self.rate, now) then
        self.stats.throttled = self.stats.throttled + 1
        link.session:answer(now, seq, "submit_sm_resp", 0x58)
        return
    end
    self.stats.submits = self.stats.submits + 1
    local id = new_message_id(self)
    link.session:answer(now, seq, "submit_sm_resp", 0, id)
    remember(self, id, destination)
    if submit and self.receipts and receipt_wanted(self, pdu_decode(submit).registered_delivery) then
        send_receipt(self, link, submit, id)
    end
end

local function on_request(self, link, p)
    local cmd = p.command
    if BIND_TYPES[cmd] then
        local password = self.accounts[p.system_id]
        if password == nil then
            self.stats.refused_binds = self.stats.refused_binds + 1
            return answer(link, p, 0x0F)
        elseif password ~= p.password then
            self.stats.refused_binds = self.stats.refused_binds + 1
            return answer(link, p, 0x0E)
        end
        local st = account(self, p.system_id)
        if st.binds >= self.max_binds then
            self.stats.refused_binds = self.stats.refused_binds + 1
            return answer(link, p, 0x0D)
        end
        st.binds = st.binds + 1
        if st.binds > self.stats.peak_binds then self.stats.peak_binds = st.binds end
        link.account = p.system_id
        link.receives = BIND_TYPES[cmd] ~= "tx"
        self.stats.binds = self.stats.binds + 1
        answer(link, p, 0, { system_id = "smpp-sim", sc_interface_version = 0x34 })
        if link.receives then flush_queue(self, link) end
    elseif cmd == "submit_sm" or cmd == "data_sm" or cmd == "submit_multi" then
        on_submit(self, link, p)
    elseif cmd == "query_sm" then
        local id = p.message_id
        if not self.messages[id] then return answer(link, p, 0x67) end
        answer(link, p, 0, { message_id = id, final_date = "", message_state = self.states[id] or 2, error_code = 0 })
    elseif cmd == "cancel_sm" or cmd == "replace_sm" then
        if not self.messages[p.message_id] then return answer(link, p, cmd == "cancel_sm" and 0x11 or 0x13) end
        if cmd == "cancel_sm" then self.states[p.message_id] = 4 end
        answer(link, p, 0)
    else
        answer(link, p, 0x03)
    end
end

-- A PDU's line for the log, with any password masked.
local function loggable(p)
    if not p.password or p.password == "" then
        return tostring(p)
    end
    local copy = {}
    for k, v in pairs(p) do copy[k] = v end
    copy.password = "***"
    return require("smpp.pdu").tostring(copy)
end

-- A stalled link: what the peer sends is read and ignored (the engine is
-- told nothing, so it answers nothing) until the peer closes, the link is
-- dropped or the simulator stops.
local function hold(self, link)
    local sock = link.sock
    while self.running and not link.dropping do
        loop.wait(sock, "r", loop.now() + 250)
        local data = sock:read()
        while data do data = sock:read() end
        if data == nil then return end
    end
end

--- Serves one connection until it closes (`start` does this for every
-- connection it accepts). Runs inside `smpp.loop`.
-- @param stream a connected stream of `smpp.transport.posix`
-- @tparam[opt] table first a request PDU to send first (outbind)
function Server:serve(stream, first)
    local session = core.session{ role = "smsc", window = 100,
        enquire_link = self.enquire_link or 0 }
    local link = posix.link(stream, session)
    link.log = self.log
    if first then
        session:send(first, loop.now())
    end
    self.links[link] = true
    self.stats.connections = self.stats.connections + 1
    local idle_ms = floor(self.idle_timeout * 1000)
    local seen = 0
    local responses, requests = {}, {} -- the compact events of session:events
    while self.running do
        -- the idle timeout counts from the last PDU of the peer, pings included;
        -- a turn lasts at most 250 ms, so that stop() is seen soon
        local deadline = loop.now() + 250
        if idle_ms > 0 and session:last_rx() + idle_ms < deadline then
            deadline = session:last_rx() + idle_ms
        end
        -- the compact events only when nothing is to be played on each PDU
        local plain = next(self.faults) == nil and not self.log and not self.mo_echo
        local events, _, nreq = link:step(deadline, plain and responses or nil, plain and requests or nil)
        for k = 1, 3 * (nreq or 0), 3 do
            on_plain_submit(self, link, requests[k], requests[k + 1], requests[k + 2])
        end
        local closed
        for _, ev in ipairs(events) do
            if link.stalled then break end
            seen = seen + 1
            if self.log and ev.pdu then
                self.log("<- " .. loggable(ev.pdu))
            end
            if ev.type == "request" then
                on_request(self, link, ev.pdu)
            elseif ev.type == "closed" then
                closed = true
            elseif ev.type ~= "response" and self.log then
                self.log(format("%s %s", ev.type, tostring(ev.message or ev.pdu)))
            end
            if self.faults.drop_after and seen >= self.faults.drop_after then
                closed = true
            end
        end
        if closed or link.dropping then break end
        if link.stalled then
            hold(self, link)
            break
        end
        if link.receives and link.account then
            flush_queue(self, link) -- responses made room in the window
        end
        if idle_ms > 0 and loop.now() >= session:last_rx() + idle_ms and session:state() ~= "closed" then
            self.stats.idle_drops = self.stats.idle_drops + 1
            break
        end
    end
    if not link.stalled then link:flush(loop.now() + 1000) end
    link:close()
    self.links[link] = nil
    if link.account then
        local st = account(self, link.account)
        st.binds = st.binds - 1
    end
end

-- The listener's TLS options: with CAs to check them against, client
-- certificates are required (the core's verify = "peer": on a server, true
-- alone would ask for none).
local function server_tls(tls)
    if type(tls) ~= "table" then return tls end
    local copy = {}
    for k, v in pairs(tls) do copy[k] = v end
    if copy.verify == true or (copy.verify == nil and (copy.ca or copy.ca_dir)) then
        copy.verify = "peer"
    end
    return copy
end

-- Accepts on one listener until stop().
local function accept_loop(self, listener, tls)
    while self.running do
        local stream = posix.accept_tls(listener, tls, loop.now() + 200)
        if stream then
            loop.spawn(self.serve, self, stream)
        end
    end
    loop.forget(listener)
    listener:close()
end

--- Listens on `port` (plain TCP; 0: any free one) and, with `tls` and
-- `tls_port`, on `tls_port` with TLS. The connections are served by
-- coroutines of `smpp.loop`: run them with `smpp.run` (or from inside one).
-- @treturn[1] number the plain port (also in `server.port`)
-- @treturn[1] number the TLS port, or nil (also in `server.tls_port`)
-- @return[2] nil
-- @treturn[2] string message
-- @treturn[2] string code: "net" (the port is taken, ...) or "tls" (the certificate or key)
function Server:start()
    local listener, err, code = posix.listen(self.host, self.port)
    if not listener then
        return nil, err, code
    end
    self.port = listener:port()
    self.running = true
    if self.tls and self.tls_port then
        local cfg, terr, tcode = posix.tls_config(server_tls(self.tls), true)
        if not cfg then
            listener:close()
            return nil, terr, tcode
        end
        local tls_listener, lerr, lcode = posix.listen(self.host, self.tls_port)
        if not tls_listener then
            listener:close()
            return nil, lerr, lcode
        end
        self.tls_port = tls_listener:port()
        loop.spawn(accept_loop, self, tls_listener, cfg)
    end
    loop.spawn(accept_loop, self, listener, nil)
    return self.port, self.tls_port
end

--- Outbind (3.4 section 4.1.7): connects to an ESME listening on host:port,
-- sends outbind with system_id and password, and serves the connection
-- (the ESME binds on it). Runs inside `smpp.loop`.
-- @tparam string host the ESME's address
-- @tparam number port its port
-- @tparam string system_id the outbind's system_id
-- @tparam string password the outbind's password
-- @treturn[1] boolean true
-- @return[2] nil
-- @treturn[2] string message
-- @treturn[2] string code ("net", "tls", "timeout")
function Server:outbind(host, port, system_id, password)
    local stream, err, code = posix.connect(host, port, { tls = self.outbind_tls })
    if not stream then
        return nil, err, code
    end
    self.running = true
    loop.spawn(function()
        self:serve(stream, { command = "outbind", system_id = system_id, password = password })
    end)
    return true
end

--- Drops connections at their next turn, as a network failure would: no unbind.
-- @tparam[opt] number n how many at most; nil: all
-- @treturn number how many
function Server:drop(n)
    local k = 0
    for link in pairs(self.links) do
        if n and k >= n then break end
        if not link.dropping then
            link.dropping = true
            k = k + 1
        end
    end
    return k
end

--- Stops accepting; open sessions end at their next turn (within 250 ms).
function Server:stop()
    self.running = false
end

--- Sends an MO message to a receiver (or transceiver) of an account; what
-- cannot go now is queued for the account's next receiver.
-- @tparam table m the message:
-- @tparam[opt] string m.account the system_id; default one of the accounts
-- @tparam[opt="447700900123"] string m.source_addr the sender
-- @tparam[opt="12345"] string m.destination_addr the destination
-- @tparam[opt] string m.text UTF-8 text; a long one goes in concatenated parts
-- @tparam[opt="auto"] string m.encoding the text's encoding (see `smpp.text.encode`)
-- @tparam[opt="udh8"] string m.concat how a long text is split (see `smpp.text.split`)
-- @tparam[opt=""] string m.short_message octets sent as they are, when there is no `text`
-- @tparam[opt=0] number m.data_coding the data_coding of `short_message`
-- @treturn boolean whether it (every part) went out now
function Server:deliver(m)
    local acct = m.account or next(self.accounts)
    local parts
    if m.text then
        parts = assert(text.split(m.text, { encoding = m.encoding or "auto", concat = m.concat }))
    else
        parts = { { short_message = m.short_message or "", data_coding = m.data_coding or 0, esm_class = 0 } }
    end
    self.stats.mos = self.stats.mos + 1
    local all = true
    for _, part in ipairs(parts) do
        local pdu = { command = "deliver_sm", source_addr = m.source_addr or "447700900123",
            destination_addr = m.destination_addr or "12345" }
        for k, v in pairs(part) do pdu[k] = v end
        all = deliver(self, acct, pdu) and all
    end
    return all
end

return _M
