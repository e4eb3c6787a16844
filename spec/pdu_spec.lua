-- smpp.pdu: the public codec API, its constants, and the round-trip property
-- decode(encode(t)) == t and encode(decode(b)) == b over generated PDUs.
local smpp = require "smpp"
local u32 = require("support").u32
local pdu = smpp.pdu

local function plain(t)
    local c = {}
    for k, v in pairs(t) do c[k] = v end
    return c
end

describe("constants", function()
    it("maps command names and ids both ways", function()
        assert.are.equal(0x00000004, smpp.command.submit_sm)
        assert.are.equal("submit_sm_resp", smpp.command[0x80000004])
        assert.are.equal(0x80000000, smpp.command.generic_nack)
        assert.are.equal(0x00000103, smpp.command.data_sm)
        local n = 0
        for k in pairs(smpp.command) do if type(k) == "string" then n = n + 1 end end
        assert.are.equal(27, n)
    end)
    it("knows every SMPP 3.4 command_status by its ESME_R name", function()
        local codes = { 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E,
            0x0F, 0x11, 0x13, 0x14, 0x15, 0x33, 0x34, 0x40, 0x42, 0x43, 0x44, 0x45, 0x48, 0x49, 0x50, 0x51,
            0x53, 0x54, 0x55, 0x58, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0xC0, 0xC1, 0xC2, 0xC3, 0xC4,
            0xFE, 0xFF }
        for _, code in ipairs(codes) do
            local s = smpp.status[code]
            assert.is_table(s, ("status 0x%02X"):format(code))
            assert.matches("^ESME_R", s.name)
            assert.are.equal(code, smpp.status[s.name])
        end
        assert.are.equal(0x58, smpp.status.ESME_RTHROTTLED)
        assert.are.equal("ESME_RTHROTTLED (0x58): throttling error", pdu.status_text(0x58))
        assert.are.equal("command_status 0x00000401", pdu.status_text(0x401))
    end)
    it("maps TLV names and tags both ways", function()
        assert.are.equal(0x001E, smpp.tlv.receipted_message_id)
        assert.are.equal("message_payload", smpp.tlv[0x0424].name)
        assert.are.equal("int16", smpp.tlv[smpp.tlv.sar_msg_ref_num].type)
    end)
end)

describe("tostring(pdu)", function()
    it("is one readable line with the command, sequence number and fields", function()
        local p = pdu.decode(pdu.encode{ command = "submit_sm", sequence_number = 7,
            destination_addr = "447700900123", short_message = "hi\nthere" })
        local s = tostring(p)
        assert.matches("^submit_sm seq=7 ", s)
        assert.matches('destination_addr="447700900123"', s, 1, true)
        assert.is_nil(s:find("\n"))
    end)
    it("names a failed status", function()
        local p = pdu.decode(pdu.encode{ command = "submit_sm_resp", sequence_number = 2, command_status = 0x58 })
        assert.matches("status=ESME_RTHROTTLED", tostring(p))
    end)
end)

describe("hex helpers", function()
    it("prints octets in hex", function()
        assert.are.equal("00 10 ff", pdu.hex("\0\16\255"))
        local dump = pdu.hexdump(("A"):rep(17))
        assert.matches("^0000  41 41", dump)
        assert.matches("\n0010  41 ", dump)
    end)
end)

