-- smpp.text: message text for SMPP. UTF-8 in and out; GSM 03.38, Latin-1,
-- UCS-2 and the national alphabets on the wire; long messages split into
-- parts (UDH 8/16-bit, SAR TLVs or message_payload) and joined again.
local core = require "smpp.core"

local byte, char, sub, format = string.byte, string.char, string.sub, string.format
local floor, type, error, ipairs = math.floor, type, error, ipairs
local tostring, setmetatable = tostring, setmetatable
local time = os.time
local concat, remove = table.concat, table.remove

local _M = {}

local encode_c, decode_c = core.text_encode, core.text_decode

local encodings = { auto = true, gsm7 = true, ascii = true, latin1 = true, ucs2 = true, binary = true,
    cyrillic = true, hebrew = true, jis = true, iso2022jp = true, kanji = true, ksc5601 = true }

local function check_charset(charset, level)
    if charset ~= nil and charset ~= "gsm7" and charset ~= "latin1" then
        error(format("charset must be \"gsm7\" or \"latin1\", got %s", tostring(charset)), level + 1)
    end
    return charset or "gsm7"
end
-- (smpp.receipt checks the same option when it reads a PDU's octets)
_M.check_charset = check_charset

--- Encodes UTF-8 text: octets, data_coding, encoding | nil, message, "text".
-- encoding: "auto" (default: the most compact that loses nothing), "gsm7",
-- "latin1", "ucs2", "ascii", "binary" or a national one ("cyrillic", ...).
-- opts.charset is the account's alphabet for data_coding 0 ("gsm7" default,
-- or "latin1"); opts.substitute writes '?' or a look-alike instead of failing.
function _M.encode(text, encoding, opts)
    if type(text) ~= "string" then
        error("text must be a string", 2)
    end
    encoding = encoding or "auto"
    if not encodings[encoding] then
        error(format("unknown encoding %q", tostring(encoding)), 2)
    end
    opts = opts or {}
    local charset = check_charset(opts.charset, 2)
    if encoding == "gsm7" and charset == "latin1" then
        error("gsm7 text goes as data_coding 0, which this account reads as latin1", 2)
    end
    if encoding == "auto" then
        local first = charset == "latin1" and "latin1" or "gsm7"
        local octets, dcs = encode_c(text, first)
        if octets then
            return octets, dcs, first
        end
        encoding = "ucs2"
    end
    local octets, dcs, code = encode_c(text, encoding, opts.substitute)
    if not octets then
        return nil, dcs, code
    end
    return octets, dcs, encoding
end

--- Decodes octets of a data_coding to UTF-8: text, encoding, message_class.
-- Never fails on content (unreadable octets become U+FFFD).
function _M.decode(octets, dcs, opts)
    if type(octets) ~= "string" then
        error("octets must be a string", 2)
    end
    local charset = check_charset(opts and opts.charset, 2)
    return decode_c(octets, dcs or 0, charset)
end

-- Octets (for 8-bit), septets (gsm7) or octets of UTF-16 (ucs2) a part holds.
local SINGLE = 140
local room = {
    udh8 = { gsm7 = 153, ucs2 = 134, other = 134 },
    udh16 = { gsm7 = 152, ucs2 = 132, other = 133 },
    sar = { gsm7 = 160, ucs2 = 140, other = 140 },
}

local function single_room(encoding)
    return encoding == "gsm7" and 160 or SINGLE
end

local function part_room(concat_kind, encoding)
    local r = room[concat_kind]
    return r[encoding] or r.other
end

-- Where the part starting at i ends (inclusive), at most n octets long:
-- never after an escape (gsm7) nor between the halves of a surrogate pair.
local function cut(octets, i, n, encoding)
    local j = i + n - 1
    if j >= #octets then
        return #octets
    end
    if encoding == "gsm7" then
        if byte(octets, j) == 0x1B then
            j = j - 1
        end
    elseif encoding == "ucs2" then
        local hi = byte(octets, j - 1)
        if hi and hi >= 0xD8 and hi <= 0xDB then
            j = j - 2
        end
    end
    return j
end

