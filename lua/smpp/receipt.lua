--- smpp.receipt: delivery receipts (SMPP 3.4 appendix B text and its
-- variants, the receipted_message_id and message_state TLVs), and message
-- ids compared the way SMSCs write them (hex or decimal, case, leading zeros).
-- @module smpp.receipt
local core = require "smpp.core"
local check_charset = require("smpp.text").check_charset

local concat, format, upper = table.concat, string.format, string.upper
local error, ipairs, type = error, ipairs, type
local receipt_parse, receipt_id_keys, receipt_same_id =
    core.receipt_parse, core.receipt_id_keys, core.receipt_same_id

local _M = {}

-- message_state (5.2.28) by number: the stat words of the receipt text.
local STATE_NAMES = core.receipt_states

-- States after which the SMSC makes no further delivery attempt (SMPP 3.4
-- 5.2.28): ACCEPTD among them (the message was read on the subscriber's
-- behalf). UNKNOWN is left out (SMPP 5.0: "may be intermediate or
-- permanent"); an SMSC that reports a state on the way sets the
-- intermediate bit of esm_class, which is_receipt tells apart.
local FINAL = { DELIVRD = true, EXPIRED = true, DELETED = true, UNDELIV = true, ACCEPTD = true, REJECTD = true }

-- esm_class bits 5-2 (5.2.12) of the deliver_sm / data_sm that carry a receipt
-- (the session's compact receipts are chosen by the same bits, in C).
local ESM_SMSC_RECEIPT = 0x04
local ESM_INTERMEDIATE = 0x20

-- Raises a bad-argument error where the public function was called; level:
-- how deep argerror is called below that function (1: by it directly).
local function argerror(level, fn, what, want, got)
    error(format("smpp.receipt.%s: %s must be %s, got %s", fn, what, want, type(got)), level + 2)
end

local function show_date(d)
    return format("%04d-%02d-%02d %02d:%02d:%02d", d.year, d.month, d.day, d.hour, d.min, d.sec)
end

local function show_text(s)
    if #s > 40 then
        s = s:sub(1, 37) .. "..."
    end
    return (format("%q", s):gsub("\\\n", "\\n"))
end

local SHOWN = { "id", "stat", "state", "err", "sub", "dlvr", "submit_date", "done_date", "text" }

-- tostring(receipt): one line, e.g.
-- receipt id=0059113978 stat=DELIVRD state=2 err=000 sub=001 dlvr=001 submit_date=2010-02-10 17:30:00 ...
-- (the receipts' metatable is the core's: receipts made in C have it too)
core.receipt_meta.__tostring = function(r)
    local out = { "receipt" }
    for _, k in ipairs(SHOWN) do
        local v = r[k]
        if type(v) == "table" then
            out[#out + 1] = k .. "=" .. show_date(v)
        elseif type(v) == "string" and (k == "text" or v:find("[^%w%-%.:_]")) then
            out[#out + 1] = k .. "=" .. show_text(v)
        elseif v ~= nil then
            out[#out + 1] = k .. "=" .. v
        end
    end
    return concat(out, " ")
end

-- The field of a PDU table, which must have type want when present.
local function field(pdu, name, want)
    local v = pdu[name]
    if v ~= nil and type(v) ~= want then
        argerror(2, "parse", "pdu." .. name, "a " .. want, v)
    end
    return v
end

--- A delivery receipt, as `parse` makes it and the client's `receipt`
-- event gives it; absent fields are nil. `tostring(receipt)` is one line:
-- `receipt id=0059113978 stat=DELIVRD state=2 err=000 ...`.
-- @table Receipt
-- @field id the message id (`receipted_message_id` when the PDU has it)
-- @field sub the text's `sub:` (messages submitted)
-- @field dlvr the text's `dlvr:` (messages delivered)
-- @field submit_date the text's `submit date:`, an `os.date("*t")`-style table
-- @field done_date the text's `done date:`, an `os.date("*t")`-style table
-- @field stat the stat word, upper case: "DELIVRD", "EXPIRED", "UNDELIV", ...
-- @field state the message_state number (the `message_state` TLV, or from a known stat word)
-- @field err the text's `err:`
-- @field text the text's `text:`
-- @field message set by the client: what was sent (a `smpp.client.Sent`), or nil when not known
-- @field outcome set by the client with `message`: the whole message's state, "delivered"
--   (every part), "failed" (a part failed) or "pending"
-- @field done set by the client with `message`: true for the one receipt that ends the message
-- @field lookup_error set by the client when its `track` store failed to look the id up

--- Whether a decoded PDU is a delivery receipt by its esm_class: an SMSC
-- delivery receipt (0x04) or an intermediate delivery notification (0x20),
-- in a deliver_sm or a data_sm. SME acknowledgements (0x08, 0x10) are not:
-- they carry the recipient's own text.
-- @tparam table pdu a decoded PDU
-- @treturn boolean
-- @raise when pdu is not a table
function _M.is_receipt(pdu)
    if type(pdu) ~= "table" then
        argerror(1, "is_receipt", "pdu", "a decoded PDU table", pdu)
    end
    local command, esm = pdu.command, pdu.esm_class
    if command ~= nil and command ~= "deliver_sm" and command ~= "data_sm" then
        return false
    end
    if type(esm) ~= "number" then
        return false
    end
    local kind = esm % 64 - esm % 4 -- esm_class & 0x3C, written for LuaJIT too
    return kind == ESM_SMSC_RECEIPT or kind == ESM_INTERMEDIATE
end

--- Reads a receipt: the appendix B text and the variants SMSCs send (key
-- case, `submit_date`, dates with seconds, missing or extra fields). For a
-- PDU, the text is short_message (or message_payload when short_message is
-- empty), read in its data_coding (so a UCS-2 receipt reads as well), and the
-- TLVs receipted_message_id and message_state win over the text.
-- @tparam string|table pdu_or_text the receipt text, or a decoded deliver_sm or data_sm
-- @tparam[opt] table opts
-- @tparam[opt="gsm7"] string opts.charset the account's alphabet for data_coding 0
-- @treturn[1] Receipt the receipt
-- @return[2] nil
-- @treturn[2] string "not a delivery receipt"
-- @raise when pdu_or_text is neither, or a field of the PDU has the wrong type
function _M.parse(pdu_or_text, opts)
    local text, id, state, dcs
    if type(pdu_or_text) == "string" then
        text = pdu_or_text
    elseif type(pdu_or_text) == "table" then
        local command = pdu_or_text.command
        if command ~= nil and command ~= "deliver_sm" and command ~= "data_sm" then
            return nil, "not a delivery receipt"
        end
        text = field(pdu_or_text, "short_message", "string")
        if text == nil or text == "" then
            text = field(pdu_or_text, "message_payload", "string")
        end
        dcs = field(pdu_or_text, "data_coding", "number")
        id = field(pdu_or_text, "receipted_message_id", "string")
        state = field(pdu_or_text, "message_state", "number")
    else
        argerror(1, "parse", "pdu_or_text", "a receipt text or a decoded deliver_sm", pdu_or_text)
    end
    -- the parser reads a PDU's octets in its data_coding, and lets the TLVs win
    local r = receipt_parse(text or "", dcs, dcs and check_charset(opts and opts.charset, 2), id, state)
    if r == nil then
        return nil, "not a delivery receipt"
    end
    return r
end

-- Message ids: SMSCs write the id of a receipt in another form than their
-- submit_sm_resp gave it: hex or decimal (submit_sm_resp "38601fa", receipt
-- "0059113978"), leading zeros, upper or lower case. The rule (in C, the
-- same for every caller):
--   the key of an id: lower case, no leading zeros ("0" for zeros only);
--   the keys of an id: its key, then, when it reads as hex (up to 16 hex
--   digits after its leading zeros) the decimal of that value, and when it
--   reads as decimal (digits only, below 2^64) the hex of that value, none
--   twice;
--   two ids are the same when the key of one is among the keys of the other
--   (that holds both ways round or neither).
-- So keeping a message under the key of its id and looking it up under each
-- of the keys of a receipt's id finds it exactly when same_id says so.

--- The keys of a message id: under the first a message is kept, under
-- each a receipt's id is looked for (see `same_id`).
-- @tparam string id a message id
-- @treturn {string,...} `{ key, [decimal form], [hex form] }`: `id_keys("38601FA")`
--   is `{ "38601fa", "59113978" }`, `id_keys("0059113978")` is
--   `{ "59113978", "1494301048", "38601fa" }`, `id_keys("9")` is `{ "9" }`
-- @raise when id is not a string
function _M.id_keys(id)
    if type(id) ~= "string" then
        argerror(1, "id_keys", "id", "a string", id)
    end
    return { receipt_id_keys(id) }
end

--- Whether two message ids name the same message: equal ignoring case and
-- leading zeros, or one in hex and the other in decimal of the same 64-bit
-- value (submit_sm_resp "38601fa", receipt "0059113978").
-- @tparam string a a message id
-- @tparam string b another
-- @treturn boolean
-- @raise when either is not a string
function _M.same_id(a, b)
    if type(a) ~= "string" then
        argerror(1, "same_id", "a", "a string", a)
    end
    if type(b) ~= "string" then
        argerror(1, "same_id", "b", "a string", b)
    end
    return receipt_same_id(a, b)
end

--- Whether a stat word (any case) or a message_state number is final: the
-- SMSC will not try again (DELIVRD EXPIRED DELETED UNDELIV ACCEPTD REJECTD).
-- @tparam string|number stat a stat word or a message_state
-- @treturn boolean
-- @raise when stat is neither
function _M.final(stat)
    if type(stat) == "number" then
        stat = STATE_NAMES[stat]
    elseif type(stat) == "string" then
        stat = upper(stat)
    else
        argerror(1, "final", "stat", "a stat name or a message_state number", stat)
    end
    return FINAL[stat] == true
end

return _M
