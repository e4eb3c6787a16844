--- smpp.client: the ESME users touch. smpp.connect binds one or more
-- sessions and the client sends, receives and keeps the binds alive over
-- them. Every call works at top level (it blocks), in coroutines of
-- smpp.spawn and inside cqueues (it yields), and ends by its deadline.
-- The parts: options (what is accepted), sessions (binds and the loop that
-- drives them), send (the one request pipeline), inbound (receipts and MO
-- messages), and smpp.track (what was sent, for the receipts).
--
-- A bad argument raises an error naming it, at the caller's line; what goes
-- wrong at run time returns `nil, message, code` (see @{errors.md|Results and errors}).
-- @module smpp.client
local core = require "smpp.core"
local loop = require "smpp.loop"
local limits_mod = require "smpp.limits"
local text = require "smpp.text"
local options = require "smpp.client.options"
local tracking = require "smpp.client.tracking"
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
        -- (PUC Lua 5.1 keeps a frame for a tail call)
        if not info or (info.what ~= "tail" and info.source:sub(2, #HERE + 1) ~= HERE) then break end
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

--- Connects and binds: smpp.connect. Returns once the first session is
-- bound (the others bind meanwhile and are retried later when they fail);
-- with shared `limits`, once this process holds a bind slot.
-- An unknown option raises, naming the nearest valid one.
-- @tparam table opts the options:
-- @tparam[opt="127.0.0.1"] string opts.host the SMSC; the name is resolved again on every reconnect
-- @tparam[opt=2775] number opts.port the SMSC's port (8143 with `tls`)
-- @tparam[opt=false] boolean|table opts.tls `true` (the system's CAs), a table
--   `{ ca, ca_dir, cert, key, verify = true, server_name, min_version = "1.2",
--   max_version, ciphers, keylog }` (`server_name`: the name to check when `host`
--   is an address; the others as `smpp.core.tls_config` takes them), or a
--   config made with `smpp.core.tls_config`
-- @tparam string opts.system_id the account, required; dashes are stripped, at most 15 characters
-- @tparam[opt=""] string opts.password at most 8 characters
-- @tparam[opt="transceiver"] string|table opts.bind "transmitter", "receiver",
--   "transceiver" ("tx", "rx", "trx"), or a list of them, one per session
--   (`{ "transmitter", "receiver" }`: a TX+RX pair)
-- @tparam[opt=1] number opts.sessions binds to open, never more (a `bind` list: its length);
--   requests go to the least busy
-- @tparam[opt=0] number opts.throttle submits per second for the whole client,
--   evenly spaced, never more than that in any second (0: no limit of its own)
-- @tparam[opt=10] number opts.window requests outstanding per bind
-- @tparam[opt=20] number opts.enquire_link seconds of silence before a keepalive (0: none)
-- @tparam[opt=10] number opts.response_timeout seconds to wait for a response
-- @tparam[opt=10] number opts.timeout seconds to connect and bind
-- @tparam[opt=10] number opts.max_resends times a submit refused with 0x58
--   or 0x14 is sent again by the engine (backing off, never past its deadline)
-- @tparam[opt=false] boolean opts.resend send again, once, what is uncertain
--   (no answer, link lost, unreadable answer); its result says `resent = true`
-- @tparam[opt=true] boolean|table opts.reconnect `false`, or
--   `{ min = 1, max = 60, tries }`: seconds of jittered exponential back-off
--   between reconnects, and how many tries (default: no end)
-- @tparam[opt="gsm7"] string opts.charset the account's alphabet for data_coding 0: "gsm7" or "latin1"
-- @tparam[opt=""] string opts.from the default sender (`source_addr`)
-- @tparam[opt=""] string opts.system_type bind field
-- @tparam[opt=""] string opts.address_range bind field
-- @tparam[opt=0] number opts.addr_ton bind field
-- @tparam[opt=0] number opts.addr_npi bind field
-- @tparam[opt] table opts.limits the account's binds and rate shared with other
--   processes: `{ redis = "host:port" | { host, port, password, db, timeout },
--   key = "smpp:"..system_id, lease = 10, binds = sessions, wait }`
--   (`binds`: slots this process takes at most; `wait`: seconds a standby waits
--   for a slot, default as long as it takes), or inside nginx `shm = "dict"`
--   in place of `redis`: the workers of one nginx; see `smpp.limits`
-- @tparam[opt] table opts.on handlers in place before the first PDU:
--   `{ receipt = fn, message = fn, pdu = fn, bound = fn, close = fn }` (see `Client:on`)
-- @tparam[opt=1000] number opts.max_queued inbound events kept for `Client:wait`
--   when no handler takes them; past that they are answered 0x64
-- @tparam[opt=300] number opts.join_timeout seconds a long MO message waits
--   for its missing parts before it comes `partial`
-- @param[opt="memory"] opts.track where what was sent is kept for its receipts
--   (and `once`): "memory" (this process, the newest 100 000), or `{ redis = conn
--   or "host:port" }` (many hosts), `{ sqlite = path }` (survives restarts),
--   `{ shm = dict }` (nginx), `{ store = obj }`; with `ttl` (seconds, default 72 h)
--   and `prefix`. See `smpp.track`. Given, every receipt is looked up in it.
-- @tparam[opt] function|boolean opts.logger `function(level, message)`, or `true` (stderr)
-- @tparam[opt="info"] string opts.log_level "error", "warn", "info", "debug" or
--   "trace" ("trace" when `trace` is set)
-- @tparam[opt=false] boolean opts.trace log every PDU both ways, decoded and in hex, passwords masked
-- @tparam[opt] string|table opts.transport "posix" (the default), "ngx" (the
--   default inside nginx) or a transport module like `smpp.transport.posix`
-- @treturn[1] Client a bound client
-- @return[2] nil
-- @treturn[2] string message
-- @treturn[2] string|number code: the bind's command_status (0x0E wrong
--   password, 0x0F unknown system_id, 0x0D bind failed), "net", "tls",
--   "timeout", "closed", "limits" or "standby"
-- @raise on a bad or unknown option
-- @usage local client = assert(smpp.connect{ host = "smsc.example.com", tls = true,
--     system_id = "12345678912345", password = "secret", throttle = 10 })
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
            deferred = 0, binds = 0, reconnects = 0, disconnects = 0, timeouts = 0, track_errors = 0 },
        track_retry = {},
    }, Client)
    for name in pairs(options.EVENTS) do c.queues[name] = {} end
    if o.track ~= nil and o.track ~= "memory" then -- a store given is opened now: its errors at the caller
        local tok, terr = pcall(tracking.tracker, c)
        check("connect", not tok and tostring(terr):gsub("^.-:%d+: ", "") or nil)
    end
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