describe("TLVs", function()
    it("keeps unknown tags and re-encodes them unchanged", function()
        local b = pdu.encode{ command = "deliver_sm", sequence_number = 1, destination_addr = "1",
            receipted_message_id = "abc",
            unknown_tlvs = { { tag = 0x1400, value = "\1\2" }, { tag = 0x2000, value = "" } } }
        local p = pdu.decode(b)
        assert.are.same({ { tag = 0x1400, value = "\1\2" }, { tag = 0x2000, value = "" } }, p.unknown_tlvs)
        assert.are.equal(b, pdu.encode(p))
    end)
    it("keeps TLVs in the order they came, when it is not the usual one", function()
        -- message_state before receipted_message_id, then a vendor tag, then a repeat
        local hdr = u32(5, 0, 1)
        local body = "\0\0\0" .. "1\0" .. "\0\0" .. "2\0" .. "\4\0\0\0\0\1\0\0\0\0"
            .. "\4\39\0\1\2" .. "\20\0\0\1x" .. "\0\30\0\4abc\0" .. "\4\39\0\1\3"
        local b = u32(16 + #body) .. hdr .. body
        local p = assert(pdu.decode(b))
        assert.are.equal(2, p.message_state)
        assert.are.equal("abc", p.receipted_message_id)
        assert.are.same({ 0x0427, 0x1400, 0x001E, 0x0427 }, p.tlv_order)
        assert.are.same({ { tag = 0x1400, value = "x" }, { tag = 0x0427, value = "\3" } }, p.unknown_tlvs)
        assert.are.equal(b, pdu.encode(p))
    end)
    it("carries message_state as a field in query_sm_resp and as a TLV elsewhere", function()
        local q = pdu.decode(pdu.encode{ command = "query_sm_resp", message_id = "9", message_state = 2 })
        assert.are.equal(2, q.message_state)
        local b = pdu.encode{ command = "deliver_sm", destination_addr = "1", message_state = 2 }
        assert.are.equal("\4\39\0\1\2", b:sub(-5))
    end)
    it("writes alert_on_message_delivery as a TLV without a value", function()
        local b = pdu.encode{ command = "submit_sm", destination_addr = "1", alert_on_message_delivery = true }
        assert.are.equal("\19\12\0\0", b:sub(-4))
        assert.is_true(pdu.decode(b).alert_on_message_delivery)
    end)
end)

describe("encode", function()
    it("fills defaults: empty strings, zero integers, interface_version 0x34 in binds", function()
        local b = pdu.encode{ command = "bind_transceiver", system_id = "abc", sequence_number = 1 }
        assert.are.equal(u32(16 + 10, 9, 0, 1) .. "abc\0\0\0\52\0\0\0", b)
    end)
    it("accepts integers for string fields", function()
        local p = pdu.decode(pdu.encode{ command = "submit_sm", destination_addr = 447700900123 })
        assert.are.equal("447700900123", p.destination_addr)
    end)
    it("accepts the command by id", function()
        assert.are.equal("enquire_link", pdu.decode(pdu.encode{ command = 0x15, sequence_number = 3 }).command)
    end)
    it("writes an error response without a body, and an ok one with its body", function()
        assert.are.equal(16, #pdu.encode{ command = "submit_sm_resp", command_status = 0x58 })
        assert.are.equal(17, #pdu.encode{ command = "deliver_sm_resp" })
    end)
end)

-- Generated PDUs: every command, random values within the spec's limits.
local rng_seed = tonumber(os.getenv("SMPP_SEED") or "") or os.time()
local rand = math.random
-- (Lua 5.1's math.random takes bounds that fit a C int)
local function rand32() return rand(0, 0xFFFF) * 0x10000 + rand(0, 0xFFFF) end

local function rstr(max, alphabet)
    alphabet = alphabet or "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ +-_.@"
    local n, t = rand(0, max), {}
    for i = 1, n do
        local k = rand(1, #alphabet)
        t[i] = alphabet:sub(k, k)
    end
    return table.concat(t)
end

local function rbytes(lo, hi)
    local t = {}
    for i = 1, rand(lo, hi) do t[i] = string.char(rand(0, 255)) end
    return table.concat(t)
end

local function rtime()
    local r = rand(1, 3)
    if r == 1 then return "" end
    if r == 2 then
        return ("%02d%02d%02d%02d%02d%02d%d%02d%s"):format(rand(0, 99), rand(1, 12), rand(1, 28), rand(0, 23),
            rand(0, 59), rand(0, 59), rand(0, 9), rand(0, 48), rand(0, 1) == 0 and "+" or "-")
    end
    return ("%02d%02d%02d%02d%02d%02d000R"):format(rand(0, 99), rand(0, 11), rand(0, 30), rand(0, 23), rand(0, 59),
        rand(0, 59))
end

local field_gen = {
    system_id = function() return rstr(15) end, password = function() return rstr(8) end,
    system_type = function() return rstr(12) end, address_range = function() return rstr(40) end,
    service_type = function() return rstr(5) end, source_addr = function() return rstr(20) end,
    destination_addr = function() return rstr(20) end, message_id = function() return rstr(64) end,
    esme_addr = function() return rstr(64) end,
    schedule_delivery_time = rtime, validity_period = rtime, final_date = rtime,
    short_message = function() return rbytes(0, 254) end,
    dest_address = function()
        local t = {}
        for i = 1, rand(1, 5) do
            if rand(0, 1) == 0 then
                t[i] = { dest_flag = 1, dest_addr_ton = rand(0, 6), dest_addr_npi = rand(0, 18),
                    destination_addr = rstr(20) }
            else
                t[i] = { dest_flag = 2, dl_name = rstr(20) }
            end
        end
        return t
    end,
    unsuccess_sme = function()
        local t = {}
        for i = 1, rand(0, 4) do
            t[i] = { dest_addr_ton = rand(0, 6), dest_addr_npi = rand(0, 18), destination_addr = rstr(20),
                error_status_code = rand32() }
        end
        return t
    end,
}
local wide = { source_addr = 64, destination_addr = 64 } -- data_sm and alert_notification

local tlv_gen = {
    int8 = function() return rand(0, 255) end,
    int16 = function() return rand(0, 0xFFFF) end,
    int32 = rand32,
    flag = function() return true end,
}
local tlv_sizes = {
    additional_status_info_text = { 0, 255, "cstring" }, receipted_message_id = { 0, 64, "cstring" },
    source_subaddress = { 2, 23 }, dest_subaddress = { 2, 23 }, callback_num_atag = { 0, 65 },
    callback_num = { 4, 19 }, network_error_code = { 3, 3 }, message_payload = { 0, 600 },
    its_session_info = { 2, 2 },
}
local takes_tlvs = { submit_sm = true, deliver_sm = true, data_sm = true, data_sm_resp = true, submit_multi = true,
    alert_notification = true, bind_transmitter_resp = true, bind_receiver_resp = true,
    bind_transceiver_resp = true, submit_sm_resp = true, deliver_sm_resp = true, submit_multi_resp = true }
local bodies = {
    bind = { "system_id", "password", "system_type", "interface_version", "addr_ton", "addr_npi", "address_range" },
    sm = { "service_type", "source_addr_ton", "source_addr_npi", "source_addr", "dest_addr_ton", "dest_addr_npi",
        "destination_addr", "esm_class", "protocol_id", "priority_flag", "schedule_delivery_time",
        "validity_period", "registered_delivery", "replace_if_present_flag", "data_coding", "sm_default_msg_id",
        "short_message" },
}
local fields_of = {
    bind_transmitter = bodies.bind, bind_receiver = bodies.bind, bind_transceiver = bodies.bind,
    bind_transmitter_resp = { "system_id" }, bind_receiver_resp = { "system_id" },
    bind_transceiver_resp = { "system_id" }, outbind = { "system_id", "password" },
    submit_sm = bodies.sm, deliver_sm = bodies.sm, submit_sm_resp = { "message_id" },
    deliver_sm_resp = { "message_id" }, data_sm_resp = { "message_id" },
    data_sm = { "service_type", "source_addr_ton", "source_addr_npi", "source_addr", "dest_addr_ton",
        "dest_addr_npi", "destination_addr", "esm_class", "registered_delivery", "data_coding" },
    query_sm = { "message_id", "source_addr_ton", "source_addr_npi", "source_addr" },
    query_sm_resp = { "message_id", "final_date", "message_state", "error_code" },
    cancel_sm = { "service_type", "message_id", "source_addr_ton", "source_addr_npi", "source_addr",
        "dest_addr_ton", "dest_addr_npi", "destination_addr" },
    replace_sm = { "message_id", "source_addr_ton", "source_addr_npi", "source_addr", "schedule_delivery_time",
        "validity_period", "registered_delivery", "sm_default_msg_id", "short_message" },
    submit_multi = { "service_type", "source_addr_ton", "source_addr_npi", "source_addr", "dest_address",
        "esm_class", "protocol_id", "priority_flag", "schedule_delivery_time", "validity_period",
        "registered_delivery", "replace_if_present_flag", "data_coding", "sm_default_msg_id", "short_message" },
    submit_multi_resp = { "message_id", "unsuccess_sme" },
    alert_notification = { "source_addr_ton", "source_addr_npi", "source_addr", "esme_addr_ton", "esme_addr_npi",
        "esme_addr" },
}

local tlv_tags = {}
for tag in pairs(smpp.tlv) do
    if type(tag) == "number" then tlv_tags[#tlv_tags + 1] = tag end
end
table.sort(tlv_tags)

local function generate(name)
    local t = { command = name, command_status = 0, sequence_number = rand(1, 0x7FFFFFFF) }
    for _, f in ipairs(fields_of[name] or {}) do
        local g = field_gen[f]
        if wide[f] and (name == "data_sm" or name == "alert_notification") then
            t[f] = rstr(wide[f])
        elseif g then
            t[f] = g()
        else
            t[f] = rand(0, 255)
        end
    end
    if takes_tlvs[name] then
        for _, tag in ipairs(tlv_tags) do
            local info = smpp.tlv[tag]
            if rand(1, 6) == 1 then
                local g, size = tlv_gen[info.type], tlv_sizes[info.name]
                if g then
                    t[info.name] = g()
                elseif size and size[3] == "cstring" then
                    t[info.name] = rstr(size[2])
                else
                    t[info.name] = rbytes(size[1], size[2])
                end
            end
        end
        if rand(1, 4) == 1 then
            t.unknown_tlvs = { { tag = rand(0x1400, 0x3FFF), value = rbytes(0, 20) } }
        end
    end
    return t
end

describe("the round-trip property", function()
    it(("holds for 3000 generated PDUs of every command (seed %d)"):format(rng_seed), function()
        math.randomseed(rng_seed)
        local names = {}
        for k in pairs(smpp.command) do if type(k) == "string" then names[#names + 1] = k end end
        table.sort(names)
        for i = 1, 3000 do
            local name = names[(i - 1) % #names + 1]
            local t = generate(name)
            local bytes = pdu.encode(t)
            local p, err = pdu.decode(bytes)
            assert(p, err)
            assert.are.same(t, plain(p))
            assert.are.equal(bytes, pdu.encode(p))
        end
    end)
end)

describe("alert_on_message_delivery", function()
    it("reads the SMPP 5.0 one-octet form as an integer and writes it back", function()
        local b = pdu.encode{ command = "submit_sm", destination_addr = "1", alert_on_message_delivery = 2 }
        assert.are.equal("\19\12\0\1\2", b:sub(-5))
        local p = pdu.decode(b)
        assert.are.equal(2, p.alert_on_message_delivery)
        assert.are.equal(b, pdu.encode(p))
    end)
end)
