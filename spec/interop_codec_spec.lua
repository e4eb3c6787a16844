-- Interop of the codec with node-smpp (npm "smpp" 0.5.1, spec/interop/).
--
-- For each PDU below, written as smpp.pdu.decode returns it:
--   (a) our encoding, decoded by node-smpp, gives the same field values;
--   (b) node-smpp's encoding of the same fields, decoded by us, gives them too;
--   (c) both encodings are the same octets.
-- node-smpp runs as spec/interop/codec.js (one process for all the cases,
-- one per quirk test) fed JSON lines from a temporary file; in its JSON every
-- string is the hex of its octets. The node-smpp quirks found are tested on
-- their own at the end:
--
--  1. TLV 0x020B is "dest_port" in node-smpp, "destination_port" in SMPP 3.4
--     (section 5.3.2) and here; the names are mapped, the octets agree.
--  2. node-smpp writes nothing but the header when command_status is not 0,
--     whatever fields are given: it cannot send an error data_sm_resp with
--     delivery_failure_reason / additional_status_info_text (3.4 section
--     4.7, data_sm_resp). It does read such a body.
--  3. node-smpp cannot write a TLV it has no name for (vendor tags): it drops
--     it silently. It reads one into a property named by the tag in decimal.
--  4. alert_on_message_delivery is an int8 in node-smpp: it writes it with a
--     1-octet value (SMPP 5.0 style), where 3.4 section 5.3.2 says length 0,
--     and it reads our length-0 TLV by taking the next octet as the value,
--     or throws (ERR_OUT_OF_RANGE) when it is the last TLV.
--  5. node-smpp defaults interface_version to 0x50 (SMPP 5.0), we to 0x34;
--     the cases give it. It writes TLVs in the order the caller gives them,
--     we in tag order unless tlv_order says otherwise; codec.js is given
--     them in our order.
--  6. node-smpp reads C-Octet Strings as 'ascii', which clears bit 7 of each
--     octet ("A\xE9B" comes out "AiB"); the cases keep to ASCII.
--  7. codec.js reports what node-smpp reads off the wire, before its decode
--     filters, which turn times into Date objects and short_message /
--     message_payload into text by data_coding; and it hands node-smpp
--     Buffers, which its encode filters pass through.
local pdu = require "smpp.pdu"
local support = require "interop_support"

local format, concat = string.format, table.concat

-- ---- spec/interop and the node process (spec/interop_support.lua) ---------

local INTEROP = support.INTEROP
local q, need_node = support.q, support.need_node
local hex, unhex = support.hex, support.unhex
local json_decode, json_encode = support.json_decode, support.json_encode