--- Events.
-- What the SMSC sends, handed to the handler set with `Client:on`
-- (or the `on` option), else queued for `Client:wait`. A deliver_sm is
-- answered ESME_ROK only once the application has it: its handler
-- returned, or `wait` returned it. A handler that raises, or a full queue
-- (`max_queued`), answers ESME_RX_T_APPN (0x64): the SMSC delivers it again.
-- @section events

--- A delivery receipt came (a deliver_sm or data_sm whose esm_class says so).
-- @event receipt
-- @tparam Receipt receipt the receipt (see `smpp.receipt`), with `receipt.message`:
--   what was sent (a `Sent`), or nil when the id is not known
-- @tparam[opt] table pdu the PDU; nil when the handler takes the receipt
--   alone and there is no `pdu` handler nor `trace` (the receipt is then read
--   in C straight from the octets)

--- An MO message came; a long one once all its parts have.
-- @event message
-- @tparam Message msg the message
-- @tparam[opt] table pdu the PDU of its last part; nil for a partial message
--   released after `join_timeout`

--- A request of the SMSC came, before it is handled: every deliver_sm and
-- data_sm (raising answers it 0x64), and the others (alert_notification,
-- outbind; any other command is answered 0x03).
-- @event pdu
-- @tparam table pdu the decoded PDU
-- @tparam number session the session's number (1 to `sessions`)

--- A session is bound (at connect, and after each reconnect).
-- @event bound
-- @tparam table info what was bound:
-- @tparam number info.session the session's number
-- @tparam string info.bind "transmitter", "receiver" or "transceiver"
-- @tparam string info.system_id the SMSC's system_id from the bind response

--- A bound session went down: its link was lost (it is made again, see
-- `reconnect`) or the client was closed.
-- @event close
-- @tparam string reason why
-- @tparam number session the session's number

