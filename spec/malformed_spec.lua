-- Malformed input: every bad PDU gets nil, a message naming the problem, and
-- the command_status a peer should be answered with (3.4 section 5.1.3).
local smpp = require "smpp"
local u32 = require("support").u32
local decode = smpp.pdu.decode

-- PDUs are put together here by hand, independently of the encoder.
local function pdu(command_id, body, status, seq, length)
    return u32(length or 16 + #body, command_id, status or 0, seq or 42) .. body
end

local function z(s) return s .. "\0" end

-- A submit_sm body with overrides: fields in 3.4 section 4.4.1 order.
local function submit_body(o)
    o = o or {}
    return z(o.service_type or "") .. "\1\1" .. z(o.source_addr or "12345") .. "\1\1"
        .. z(o.destination_addr or "447700900123") .. "\0\0\0"
        .. z(o.schedule or "") .. z(o.validity or "") .. "\1\0\0\0"
        .. (o.sm or string.char(5) .. "hello") .. (o.tlvs or "")
end

local SUBMIT_SM, QUERY_SM, ENQUIRE_LINK, SUBMIT_MULTI = 4, 3, 0x15, 0x21

local cases = {
    { "a PDU shorter than the header", ("\0"):rep(15), 0x02, "shorter than the 16%-octet header" },
    { "command_length under 16", pdu(ENQUIRE_LINK, "", 0, 1, 12), 0x02, "under 16" },
    { "command_length that disagrees with the octets given", pdu(ENQUIRE_LINK, "", 0, 1, 17), 0x02,
      "command_length 17 but 16" },
    { "an unknown command_id", pdu(0x99, ""), 0x03, "0x00000099 is not an SMPP 3.4 command" },
    { "a reserved response command_id", pdu(0x8000000A, ""), 0x03, "not an SMPP 3.4 command" },
    { "sm_length past the end of the body", pdu(SUBMIT_SM, submit_body{ sm = string.char(200) .. "hello" }),
      0x01, "sm_length: 200 runs past" },
    { "sm_length over 254", pdu(SUBMIT_SM, submit_body{ sm = string.char(255) .. ("x"):rep(255) }), 0x01,
      "sm_length: 255, at most 254" },
    { "source_addr over its 21-octet maximum", pdu(SUBMIT_SM, submit_body{ source_addr = ("1"):rep(21) }),
      0x0A, "source_addr: 21 octets, at most 20" },
    { "destination_addr over its maximum", pdu(SUBMIT_SM, submit_body{ destination_addr = ("9"):rep(25) }),
      0x0B, "destination_addr: 25 octets" },
    { "service_type over its maximum", pdu(SUBMIT_SM, submit_body{ service_type = "ABCDEFG" }), 0x15,
      "service_type" },
    { "a C-Octet String with no NUL before the end", pdu(SUBMIT_SM, "\0\1\1" .. "12345"), 0x02,
      "source_addr: no NUL terminator" },
    { "a body that ends before a mandatory integer", pdu(SUBMIT_SM, "\0\1"), 0x02,
      "source_addr_npi: the PDU ends before" },
    { "a malformed schedule_delivery_time", pdu(SUBMIT_SM, submit_body{ schedule = "2401011200000001" }), 0x61,
      "schedule_delivery_time" },
    { "a schedule_delivery_time of the wrong size", pdu(SUBMIT_SM, submit_body{ schedule = "240101" }), 0x61,
      "is not an SMPP time" },
    { "a relative validity_period with nn other than 00", pdu(SUBMIT_SM, submit_body{ validity = "000001000000001R" }),
      0x62, "validity_period" },
    { "a body on enquire_link", pdu(ENQUIRE_LINK, "\0\0\0\0"), 0x02, "enquire_link: 4 octets after the last field" },
    { "trailing octets after query_sm", pdu(QUERY_SM, z("abc") .. "\1\1" .. z("123") .. "xx"), 0x02,
      "query_sm: 2 octets after" },
    { "message_id over its 65-octet maximum", pdu(QUERY_SM, z(("a"):rep(70)) .. "\1\1" .. z("123")), 0x0C,
      "message_id: 70 octets, at most 64" },
    { "a truncated TLV header", pdu(SUBMIT_SM, submit_body{ tlvs = "\2\4" }), 0xC0, "a TLV header takes 4" },
    { "a TLV length past the end of the PDU", pdu(SUBMIT_SM, submit_body{ tlvs = "\2\4\0\9\0\1" }), 0xC2,
      "0x0204: length 9 runs past" },
    { "a known TLV with the wrong size", pdu(SUBMIT_SM, submit_body{ tlvs = "\2\12\0\1\7" }), 0xC2,
      "sar_msg_ref_num: length 1 is not allowed" },
    { "a network_error_code TLV that is not 3 octets", pdu(SUBMIT_SM, submit_body{ tlvs = "\4\35\0\2\3\0" }),
      0xC2, "network_error_code" },
    { "submit_multi with no destinations",
      pdu(SUBMIT_MULTI, "\0\1\1" .. z("123") .. "\0" .. "\0\0\0\0\0\1\0\0\0\0"), 0x33,
      "number_of_dests: 0" },
    { "submit_multi with dest_flag 3", pdu(SUBMIT_MULTI, "\0\1\1" .. z("123") .. "\1\3\1\1" .. z("456")), 0x40,
      "dest_flag: 3" },
    { "a bind with a system_id over 15 characters", pdu(2, z(("s"):rep(16)) .. z("pw") .. z("") .. "\52\0\0" .. z("")),
      0x0F, "system_id: 16 octets" },
    { "a bind with a password over 8 characters", pdu(2, z("sys") .. z("123456789") .. z("") .. "\52\0\0" .. z("")),
      0x0E, "password: 9 octets" },
}

describe("decoding malformed input", function()
    for _, c in ipairs(cases) do
        local name, bytes, status, message = c[1], c[2], c[3], c[4]
        it(("answers %s with 0x%02X"):format(name, status), function()
            local p, err, st = decode(bytes)
            assert.is_nil(p)
            assert.are.equal(status, st)
            assert.is_truthy(err:find(message), ("message %q lacks %q"):format(err, message))
        end)
    end

    it("gives the header of a PDU it cannot decode, so a generic_nack can name it", function()
        local p, err, st, hdr = decode(pdu(0x99, "", 0, 77))
        assert.is_nil(p)
        assert.is_string(err)
        assert.are.equal(0x03, st)
        assert.are.equal(77, hdr.sequence_number)
        assert.are.equal(0x99, hdr.command_id)
        assert.is_nil(hdr.command)
    end)

    it("refuses a command_length over the configured maximum", function()
        local big = pdu(SUBMIT_SM, submit_body{ tlvs = "\4\36\0\100" .. ("x"):rep(100) })
        assert.is_table(decode(big))
        local p, err, st = decode(big, 100)
        assert.is_nil(p)
        assert.are.equal(0x02, st)
        assert.matches("over the limit of 100", err)
    end)

    it("accepts an error response without a body", function()
        local p = assert(decode(pdu(0x80000004, "", 0x58, 9)))
        assert.are.equal("submit_sm_resp", p.command)
        assert.are.equal(0x58, p.command_status)
        assert.is_nil(p.message_id)
    end)

    it("keeps the unreadable body of an error response instead of failing it", function()
        local p = assert(decode(pdu(0x80000004, "\1\2\3", 0x45, 9)))
        assert.are.equal(0x45, p.command_status)
        assert.are.equal("\1\2\3", p.body)
        assert.are.equal(pdu(0x80000004, "\1\2\3", 0x45, 9), smpp.pdu.encode(p))
    end)

    it("accepts a body on a bodiless response with a non-zero status", function()
        local p = assert(decode(pdu(0x80000000, "oops", 0x03, 5)))
        assert.are.equal("generic_nack", p.command)
        assert.are.equal("oops", p.body)
    end)

    it("accepts a receipted_message_id TLV sent without its NUL", function()
        local body = submit_body{ tlvs = "\0\30\0\3abc" }
        local p = assert(decode(pdu(5, body)))
        assert.are.equal("abc", p.receipted_message_id)
    end)

    it("refuses a receipted_message_id without a NUL that would not fit with one (0xC2)", function()
        -- found by fuzz/fuzz_decode: it decoded, but could not be encoded again
        local p, err, st = decode(pdu(0x80000004, "\0" .. "\0\30\0\65" .. ("a"):rep(65), 0, 1))
        assert.is_nil(p)
        assert.are.equal(0xC2, st)
        assert.matches("receipted_message_id: 65 octets without a NUL, at most 64", err)
        local ok = assert(decode(pdu(0x80000004, "\0" .. "\0\30\0\64" .. ("a"):rep(64), 0, 1)))
        assert.are.equal(("a"):rep(64), ok.receipted_message_id)
    end)

    it("never fails on any prefix or any single corrupted octet of a valid PDU", function()
        local good = pdu(SUBMIT_SM, submit_body{ tlvs = "\2\4\0\2\0\1\0\30\0\4abc\0" })
        for n = 0, #good - 1 do
            local p, err, st = decode(good:sub(1, n))
            assert.is_nil(p)
            assert.is_string(err)
            assert.is_number(st)
        end
        for i = 1, #good do
            for _, v in ipairs{ 0, 1, 0x7f, 0xff } do
                local bad = good:sub(1, i - 1) .. string.char(v) .. good:sub(i + 1)
                local p, err = decode(bad)
                assert.is_true(p ~= nil or type(err) == "string")
            end
        end
    end)
end)

describe("encoding bad values", function()
    local encode = smpp.pdu.encode
    local function fails(t, message)
        local ok, err = pcall(encode, t)
        assert.is_false(ok)
        assert.is_truthy(tostring(err):find(message, 1, true), ("%q lacks %q"):format(tostring(err), message))
    end

    it("names a missing mandatory field", function()
        fails({ command = "submit_sm" }, "destination_addr: required in submit_sm")
        fails({ command = "bind_transmitter" }, "system_id: required")
    end)
    it("names a field that is too long", function()
        fails({ command = "submit_sm", destination_addr = ("1"):rep(21) }, "destination_addr: 21 octets, at most 20")
        fails({ command = "submit_sm", destination_addr = "1", short_message = ("x"):rep(255) },
            "short_message: 255 octets, at most 254")
        fails({ command = "bind_transceiver", system_id = "abc", password = "123456789" }, "password: 9 octets")
    end)
    it("names a value of the wrong type", function()
        fails({ command = "submit_sm", destination_addr = {} }, "destination_addr must be a string, got table")
        fails({ command = "submit_sm", destination_addr = "1", esm_class = "x" }, "esm_class must be an integer")
        fails({ command = "submit_sm", destination_addr = "1", short_message = 5 }, "short_message must be a string")
    end)
    it("names an integer out of range", function()
        fails({ command = "submit_sm", destination_addr = "1", esm_class = 256 },
            "esm_class: 256 is out of range 0-255")
        fails({ command = "submit_sm", destination_addr = "1", sar_msg_ref_num = 70000 }, "sar_msg_ref_num: 70000")
        fails({ command = "submit_sm", destination_addr = "1", sequence_number = -1 }, "sequence_number: -1")
    end)
    it("names an unknown field and a field of another command", function()
        fails({ command = "submit_sm", destination_addr = "1", destination = "2" }, "unknown field destination")
        fails({ command = "submit_sm", destination_addr = "1", password = "x" }, "password is not a field of submit_sm")
    end)
    it("refuses an unknown command", function()
        fails({ command = "submit_ms" }, "command: submit_ms is not an SMPP 3.4 command")
        fails({ destination_addr = "1" }, "command: (missing)")
    end)
    it("refuses a NUL inside a C-Octet String", function()
        fails({ command = "submit_sm", destination_addr = "12\0003" }, "destination_addr: contains a NUL octet")
    end)
    it("refuses a malformed SMPP time", function()
        fails({ command = "submit_sm", destination_addr = "1", validity_period = "tomorrow" },
            "validity_period: \"tomorrow\" is not an SMPP time")
    end)
    it("refuses optional parameters on a PDU that takes none", function()
        fails({ command = "query_sm", message_id = "1", sar_msg_ref_num = 1 }, "query_sm: takes no optional parameters")
    end)
    it("refuses a submit_multi with too many destinations", function()
        local dests = {}
        for i = 1, 255 do dests[i] = { destination_addr = tostring(i) } end
        fails({ command = "submit_multi", dest_address = dests }, "dest_address: 255 destinations")
        fails({ command = "submit_multi", dest_address = {} }, "dest_address: 0 destinations")
    end)
end)