-- Runs codec.js over a list of requests, returns its answers; an answer that
-- is an error raises, unless keep_errors.
local function node(requests, keep_errors)
    need_node()
    local input, errfile = os.tmpname(), os.tmpname()
    local f = assert(io.open(input, "wb"))
    for _, r in ipairs(requests) do f:write(r, "\n") end
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
        if a.error and not keep_errors then error("interop: node-smpp failed: " .. a.error, 0) end
        answers[#answers + 1] = a
    end
    if #answers ~= #requests then
        error(format("interop: codec.js gave %d answers to %d requests; stderr: %s", #answers, #requests, stderr), 0)
    end
    return answers
end

-- ---- our representation <-> node-smpp's ------------------------------------

local TO_NODE = { destination_port = "dest_port" } -- quirk 1
local FROM_NODE = { dest_port = "destination_port" }

local function hexed(v)
    if type(v) == "string" then return hex(v) end
    if type(v) ~= "table" then return v end
    local c = {}
    for k, x in pairs(v) do c[k] = hexed(x) end
    return c
end

-- Fields first, then TLVs in tlv_order if given, else by tag: the order we write.
local function tlv_rank(t)
    local pos = {}
    for i, tag in ipairs(t.tlv_order or {}) do pos[tag] = pos[tag] or i end
    return function(name)
        local tag = pdu.tlv[name]
        if type(tag) ~= "number" or (name == "message_state" and t.command == "query_sm_resp") then
            return -1
        end
        return pos[tag] or 0x10000 + tag
    end
end

local function encode_request(t)
    local rank = tlv_rank(t)
    local fields = {}
    for k, v in pairs(t) do
        if k ~= "tlv_order" then fields[TO_NODE[k] or k] = k == "command" and v or hexed(v) end
    end
    local order = function(a, b)
        local ra, rb = rank(FROM_NODE[a] or a), rank(FROM_NODE[b] or b)
        if ra ~= rb then return ra < rb end
        return a < b
    end
    return '{"op":"encode","pdu":' .. json_encode(fields, order) .. "}"
end

-- node-smpp's decoded PDU in our representation.
local function from_node(n, bytes)
    assert.are.equal(#bytes, n.command_length)
    assert.are.equal(pdu.command[n.command], n.command_id)
    local t, unknown = {}, {}
    for k, v in pairs(n) do
        if k == "command" then
            t[k] = v
        elseif k:match("^%d+$") then -- quirk 3: an unknown TLV
            unknown[#unknown + 1] = { tag = tonumber(k), value = unhex(v) }
        elseif k ~= "command_length" and k ~= "command_id" then
            if type(v) == "string" then
                v = unhex(v)
            elseif type(v) == "table" then
                local list = {}
                for i, e in ipairs(v) do
                    local c = {}
                    for ek, ev in pairs(e) do c[ek] = type(ev) == "string" and unhex(ev) or ev end
                    if k == "dest_address" then c.dest_flag = c.dl_name and 2 or 1 end
                    list[i] = c
                end
                v = list
            end
            t[FROM_NODE[k] or k] = v
        end
    end
    if #unknown > 0 then
        table.sort(unknown, function(a, b) return a.tag < b.tag end)
        t.unknown_tlvs = unknown
    end
    return t
end

local function plain(t)
    if type(t) ~= "table" then return t end
    local c = {}
    for k, v in pairs(t) do c[k] = plain(v) end
    return c
end

local function without(t, key)
    local c = plain(t)
    c[key] = nil
    return c
end

-- our decode of b, which must succeed
local function decode(b)
    local p, err = pdu.decode(b)
    assert(p, err)
    return plain(p)
end

local function decode_request(b)
    return '{"op":"decode","hex":"' .. hex(b) .. '"}'
end

local function answer(a)
    if a.error then error("interop: node-smpp failed: " .. a.error, 0) end
    return a
end

-- node-smpp decodes ours and encodes the same fields: decoded, bytes
local function node_round(t, ours, answers)
    answers = answers or node({ decode_request(ours), encode_request(t) })
    return from_node(answer(answers[1]).pdu, ours), unhex(answer(answers[2]).hex)
end

-- ---- the PDUs ----------------------------------------------------------------

local function octets(n) -- every octet value, NUL included
    local t = {}
    for i = 0, n - 1 do t[#t + 1] = string.char((i * 7 + 3) % 256) end
    return concat(t)
end

local receipt = "id:a1b2c3d4e5 sub:001 dlvrd:001 submit date:2501011200 done date:2501011201"
    .. " stat:DELIVRD err:000 text:hello"

local function sm(command, seq, extra)
    local t = {
        command = command, command_status = 0, sequence_number = seq,
        service_type = "", source_addr_ton = 1, source_addr_npi = 1, source_addr = "447700900123",
        dest_addr_ton = 1, dest_addr_npi = 1, destination_addr = "447700900456",
        esm_class = 0, protocol_id = 0, priority_flag = 0, schedule_delivery_time = "",
        validity_period = "", registered_delivery = 0, replace_if_present_flag = 0,
        data_coding = 0, sm_default_msg_id = 0, short_message = "",
    }
    for k, v in pairs(extra) do t[k] = v end
    return t
end

local cases = {
    { "bind_transceiver", {
        command = "bind_transceiver", command_status = 0, sequence_number = 1,
        system_id = "smppclient1", password = "password", system_type = "CMT",
        interface_version = 0x34, addr_ton = 1, addr_npi = 1, address_range = "^44770",
    } },
    { "bind_transceiver_resp with sc_interface_version", {
        command = "bind_transceiver_resp", command_status = 0, sequence_number = 1,
        system_id = "SMSC", sc_interface_version = 0x34,
    } },
    { "bind_transceiver_resp ESME_RBINDFAIL without a body", {
        command = "bind_transceiver_resp", command_status = 0x0D, sequence_number = 1,
    } },
    { "submit_sm, a segment with sar TLVs and user_message_reference", sm("submit_sm", 2, {
        service_type = "CMT", esm_class = 3, registered_delivery = 1,
        validity_period = "250101120000004+", schedule_delivery_time = "000001000000000R",
        short_message = "part 1 of a long message",
        user_message_reference = 0xBEEF, sar_msg_ref_num = 0x1234,
        sar_total_segments = 3, sar_segment_seqnum = 1,
    }) },
    { "submit_sm with 300 octets of message_payload", sm("submit_sm", 3, {
        data_coding = 4, registered_delivery = 1, message_payload = octets(300),
        user_message_reference = 7, payload_type = 0, more_messages_to_send = 1,
    }) },
    { "submit_sm with its TLVs in a caller's order (tlv_order)", sm("submit_sm", 4, {
        message_payload = "payload first", user_message_reference = 9, source_port = 0x0B84,
        tlv_order = { 0x0424, 0x0204, 0x020A },
    }) },
    { "submit_sm_resp", {
        command = "submit_sm_resp", command_status = 0, sequence_number = 2, message_id = "a1b2c3d4e5",
    } },
    { "submit_sm_resp ESME_RTHROTTLED without a body", {
        command = "submit_sm_resp", command_status = 0x58, sequence_number = 3,
    } },
    { "deliver_sm delivery receipt", sm("deliver_sm", 5, {
        esm_class = 4, short_message = receipt, receipted_message_id = "a1b2c3d4e5",
        message_state = 2, network_error_code = "\3\0\0",
    }) },
    { "deliver_sm_resp", {
        command = "deliver_sm_resp", command_status = 0, sequence_number = 5, message_id = "",
    } },
    { "enquire_link", { command = "enquire_link", command_status = 0, sequence_number = 0x7FFFFFFF } },
    { "enquire_link_resp", { command = "enquire_link_resp", command_status = 0, sequence_number = 0x7FFFFFFF } },
    { "unbind", { command = "unbind", command_status = 0, sequence_number = 6 } },
    { "unbind_resp", { command = "unbind_resp", command_status = 0, sequence_number = 6 } },
    { "generic_nack ESME_RINVCMDID", { command = "generic_nack", command_status = 0x03, sequence_number = 42 } },
    { "data_sm, WAP push with ports and qos_time_to_live", {
        command = "data_sm", command_status = 0, sequence_number = 7,
        service_type = "WAP", source_addr_ton = 5, source_addr_npi = 0, source_addr = "Operator",
        dest_addr_ton = 1, dest_addr_npi = 1, destination_addr = "447700900456",
        esm_class = 0x40, registered_delivery = 0, data_coding = 4,
        source_port = 9200, destination_port = 2948, qos_time_to_live = 0xFFFFFFF0,
        message_payload = octets(40),
    } },
    { "data_sm_resp", {
        command = "data_sm_resp", command_status = 0, sequence_number = 7, message_id = "m-77",
        additional_status_info_text = "accepted",
    } },
    { "query_sm", {
        command = "query_sm", command_status = 0, sequence_number = 8, message_id = "a1b2c3d4e5",
        source_addr_ton = 1, source_addr_npi = 1, source_addr = "447700900123",
    } },
    { "query_sm_resp", {
        command = "query_sm_resp", command_status = 0, sequence_number = 8, message_id = "a1b2c3d4e5",
        final_date = "250101120100000+", message_state = 2, error_code = 0,
    } },
    { "cancel_sm", {
        command = "cancel_sm", command_status = 0, sequence_number = 9, service_type = "",
        message_id = "a1b2c3d4e5", source_addr_ton = 1, source_addr_npi = 1, source_addr = "447700900123",
        dest_addr_ton = 1, dest_addr_npi = 1, destination_addr = "447700900456",
    } },
    { "cancel_sm_resp", { command = "cancel_sm_resp", command_status = 0, sequence_number = 9 } },
    { "replace_sm", {
        command = "replace_sm", command_status = 0, sequence_number = 10, message_id = "a1b2c3d4e5",
        source_addr_ton = 1, source_addr_npi = 1, source_addr = "447700900123",
        schedule_delivery_time = "", validity_period = "000002000000000R", registered_delivery = 1,
        sm_default_msg_id = 0, short_message = "replacement text",
    } },
    { "replace_sm_resp", { command = "replace_sm_resp", command_status = 0, sequence_number = 10 } },
    { "submit_multi to two SMEs and a distribution list", {
        command = "submit_multi", command_status = 0, sequence_number = 11, service_type = "",
        source_addr_ton = 1, source_addr_npi = 1, source_addr = "447700900123",
        dest_address = {
            { dest_flag = 1, dest_addr_ton = 1, dest_addr_npi = 1, destination_addr = "447700900001" },
            { dest_flag = 2, dl_name = "friends" },
            { dest_flag = 1, dest_addr_ton = 2, dest_addr_npi = 8, destination_addr = "0770090002" },
        },
        esm_class = 0, protocol_id = 0, priority_flag = 1, schedule_delivery_time = "",
        validity_period = "", registered_delivery = 1, replace_if_present_flag = 0, data_coding = 0,
        sm_default_msg_id = 0, short_message = "to all", user_message_reference = 12,
    } },
    { "submit_multi_resp with unsuccess_sme", {
        command = "submit_multi_resp", command_status = 0, sequence_number = 11, message_id = "m-11",
        unsuccess_sme = {
            { dest_addr_ton = 1, dest_addr_npi = 1, destination_addr = "447700900001", error_status_code = 0x0B },
        },
    } },
    { "alert_notification with ms_availability_status", {
        command = "alert_notification", command_status = 0, sequence_number = 12,
        source_addr_ton = 1, source_addr_npi = 1, source_addr = "447700900123",
        esme_addr_ton = 1, esme_addr_npi = 1, esme_addr = "447700900999", ms_availability_status = 0,
    } },
    { "outbind", {
        command = "outbind", command_status = 0, sequence_number = 13, system_id = "SMSC", password = "secret",
    } },
}

describe("interop with node-smpp", function()
    it("finds node and node-smpp in spec/interop", function()
        need_node()
        local a = node({ '{"op":"encode","pdu":{"command":"enquire_link","sequence_number":1}}' })
        assert.are.equal("00000010000000150000000000000001", a[1].hex)
    end)

    -- One node process for all the cases (node takes 0.2 s to start).
    local batch
    local function answers_for(i)
        if not batch then
            local requests, at = {}, {}
            for j, c in ipairs(cases) do
                local ok, ours = pcall(pdu.encode, c[2])
                if ok then
                    at[j] = #requests + 1
                    requests[#requests + 1] = decode_request(ours)
                    requests[#requests + 1] = encode_request(c[2])
                end
            end
            local a = node(requests, true)
            batch = {}
            for j, k in pairs(at) do batch[j] = { a[k], a[k + 1] } end
        end
        return batch[i]
    end

    for i, c in ipairs(cases) do
        local name, t = c[1], c[2]
        it(name, function()
            local ours = pdu.encode(t)
            assert.are.same(t, decode(ours)) -- the case is complete as written
            local theirs_decoded, theirs = node_round(t, ours, answers_for(i))
            assert.are.same(without(t, "tlv_order"), theirs_decoded) -- (a)
            assert.are.same(t, decode(theirs))                        -- (b)
            assert.are.equal(hex(ours), hex(theirs))                  -- (c)
        end)
    end

    describe("node-smpp quirks", function()
        it("1: calls destination_port dest_port", function()
            local t = { command = "data_sm", destination_addr = "1", destination_port = 2948 }
            local a = node({ decode_request(pdu.encode(t)) })
            assert.are.equal(2948, a[1].pdu.dest_port)
            assert.is_nil(a[1].pdu.destination_port)
        end)

        it("2: writes only the header when command_status is not 0, but reads a body", function()
            local t = {
                command = "data_sm_resp", command_status = 0xFE, sequence_number = 14, message_id = "",
                delivery_failure_reason = 1, additional_status_info_text = "no route",
            }
            local ours = pdu.encode(t)
            local theirs_decoded, theirs = node_round(t, ours)
            assert.are.same(t, decode(ours))
            assert.are.same(t, theirs_decoded)
            assert.are.equal("0000001080000103000000fe0000000e", hex(theirs))
            assert.are.same({ command = "data_sm_resp", command_status = 0xFE, sequence_number = 14 },
                decode(theirs))
        end)

        it("3: drops a TLV it has no name for, reads one under its decimal tag", function()
            local t = sm("deliver_sm", 15, {
                esm_class = 4, short_message = receipt, receipted_message_id = "a1b2c3d4e5",
                message_state = 2, unknown_tlvs = { { tag = 0x1400, value = "vendor\0data" } },
            })
            local ours = pdu.encode(t)
            local theirs_decoded, theirs = node_round(t, ours)
            assert.are.same(t, decode(ours))
            assert.are.same(t, theirs_decoded)
            assert.are.equal(hex(pdu.encode(without(t, "unknown_tlvs"))), hex(theirs))
        end)

        it("4: gives alert_on_message_delivery a 1-octet value, misreads the 3.4 one", function()
            -- ours, per 3.4 section 5.3.2: tag 0x130C, length 0
            local flag = pdu.encode{ command = "submit_sm", sequence_number = 16, destination_addr = "1",
                alert_on_message_delivery = true, user_message_reference = 0x0102,
                tlv_order = { 0x130C, 0x0204 } }
            assert.matches("130c0000", hex(flag), 1, true)
            local a = node({
                decode_request(flag),
                '{"op":"encode","pdu":{"command":"submit_sm","destination_addr":"31",' ..
                    '"user_message_reference":258,"alert_on_message_delivery":1}}',
            })
            -- node-smpp takes the next TLV's first octet for the value
            assert.are.equal(0x02, a[1].pdu.alert_on_message_delivery)
            assert.are.equal(0x0102, a[1].pdu.user_message_reference)
            -- and writes one octet of value itself
            assert.matches("130c000101", a[2].hex, 1, true)
            -- which we read as the SMPP 5.0 one-octet form, and write back the same
            local p = assert(pdu.decode(unhex(a[2].hex)))
            assert.are.equal(1, p.alert_on_message_delivery)
            assert.are.equal(a[2].hex, hex(pdu.encode(p)))
            -- as the last TLV, ours makes node-smpp read past the PDU
            local last = pdu.encode{ command = "submit_sm", sequence_number = 16, destination_addr = "1",
                alert_on_message_delivery = true }
            local e = node({ decode_request(last) }, true)
            assert.matches("ERR_OUT_OF_RANGE", e[1].error, 1, true)
        end)

        it("5: defaults interface_version to 0x50", function()
            local a = node({ '{"op":"encode","pdu":{"command":"bind_transmitter","system_id":"6964"}}' })
            local p = decode(unhex(a[1].hex))
            assert.are.equal(0x50, p.interface_version)
            local ours = decode(pdu.encode{ command = "bind_transmitter", system_id = "id" })
            assert.are.equal(0x34, ours.interface_version)
        end)

        it("6: clears bit 7 of C-Octet String octets", function()
            local t = { command = "submit_sm_resp", sequence_number = 17, message_id = "A\233B" }
            local a = node({ decode_request(pdu.encode(t)) })
            assert.are.equal(hex("AiB"), a[1].pdu.message_id)
        end)
    end)
end)
