-- smpp.pdu: the PDU codec (encode, decode, streaming framer) and the
-- SMPP 3.4 constants: command ids, command_status names, TLV tags.
local core = require "smpp.core"

local byte, concat, format, sort = string.byte, table.concat, string.format, table.sort
local pairs, ipairs, tostring, type = pairs, ipairs, tostring, type

local _M = {
    encode = core.encode,
    decode = core.decode,
    DEFAULT_MAX_LENGTH = core.DEFAULT_MAX_LENGTH,
}

-- smpp.command: names <-> ids ("submit_sm" -> 4, [4] -> "submit_sm").
local command = {}
for _, c in ipairs(core.commands) do
    command[c.name] = c.id
    command[c.id] = c.name
end
_M.command = command

-- The response of each request: response["submit_sm"] == "submit_sm_resp".
local response = {}
for _, c in ipairs(core.commands) do
    if c.id < 0x80000000 and command[c.id + 0x80000000] then response[c.name] = command[c.id + 0x80000000] end
end
_M.response = response

-- smpp.status: code -> { code, name, text }, and name -> code.
local status = {}
for _, s in ipairs(core.statuses) do
    status[s.code] = s
    status[s.name] = s.code
end
_M.status = status

-- smpp.tlv: tag -> { tag, name, type }, and name -> tag.
local tlv = {}
for _, t in ipairs(core.tlvs) do
    tlv[t.tag] = t
    tlv[t.name] = t.tag
end
_M.tlv = tlv

--- "ESME_RTHROTTLED (0x58): throttling error" for a command_status.
function _M.status_text(code)
    local s = status[code]
    if s then
        return format("%s (0x%02X): %s", s.name, code, s.text)
    end
    return format("command_status 0x%08X", code)
end

--- "00 00 00 10 80 00 00 15 ..." : the octets of s in hex.
function _M.hex(s)
    return (s:gsub(".", function(c) return format("%02x ", byte(c)) end):sub(1, -2))
end

--- A hex dump with offsets and printable characters, 16 octets a line.
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

--- A streaming framer: feed() it chunks, next() gives whole decoded PDUs.
function _M.framer(opts)
    local max_length = opts and opts.max_length
    return core.framer(max_length)
end

-- tostring(pdu): one readable line, header first, then fields by name.
local header = { command = true, command_status = true, sequence_number = true }

local function show(v)
    if type(v) == "string" then
        if #v > 40 then
            v = v:sub(1, 37) .. "..."
        end
        -- control characters and octets past ASCII as \ddd: a log line stays text
        return (format("%q", v):gsub("\\\n", "\\n"):gsub("[\127-\255]", function(ch)
            return "\\" .. ch:byte()
        end))
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