local function pieces(octets, encoding, per_part)
    local list, i = {}, 1
    while i <= #octets do
        local j = cut(octets, i, per_part, encoding)
        list[#list + 1] = sub(octets, i, j)
        i = j + 1
    end
    return list
end

-- Reference numbers count up per destination (23.040 section 9.2.3.24.1).
local refs, nrefs, MAX_REFS = {}, 0, 10000

--- The next concatenation reference for a destination (8 or 16 bits).
function _M.next_ref(destination, bits)
    local key = tostring(destination or "")
    local modulo = bits == 16 and 65536 or 256
    local last = refs[key]
    if last == nil then
        if nrefs >= MAX_REFS then
            refs, nrefs = {}, 0
        end
        nrefs = nrefs + 1
        last = 0
    end
    local ref = (last + 1) % modulo
    refs[key] = ref
    return ref
end

local function concat_kind_of(opts)
    local kind = opts.concat or "udh8"
    if kind ~= "udh8" and kind ~= "udh16" and kind ~= "sar" and kind ~= "payload" then
        error(format("concat must be \"udh8\", \"udh16\", \"sar\" or \"payload\", got %s", tostring(kind)), 4)
    end
    return kind
end

--- Splits UTF-8 text into the parts to submit: a list of tables with
--- short_message, esm_class, data_coding (and the SAR TLVs or message_payload).
-- opts: encoding, charset, substitute, concat ("udh8" default, "udh16",
-- "sar", "payload"), to (the destination, for reference numbers), ref.
-- More than 255 parts is an error.
-- What split and count start from: the concatenation kind and the encoded text.
local function prepare(text, opts)
    local kind = concat_kind_of(opts)
    return kind, _M.encode(text, opts.encoding, opts)
end

function _M.split(text, opts)
    opts = opts or {}
    local kind, octets, dcs, encoding = prepare(text, opts)
    if not octets then
        return nil, dcs, encoding
    end
    if kind == "payload" then
        return { { short_message = "", message_payload = octets, esm_class = 0, data_coding = dcs } }
    end
    if #octets <= single_room(encoding) then
        return { { short_message = octets, esm_class = 0, data_coding = dcs } }
    end
    local list = pieces(octets, encoding, part_room(kind, encoding))
    local total = #list
    if total > 255 then
        return nil, format("text needs %d parts, at most 255 allowed", total), "text"
    end
    local bits = kind == "udh8" and 8 or 16
    local ref = opts.ref or _M.next_ref(opts.to, bits)
    local parts = {}
    for seq, piece in ipairs(list) do
        if kind == "sar" then
            parts[seq] = { short_message = piece, esm_class = 0, data_coding = dcs,
                sar_msg_ref_num = ref % 65536, sar_total_segments = total, sar_segment_seqnum = seq }
        else
            local udh = kind == "udh8" and char(5, 0, 3, ref % 256, total, seq)
                or char(6, 8, 4, floor(ref / 256) % 256, ref % 256, total, seq)
            parts[seq] = { short_message = udh .. piece, esm_class = 0x40, data_coding = dcs }
        end
    end
    return parts
end

--- The one part a text fits in: octets, data_coding; false when it needs
--- more parts (or concat = "payload"), nil, message, code when it cannot be
--- encoded. opts as for split; the same octets as split's single part.
function _M.one_part(text, opts)
    opts = opts or {}
    if concat_kind_of(opts) == "payload" then
        return false
    end
    local octets, dcs, encoding = _M.encode(text, opts.encoding, opts)
    if not octets then
        return nil, dcs, encoding
    end
    return #octets <= single_room(encoding) and octets, dcs
end

--- How a text would go: { parts, encoding, units, per_part }. units are
--- septets (gsm7), UTF-16 units (ucs2) or octets.
function _M.count(text, opts)
    opts = opts or {}
    local kind, octets, dcs, encoding = prepare(text, opts)
    if not octets then
        return nil, dcs, encoding
    end
    local unit = encoding == "ucs2" and 2 or 1
    local info = { encoding = encoding, data_coding = dcs, units = floor(#octets / unit) }
    if kind == "payload" or #octets <= single_room(encoding) then
        info.parts, info.per_part = 1, floor(single_room(encoding) / unit)
    else
        info.parts = #pieces(octets, encoding, part_room(kind, encoding))
        info.per_part = floor(part_room(kind, encoding) / unit)
    end
    return info
end

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

--- A joiner: add() the decoded deliver_sm/data_sm PDUs to it, it gives back
--- whole messages. opts:
---   timeout (seconds, default 300): a message still missing parts this long
---     after its first part is released partial by expire(); a whole one not
---     handled is kept this long after it was last given out;
---   max_bytes (default 1 MiB): what the held parts may take (their octets
---     plus 64 each); beyond it the oldest messages are released partial;
---   remember (seconds, default 600): how long the parts of a handled
---     message are recognised when they come again;
---   max_remembered (default 10000): at most this many parts remembered.
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

-- Forgets an entry's parts.
local function drop(self, entry)
    entry.live = false
    local list = self.pending[entry.key]
    for i = 1, #list do
        if list[i] == entry then
            remove(list, i)
            break
        end
    end
    if list[1] == nil then
        self.pending[entry.key] = nil
    end
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
    local list = self.seen[record.key]
    for i = 1, #list do
        if list[i] == record then
            remove(list, i)
            break
        end
    end
    if list[1] == nil then
        self.seen[record.key] = nil
    end
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

--- Adds a PDU (deliver_sm or data_sm, decoded) seen at now (seconds, never
--- earlier than the last call's; default os.time()). Returns
---   message, kind, released
--- kind says how to answer the PDU and what message is:
---   "single": no part of a longer message; message is it;
---   "whole":  this part completes a message (or is a part of a whole one not
---             handled yet, delivered again); message is it;
---   "held":   a part kept until the rest comes; message is nil;
---   "again":  a part of a message already handled, or one held already;
---             message is nil.
--- Each is answered ESME_ROK, but the PDU of a message whose handler
--- raised: ESME_RX_T_APPN, so that the SMSC delivers it again.
--- released: nil, or a list of partial messages the joiner let go of in
--- this call (the oldest, pushed out by max_bytes; or the oldest of more
--- than 4 under one reference), each for the handler as they are.
--- A message: { source_addr, destination_addr, data_coding, payload (the
--- octets of its parts in order, without their headers), parts (how many it
--- has), complete (true, or false when partial), partial (true | nil),
--- missing (nil, or the list of the part numbers it lacks) }.
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
--- forgotten and, for `remember` seconds, recognised when they come again.
--- message: a table add() or expire() gave (whole or partial). Returns
--- whether the joiner knew it (a single message needs no telling). Nothing
--- is to be done when the handler failed: the parts stay.
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

--- Releases the messages whose time is up at now (default os.time()): a
--- list, maybe empty, of the partial ones (partial = true, missing = the
--- part numbers that never came), each given once. A whole message not
--- handled in time is dropped: the SMSC, told its handler failed, owns it.
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

--- When expire() has something to do next (in the seconds of now), or nil.
function Joiner:next_expiry()
    local entry = first_due(self)
    return entry and entry.deadline or nil
end

--- How many messages wait for parts (or to be handled), and what they take
--- (octets plus 64 per part).
function Joiner:pending_count()
    return self.count, self.bytes
end

--- How many parts of handled messages are remembered.
function Joiner:remembered_count()
    return self.seen_parts
end

return _M