--- The last part of a message that asked for a receipt is final (once, of
-- every host sharing the `track` store): after the `receipt` event of that part,
-- to a handler set with `Client:on` (it is not queued for `Client:wait`).
-- @event message_done
-- @tparam Sent message what was sent
-- @tparam string outcome "delivered" (every part) or "failed" (a part failed)

--- Objects.
-- What the events and `Client:stats` give.
-- @section objects

--- An MO message (the `message` event). `tostring(msg)` is one line.
-- @table Message
-- @field from the sender (`source_addr`)
-- @field to the destination (`destination_addr`)
-- @field text the text in UTF-8, decoded by its data_coding (nil when it cannot be)
-- @field data_coding its data_coding
-- @field payload the octets of its parts, in order, without their headers
-- @field parts how many parts it has (1: a single message)
-- @field partial true when parts never came (released after `join_timeout`), else nil
-- @field missing the numbers of the parts that never came, or nil

--- What was sent, as a receipt finds it (`receipt.message`), for the
-- messages that asked for a receipt, from the `track` store (in memory: the
-- newest 100 000). A receipt also carries `receipt.outcome`, the state of the
-- whole message ("delivered", "failed" or "pending"), `receipt.done` (true
-- for the one receipt that ends it), and `receipt.lookup_error` when the store
-- failed (the receipt comes all the same).
-- @table Sent
-- @field ids the message ids of its parts
-- @field key the message's key in the store
-- @field to the destination
-- @field from the sender
-- @field ref the message's `ref`
-- @field meta the message's `meta`
-- @field text the message's `text`
-- @field parts how many parts it went in
-- @field submitted when its first part was accepted (`os.time()`)

--- What `Client:stats` returns.
-- @table Stats
-- @field sent messages whose first part left
-- @field accepted messages the SMSC took, all their parts
-- @field parts the parts of the messages accepted
-- @field failed messages that ended in failure
-- @field failed_by_status the failures by code: `{ [0x45] = 2, unsent = 1, ... }`
-- @field unsent messages that never left (code "unsent")
-- @field resent parts sent again after an uncertain loss (`resend`)
-- @field late parts accepted after their call had ended
-- @field throttled the SMSC's 0x58 and 0x14 answers (each sent again while its time allows)
-- @field timeouts requests that had no response within `response_timeout`
-- @field receipts receipts received
-- @field unmatched receipts whose id is not one of the messages sent
-- @field track_errors writes and lookups of the `track` store that failed (a write is tried again)
-- @field messages MO messages received
-- @field partial MO messages released with parts missing
-- @field delivered deliver_sm and data_sm received
-- @field deferred deliver_sm answered 0x64 because nobody could take them
-- @field binds binds made
-- @field reconnects binds made again after a lost link
-- @field disconnects bound sessions that went down
-- @field sessions the sessions the client has
-- @field bound the sessions bound now
-- @field outstanding requests waiting for their response now
-- @field slots with `limits`: the account's bind slots this process holds
-- @field limits with `limits`: "redis" or "shm", or "unreachable" while the coordinator does not answer

-- A result table as the values a call returns.
local function values(r)
    if r[1] == nil and (r.command == nil) then return nil, r[2], r[3], r[4] end
    return r
end

--- A bound client, made by `connect`. `tostring(client)` is one line:
-- account, host, binds bound and messages sent.
-- @type Client

