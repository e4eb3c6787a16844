-- smpp.pdu.framer: whole PDUs out of a byte stream, whatever the chunking.
local smpp = require "smpp"
local u32 = require("support").u32
local pdu = smpp.pdu

local function stream()
    local parts = {
        pdu.encode{ command = "enquire_link", sequence_number = 1 },
        pdu.encode{ command = "submit_sm", sequence_number = 2, destination_addr = "447700900123",
            short_message = ("x"):rep(160), sar_msg_ref_num = 7 },
        pdu.encode{ command = "deliver_sm_resp", sequence_number = 3 },
        pdu.encode{ command = "submit_sm", sequence_number = 4, destination_addr = "1",
            message_payload = ("y"):rep(3000) },
    }
    return table.concat(parts), #parts
end

local function drain(f, out)
    while true do
        local p, err = f:next()
        if not p then
            assert.is_nil(err)
            return out
        end
        out[#out + 1] = p.sequence_number
    end
end

describe("framer", function()
    it("hands out PDUs fed one octet at a time", function()
        local s, n = stream()
        local f, got = pdu.framer(), {}
        for i = 1, #s do
            assert.is_true(f:feed(s:sub(i, i)))
            drain(f, got)
        end
        assert.are.same({ 1, 2, 3, 4 }, got)
        assert.are.equal(n, #got)
        assert.are.equal(0, f:buffered())
    end)

    it("hands out many PDUs from one chunk, and in random splits", function()
        local s = stream()
        math.randomseed(7)
        for _ = 1, 200 do
            local f, got, i = pdu.framer(), {}, 1
            while i <= #s do
                local n = math.random(1, 700)
                f:feed(s:sub(i, i + n - 1))
                i = i + n
                drain(f, got)
            end
            assert.are.same({ 1, 2, 3, 4 }, got)
        end
    end)

    it("waits for the rest of a PDU", function()
        local f = pdu.framer()
        local b = pdu.encode{ command = "unbind", sequence_number = 9 }
        f:feed(b:sub(1, 10))
        assert.is_nil(f:next())
        assert.are.equal(10, f:buffered())
        f:feed(b:sub(11))
        assert.are.equal(9, f:next().sequence_number)
    end)

    it("gives raw PDUs with next_bytes", function()
        local f = pdu.framer()
        local b = pdu.encode{ command = "unbind", sequence_number = 9 }
        f:feed(b .. b)
        assert.are.equal(b, f:next_bytes())
        assert.are.equal(b, f:next_bytes())
        assert.is_nil(f:next_bytes())
    end)

    it("reports a malformed PDU with its header and goes on with the next", function()
        local f = pdu.framer()
        local bad = u32(20, 0x99, 0, 5) .. "abcd"
        f:feed(bad .. pdu.encode{ command = "enquire_link", sequence_number = 6 })
        local p, err, status, hdr = f:next()
        assert.is_nil(p)
        assert.matches("not an SMPP 3.4 command", err)
        assert.are.equal(0x03, status)
        assert.are.equal(5, hdr.sequence_number)
        assert.is_nil(hdr.fatal)
        assert.are.equal("enquire_link", f:next().command)
    end)

    it("reports an impossible command_length once, as fatal, and takes nothing more", function()
        local f = pdu.framer()
        f:feed(pdu.encode{ command = "enquire_link", sequence_number = 1 } .. u32(8, 0x15, 0, 2))
        assert.are.equal(1, f:next().sequence_number)
        local p, err, status, hdr = f:next()
        assert.is_nil(p)
        assert.matches("command_length 8 is under 16", err)
        assert.are.equal(0x02, status)
        assert.is_true(hdr.fatal)
        assert.are.equal(2, hdr.sequence_number)
        assert.is_nil(select(2, f:next()))
        local ok, ferr = f:feed(pdu.encode{ command = "enquire_link", sequence_number = 3 })
        assert.is_nil(ok)
        assert.matches("stream already failed", ferr)
        assert.is_nil(f:next())
    end)

    it("refuses a command_length over its maximum before buffering the PDU", function()
        local f = pdu.framer{ max_length = 1000 }
        f:feed(u32(5000, 4))
        local p, err, status, hdr = f:next()
        assert.is_nil(p)
        assert.matches("over the limit", err)
        assert.are.equal(0x02, status)
        assert.is_true(hdr.fatal)
        local g = pdu.framer()
        g:feed(u32(0x7FFFFFFF, 4))
        assert.matches("over the limit", select(2, g:next()))
    end)

    it("rejects a bad max_length", function()
        assert.has_error(function() pdu.framer{ max_length = 3 } end)
    end)
end)
