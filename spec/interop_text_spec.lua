-- Interop of message text (smpp.text) with node-smpp (npm "smpp" 0.5.1,
-- spec/interop/), whose "message" filter turns short_message into a JS string
-- by data_coding and back (lib/defs.js: GSM 03.38 for 0, Latin-1 for 3,
-- UTF-16BE for 8, and {udh, message} when the UDHI bit is set).
--
--  A. our text: smpp.text.encode / smpp.text.split, smpp.pdu.encode'd in a
--     submit_sm, read by node-smpp's PDU.fromBuffer, gives the characters we
--     started from (the UDH information elements too, for long messages);
--  B. node-smpp's text: a submit_sm / deliver_sm that node-smpp writes from a
--     JS string with data_coding 0, 3 or 8 (and {udh, message} parts), read by
--     smpp.pdu.decode + smpp.text.decode (+ smpp.text.joiner), gives them too;
--     and both sides write the same octets.
--
-- Texts travel to and from node as the hex of their UTF-8, so no escaping
-- can hide a difference. node-smpp runs as spec/interop/codec.js (ops
-- "decode_text" and "encode_text"), one process per test.
--
-- node-smpp's quirks, tested on their own at the end (where it departs from
-- SMPP 3.4 section 5.2.19 or 3GPP 23.038 the test shows what node does):
--
--  1. Given no data_coding, node-smpp picks one itself, and for text that
--     fits GSM 03.38 it writes the GSM octets with data_coding 1, which SMPP
--     3.4 says is IA5 (ASCII): read as IA5, "@£$" are control characters.
--  2. The other way round, it reads data_coding 1 as GSM 03.38: IA5 text from
--     us ("a_b@c") comes out with "_" as "§" and "@" as "¡".
--  3. Its GSM encoder means to write a space for a character outside GSM
--     03.38 and its extension table, but pushes the string '\x20' into the
--     array it makes a Buffer of, which gives 0x00: "ç" and "Ж" become "@",
--     with no error (its Latin-1 encoder writes "?"). We refuse such text.
--  4. Its GSM decoder keeps an escape it does not know (1B 41) as the ESC
--     character plus "A"; 23.038 section 6.2.1.1 says to show the default
--     alphabet's character ("A"), as we do.
--  5. It takes the alphabet from data_coding & 0x0F, the SMPP 3.4 values,
--     and ignores the 23.038 coding groups: 0xF3 (GSM 7-bit, class 3) is read
--     as Latin-1 ("@" becomes NUL, "£" U+0001), and 0x19 (UCS-2, class 1) is
--     not read at all (a Buffer is left).
local pdu = require "smpp.pdu"
local text = require "smpp.text"
local support = require "interop_support"

local format, concat = string.format, table.concat

-- ---- spec/interop and the node process (spec/interop_support.lua) ---------

local INTEROP = support.INTEROP
local q, need_node = support.q, support.need_node
local hex, unhex = support.hex, support.unhex
local json_decode, json_encode = support.json_decode, support.json_encode

