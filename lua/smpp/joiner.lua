--- smpp.joiner: the parts of inbound long messages (UDH 8/16-bit
-- concatenation or SAR TLVs) joined again; smpp.text.joiner makes one.
-- The client uses one for its `message` events; a program reading
-- deliver_sm itself can use its own.
-- @module smpp.joiner
local core = require "smpp.core"

local sub, format = string.sub, string.format
local floor, type, error = math.floor, type, error
local tostring, setmetatable = tostring, setmetatable
local time = os.time
local concat, remove = table.concat, table.remove

local _M = {}

-- Joining the parts of inbound long messages.
--
-- A part is kept until the application has handled the message it belongs
-- to: the client answers a held part ESME_ROK, hands a completed message to
-- its handler, and tells the joiner handled() only when the handler returned.
-- When the handler raised, the final part is answered ESME_RX_T_APPN and the
-- SMSC delivers it again: the other parts are still here, so it completes
-- the message again. Once handled, the message's parts are forgotten, but
-- their fingerprints (sender, destination, reference, part number, octets)
-- are remembered for a while: a part the SMSC delivers again (its
-- deliver_sm_resp was lost) is recognised and answered, never held, so it
-- cannot be spliced into the next message that reuses the reference.
--
-- The cost: a new message reusing a reference within `remember` seconds
-- whose part is octet for octet the one handled before loses that part,
-- and comes as partial at the timeout (flagged, never spliced wrong).
--
-- A part held already (same number, same octets) is answered again and
-- counted once. A message still missing parts `timeout` seconds after its
-- first part, or pushed out by the memory bound, is released once, partial,
-- with the numbers of the parts it lacks.
--
-- A part whose number is already held with other octets belongs to a new
-- message reusing the reference (a sender that counts references slowly,
-- or not at all): it starts a message of its own beside the other, which
-- keeps its parts and its time (a part it lacks may still come, a whole one
-- not handled may be delivered again). A part that more than one of them
-- lacks goes to the newest: the parts of a message come close together, a
-- part delivered again comes later. At most 4 such messages per sender,
-- destination and reference: beyond, the oldest is released.
local Joiner = {}
Joiner.__index = Joiner

-- What keeping a part costs beyond its octets, counted against max_bytes
-- (so that empty parts cannot pile up without bound).
local PART_COST = 64

-- Messages joined at once under one key (sender, destination, reference,
-- parts), and handled ones remembered under one key: the newest.
local MAX_PER_KEY = 4

local function check_limit(opts, name, default)
    local v = opts[name]
    if v == nil then
        return default
    end
    if type(v) ~= "number" or v < 0 or v ~= v then
        error(format("joiner: %s must be a number >= 0, got %s", name, tostring(v)), 3)
    end
    return v
end

--- A joiner: `add` the decoded deliver_sm/data_sm PDUs to it, it gives back
-- whole messages.
-- @tparam[opt] table opts
-- @tparam[opt=300] number opts.timeout seconds: a message still missing parts this long
--   after its first part is released partial by `expire`; a whole one not
--   handled is kept this long after it was last given out
-- @tparam[opt=1048576] number opts.max_bytes what the held parts may take (their octets
--   plus 64 each); beyond it the oldest messages are released partial
-- @tparam[opt=600] number opts.remember seconds the parts of a handled
--   message are recognised when they come again
-- @tparam[opt=10000] number opts.max_remembered at most this many parts remembered
-- @treturn Joiner the joiner
-- @raise on an option that is not a number >= 0
function _M.joiner(opts)
    if opts ~= nil and type(opts) ~= "table" then
        error("joiner: options must be a table", 2)
    end
    opts = opts or {}
    return setmetatable({
        timeout = check_limit(opts, "timeout", 300),
        max_bytes = check_limit(opts, "max_bytes", 1048576),
        remember = check_limit(opts, "remember", 600),
        max_remembered = check_limit(opts, "max_remembered", 10000),
        -- messages being joined (or whole, not handled yet): lists (oldest
        -- first) by key
        pending = {}, count = 0, bytes = 0,
        -- their deadlines in order: entry and deadline at each index
        -- (an index whose entry has another deadline now, or is gone, is stale)
        due_entry = {}, due_at = {}, due_head = 1, due_tail = 0,
        -- the parts of handled messages: lists of records by key, and the
        -- records in the order of their deadlines
        seen = {}, seen_records = 0, seen_parts = 0,
        seen_record = {}, seen_head = 1, seen_tail = 0,
        -- the entry of each message given out, until handled() is told
        given = setmetatable({}, { __mode = "k" }),
    }, Joiner)
