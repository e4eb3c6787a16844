--- smpp.pdu: the PDU codec (encode, decode, streaming framer) and the
-- SMPP 3.4 constants: command ids, command_status names, TLV tags.
--
-- A PDU is a table with `command` (its name), `command_status`,
-- `sequence_number` and its fields and TLVs by their SMPP 3.4 names:
-- integers as integers, strings as strings, `submit_multi`'s
-- `dest_address` and `unsuccess_sme` as lists of tables. Unknown TLVs are
-- kept in `pdu.unknown_tlvs` (`{ {tag = 0x1400, value = "..."} }`) and TLVs
-- in an unusual order in `pdu.tlv_order`, so that decoding and encoding
-- again gives the same octets. `tostring(pdu)` is one readable line.
-- @module smpp.pdu
local core = require "smpp.core"

local byte, concat, format, sort = string.byte, table.concat, string.format, table.sort
local pairs, ipairs, tostring, type = pairs, ipairs, tostring, type

local _M = {
    encode = core.encode,
    decode = core.decode,
    DEFAULT_MAX_LENGTH = core.DEFAULT_MAX_LENGTH,
}

--- Writes a PDU table as octets. Lengths and counts (`sm_length`,
-- `number_of_dests`) are derived; fields left out are 0 or empty, and
-- `interface_version` is 0x34 in binds. An error response with no fields is
-- written without a body.
-- @function encode
-- @tparam table pdu the PDU: `command` and its fields
-- @treturn string the octets
-- @raise naming the field: a missing mandatory field, a string too long, an
--   integer out of range, a field of another command or an unknown name

--- Reads exactly one whole PDU.
-- @function decode
-- @tparam string octets the PDU
-- @tparam[opt=65536] number max_length the largest `command_length` accepted
-- @treturn[1] table the PDU
-- @return[2] nil
-- @treturn[2] string message
-- @treturn[2] number the command_status to answer with (0x01 sm_length past
--   the body, 0x02 trailing octets, 0x03 unknown command, 0x0A-0x0C bad
--   addresses or id, 0xC0/0xC2 bad TLVs, 0x61/0x62 bad times, ...)
-- @treturn[2] table the header, when the octets had one: `command`,
--   `command_id`, `command_length`, `sequence_number` (for a generic_nack)

--- The largest `command_length` `decode` and the framer accept by default: 65536.
-- @field DEFAULT_MAX_LENGTH

--- Command ids by name and names by id: `command.submit_sm == 4`,
-- `command[4] == "submit_sm"`.
-- @table command

-- smpp.command: names <-> ids ("submit_sm" -> 4, [4] -> "submit_sm").
local command = {}
for _, c in ipairs(core.commands) do
    command[c.name] = c.id
    command[c.id] = c.name
end
_M.command = command

--- The response of each request: `response.submit_sm == "submit_sm_resp"`.
-- @table response
local response = {}
for _, c in ipairs(core.commands) do
    if c.id < 0x80000000 and command[c.id + 0x80000000] then response[c.name] = command[c.id + 0x80000000] end
end
_M.response = response

--- command_status by code and codes by name: `status[0x58]` is
-- `{ code = 0x58, name = "ESME_RTHROTTLED", text = "throttling error" }`,
-- `status.ESME_RTHROTTLED == 0x58` (the whole list: @{errors.md|Results and errors}).
-- @table status
local status = {}
for _, s in ipairs(core.statuses) do
    status[s.code] = s
    status[s.name] = s.code
end
_M.status = status

--- TLVs by tag and tags by name: `tlv[0x0424]` is
-- `{ tag = 0x0424, name = "message_payload", type = "octets" }`,
-- `tlv.message_payload == 0x0424`. Types: "int8", "int16", "int32",
-- "cstring", "octets", "flag" (true when present), ...
-- @table tlv
local tlv = {}
for _, t in ipairs(core.tlvs) do
    tlv[t.tag] = t
    tlv[t.name] = t.tag