-- Runs codec.js over a list of requests (tables), returns its answers; an
-- answer that is an error raises.
local function node(requests)
    need_node()
    local input, errfile = os.tmpname(), os.tmpname()
    local f = assert(io.open(input, "wb"))
    for _, r in ipairs(requests) do f:write(json_encode(r), "\n") end
    f:close()
    local p = assert(io.popen("node " .. q(INTEROP .. "/codec.js") .. " < " .. q(input) .. " 2> " .. q(errfile)))
    local out = p:read("*a")
    p:close()
    local e = io.open(errfile)
    local stderr = e and e:read("*a") or ""
    if e then e:close() end
    os.remove(input)
    os.remove(errfile)
    local answers = {}
    for line in out:gmatch("[^\n]+") do
        local a = json_decode(line)
        if a.error then error("interop: node-smpp failed: " .. a.error, 0) end
        answers[#answers + 1] = a
    end
    if #answers ~= #requests then
        error(format("interop: codec.js gave %d answers to %d requests; stderr: %s", #answers, #requests, stderr), 0)
    end
    return answers
end

-- ---- PDUs --------------------------------------------------------------------

local function sm(command, extra)
    local t = {
        command = command, command_status = 0, sequence_number = 1,
        service_type = "", source_addr_ton = 1, source_addr_npi = 1, source_addr = "447700900123",
        dest_addr_ton = 1, dest_addr_npi = 1, destination_addr = "447700900456",
        esm_class = 0, protocol_id = 0, priority_flag = 0, schedule_delivery_time = "",
        validity_period = "", registered_delivery = 0, replace_if_present_flag = 0,
        data_coding = 0, sm_default_msg_id = 0, short_message = "",
    }
    for k, v in pairs(extra or {}) do t[k] = v end
    return t
end

-- node-smpp reads our PDU through its text filter: its decode_text answer.
local function node_reads(t)
    return node({ { op = "decode_text", hex = hex(pdu.encode(t)) } })[1].pdu
end

-- node-smpp writes a PDU from a JS string: the request (fields but
-- short_message; data_coding = false leaves it to node-smpp).
local function encode_text_request(command, utf8, data_coding, extra, udh)
    local fields = {}
    for k, v in pairs(sm(command, extra)) do
        if k ~= "short_message" then fields[k] = (k == "command" or type(v) ~= "string") and v or hex(v) end
    end
    fields.data_coding = data_coding or nil
    return { op = "encode_text", pdu = fields, text = hex(utf8), udh = udh and hex(udh) or nil }
end

-- our decode of node's octets, which must succeed
local function decode(h)
    local p, err = pdu.decode(unhex(h))
    assert(p, err)
    return p
end

-- ---- the texts ---------------------------------------------------------------

local GSM = "@£$¥€[]~^{}\\| ΔΦΓΛΩΠΨΣΘΞ èéùìòÇØøÅåÆæßÉÄÖÑÜ§¿äöñüà¡ #¤%&'()*+,-./:;<=>?_\"!\r\nEnd"
-- the extension table alone (23.038 section 6.2.1.1), escapes back to back
local GSM_EXT = "€[]~^{}\\|\f"
local LATIN1 = "Ça coûte 5 ¤ déjà, «très» cher ! ©®±µ¶·¿×÷ÿ"
local UCS2 = "Привет 😀 👍🏽 — 中文 𝄞 ĳ"

-- Three parts of 153 septets: 152 septets, then "€" (ESC 0x65) at septets
-- 153/154, which the splitter must keep together by closing part 1 one
-- septet early.
local LONG_GSM = ("0123456789"):rep(15) .. "ab" .. "€ costs {5} [GSM] ~ ^ \\ | ΔΦΓΛΩΠΨΣΘΞ @£$¥ "
    .. ("Hello {world}, this is a long GSM 03.38 message. "):rep(3)
-- Two parts of 67 UTF-16 units: 66 units, then 😀 (a surrogate pair) at
-- units 67/68, which the splitter must keep together.
local LONG_UCS2 = ("я"):rep(66) .. "😀 " .. ("Привет мир 👍🏽 "):rep(3)

local cases = {
    { "GSM 7-bit with the extension table and Greek capitals", GSM, "gsm7", 0 },
    { "GSM 7-bit extension characters back to back", GSM_EXT, "gsm7", 0 },
    { "Latin-1", LATIN1, "latin1", 3 },
    { "UCS-2 with characters outside the BMP", UCS2, "ucs2", 8 },
}

local function udh_ie(ref, total, seq) -- concatenation IE as node-smpp lists it
    return format("0003%02x%02x%02x", ref, total, seq)
end

describe("text interop with node-smpp", function()
    it("finds node and node-smpp in spec/interop", function()
        need_node()
        local a = node({ encode_text_request("submit_sm", "@", 0) })
        assert.matches("0000000100$", a[1].hex) -- sm_length 1, GSM "@" is 0x00
    end)

    it("has the texts right (our own round trip)", function()
        for _, c in ipairs(cases) do
            local octets, dcs, encoding = text.encode(c[2], c[3])
            assert.are.equal(c[4], dcs)
            assert.are.equal(c[3], encoding)
            assert.are.equal(hex(c[2]), hex(text.decode(octets, dcs)))
        end
        -- auto picks the same, but for Latin-1 (default account alphabet is GSM)
        assert.are.equal(0, select(2, text.encode(GSM)))
        assert.are.equal(8, select(2, text.encode(UCS2)))
        assert.are.equal(3, select(2, text.encode(LATIN1, "auto", { charset = "latin1" })))
    end)

    describe("A: our text read by node-smpp", function()
        for _, c in ipairs(cases) do
            local name, utf8, encoding, dcs = c[1], c[2], c[3], c[4]
            it(name .. " (data_coding " .. dcs .. ")", function()
                local octets = assert(text.encode(utf8, encoding))
                local n = node_reads(sm("submit_sm", { data_coding = dcs, short_message = octets }))
                assert.are.equal("submit_sm", n.command)
                assert.are.equal(dcs, n.data_coding)
                assert.is_nil(n.short_message.udh)
                assert.are.equal(hex(utf8), n.short_message.message)
            end)
        end

        it("Latin-1 as data_coding 0 on an account whose default alphabet is Latin-1", function()
            -- data_coding 0 means the SMSC default; node-smpp's is GSM 03.38,
            -- so it must be told data_coding 3 for Latin-1: that is what we write.
            local octets, dcs = text.encode(LATIN1, "auto", { charset = "latin1" })
            assert.are.equal(3, dcs)
            local n = node_reads(sm("submit_sm", { data_coding = dcs, short_message = octets }))
            assert.are.equal(hex(LATIN1), n.short_message.message)
        end)

        local function long(utf8, encoding, dcs, first_units, unit)
            local parts = assert(text.split(utf8, { encoding = encoding, ref = 0xA7 }))
            local requests = {}
            for i, p in ipairs(parts) do
                requests[i] = { op = "decode_text", hex = hex(pdu.encode(sm("submit_sm", {
                    sequence_number = i, esm_class = p.esm_class, data_coding = p.data_coding,
                    short_message = p.short_message })))
                }
            end
            local answers = node(requests)
            local joined = {}
            for i, a in ipairs(answers) do
                local n = a.pdu
                assert.are.equal(dcs, n.data_coding)
                assert.are.equal(0x40, n.esm_class)
                assert.are.same({ udh_ie(0xA7, #parts, i) }, n.short_message.udh)
                joined[i] = unhex(n.short_message.message)
                -- each part is whole text on its own: nothing cut in two
                assert.are.equal(hex(text.decode(parts[i].short_message:sub(7), dcs)), n.short_message.message)
            end
            assert.are.equal(hex(utf8), hex(concat(joined)))
            -- the first part was closed early, before the escape / surrogate pair
            assert.are.equal(6 + first_units * unit, #parts[1].short_message)
            return parts, joined
        end

        it("a long GSM text split into 3 UDH parts; node reads each part's udh and message", function()
            local parts, joined = long(LONG_GSM, "gsm7", 0, 152, 1)
            assert.are.equal(3, #parts)
            assert.are.equal(("0123456789"):rep(15) .. "ab", joined[1])
            assert.are.equal("€ costs {5}", joined[2]:sub(1, #"€ costs {5}"))
        end)

        it("a long UCS-2 text split into 2 UDH parts, no surrogate pair cut", function()
            local parts, joined = long(LONG_UCS2, "ucs2", 8, 66, 2)
            assert.are.equal(2, #parts)
            assert.are.equal(("я"):rep(66), joined[1])
            assert.are.equal("😀 ", joined[2]:sub(1, #"😀 "))
        end)
    end)

    describe("B: node-smpp's text read by us", function()
        for _, command in ipairs({ "submit_sm", "deliver_sm" }) do
            for _, c in ipairs(cases) do
                local name, utf8, encoding, dcs = c[1], c[2], c[3], c[4]
                it(command .. ", " .. name .. " (data_coding " .. dcs .. ")", function()
                    local a = node({ encode_text_request(command, utf8, dcs) })
                    local p = decode(a[1].hex)
                    assert.are.equal(command, p.command)
                    assert.are.equal(dcs, p.data_coding)
                    assert.are.equal(hex(utf8), hex(text.decode(p.short_message, p.data_coding)))
                    -- and node-smpp wrote the very octets we write
                    assert.are.equal(hex(assert(text.encode(utf8, encoding))), hex(p.short_message))
                end)
            end
        end

        local function long(utf8, encoding, dcs)
            -- node-smpp writes our parts' text with our UDH: {udh, message}
            local parts = assert(text.split(utf8, { encoding = encoding, ref = 0x3C }))
            local requests = {}
            for i, part in ipairs(parts) do
                local piece = text.decode(part.short_message:sub(7), dcs)
                requests[i] = encode_text_request("deliver_sm", piece, dcs, { sequence_number = i },
                    part.short_message:sub(1, 6))
            end
            local answers = node(requests)
            local joiner = text.joiner()
            local whole
            for i, a in ipairs(answers) do
                local p = decode(a.hex)
                assert.are.equal(0x40, p.esm_class) -- node-smpp sets UDHI itself
                assert.are.equal(dcs, p.data_coding)
                assert.are.equal(hex(parts[i].short_message), hex(p.short_message))
                local m = joiner:add(p)
                if i < #answers then assert.is_nil(m) else whole = m end
            end
            assert.is_table(whole)
            assert.is_true(whole.complete)
            assert.are.equal(#parts, whole.parts)
            assert.are.equal(hex(utf8), hex(text.decode(whole.payload, whole.data_coding)))
            return parts
        end

        it("a long GSM text as 3 UDH deliver_sm parts, joined by smpp.text.joiner", function()
            assert.are.equal(3, #long(LONG_GSM, "gsm7", 0))
        end)

        it("a long UCS-2 text as 2 UDH deliver_sm parts, joined by smpp.text.joiner", function()
            assert.are.equal(2, #long(LONG_UCS2, "ucs2", 8))
        end)
    end)

    describe("node-smpp quirks", function()
        it("1: without data_coding, writes GSM 03.38 octets as data_coding 1 (IA5)", function()
            local a = node({
                encode_text_request("submit_sm", "@£$ é_", false),
                encode_text_request("submit_sm", LATIN1, false),
                encode_text_request("submit_sm", UCS2, false),
            })
            local p = decode(a[1].hex)
            assert.are.equal(1, p.data_coding)
            assert.are.equal("000102200511", hex(p.short_message)) -- GSM 03.38 septets
            -- read as SMPP 3.4 says (IA5), they are control characters
            assert.are.equal("000102200511", hex(text.decode(p.short_message, p.data_coding)))
            -- they are GSM 03.38 text, data_coding 0, in fact
            assert.are.equal("@£$ é_", text.decode(p.short_message, 0))
            -- what is not GSM it labels right: Latin-1 3, UCS-2 8
            p = decode(a[2].hex)
            assert.are.equal(3, p.data_coding)
            assert.are.equal(LATIN1, text.decode(p.short_message, p.data_coding))
            p = decode(a[3].hex)
            assert.are.equal(8, p.data_coding)
            assert.are.equal(UCS2, text.decode(p.short_message, p.data_coding))
        end)

        it("2: reads data_coding 1 (IA5) as GSM 03.38", function()
            local octets, dcs = text.encode("a_b@c.com", "ascii")
            assert.are.equal(1, dcs)
            assert.are.equal("a_b@c.com", octets)
            local n = node_reads(sm("submit_sm", { data_coding = dcs, short_message = octets }))
            assert.are.equal(1, n.data_coding)
            assert.are.equal(hex("a§b¡c.com"), n.short_message.message)
        end)

        it("3: writes '@' (GSM) or '?' (Latin-1) for what it cannot encode, silently", function()
            local a = node({
                encode_text_request("submit_sm", "ç=Ж", 0),
                encode_text_request("submit_sm", "€ Ж", 3),
            })
            local p = decode(a[1].hex)
            assert.are.equal(0, p.data_coding)
            assert.are.equal("003d00", hex(p.short_message))
            assert.are.equal("@=@", text.decode(p.short_message, 0))
            p = decode(a[2].hex)
            assert.are.equal(3, p.data_coding)
            assert.are.equal("3f203f", hex(p.short_message))
            -- we refuse such text rather than change it
            assert.is_nil((text.encode("ç=Ж", "gsm7")))
            assert.is_nil((text.encode("€ Ж", "latin1")))
        end)

        it("4: keeps an unknown GSM escape as ESC + the character (23.038: the character)", function()
            local t = sm("deliver_sm", { data_coding = 0, short_message = "\27\65\27\101" }) -- ESC A, ESC e
            local n = node_reads(t)
            assert.are.equal(hex("\27A€"), n.short_message.message)
            assert.are.equal(hex("A€"), hex(text.decode(t.short_message, 0)))
        end)

        it("5: takes data_coding & 0x0F, ignoring the 23.038 coding groups", function()
            local gsm = assert(text.encode("£5 @ home", "gsm7"))
            local ucs2 = assert(text.encode("Привет 😀", "ucs2"))
            local answers = node({
                { op = "decode_text",
                  hex = hex(pdu.encode(sm("deliver_sm", { data_coding = 0xF3, short_message = gsm }))) },
                { op = "decode_text",
                  hex = hex(pdu.encode(sm("deliver_sm", { data_coding = 0x19, short_message = ucs2 }))) },
            })
            -- 0xF3: GSM 7-bit, class 3; node-smpp reads Latin-1
            assert.are.equal(hex("\1" .. "5 \0 home"), answers[1].pdu.short_message.message)
            local s, _, class = text.decode(gsm, 0xF3)
            assert.are.equal("£5 @ home", s)
            assert.are.equal(3, class)
            -- 0x19: UCS-2, class 1; node-smpp leaves the octets
            assert.are.same({ octets = hex(ucs2) }, answers[2].pdu.short_message.message)
            s, _, class = text.decode(ucs2, 0x19)
            assert.are.equal("Привет 😀", s)
            assert.are.equal(1, class)
        end)
    end)
end)