end

-- The octets a PDU carries: message_payload when it has one, else
-- short_message (3.4 section 5.3.2.32: the one or the other).
local function content_of(pdu)
    local payload = pdu.message_payload
    if payload ~= nil and payload ~= "" then
        return payload
    end
    return pdu.short_message or ""
end

-- The concatenation data of a PDU: ref, total, seq, octets; or nil, nil, nil,
-- octets when it is no part of a longer message.
local function concat_info(pdu)
    local sm = content_of(pdu)
    if floor((pdu.esm_class or 0) / 0x40) % 2 == 1 then -- UDHI, 3.4 section 5.2.12
        local udh = core.udh_parse(sm)
        if udh and udh.total then
            return udh.ref_bits .. ":" .. udh.ref, udh.total, udh.seq, sub(sm, udh.length + 1)
        end
        return nil, nil, nil, udh and sub(sm, udh.length + 1) or sm
    end
    if pdu.sar_msg_ref_num and pdu.sar_total_segments and pdu.sar_segment_seqnum then
        local total, seq = pdu.sar_total_segments, pdu.sar_segment_seqnum
        if total > 0 and seq > 0 and seq <= total then
            return "sar:" .. pdu.sar_msg_ref_num, total, seq, sm
        end
    end
    return nil, nil, nil, sm
end

-- Deadlines --------------------------------------------------------------

-- Drops the stale indexes when they outnumber the live ones.
local function compact_due(self)
    local entries, at = self.due_entry, self.due_at
    local n, kept = 0, {}
    for i = self.due_head, self.due_tail do
        local e, t = entries[i], at[i]
        entries[i], at[i] = nil, nil
        if e.live and e.deadline == t and not kept[e] then
            kept[e] = true
            n = n + 1
            entries[n], at[n] = e, t
        end
    end
    self.due_head, self.due_tail = 1, n
end

-- Gives entry the deadline now + timeout (now is never earlier than before:
-- the indexes stay in the order of their deadlines).
local function set_deadline(self, entry, now)
    local deadline = now + self.timeout
    if entry.deadline == deadline then
        return
    end
    entry.deadline = deadline
    if self.due_tail - self.due_head > 2 * self.count + 32 then
        compact_due(self)
    end
    local t = self.due_tail + 1
    self.due_entry[t], self.due_at[t], self.due_tail = entry, deadline, t
end

-- The live entry with the earliest deadline, or nil; stale indexes before it
-- are dropped on the way.
local function first_due(self)
    local entries, at = self.due_entry, self.due_at
    local h = self.due_head
    while h <= self.due_tail do
        local e = entries[h]
        if e.live and e.deadline == at[h] then
            self.due_head = h
            return e
        end
        entries[h], at[h] = nil, nil
        h = h + 1
    end
    self.due_head, self.due_tail = 1, 0
    return nil
end

-- Messages -----------------------------------------------------------------

local function is_whole(entry)
    return entry.have == entry.total
end