end
_M.tlv = tlv

--- A command_status as text.
-- @tparam number code the command_status
-- @treturn string "ESME_RTHROTTLED (0x58): throttling error", or
--   "command_status 0x000000FF" for a code with no name
function _M.status_text(code)
    local s = status[code]
    if s then
        return format("%s (0x%02X): %s", s.name, code, s.text)
    end
    return format("command_status 0x%08X", code)
end

--- Octets in hex, one space between them.
-- @tparam string s the octets
-- @treturn string "00 00 00 10 80 00 00 15 ..."
function _M.hex(s)
    return (s:gsub(".", function(c) return format("%02x ", byte(c)) end):sub(1, -2))
end

--- A hex dump with offsets and printable characters, 16 octets a line.
-- @tparam string s the octets
-- @treturn string the lines
function _M.hexdump(s)
    local lines = {}
    for off = 1, #s, 16 do
        local chunk = s:sub(off, off + 15)
        local hex = chunk:gsub(".", function(c) return format("%02x ", byte(c)) end)
        local text = chunk:gsub("[^\32-\126]", ".")
        lines[#lines + 1] = format("%04x  %-48s %s", off - 1, hex, text)
    end
    return concat(lines, "\n")
end

--- A streaming framer: `feed` it chunks of any size, `next` gives whole
-- decoded PDUs (see `smpp.core.Framer`).
-- @tparam[opt] table opts
-- @tparam[opt=65536] number opts.max_length the largest `command_length` accepted
-- @treturn smpp.core.Framer the framer
function _M.framer(opts)
    local max_length = opts and opts.max_length
    return core.framer(max_length)
end

--- A PDU as one readable line, header first, then the fields by name:
-- what `tostring(pdu)` gives for a decoded PDU.
-- @function tostring
-- @tparam table p the PDU
-- @treturn string `submit_sm seq=7 data_coding=0 ... short_message="hello"`

-- tostring(pdu): one readable line, header first, then fields by name.
local header = { command = true, command_status = true, sequence_number = true }

local function show(v)
    if type(v) == "string" then
        if #v > 40 then
            v = v:sub(1, 37) .. "..."
        end
        -- control characters and octets past ASCII as \ddd (three digits before
        -- a digit), newline as \n: a log line stays text, the same on every Lua
        return '"' .. v:gsub('([%c"\\\127-\255])(%d?)', function(ch, digit)
            if ch == '"' or ch == "\\" then return "\\" .. ch .. digit end
            if ch == "\n" then return "\\n" .. digit end
            return format(digit == "" and "\\%d" or "\\%03d", ch:byte()) .. digit
        end) .. '"'
    elseif type(v) == "table" then
        local parts = {}
        for i, e in ipairs(v) do
            if type(e) == "table" then
                local kv = {}
                for k, x in pairs(e) do kv[#kv + 1] = k .. "=" .. show(x) end
                sort(kv)
                parts[i] = "{" .. concat(kv, " ") .. "}"
            else
                parts[i] = tostring(e)
            end
        end
        return "[" .. concat(parts, ", ") .. "]"
    end
    return tostring(v)
end

local function pdu_tostring(p)
    local st = p.command_status or 0
    local out = { format("%s seq=%s", tostring(p.command), tostring(p.sequence_number)) }
    if st ~= 0 then
        local s = status[st]
        out[2] = "status=" .. (s and s.name or format("0x%08X", st))
    end
    local keys = {}
    for k in pairs(p) do
        if not header[k] then keys[#keys + 1] = k end
    end
    sort(keys)
    for _, k in ipairs(keys) do
        out[#out + 1] = k .. "=" .. show(p[k])
    end
    return concat(out, " ")
end

core.pdu_metatable.__tostring = pdu_tostring
core.pdu_metatable.__name = "smpp.pdu"
_M.tostring = pdu_tostring

return _M
