--- smpp.text: message text for SMPP. UTF-8 in and out; GSM 03.38, Latin-1,
-- UCS-2 and the national alphabets on the wire; long messages split into
-- parts (UDH 8/16-bit, SAR TLVs or message_payload) and joined again
-- (smpp.joiner).
--
-- Encodings: "auto", "gsm7" (GSM 03.38 with its extension table), "ascii"
-- (IA5), "latin1", "ucs2" (UTF-16BE: emoji as surrogate pairs), "binary",
-- "cyrillic", "hebrew", "jis", "iso2022jp", "kanji", "ksc5601" (the last ones
-- through iconv). A part never ends between an escape and its character,
-- nor between the halves of a surrogate pair.
-- @module smpp.text
local core = require "smpp.core"

local byte, char, sub, format = string.byte, string.char, string.sub, string.format
local floor, type, error, ipairs = math.floor, type, error, ipairs
local tostring = tostring

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
--- Checks a `charset` option (smpp.receipt checks the same option when it
-- reads a PDU's octets).
-- @function check_charset
-- @tparam[opt] string charset "gsm7" or "latin1"
-- @tparam number level the level the error is raised at, as for `error`
-- @treturn string the charset, "gsm7" when nil
-- @raise when it is neither
_M.check_charset = check_charset

--- Encodes UTF-8 text for the wire.
-- @tparam string text UTF-8
-- @tparam[opt="auto"] string encoding "auto" (GSM 7-bit when the text fits it, else
--   UCS-2; on a "latin1" account Latin-1, else UCS-2), "gsm7", "latin1", "ucs2",
--   "ascii", "binary" or a national one ("cyrillic", ...)
-- @tparam[opt] table opts
-- @tparam[opt="gsm7"] string opts.charset the account's alphabet for data_coding 0: "gsm7" or "latin1"
-- @tparam[opt=false] boolean opts.substitute write '?' or a look-alike for what the
--   encoding cannot carry, instead of failing
-- @treturn[1] string the octets (GSM 7-bit: one septet an octet, unpacked)
-- @treturn[1] number the data_coding
-- @treturn[1] string the encoding used
-- @return[2] nil
-- @treturn[2] string message: "character '😀' at octet 1 cannot be written in gsm7", "invalid UTF-8 at octet 3"
-- @treturn[2] string "text"
-- @raise on an unknown encoding or charset, or "gsm7" on a "latin1" account
function _M.encode(text, encoding, opts)
    if type(text) ~= "string" then
        error("text must be a string", 2)
    end
    local charset = opts and opts.charset
    if charset ~= nil then check_charset(charset, 2) end
    if encoding == nil or encoding == "auto" then
        local first = charset == "latin1" and "latin1" or "gsm7"
        local octets, dcs = encode_c(text, first)
        if octets then
            return octets, dcs, first
        end
        encoding = "ucs2"
    elseif not encodings[encoding] then
        error(format("unknown encoding %q", tostring(encoding)), 2)
    elseif encoding == "gsm7" and charset == "latin1" then
        error("gsm7 text goes as data_coding 0, which this account reads as latin1", 2)
    end
    local octets, dcs, code = encode_c(text, encoding, opts and opts.substitute)
    if not octets then
        return nil, dcs, code
    end
    return octets, dcs, encoding
end

--- Decodes octets of a data_coding to UTF-8. Never fails on content
-- (unreadable octets become U+FFFD); an unknown data_coding reads as binary.
-- @tparam string octets what the PDU carries
-- @tparam[opt=0] number dcs the data_coding (0: the account's charset)
-- @tparam[opt] table opts
-- @tparam[opt="gsm7"] string opts.charset the account's alphabet for data_coding 0
-- @treturn string the text in UTF-8
-- @treturn string the encoding it was read in
-- @treturn number|nil the message class of the 23.038 coding groups, or nil
-- @raise when octets is not a string, or on a bad charset
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

--- The next concatenation reference for a destination: they count up
-- per destination (23.040 section 9.2.3.24.1).
-- @tparam[opt] string destination the destination_addr
-- @tparam[opt=8] number bits 8 or 16
-- @treturn number the reference
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

-- What split and count start from: the concatenation kind and the encoded text.
local function prepare(text, opts)
    local kind = concat_kind_of(opts)
    return kind, _M.encode(text, opts.encoding, opts)
end

--- Splits UTF-8 text into the parts to submit. Limits: 160 septets, 140
-- octets or 70 UCS-2 units in one part; 153 / 134 / 67 per part with an
-- 8-bit reference UDH.
-- @tparam string text UTF-8
-- @tparam[opt] table opts
-- @tparam[opt="auto"] string opts.encoding as for `encode`
-- @tparam[opt="gsm7"] string opts.charset the account's alphabet for data_coding 0
-- @tparam[opt=false] boolean opts.substitute as for `encode`
-- @tparam[opt="udh8"] string opts.concat "udh8", "udh16", "sar" (the SAR TLVs) or
--   "payload" (one part: the whole text in `message_payload`)
-- @tparam[opt] string opts.to the destination, whose reference numbers count up
-- @tparam[opt] number opts.ref the reference number; default `next_ref(to)`
-- @treturn[1] {table,...} the parts: `{ short_message, esm_class, data_coding }`
--   (esm_class 0x40 with a UDH), with `sar_msg_ref_num`, `sar_total_segments`,
--   `sar_segment_seqnum` for "sar", or `message_payload` for "payload"
-- @return[2] nil
-- @treturn[2] string message (more than 255 parts, or a character that cannot be written)
-- @treturn[2] string "text"
-- @raise on an unknown encoding or concat
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

--- The one part a text fits in: the same octets as `split`'s single part.
-- @tparam string text UTF-8
-- @tparam[opt] table opts as for `split`
-- @treturn[1] string the octets
-- @treturn[1] number the data_coding
-- @treturn[2] boolean false when it needs more parts (or `concat` is "payload")
-- @return[3] nil
-- @treturn[3] string message
-- @treturn[3] string "text"
function _M.one_part(text, opts)
    if opts and opts.concat ~= nil and concat_kind_of(opts) == "payload" then
        return false
    end
    local octets, dcs, encoding = _M.encode(text, opts and opts.encoding, opts)
    if not octets then
        return nil, dcs, encoding
    end
    return #octets <= single_room(encoding) and octets, dcs
end

--- How a text would go, without sending anything.
-- @tparam string text UTF-8
-- @tparam[opt] table opts as for `split`
-- @treturn[1] table `{ parts, encoding, data_coding, units, per_part }`: units are
--   septets (gsm7), UTF-16 units (ucs2) or octets; per_part, the units a part holds
-- @return[2] nil
-- @treturn[2] string message
-- @treturn[2] string "text"
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

--- A joiner of inbound long messages: `smpp.joiner.joiner`.
-- @function joiner
-- @tparam[opt] table opts the options of `smpp.joiner.joiner`
-- @treturn smpp.joiner.Joiner the joiner
_M.joiner = function(opts) return require("smpp.joiner").joiner(opts) end

return _M
