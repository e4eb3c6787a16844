-- smpp.text: alphabets, data_coding, splitting long messages and joining them.
local smpp = require "smpp"
local text = smpp.text
local core = require "smpp.core"

local function hex(s)
    return (s:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

describe("text.encode and text.decode", function()
    it("writes GSM text as one septet per octet with data_coding 0", function()
        local octets, dcs, enc = text.encode("@£$¥ hello", "gsm7")
        assert.are.equal("0001020320", hex(octets:sub(1, 5)))
        assert.are.equal(0, dcs)
        assert.are.equal("gsm7", enc)
        assert.are.equal("@£$¥ hello", text.decode(octets, 0))
    end)
    it("writes the extension table as escape sequences and reads them back", function()
        local s = "^{}\\[~]|€\f"
        local octets = text.encode(s, "gsm7")
        assert.are.equal("1b141b281b291b2f1b3c1b3d1b3e1b401b651b0a", hex(octets))
        assert.are.equal(s, text.decode(octets, 0))
    end)
    it("never turns '@' into NUL text or '$' into '¤'", function()
        assert.are.equal("@$", text.decode("\0\2", 0))
        assert.are.equal("¤", text.decode("\36", 0))
    end)
    it("refuses text GSM cannot carry in strict mode, naming the character", function()
        local o, err, code = text.encode("ok 😀", "gsm7")
        assert.is_nil(o)
        assert.are.equal("text", code)
        assert.matches("'😀' at octet 4 cannot be written in gsm7", err, 1, true)
    end)
    it("substitutes when asked", function()
        local o = assert(text.encode("“Bâ”", "gsm7", { substitute = true }))
        assert.is_nil(text.decode(o, 0):find("[“”â]"))
    end)
    it("refuses invalid UTF-8 in every encoding", function()
        for _, enc in ipairs{ "gsm7", "latin1", "ucs2", "ascii", "cyrillic" } do
            local o, err = text.encode("ab\255", enc)
            assert.is_nil(o, enc)
            assert.matches("invalid UTF-8 at octet 3", err, 1, true)
        end
        assert.is_nil((text.encode("\237\160\128", "ucs2"))) -- a surrogate in UTF-8
        assert.is_nil((text.encode("\192\128", "latin1")))   -- an overlong NUL
    end)
    it("writes Latin-1 with data_coding 3", function()
        local o, dcs = text.encode("Ça coûte 5 €?", "latin1", { substitute = true })
        assert.are.equal(3, dcs)
        assert.are.equal("\199a co\251te 5 ??", o)
        assert.are.equal("Ça coûte", text.decode("\199a co\251te", 3))
    end)
    it("reads every octet of IA5, Latin-1 and binary texts, in runs of ASCII and not", function()
        local octets, latin1, ia5 = {}, {}, {}
        for i = 0, 1023 do
            local c = (i * 37) % 256
            octets[#octets + 1] = string.char(c)
            latin1[#latin1 + 1] = c < 0x80 and string.char(c) or string.char(0xC0 + math.floor(c / 64), 0x80 + c % 64)
            ia5[#ia5 + 1] = c < 0x80 and string.char(c) or "�"
        end
        octets = table.concat(octets)
        assert.are.equal(table.concat(latin1), text.decode(octets, 3))
        assert.are.equal(table.concat(ia5), text.decode(octets, 1))
        assert.are.equal("", text.decode("", 3))
    end)
    it("writes UCS-2 as UTF-16BE with surrogate pairs, data_coding 8", function()
        local o, dcs = text.encode("Hi 😀", "ucs2")
        assert.are.equal(8, dcs)
        assert.are.equal("0048006900 20d83dde00", hex(o):sub(1, 10) .. " " .. hex(o):sub(11))
        assert.are.equal("Hi 😀", text.decode(o, 8))
    end)
    it("reads a broken UCS-2 stream with replacement characters, not garbage", function()
        assert.are.equal("A�", text.decode("\0A\216\61", 8)) -- a lone high surrogate
        assert.are.equal("A�", text.decode("\0A\0", 8))      -- an odd octet
    end)
    it("writes IA5/ASCII with data_coding 1 and binary as it is", function()
        assert.are.same({ "plain", 1, "ascii" }, { text.encode("plain", "ascii") })
        assert.is_nil((text.encode("é", "ascii")))
        local o, dcs = text.encode("\1\2\3", "binary")
        assert.are.equal("\1\2\3", o)
        assert.are.equal(4, dcs)
    end)
    it("converts the national alphabets through iconv", function()
        local o, dcs = text.encode("Привет", "cyrillic")
        assert.are.equal(6, dcs)
        assert.are.equal(6, #o)
        assert.are.equal("Привет", text.decode(o, 6))
        assert.are.equal("שלום", text.decode(assert(text.encode("שלום", "hebrew")), 7))
        assert.are.equal("日本", text.decode(assert(text.encode("日本", "jis")), 5))
        assert.are.equal("한국", text.decode(assert(text.encode("한국", "ksc5601")), 14))
    end)
    it("uses the account charset for data_coding 0", function()
        assert.are.equal("é", text.decode("\233", 0, { charset = "latin1" }))
        assert.are.equal("è", text.decode("\4", 0, { charset = "gsm7" }))
        assert.has_error(function() text.decode("x", 0, { charset = "utf8" }) end)
        assert.has_error(function() text.encode("x", "gsm7", { charset = "latin1" }) end)
    end)
    it("reads every data_coding value to the right alphabet", function()
        local want = {
            [0x00] = "gsm7", [0x01] = "ascii", [0x02] = "binary", [0x03] = "latin1", [0x04] = "binary",
            [0x05] = "jis", [0x06] = "cyrillic", [0x07] = "hebrew", [0x08] = "ucs2", [0x09] = "binary",
            [0x0A] = "iso2022jp", [0x0D] = "kanji", [0x0E] = "ksc5601",
            [0x10] = "gsm7", [0x11] = "gsm7", [0x14] = "binary", [0x18] = "ucs2", [0x19] = "ucs2",
            [0x24] = "binary", [0x40] = "gsm7", [0x48] = "ucs2", [0xC0] = "gsm7", [0xD8] = "gsm7",
            [0xE0] = "ucs2", [0xF0] = "gsm7", [0xF1] = "gsm7", [0xF4] = "binary", [0xF7] = "binary",
            [0x80] = "binary", [0xBF] = "binary",
        }
        for dcs, alphabet in pairs(want) do
            assert.are.equal(alphabet, (core.text_alphabet(dcs, "gsm7")), ("dcs 0x%02X"):format(dcs))
        end
        assert.are.same({ "gsm7", 1 }, { core.text_alphabet(0xF1, "gsm7") })
        assert.are.same({ "ucs2", 0 }, { core.text_alphabet(0x18, "gsm7") })
        assert.are.equal("latin1", (core.text_alphabet(0, "latin1")))
    end)
    it("picks the most compact lossless encoding for auto", function()
        assert.are.equal("gsm7", select(3, text.encode("Price: 5€ [x]")))
        assert.are.equal("ucs2", select(3, text.encode("Привет")))
        assert.are.equal("latin1", select(3, text.encode("Ça coûte", "auto", { charset = "latin1" })))
        assert.are.equal("ucs2", select(3, text.encode("5 €", "auto", { charset = "latin1" })))
    end)
end)

describe("text.count", function()
    it("counts septets, with escapes as two", function()
        assert.are.same({ parts = 1, encoding = "gsm7", data_coding = 0, units = 160, per_part = 160 },
            text.count(("a"):rep(140) .. ("€"):rep(10)))
        assert.are.equal(2, text.count(("a"):rep(141) .. ("€"):rep(10)).parts)
    end)
    it("counts UTF-16 units for UCS-2", function()
        local info = text.count(("Ж"):rep(70))
        assert.are.same({ 1, "ucs2", 70 }, { info.parts, info.encoding, info.units })
        assert.are.equal(2, text.count(("Ж"):rep(71)).parts)
        assert.are.equal(2, text.count("😀").units)
    end)
end)

local function join_parts(parts)
    local out = {}
    for i, p in ipairs(parts) do
        local sm = p.short_message
        if p.esm_class == 0x40 then
            sm = sm:sub(sm:byte(1) + 2)
        end
        out[i] = sm
    end
    return table.concat(out)
end

describe("text.split", function()
    it("keeps 160 GSM characters in one part and splits 161 into 153 + 8", function()
        local one = assert(text.split(("x"):rep(160)))
        assert.are.equal(1, #one)
        assert.are.equal(0, one[1].esm_class)
        local two = assert(text.split(("x"):rep(161), { ref = 7 }))
        assert.are.equal(2, #two)
        assert.are.equal("050003070201", hex(two[1].short_message:sub(1, 6)))
        assert.are.equal(6 + 153, #two[1].short_message)
        assert.are.equal(6 + 8, #two[2].short_message)
        assert.are.equal(0x40, two[1].esm_class)
    end)
    it("never cuts an escape sequence in half at a part boundary", function()
        for shift = 0, 3 do
            local s = ("a"):rep(152 - shift) .. ("€"):rep(5) .. ("b"):rep(150)
            local parts = assert(text.split(s))
            for _, p in ipairs(parts) do
                assert.are_not.equal(0x1B, p.short_message:byte(-1))
            end
            assert.are.equal(s, text.decode(join_parts(parts), 0))
        end
    end)
    it("keeps 70 UCS-2 units in one part and splits 71 into 67 + 4", function()
        assert.are.equal(1, #text.split(("Ж"):rep(70)))
        local parts = text.split(("Ж"):rep(71))
        assert.are.equal(2, #parts)
        assert.are.equal(6 + 134, #parts[1].short_message)
        assert.are.equal(8, parts[1].data_coding)
    end)
    it("never cuts a surrogate pair in half", function()
        for shift = 0, 2 do
            local s = ("Ж"):rep(66 - shift) .. ("😀"):rep(10)
            local parts = assert(text.split(s))
            for _, p in ipairs(parts) do
                local hi = p.short_message:byte(-2)
                assert.is_false(hi >= 0xD8 and hi <= 0xDB)
            end
            assert.are.equal(s, text.decode(join_parts(parts), 8))
        end
    end)
    it("writes the 16-bit reference UDH (IEI 0x08)", function()
        local parts = assert(text.split(("y"):rep(200), { concat = "udh16", ref = 0x1234 }))
        assert.are.equal("0608041234020" .. "1", hex(parts[1].short_message:sub(1, 7)))
        assert.are.equal(7 + 152, #parts[1].short_message)
    end)
    it("uses SAR TLVs when asked", function()
        local parts = assert(text.split(("z"):rep(300), { concat = "sar", ref = 9 }))
        assert.are.equal(2, #parts)
        assert.are.same({ 9, 2, 1, 0, 160 }, { parts[1].sar_msg_ref_num, parts[1].sar_total_segments,
            parts[1].sar_segment_seqnum, parts[1].esm_class, #parts[1].short_message })
    end)
    it("puts the whole text in message_payload when asked", function()
        local parts = assert(text.split(("z"):rep(1000), { concat = "payload" }))
        assert.are.equal(1, #parts)
        assert.are.equal(1000, #parts[1].message_payload)
        assert.are.equal("", parts[1].short_message)
    end)
    it("refuses more than 255 parts before anything is sent", function()
        local parts, err = text.split(("x"):rep(153 * 255 + 1))
        assert.is_nil(parts)
        assert.matches("256 parts, at most 255", err)
        assert.are.equal(255, #text.split(("x"):rep(153 * 255)))
    end)
    it("counts reference numbers up per destination and wraps them", function()
        local a1 = text.next_ref("447700900001", 8)
        local b1 = text.next_ref("447700900002", 8)
        assert.are.equal((a1 + 1) % 256, text.next_ref("447700900001", 8))
        assert.are.equal((b1 + 1) % 256, text.next_ref("447700900002", 8))
        local last
        for _ = 1, 300 do last = text.next_ref("wrap", 8) end
        assert.are.equal(300 % 256, last)
        local p1 = text.split(("x"):rep(200), { to = "4477" })
        local p2 = text.split(("x"):rep(200), { to = "4477" })
        assert.are.equal((p1[1].short_message:byte(4) + 1) % 256, p2[1].short_message:byte(4))
    end)
    it("produces parts the codec accepts", function()
        for _, p in ipairs(text.split(("€x"):rep(300), { to = "1" })) do
            p.command, p.destination_addr = "submit_sm", "1"
            assert.is_string(smpp.pdu.encode(p))
        end
    end)
end)

describe("text.joiner", function()
    -- (spec/joiner_spec.lua goes through every case; these are the basics)
    local function parts_of(s, opts)
        local list = assert(text.split(s, opts))
        for _, p in ipairs(list) do
            p.source_addr, p.destination_addr = opts.from or "447700900123", "12345"
        end
        return list
    end

    it("joins parts that arrive out of order, and keeps them until the message is handled", function()
        local j = text.joiner()
        local s = ("Hello world! "):rep(30)
        local parts = parts_of(s, { ref = 1 })
        assert.are.same({ nil, "held" }, { j:add(parts[3], 0) })
        assert.are.same({ nil, "held" }, { j:add(parts[1], 0) })
        local msg, kind = j:add(parts[2], 0)
        assert.are.equal("whole", kind)
        assert.is_true(msg.complete)
        assert.is_nil(msg.partial)
        assert.are.equal(s, text.decode(msg.payload, msg.data_coding))
        assert.are.equal(1, (j:pending_count()))
        assert.is_true(j:handled(msg, 0))
        assert.are.equal(0, (j:pending_count()))
        assert.are.same({ nil, "again" }, { j:add(parts[2], 1) }) -- delivered again: only answered
    end)
    it("counts a repeated part once", function()
        local j = text.joiner()
        local parts = parts_of(("a"):rep(200), { ref = 2 })
        assert.are.equal("held", select(2, j:add(parts[1], 0)))
        assert.are.equal("again", select(2, j:add(parts[1], 0)))
        assert.are.equal(("a"):rep(200), j:add(parts[2], 0).payload)
    end)
    it("keeps interleaved messages from many senders apart", function()
        local j = text.joiner()
        local a = parts_of(("A"):rep(200), { ref = 5, from = "1111" })
        local b = parts_of(("B"):rep(200), { ref = 5, from = "2222" })
        assert.is_nil(j:add(a[1], 0))
        assert.is_nil(j:add(b[2], 0))
        assert.are.equal(("A"):rep(200), j:add(a[2], 0).payload)
        assert.are.equal(("B"):rep(200), j:add(b[1], 0).payload)
    end)
    it("joins SAR and 16-bit UDH parts, and lets single messages through", function()
        local j = text.joiner()
        local sar = parts_of(("s"):rep(300), { concat = "sar", ref = 77 })
        assert.is_nil(j:add(sar[2], 0))
        assert.are.equal(("s"):rep(300), j:add(sar[1], 0).payload)
        local u16 = parts_of(("u"):rep(300), { concat = "udh16", ref = 4000 })
        assert.is_nil(j:add(u16[1], 0))
        assert.are.equal(("u"):rep(300), j:add(u16[2], 0).payload)
        local single, kind = j:add({ source_addr = "1", destination_addr = "2", short_message = "hi", esm_class = 0 })
        assert.are.same({ "hi", 1, true, "single" }, { single.payload, single.parts, single.complete, kind })
    end)
    it("releases a message whose part never comes after the timeout, partial", function()
        local j = text.joiner{ timeout = 30 }
        local parts = parts_of(("c"):rep(400), { ref = 3 })
        j:add(parts[1], 100)
        j:add(parts[3], 110)
        assert.are.equal(130, j:next_expiry())
        assert.are.same({}, j:expire(129))
        local out = j:expire(130)
        assert.are.equal(1, #out)
        assert.is_true(out[1].partial)
        assert.is_false(out[1].complete)
        assert.are.same({ 2 }, out[1].missing)
        assert.are.equal(153 + #parts[3].short_message - 6, #out[1].payload)
        assert.is_nil(j:next_expiry())
    end)
    it("bounds its memory by max_bytes, whatever senders do, releasing the oldest partial", function()
        local j = text.joiner{ max_bytes = 1000 }
        local released_total = 0
        for i = 1, 50 do
            local p = parts_of(("m"):rep(300), { ref = i % 256, from = tostring(i) })
            local _, _, released = j:add(p[1], i)
            for _, m in ipairs(released or {}) do
                assert.are.same({ true, { 2 } }, { m.partial, m.missing })
                released_total = released_total + 1
            end
            local _, bytes = j:pending_count()
            assert.is_true(bytes <= 1000)
        end
        assert.is_true(released_total >= 40)
    end)
end)

describe("the GSM 03.38 tables through the Lua API", function()
    local default = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\239\191\191ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
        .. "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
    it("reads every septet of the default table to its character and back", function()
        local i = 0
        for ch in default:gmatch("[%z\1-\127\194-\244][\128-\191]*") do
            if i ~= 0x1B then -- the escape is not a character
                local septet = string.char(i)
                assert.are.equal(ch, text.decode(septet, 0), ("septet 0x%02X"):format(i))
                assert.are.equal(septet, (text.encode(ch, "gsm7")), ch)
            end
            i = i + 1
        end
        assert.are.equal(128, i)
    end)
    it("reads every character of the extension table, and an unknown escape as its base character", function()
        local ext = { [0x0A] = "\f", [0x14] = "^", [0x28] = "{", [0x29] = "}", [0x2F] = "\\", [0x3C] = "[",
            [0x3D] = "~", [0x3E] = "]", [0x40] = "|", [0x65] = "€" }
        for code, ch in pairs(ext) do
            assert.are.equal(ch, text.decode("\27" .. string.char(code), 0))
            assert.are.equal("\27" .. string.char(code), (text.encode(ch, "gsm7")))
        end
        assert.are.equal("A", text.decode("\27A", 0))
    end)
    it("packs septets as 23.038 shows and unpacks them again", function()
        assert.are.equal("e8329bfd4697d9ec37", hex(core.gsm_pack(assert(text.encode("hellohello", "gsm7")))))
        for fill = 0, 6 do
            local septets = assert(text.encode(("Hi €[x] "):rep(9), "gsm7"))
            assert.are.equal(septets, core.gsm_unpack(core.gsm_pack(septets, fill), fill, #septets))
        end
    end)
end)