--- Sends a message: a text split into as many parts as it needs, or octets
-- as they are. Blocks (or yields) until the SMSC has answered every part,
-- or until `timeout`; once it returns, nothing of the message is sent again.
-- An unknown field name raises, naming the nearest valid one.
-- @tparam table m the message:
-- @tparam string m.to the destination (`destination_addr`), required
-- @tparam[opt] string m.from the sender (`source_addr`); default the `from` option, else ""
-- @tparam[opt] string m.text UTF-8 text (give `text` or `data`, one of them)
-- @tparam[opt] string m.data octets sent as they are, in one part
-- @tparam[opt="auto"] string m.encoding "auto" (GSM 7-bit when the text fits it, else UCS-2),
--   "gsm7", "latin1", "ucs2", "ascii", "binary", or a national one (see `smpp.text.encode`)
-- @tparam[opt="udh8"] string m.concat how a long text is split: "udh8", "udh16", "sar" or "payload"
-- @tparam[opt=false] boolean m.substitute write '?' or a look-alike for what the
--   encoding cannot carry, instead of failing with "text"
-- @tparam[opt=false] boolean m.receipt ask for a delivery receipt (`registered_delivery` 1)
-- @param[opt] m.ref your own reference, back with the receipt (`receipt.message.ref`)
-- @tparam[opt] table m.meta your own table, back with the receipt (`receipt.message.meta`)
-- @tparam[opt=false] boolean m.once send it at most once per `ref` (within the
--   tracker's TTL): when a message with this ref was accepted already, its ids
--   come back (with `again = true`) and nothing is sent; a send of it under way
--   elsewhere is waited for. Needs `ref`.
-- @tparam[opt] number|string m.validity seconds from now, or an SMPP time (`validity_period`)
-- @tparam[opt] number|string m.schedule an epoch, or an SMPP time (`schedule_delivery_time`)
-- @tparam[opt=0] number m.priority `priority_flag`
-- @tparam[opt=""] string m.service_type `service_type`
-- @tparam[opt] table m.fields any other submit_sm field or TLV by name, for every part
-- @tparam[opt] number m.from_ton `source_addr_ton`; default from the sender: 1 for an
--   international number (7 digits or more), 0 for a short code, 5 for a name
-- @tparam[opt] number m.from_npi `source_addr_npi`; default 1 for digits, 0 for a name
-- @tparam[opt=1] number m.to_ton `dest_addr_ton`
-- @tparam[opt=1] number m.to_npi `dest_addr_npi`
-- @tparam[opt=0] number m.esm_class `esm_class` of a `data` message
-- @tparam[opt=4] number m.data_coding `data_coding` of a `data` message
-- @tparam[opt] number m.timeout seconds for the whole call; default 3 × `response_timeout`
-- @treturn[1] table the message ids, one per part; `ids.resent` is true when
--   a part went twice (the handset may get it twice)
-- @return[2] nil
-- @treturn[2] string message
-- @treturn[2] number|string code: the SMSC's command_status (refused), "unsent"
--   (it never left: safe to send again), "timeout", "closed" or "invalid"
--   (uncertain: the SMSC may have it), "text" (cannot be encoded), "state"
--   (a receiver bind cannot send); see @{errors.md|Results and errors}
-- @treturn[2] table the ids of the parts accepted, when some were (with `resent`)
-- @raise on a bad message field, or fields the codec cannot write
-- @usage local ids, err, code = client:send{ to = "447700900123", text = "Hi", receipt = true }
function Client:send(m)
    check("send", options.message(m))
    local r = send.one(self, m)
    check("send", r[1] == nil and r[3] == "argument" and r[2] or nil) -- fields the codec cannot write
    return values(r)
end

--- Sends many messages pipelined through the window, without coroutines.
-- A bad entry is that entry's result (code "argument"); the others go.
-- @tparam {table,...} list messages as for `Client:send`
-- @tparam[opt] table opts
-- @tparam[opt] number opts.timeout seconds each message has; default 3 × `response_timeout`
-- @treturn {table,...} one result per message, in order: its ids (as `send`
--   returns them), or `{ nil, message, code, ids }`
function Client:send_many(list, opts)
    check("send_many", type(list) ~= "table" and "list must be a table of messages" or nil)
    check("send_many", opts ~= nil and type(opts) ~= "table" and "opts must be a table" or nil)
    return send.many(self, list, opts and opts.timeout or self.opts.response_timeout * 3)
end

--- Sends one request PDU as it is and waits for its response.
-- @tparam table p the PDU: `command` and its fields (as `smpp.pdu.encode` takes them)
-- @tparam[opt] number timeout seconds; default 3 × `response_timeout`
-- @treturn[1] table the response PDU
-- @return[2] nil
-- @treturn[2] string message
-- @treturn[2] number|string code (as for `Client:send`)
-- @treturn[2] table the response, when there is one (an error status)
-- @raise when p is not a PDU the codec can write
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

--- Sends a submit_sm of the fields given as they are (no text encoding, no split).
-- @tparam table fields submit_sm fields and TLVs by name
-- @treturn[1] table the submit_sm_resp PDU (`message_id`)
-- @return[2] nil
-- @treturn[2] string message
-- @treturn[2] number|string code (as for `Client:send`)
-- @treturn[2] table the response, when there is one
function Client:submit(fields)
    return request_of(self, "submit", "submit_sm", fields)
end

--- Sends a data_sm of the fields given as they are.
-- @tparam table fields data_sm fields and TLVs by name
-- @treturn[1] table the data_sm_resp PDU
-- @return[2] nil
-- @treturn[2] string message
-- @treturn[2] number|string code (as for `Client:send`)
-- @treturn[2] table the response, when there is one
function Client:data_sm(fields)
    return request_of(self, "data_sm", "data_sm", fields)
end

--- Sends one submit_multi to a list of numbers (international, TON 1 NPI 1).
-- @tparam table m the message:
-- @tparam[opt] {string,...} m.to the destinations
-- @tparam[opt] {string,...} m.dl names of distribution lists kept at the SMSC
-- (`to` and `dl`: 254 destinations at most in all)
-- @tparam[opt] string m.from the sender; default the `from` option
-- @tparam[opt] string m.text UTF-8 text, in one part (in message_payload past
-- 254 octets)
-- @tparam[opt="auto"] string m.encoding as for `Client:send`
-- @tparam[opt=false] boolean m.receipt ask for delivery receipts
-- @tparam[opt] table m.fields any other submit_multi field or TLV by name
-- @treturn[1] table the submit_multi_resp PDU (`message_id`, `unsuccess_sme`)
-- @return[2] nil
-- @treturn[2] string message
-- @treturn[2] number|string code (as for `Client:send`; "text" when the text cannot be encoded)
-- @raise when m.to or m.dl is not a list of addresses (at most 20 characters each)
function Client:submit_multi(m)
    check("submit_multi", type(m) ~= "table" and "the message must be a table" or nil)
    local to, dl = m.to or {}, m.dl or {}
    check("submit_multi", type(to) ~= "table" and "to must be a list of numbers" or
        type(dl) ~= "table" and "dl must be a list of distribution list names" or
        #to + #dl == 0 and "give to (a list of numbers) or dl (a list of distribution list names)" or
        #to + #dl > 254 and format("%d destinations: a submit_multi takes at most 254", #to + #dl) or
        m.from ~= nil and (type(m.from) ~= "string" or #m.from > 20) and "from must be a string of at most 20" or nil)
    local p = { command = "submit_multi", source_addr = m.from or self.opts.from or "", dest_address = {} }
    for i, number in ipairs(to) do
        check("submit_multi", options.address(format("to[%d]", i), "destination_addr", number))
        p.dest_address[i] = { dest_addr_ton = 1, dest_addr_npi = 1, destination_addr = number }
    end
    for i, name in ipairs(dl) do -- dest_flag 2 (5.2.25)
        check("submit_multi", options.address(format("dl[%d]", i), "dl_name", name))
        p.dest_address[#to + i] = { dl_name = name }
    end
    if m.text then
        local octets, dcs = text.encode(m.text, m.encoding or "auto", { charset = self.opts.charset })
        if not octets then return nil, dcs, "text" end
        -- one part: past the 254 octets of short_message, the text goes in
        -- message_payload (the SMSC splits it for the handsets)
        p[#octets > 254 and "message_payload" or "short_message"], p.data_coding = octets, dcs
    end
    for k, v in pairs(m.fields or {}) do p[k] = v end
    p.registered_delivery = m.receipt and 1 or 0
    return request(self, "submit_multi", p)
end

--- Asks the SMSC for a message's state (query_sm).
-- @tparam string id the message id `send` returned
-- @tparam[opt] string from the sender it was sent from; default the `from` option
-- @treturn[1] table the query_sm_resp PDU: `message_id`, `message_state`, `final_date`, `error_code`
-- @return[2] nil
-- @treturn[2] string message
-- @treturn[2] number|string code (as for `Client:send`)
function Client:query(id, from)
    check("query", type(id) ~= "string" and "id must be a string" or nil)
    return request(self, "query", { command = "query_sm", message_id = id, source_addr = from or self.opts.from or "" })
end

--- Cancels a message not yet delivered (cancel_sm).
-- @tparam string id the message id
-- @tparam[opt] string from the sender it was sent from; default the `from` option
-- @treturn[1] boolean true
-- @return[2] nil
-- @treturn[2] string message
-- @treturn[2] number|string code (as for `Client:send`)
function Client:cancel(id, from)
    check("cancel", type(id) ~= "string" and "id must be a string" or nil)
    local resp, err, code = request(self, "cancel", { command = "cancel_sm", message_id = id,
        source_addr = from or self.opts.from or "" })
    if not resp then return nil, err, code end
    return true
end

--- Replaces a message not yet delivered (replace_sm).
-- @tparam table m what replaces it:
-- @tparam string m.id the message id
-- @tparam[opt] string m.from the sender it was sent from; default the `from` option
-- @tparam[opt] string m.text the new UTF-8 text, in the message's first
-- alphabet (replace_sm cannot change it)
-- @tparam[opt="gsm7"] string m.encoding that alphabet: "gsm7" (the account's
-- default alphabet, data_coding 0), "latin1", "ucs2", ... as for `Client:send`
-- @tparam[opt] string m.short_message the new octets, when there is no `text`
-- @tparam[opt] number|string m.validity as for `Client:send`
-- @tparam[opt] number|string m.schedule as for `Client:send`
-- @tparam[opt=false] boolean m.receipt ask for a delivery receipt
-- @treturn[1] boolean true
-- @return[2] nil
-- @treturn[2] string message
-- @treturn[2] number|string code (as for `Client:send`; "text" when the text cannot be encoded)
function Client:replace(m)
    check("replace", (type(m) ~= "table" or type(m.id) ~= "string") and "id must be a string" or nil)
    local p = { command = "replace_sm", message_id = m.id, source_addr = m.from or self.opts.from or "",
        registered_delivery = m.receipt and 1 or 0,
        validity_period = send.smpp_time(m.validity, true),
        schedule_delivery_time = send.smpp_time(m.schedule, false) }
    if m.text then
        -- replace_sm has no data_coding: the new text must be in the first's
        -- (the account's alphabet by default; "ucs2" for a UCS-2 message)
        local octets, err = text.encode(m.text, m.encoding or "gsm7", { charset = self.opts.charset })
        if not octets then return nil, err, "text" end
        if #octets > 254 then
            return nil, format("the text is %d octets: a replace_sm holds at most 254", #octets), "text"
        end
        p.short_message = octets
    else
        p.short_message = m.short_message
    end
    local resp, err, code = request(self, "replace", p)
    if not resp then return nil, err, code end
    return true
end

--- Sets the handler of an event (see Events): it is called with the
-- event's values. Events that waited in the queue (no handler took them)
-- go to the new handler first.
-- @tparam string name "receipt", "message", "pdu", "bound" or "close"
-- @tparam[opt] function fn the handler; nil removes it
-- @treturn Client the client
-- @raise on an unknown event name (naming the nearest) or a handler that is not a function
function Client:on(name, fn)
    check("on", options.handler(name, fn))
    self.handlers[name] = fn
    lean(self)
    inbound.flush(self, name)
    return self
end

--- Waits for the next event of a kind no handler takes, driving the
-- client meanwhile; a deliver_sm behind it is answered ESME_ROK now.
-- @tparam string name "receipt", "message", "pdu", "bound" or "close"
-- @tparam[opt] number seconds how long to wait; nil: no limit
-- @return[1] the event's first value (a `Receipt`, a `Message`, ...)
-- @return[1] its second value (the PDU, the session's number, ...)
-- @return[2] nil
-- @treturn[2] string "timeout", or "closed" when the client is closed
-- @raise when a handler takes that event
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

--- Runs the event loop (handlers are called, binds are kept alive and
-- made again) until the client is closed, or for a time.
-- @tparam[opt] number seconds how long to run; nil: until `Client:close`
-- @treturn Client the client
function Client:run(seconds)
    check("run", seconds ~= nil and type(seconds) ~= "number" and "seconds must be a number" or nil)
    local deadline = seconds and now_ms() + floor(seconds * 1000)
    sessions.await(self, function() return self.closed end, deadline)
    return self
end

-- What stats() returns prints as its counters, in the REPL too:
-- "sent=2 accepted=2 parts=3 failed=0 ...".
local STATS_ORDER = { "sent", "accepted", "parts", "failed", "unsent", "resent", "late", "throttled", "timeouts",
    "receipts", "unmatched", "track_errors", "messages", "partial", "delivered", "deferred", "binds", "reconnects",
    "disconnects", "sessions", "bound", "outstanding", "limits" }
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

--- The client's counters and the state of its sessions.
-- @treturn Stats a new table each call; `tostring` of it is one line of counters
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
-- for the responses still due, unbinds every session and closes. Called in
-- a handler, it does so once the handler has returned and been answered.
-- @tparam[opt=5] number seconds how long to wait for what is outstanding
-- @treturn boolean true
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
