-- smpp.text: message text for SMPP. UTF-8 in and out; GSM 03.38, Latin-1,
-- UCS-2 and the national alphabets on the wire; long messages split into
-- parts (UDH 8/16-bit, SAR TLVs or message_payload) and joined again.
local core = require "smpp.core"

local byte, char, sub, format = string.byte, string.char, string.sub, string.format
local floor, type, error, pairs, ipairs = math.floor, type, error, pairs, ipairs
local tostring, setmetatable = tostring, setmetatable
local concat = table.concat

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
local Joiner = {}
Joiner.__index = Joiner

--- A joiner: add() decoded deliver_sm PDUs to it, it gives back whole
--- messages. opts.timeout (seconds, default 120): a message still missing
--- parts after it is released incomplete by expire(); opts.max_bytes (default
--- 1 MiB): the octets held, the oldest messages are released beyond it.
function _M.joiner(opts)
    opts = opts or {}
    return setmetatable({ timeout = opts.timeout or 120, max_bytes = opts.max_bytes or 1048576,
        pending = {}, count = 0, order = {}, head = 1, tail = 0, bytes = 0 }, Joiner)
end

-- The concatenation data of a PDU: ref, total, seq, payload, or nil.
local function concat_info(pdu)
    local sm = pdu.short_message or ""
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
    return nil, nil, nil, pdu.message_payload or sm
end

local function whole(entry, complete)
    local payload, missing = {}, {}
    for seq = 1, entry.total do
        local part = entry.parts[seq]
        if part then
            payload[#payload + 1] = part
        else
            missing[#missing + 1] = seq
        end
    end
    return { source_addr = entry.source_addr, destination_addr = entry.destination_addr,
        data_coding = entry.data_coding, payload = concat(payload), parts = entry.total,
        complete = complete, missing = missing[1] and missing or nil }
end

function Joiner:release(key, complete)
    local entry = self.pending[key]
    self.pending[key] = nil
    self.count = self.count - 1
    self.bytes = self.bytes - entry.bytes
    return whole(entry, complete)
end

--- Adds a PDU (deliver_sm or data_sm, decoded). Returns the whole message
--- when this PDU completes it (or is not a part at all), else nil; and as a
--- second value the list of incomplete messages pushed out by max_bytes.
-- A message: { source_addr, destination_addr, data_coding, payload, parts,
-- complete, missing }. now defaults to os.time().
function Joiner:add(pdu, now)
    now = now or os.time()
    local ref, total, seq, payload = concat_info(pdu)
    if not ref then
        return { source_addr = pdu.source_addr, destination_addr = pdu.destination_addr,
            data_coding = pdu.data_coding, payload = payload, parts = 1, complete = true }
    end
    local key = concat({ pdu.source_addr or "", pdu.destination_addr or "", ref, total }, "\0")
    local entry = self.pending[key]
    if not entry then
        entry = { source_addr = pdu.source_addr, destination_addr = pdu.destination_addr,
            data_coding = pdu.data_coding, total = total, parts = {}, have = 0, bytes = 0, since = now }
        self.pending[key] = entry
        self.count = self.count + 1
        self:remember(key)
    end
    if entry.parts[seq] == nil then -- a repeated part is dropped
        entry.parts[seq] = payload
        entry.have = entry.have + 1
        entry.bytes = entry.bytes + #payload
        self.bytes = self.bytes + #payload
    end
    local done = entry.have == entry.total and self:release(key, true) or nil
    local evicted
    while self.bytes > self.max_bytes do
        local oldest = self:oldest()
        evicted = evicted or {}
        evicted[#evicted + 1] = self:release(oldest, false)
    end
    return done, evicted
end

-- order[head..tail] holds the keys as they came; released ones are skipped,
-- and dropped for good when they outnumber the pending ones.
function Joiner:remember(key)
    local order = self.order
    if self.tail - self.head > 4 * self.count + 64 then
        local kept, n = {}, 0
        for i = self.head, self.tail do
            local k = order[i]
            if self.pending[k] and not kept[k] then
                kept[k] = true
                n = n + 1
                order[n] = k
            end
            if i > n then order[i] = nil end
        end
        self.head, self.tail = 1, n
    end
    self.tail = self.tail + 1
    order[self.tail] = key
end

-- The key of the oldest pending message.
function Joiner:oldest()
    local order = self.order
    while not self.pending[order[self.head]] do
        order[self.head] = nil
        self.head = self.head + 1
    end
    return order[self.head]
end

--- Releases the messages older than the timeout, incomplete: a list.
function Joiner:expire(now)
    now = now or os.time()
    local out = {}
    for key, entry in pairs(self.pending) do
        if now - entry.since >= self.timeout then
            out[#out + 1] = self:release(key, false)
        end
    end
    return out
end

--- How many messages wait for parts, and the octets they hold.
function Joiner:pending_count()
    return self.count, self.bytes
end

return _M