-- The message an entry holds, as given out: whole, or partial with the part
-- numbers missing. handled() knows it by this table.
local function message_of(self, entry)
    local payload, missing = {}, nil
    local parts = entry.parts
    for seq = 1, entry.total do
        local part = parts[seq]
        if part then
            payload[#payload + 1] = part
        else
            missing = missing or {}
            missing[#missing + 1] = seq
        end
    end
    local message = { source_addr = entry.source_addr, destination_addr = entry.destination_addr,
        data_coding = entry.data_coding, payload = concat(payload), parts = entry.total,
        complete = missing == nil, partial = missing and true or nil, missing = missing }
    self.given[message] = entry
    return message
end

-- Takes item out of the list map[key] (dropping an emptied list).
local function unlist(map, key, item)
    local list = map[key]
    for i = 1, #list do
        if list[i] == item then
            remove(list, i)
            break
        end
    end
    if list[1] == nil then
        map[key] = nil
    end
end

-- Forgets an entry's parts.
local function drop(self, entry)
    entry.live = false
    unlist(self.pending, entry.key, entry)
    self.count = self.count - 1
    self.bytes = self.bytes - entry.bytes
end

-- Lets go of an entry the joiner cannot keep: a partial message for the
-- application, or nil for a whole one (it was given out already; should
-- the SMSC deliver its final part again later, that part starts a message
-- of its own, which comes partial in its turn).
local function release(self, entry)
    drop(self, entry)
    if is_whole(entry) then
        return nil
    end
    return message_of(self, entry)
end

-- Releases the oldest messages until the parts fit in max_bytes; adds the
-- partial ones to list (made when needed), which it returns.
local function evict(self, list)
    while self.bytes > self.max_bytes do
        local entry = first_due(self)
        if not entry then
            break
        end
        local message = release(self, entry)
        if message then
            list = list or {}
            list[#list + 1] = message
        end
    end
    return list
end

-- Remembered parts ---------------------------------------------------------

local function forget_record(self, record)
    record.live = false
    unlist(self.seen, record.key, record)
    self.seen_records = self.seen_records - 1
    self.seen_parts = self.seen_parts - record.count
end

-- Forgets the remembered parts older than remember seconds (given now) and
-- the oldest beyond max_remembered.
local function forget_old(self, now)
    local records = self.seen_record
    local h = self.seen_head
    while h <= self.seen_tail do
        local record = records[h]
        local expired = now ~= nil and record.until_time <= now
        if record.live and not expired and self.seen_parts <= self.max_remembered then
            break
        end
        if record.live then
            forget_record(self, record)
        end
        records[h] = nil
        h = h + 1
    end
    if h > self.seen_tail then
        self.seen_head, self.seen_tail = 1, 0
    else
        self.seen_head = h
    end
end

local function compact_seen(self)
    local records, n = self.seen_record, 0
    for i = self.seen_head, self.seen_tail do
        local record = records[i]
        records[i] = nil
        if record.live then
            n = n + 1
            records[n] = record
        end
    end
    self.seen_head, self.seen_tail = 1, n
end

-- Whether a part is one of a handled message remembered (at now).
local function seen_before(self, key, seq, octets, now)
    local list = self.seen[key]
    if list then
        for i = 1, #list do
            local record = list[i]
            if record.parts[seq] == octets and record.until_time > now then
                return true
            end
        end
    end
    return false
end

-- Remembers the parts of a handled message.
local function remember(self, entry, now)
    if self.remember <= 0 or self.max_remembered <= 0 then
        return
    end
    local list = self.seen[entry.key]
    if list == nil then
        list = {}
        self.seen[entry.key] = list
    elseif #list >= MAX_PER_KEY then
        forget_record(self, list[1]) -- (the list keeps the others)
    end
    local record = { key = entry.key, parts = entry.parts, count = entry.have,
        until_time = now + self.remember, live = true }
    list[#list + 1] = record
    self.seen_records = self.seen_records + 1
    self.seen_parts = self.seen_parts + entry.have
    if self.seen_tail - self.seen_head > 2 * self.seen_records + 32 then
        compact_seen(self)
    end
    local t = self.seen_tail + 1
    self.seen_record[t], self.seen_tail = record, t
    forget_old(self, nil)
end

-- The API ------------------------------------------------------------------

--- A joiner made by `joiner`.
-- @type Joiner

--- Adds a PDU. Each PDU is answered ESME_ROK, but the PDU of a message whose
-- handler raised: ESME_RX_T_APPN, so that the SMSC delivers it again.
-- A message is `{ source_addr, destination_addr, data_coding, payload (the
-- octets of its parts in order, without their headers), parts (how many it
-- has), complete (true, or false when partial), partial (true or nil),
-- missing (nil, or the list of the part numbers it lacks) }`.
-- @tparam table pdu a decoded deliver_sm or data_sm
-- @tparam[opt] number now seconds, never earlier than the last call's; default `os.time()`
-- @treturn table|nil message: the message, for "single" and "whole"
-- @treturn string kind: "single" (no part of a longer message), "whole" (this part
--   completes a message, or is a part of a whole one not handled yet, delivered
--   again), "held" (a part kept until the rest comes) or "again" (a part of a
--   message already handled, or one held already)
-- @treturn {table,...}|nil released: partial messages the joiner let go of in this
--   call (the oldest, pushed out by `max_bytes`, or the oldest of more than 4
--   under one reference), each for the handler as they are
function Joiner:add(pdu, now)
    now = now or time()
    local ref, total, seq, octets = concat_info(pdu)
    local source, destination = pdu.source_addr, pdu.destination_addr
    if not ref then
        return { source_addr = source, destination_addr = destination, data_coding = pdu.data_coding,
            payload = octets, parts = 1, complete = true }, "single"
    end
    local key = concat({ source or "", destination or "", ref, total }, "\0")
    if self.seen_head <= self.seen_tail then
        forget_old(self, now)
        if seen_before(self, key, seq, octets, now) then
            return nil, "again"
        end
    end
    local released, entry
    local list = self.pending[key]
    if list then
        for i = 1, #list do -- this very part held already
            local e = list[i]
            if e.parts[seq] == octets then
                if is_whole(e) then -- given out, not handled: once more
                    set_deadline(self, e, now)
                    return message_of(self, e), "whole"
                end
                return nil, "again"
            end
        end
        for i = #list, 1, -1 do -- the newest that lacks it
            local e = list[i]
            if e.parts[seq] == nil then
                entry = e
                break
            end
        end
    else
        list = {}
        self.pending[key] = list
    end
    if not entry then
        if #list >= MAX_PER_KEY then
            local message = release(self, list[1])
            if message then
                released = { message }
            end
        end
        entry = { key = key, source_addr = source, destination_addr = destination,
            data_coding = pdu.data_coding, total = total, parts = {}, have = 0, bytes = 0, live = true }
        list[#list + 1] = entry
        self.pending[key] = list
        self.count = self.count + 1
        set_deadline(self, entry, now)
    end
    local cost = #octets + PART_COST
    entry.parts[seq] = octets
    entry.have = entry.have + 1
    entry.bytes = entry.bytes + cost
    self.bytes = self.bytes + cost
    local message, kind = nil, "held"
    if is_whole(entry) then
        set_deadline(self, entry, now) -- kept a while for a handler that fails
        message, kind = message_of(self, entry), "whole"
    end
    return message, kind, evict(self, released)
end

--- The application has the message (its handler returned): its parts are
-- forgotten and, for `remember` seconds, recognised when they come again.
-- Nothing is to be done when the handler failed: the parts stay.
-- @tparam table message a message `add` or `expire` gave (whole or partial)
-- @tparam[opt] number now seconds; default `os.time()`
-- @treturn boolean whether the joiner knew it (a single message needs no telling)
function Joiner:handled(message, now)
    local entry = message and self.given[message]
    if not entry then
        return false
    end
    self.given[message] = nil
    if entry.handled then -- given more than once, told more than once
        return true
    end
    entry.handled = true
    if entry.live then
        drop(self, entry)
    end
    remember(self, entry, now or time())
    return true
end

--- Releases the messages whose time is up. A whole message not handled
-- in time is dropped: the SMSC, told its handler failed, owns it.
-- @tparam[opt] number now seconds; default `os.time()`
-- @treturn {table,...} the partial messages (`partial = true`, `missing` = the
--   part numbers that never came), each given once; maybe empty
function Joiner:expire(now)
    now = now or time()
    local out = {}
    while true do
        local entry = first_due(self)
        if not entry or entry.deadline > now then
            break
        end
        local message = release(self, entry)
        if message then
            out[#out + 1] = message
        end
    end
    forget_old(self, now)
    return out
end

--- When `expire` has something to do next.
-- @treturn number|nil the time, in the seconds of `now`, or nil
function Joiner:next_expiry()
    local entry = first_due(self)
    return entry and entry.deadline or nil
end

--- How many messages wait for parts (or to be handled), and what they take.
-- @treturn number the messages
-- @treturn number their octets, plus 64 per part
function Joiner:pending_count()
    return self.count, self.bytes
end

--- How many parts of handled messages are remembered.
-- @treturn number the parts
function Joiner:remembered_count()
    return self.seen_parts
end

return _M
