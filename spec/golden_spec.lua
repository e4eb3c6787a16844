-- Golden vectors for the PDU codec, written by hand from the SMPP v3.4
-- specification (Issue 1.2): section 3.2 (PDU format), section 4 (PDU
-- definitions), section 5.1.2.1 (command_id values), section 5.2 (mandatory
-- parameters) and section 5.3 (optional parameters, TLVs).
--
-- The expected octets are laid out field by field in hex, one field per line,
-- with the field named in a comment. They are never produced by our encoder:
-- every vector is checked in both directions, decode(octets) must give the
-- expected table and encode(expected table) must give the octets.
--
-- Integers are big-endian (section 3.1). C-Octet Strings end in a NUL (00);
-- an empty one is just the NUL. The ASCII of each string is in its comment.

local smpp = require "smpp"
local codec = smpp.pdu

-- Octets from hex pieces; whitespace inside the pieces is ignored.
local function octets(pieces)
    local hex = table.concat(pieces):gsub("%s+", "")
    assert(#hex % 2 == 0, "odd number of hex digits")
    assert(not hex:find("[^%x]"), "not a hex digit")
    return (hex:gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end))
end

-- A deep copy without metatables, so that assert.same compares plain tables.
local function plain(v)
    if type(v) ~= "table" then
        return v
    end
    local t = {}
    for k, x in pairs(v) do
        t[k] = plain(x)
    end
    return t
end

local function u32(s, at)
    local a, b, c, d = s:byte(at, at + 3)
    return ((a * 256 + b) * 256 + c) * 256 + d
end

-- command_id values, 3.4 section 5.1.2.1 (Table 5-1).
local COMMAND_ID = {
    generic_nack = 0x80000000,
    bind_receiver = 0x00000001,
    bind_receiver_resp = 0x80000001,
    bind_transmitter = 0x00000002,
    bind_transmitter_resp = 0x80000002,
    query_sm = 0x00000003,
    query_sm_resp = 0x80000003,
    submit_sm = 0x00000004,
    submit_sm_resp = 0x80000004,
    deliver_sm = 0x00000005,
    deliver_sm_resp = 0x80000005,
    unbind = 0x00000006,
    unbind_resp = 0x80000006,
    replace_sm = 0x00000007,
    replace_sm_resp = 0x80000007,
    cancel_sm = 0x00000008,
    cancel_sm_resp = 0x80000008,
    bind_transceiver = 0x00000009,
    bind_transceiver_resp = 0x80000009,
    outbind = 0x0000000B,
    enquire_link = 0x00000015,
    enquire_link_resp = 0x80000015,
    submit_multi = 0x00000021,
    submit_multi_resp = 0x80000021,
    alert_notification = 0x00000102,
    data_sm = 0x00000103,
    data_sm_resp = 0x80000103,
}

local VECTORS = {} -- every vector, for the header checks at the end

-- Declares one golden vector: an it() that checks both directions.
local function golden(title, hex, expected)
    local bytes = octets(hex)
    VECTORS[#VECTORS + 1] = { title = title, bytes = bytes, expected = expected }
    it(title, function()
        local got, err = codec.decode(bytes)
        assert.is_nil(err)
        assert.is_table(got)
        assert.same(expected, plain(got))
        local enc, eerr = codec.encode(plain(expected))
        assert.is_nil(eerr)
        assert.equal(codec.hex(bytes), codec.hex(enc))
    end)
end

describe("generic_nack", function()
    golden("decodes and encodes the 3.4 section 4.3.1 layout (header only)", {
        "00000010", -- command_length 16
        "80000000", -- command_id generic_nack
        "00000003", -- command_status ESME_RINVCMDID
        "00000001", -- sequence_number 1
    }, { command = "generic_nack", command_status = 3, sequence_number = 1 })
end)

describe("bind_transmitter", function()
    golden("decodes and encodes the 3.4 section 4.1.1 layout", {
        "0000002F", -- command_length 47
        "00000002", -- command_id bind_transmitter
        "00000000", -- command_status
        "00000002", -- sequence_number 2
        "53 4D 50 50 33 54 45 53 54 00", -- system_id "SMPP3TEST"
        "73 65 63 72 65 74 30 38 00", -- password "secret08"
        "53 55 42 4D 49 54 31 00", -- system_type "SUBMIT1"
        "34", -- interface_version 3.4
        "01", -- addr_ton international
        "01", -- addr_npi ISDN (E.163/E.164)
        "00", -- address_range NULL
    }, {
        command = "bind_transmitter", command_status = 0, sequence_number = 2,
        system_id = "SMPP3TEST", password = "secret08", system_type = "SUBMIT1",
        interface_version = 0x34, addr_ton = 1, addr_npi = 1, address_range = "",
    })
end)

describe("bind_transmitter_resp", function()
    golden("decodes and encodes the 3.4 section 4.1.2 layout with sc_interface_version", {
        "0000001A", -- command_length 26
        "80000002", -- command_id bind_transmitter_resp
        "00000000", -- command_status ESME_ROK
        "00000002", -- sequence_number 2 (echoes the bind)
        "53 4D 53 43 00", -- system_id "SMSC"
        "0210", -- TLV tag sc_interface_version (5.3.2.25)
        "0001", -- TLV length 1
        "34", -- value: SMPP 3.4
    }, {
        command = "bind_transmitter_resp", command_status = 0, sequence_number = 2,
        system_id = "SMSC", sc_interface_version = 0x34,
    })
end)

describe("bind_receiver", function()
    golden("decodes and encodes the 3.4 section 4.1.3 layout", {
        "00000025", -- command_length 37
        "00000001", -- command_id bind_receiver
        "00000000", -- command_status
        "00000003", -- sequence_number 3
        "52 58 5F 45 53 4D 45 00", -- system_id "RX_ESME"
        "70 77 00", -- password "pw"
        "00", -- system_type NULL
        "34", -- interface_version 3.4
        "02", -- addr_ton national
        "01", -- addr_npi ISDN
        "5E 31 32 33 34 00", -- address_range "^1234" (a regular expression, 7.2)
    }, {
        command = "bind_receiver", command_status = 0, sequence_number = 3,
        system_id = "RX_ESME", password = "pw", system_type = "",
        interface_version = 0x34, addr_ton = 2, addr_npi = 1, address_range = "^1234",
    })
end)

describe("bind_receiver_resp", function()
    golden("decodes and encodes the 3.4 section 4.1.4 layout", {
        "00000017", -- command_length 23
        "80000001", -- command_id bind_receiver_resp
        "00000000", -- command_status ESME_ROK
        "00000003", -- sequence_number 3
        "53 4D 53 43 30 31 00", -- system_id "SMSC01"
    }, {
        command = "bind_receiver_resp", command_status = 0, sequence_number = 3,
        system_id = "SMSC01",
    })
end)

describe("bind_transceiver", function()
    golden("decodes and encodes the 3.4 section 4.1.5 layout", {
        "0000001D", -- command_length 29
        "00000009", -- command_id bind_transceiver
        "00000000", -- command_status
        "00000004", -- sequence_number 4
        "54 52 58 00", -- system_id "TRX"
        "00", -- password NULL
        "56 4D 53 00", -- system_type "VMS"
        "34", -- interface_version 3.4
        "00", -- addr_ton unknown
        "00", -- addr_npi unknown
        "00", -- address_range NULL
    }, {
        command = "bind_transceiver", command_status = 0, sequence_number = 4,
        system_id = "TRX", password = "", system_type = "VMS",
        interface_version = 0x34, addr_ton = 0, addr_npi = 0, address_range = "",
    })
end)

describe("bind_transceiver_resp", function()
    golden("decodes and encodes the 3.4 section 4.1.6 layout with sc_interface_version", {
        "0000001A", -- command_length 26
        "80000009", -- command_id bind_transceiver_resp
        "00000000", -- command_status ESME_ROK
        "00000004", -- sequence_number 4
        "53 4D 53 43 00", -- system_id "SMSC"
        "0210", -- TLV tag sc_interface_version
        "0001", -- TLV length 1
        "34", -- value: SMPP 3.4
    }, {
        command = "bind_transceiver_resp", command_status = 0, sequence_number = 4,
        system_id = "SMSC", sc_interface_version = 0x34,
    })
end)

describe("outbind", function()
    golden("decodes and encodes the 3.4 section 4.1.7 layout", {
        "0000001A", -- command_length 26
        "0000000B", -- command_id outbind
        "00000000", -- command_status
        "00000005", -- sequence_number 5
        "53 4D 53 43 00", -- system_id "SMSC"
        "70 61 73 73 00", -- password "pass"
    }, {
        command = "outbind", command_status = 0, sequence_number = 5,
        system_id = "SMSC", password = "pass",
    })
end)

describe("unbind", function()
    golden("decodes and encodes the 3.4 section 4.2.1 layout (header only)", {
        "00000010", -- command_length 16
        "00000006", -- command_id unbind
        "00000000", -- command_status
        "00000006", -- sequence_number 6
    }, { command = "unbind", command_status = 0, sequence_number = 6 })
end)

describe("unbind_resp", function()
    golden("decodes and encodes the 3.4 section 4.2.2 layout (header only)", {
        "00000010", -- command_length 16
        "80000006", -- command_id unbind_resp
        "00000000", -- command_status ESME_ROK
        "00000006", -- sequence_number 6
    }, { command = "unbind_resp", command_status = 0, sequence_number = 6 })
end)

describe("enquire_link", function()
    golden("decodes and encodes the 3.4 section 4.11.1 layout (header only)", {
        "00000010", -- command_length 16
        "00000015", -- command_id enquire_link
        "00000000", -- command_status
        "00000007", -- sequence_number 7
    }, { command = "enquire_link", command_status = 0, sequence_number = 7 })
end)

describe("enquire_link_resp", function()
    golden("decodes and encodes the 3.4 section 4.11.2 layout (header only)", {
        "00000010", -- command_length 16
        "80000015", -- command_id enquire_link_resp
        "00000000", -- command_status ESME_ROK
        "00000007", -- sequence_number 7
    }, { command = "enquire_link_resp", command_status = 0, sequence_number = 7 })
end)

describe("submit_sm", function()
    golden("decodes and encodes the 3.4 section 4.4.1 layout", {
        "0000005F", -- command_length 95
        "00000004", -- command_id submit_sm
        "00000000", -- command_status
        "00000008", -- sequence_number 8
        "43 4D 54 00", -- service_type "CMT" (cellular messaging)
        "05", -- source_addr_ton alphanumeric
        "00", -- source_addr_npi unknown
        "41 43 4D 45 00", -- source_addr "ACME"
        "01", -- dest_addr_ton international
        "01", -- dest_addr_npi ISDN
        "34 34 37 37 30 30 39 30 30 31 32 33 00", -- destination_addr "447700900123"
        "00", -- esm_class default mode, default type
        "00", -- protocol_id
        "01", -- priority_flag 1
        "32 34 30 31 33 31 32 33 35 39 35 39 31 30 34 2B 00", -- schedule "240131235959104+" (absolute, 7.1.1)
        "30 30 30 30 30 31 30 30 30 30 30 30 30 30 30 52 00", -- validity "000001000000000R" (relative, 1 day)
        "01", -- registered_delivery: receipt on success or failure
        "00", -- replace_if_present_flag
        "00", -- data_coding SMSC default alphabet
        "00", -- sm_default_msg_id
        "0B", -- sm_length 11
        "48 65 6C 6C 6F 20 77 6F 72 6C 64", -- short_message "Hello world"
    }, {
        command = "submit_sm", command_status = 0, sequence_number = 8,
        service_type = "CMT",
        source_addr_ton = 5, source_addr_npi = 0, source_addr = "ACME",
        dest_addr_ton = 1, dest_addr_npi = 1, destination_addr = "447700900123",
        esm_class = 0, protocol_id = 0, priority_flag = 1,
        schedule_delivery_time = "240131235959104+", validity_period = "000001000000000R",
        registered_delivery = 1, replace_if_present_flag = 0, data_coding = 0,
        sm_default_msg_id = 0, short_message = "Hello world",
    })
end)

describe("submit_sm_resp", function()
    golden("decodes and encodes the 3.4 section 4.4.2 layout", {
        "00000019", -- command_length 25
        "80000004", -- command_id submit_sm_resp
        "00000000", -- command_status ESME_ROK
        "00000008", -- sequence_number 8
        "61 33 66 39 63 32 65 31 00", -- message_id "a3f9c2e1"
    }, {
        command = "submit_sm_resp", command_status = 0, sequence_number = 8,
        message_id = "a3f9c2e1",
    })

    golden("has no body when command_status is non-zero (3.4 section 4.4.2 note)", {
        "00000010", -- command_length 16
        "80000004", -- command_id submit_sm_resp
        "00000058", -- command_status ESME_RTHROTTLED
        "00000009", -- sequence_number 9
    }, { command = "submit_sm_resp", command_status = 0x58, sequence_number = 9 })
end)

describe("deliver_sm", function()
    golden("decodes and encodes the 3.4 section 4.6.1 layout (mobile originated message)", {
        "00000035", -- command_length 53
        "00000005", -- command_id deliver_sm
        "00000000", -- command_status
        "0000000A", -- sequence_number 10
        "00", -- service_type NULL
        "01", -- source_addr_ton international
        "01", -- source_addr_npi ISDN
        "34 34 37 37 30 30 39 30 30 31 32 33 00", -- source_addr "447700900123"
        "00", -- dest_addr_ton unknown
        "00", -- dest_addr_npi unknown
        "38 38 38 38 00", -- destination_addr "8888"
        "00", -- esm_class default
        "00", -- protocol_id
        "00", -- priority_flag
        "00", -- schedule_delivery_time NULL (must be NULL in deliver_sm)
        "00", -- validity_period NULL (must be NULL in deliver_sm)
        "00", -- registered_delivery
        "00", -- replace_if_present_flag NULL
        "00", -- data_coding
        "00", -- sm_default_msg_id NULL
        "04", -- sm_length 4
        "53 54 4F 50", -- short_message "STOP"
    }, {
        command = "deliver_sm", command_status = 0, sequence_number = 10,
        service_type = "",
        source_addr_ton = 1, source_addr_npi = 1, source_addr = "447700900123",
        dest_addr_ton = 0, dest_addr_npi = 0, destination_addr = "8888",
        esm_class = 0, protocol_id = 0, priority_flag = 0,
        schedule_delivery_time = "", validity_period = "",
        registered_delivery = 0, replace_if_present_flag = 0, data_coding = 0,
        sm_default_msg_id = 0, short_message = "STOP",
    })

    local receipt = "id:a3f9c2e1 sub:001 dlvrd:001 submit date:2401312359 done date:2401312400"
        .. " stat:DELIVRD err:000 Text:Hello world"

    golden("decodes and encodes an SMSC delivery receipt (esm_class 0x04, appendix B)", {
        "000000B2", -- command_length 178
        "00000005", -- command_id deliver_sm
        "00000000", -- command_status
        "0000000B", -- sequence_number 11
        "00", -- service_type NULL
        "01", -- source_addr_ton international
        "01", -- source_addr_npi ISDN
        "34 34 37 37 30 30 39 30 30 34 35 36 00", -- source_addr "447700900456"
        "05", -- dest_addr_ton alphanumeric
        "00", -- dest_addr_npi unknown
        "41 43 4D 45 00", -- destination_addr "ACME"
        "04", -- esm_class: SMSC delivery receipt (bits 5-2 = 0001)
        "00", -- protocol_id
        "00", -- priority_flag
        "00", -- schedule_delivery_time NULL
        "00", -- validity_period NULL
        "00", -- registered_delivery
        "00", -- replace_if_present_flag
        "00", -- data_coding
        "00", -- sm_default_msg_id
        "6F", -- sm_length 111
        "69 64 3A 61 33 66 39 63 32 65 31 20", -- short_message "id:a3f9c2e1 "
        "73 75 62 3A 30 30 31 20", --   "sub:001 "
        "64 6C 76 72 64 3A 30 30 31 20", --   "dlvrd:001 "
        "73 75 62 6D 69 74 20 64 61 74 65 3A 32 34 30 31 33 31 32 33 35 39 20", --   "submit date:2401312359 "
        "64 6F 6E 65 20 64 61 74 65 3A 32 34 30 31 33 31 32 34 30 30 20", --   "done date:2401312400 "
        "73 74 61 74 3A 44 45 4C 49 56 52 44 20", --   "stat:DELIVRD "
        "65 72 72 3A 30 30 30 20", --   "err:000 "
        "54 65 78 74 3A 48 65 6C 6C 6F 20 77 6F 72 6C 64", --   "Text:Hello world"
        "001E", -- TLV tag receipted_message_id (5.3.2.12)
        "0009", -- TLV length 9
        "61 33 66 39 63 32 65 31 00", -- value "a3f9c2e1" (C-Octet String)
        "0427", -- TLV tag message_state (5.3.2.35)
        "0001", -- TLV length 1
        "02", -- value DELIVERED (5.2.28)
    }, {
        command = "deliver_sm", command_status = 0, sequence_number = 11,
        service_type = "",
        source_addr_ton = 1, source_addr_npi = 1, source_addr = "447700900456",
        dest_addr_ton = 5, dest_addr_npi = 0, destination_addr = "ACME",
        esm_class = 0x04, protocol_id = 0, priority_flag = 0,
        schedule_delivery_time = "", validity_period = "",
        registered_delivery = 0, replace_if_present_flag = 0, data_coding = 0,
        sm_default_msg_id = 0, short_message = receipt,
        receipted_message_id = "a3f9c2e1", message_state = 2,
    })

    golden("keeps the TLV order of a receipt whose TLVs are not in tag order (tlv_order)", {
        "0000004A", -- command_length 74
        "00000005", -- command_id deliver_sm
        "00000000", -- command_status
        "0000000C", -- sequence_number 12
        "00", -- service_type NULL
        "01", -- source_addr_ton international
        "01", -- source_addr_npi ISDN
        "34 34 37 37 30 30 39 30 30 34 35 36 00", -- source_addr "447700900456"
        "05", -- dest_addr_ton alphanumeric
        "00", -- dest_addr_npi unknown
        "41 43 4D 45 00", -- destination_addr "ACME"
        "04", -- esm_class: SMSC delivery receipt
        "00", -- protocol_id
        "00", -- priority_flag
        "00", -- schedule_delivery_time NULL
        "00", -- validity_period NULL
        "00", -- registered_delivery
        "00", -- replace_if_present_flag
        "00", -- data_coding
        "00", -- sm_default_msg_id
        "00", -- sm_length 0 (no short_message)
        "0427", -- TLV tag message_state
        "0001", -- TLV length 1
        "05", -- value UNDELIVERABLE
        "001E", -- TLV tag receipted_message_id
        "0009", -- TLV length 9
        "61 33 66 39 63 32 65 31 00", -- value "a3f9c2e1"
        "0423", -- TLV tag network_error_code (5.3.2.31)
        "0003", -- TLV length 3
        "03", -- network type GSM
        "001B", -- error code 27 (absent subscriber)
    }, {
        command = "deliver_sm", command_status = 0, sequence_number = 12,
        service_type = "",
        source_addr_ton = 1, source_addr_npi = 1, source_addr = "447700900456",
        dest_addr_ton = 5, dest_addr_npi = 0, destination_addr = "ACME",
        esm_class = 0x04, protocol_id = 0, priority_flag = 0,
        schedule_delivery_time = "", validity_period = "",
        registered_delivery = 0, replace_if_present_flag = 0, data_coding = 0,
        sm_default_msg_id = 0, short_message = "",
        message_state = 5, receipted_message_id = "a3f9c2e1",
        network_error_code = "\3\0\27",
        tlv_order = { 0x0427, 0x001E, 0x0423 },
    })
end)

describe("deliver_sm_resp", function()
    golden("decodes and encodes the 3.4 section 4.6.2 layout (message_id NULL)", {
        "00000011", -- command_length 17
        "80000005", -- command_id deliver_sm_resp
        "00000000", -- command_status ESME_ROK
        "0000000A", -- sequence_number 10
        "00", -- message_id NULL (unused)
    }, {
        command = "deliver_sm_resp", command_status = 0, sequence_number = 10,
        message_id = "",
    })
end)

describe("data_sm", function()
    golden("decodes and encodes the 3.4 section 4.7.1 layout with int32, int8, octet and flag TLVs", {
        "00000057", -- command_length 87
        "00000103", -- command_id data_sm
        "00000000", -- command_status
        "0000000D", -- sequence_number 13
        "57 41 50 00", -- service_type "WAP"
        "01", -- source_addr_ton international
        "01", -- source_addr_npi ISDN
        "34 34 37 37 30 30 39 30 30 31 32 33 00", -- source_addr "447700900123"
        "01", -- dest_addr_ton international
        "01", -- dest_addr_npi ISDN
        "34 34 37 37 30 30 39 30 30 34 35 36 00", -- destination_addr "447700900456"
        "00", -- esm_class
        "01", -- registered_delivery
        "00", -- data_coding
        "0017", -- TLV tag qos_time_to_live (5.3.2.9)
        "0004", -- TLV length 4
        "00015180", -- value 86400 seconds
        "0019", -- TLV tag payload_type (5.3.2.10)
        "0001", -- TLV length 1
        "00", -- value 0: default (WDP)
        "0424", -- TLV tag message_payload (5.3.2.32)
        "000D", -- TLV length 13
        "48 65 6C 6C 6F 20 64 61 74 61 5F 73 6D", -- value "Hello data_sm"
        "130C", -- TLV tag alert_on_message_delivery (5.3.2.41)
        "0000", -- TLV length 0 (no value)
    }, {
        command = "data_sm", command_status = 0, sequence_number = 13,
        service_type = "WAP",
        source_addr_ton = 1, source_addr_npi = 1, source_addr = "447700900123",
        dest_addr_ton = 1, dest_addr_npi = 1, destination_addr = "447700900456",
        esm_class = 0, registered_delivery = 1, data_coding = 0,
        qos_time_to_live = 86400, payload_type = 0, message_payload = "Hello data_sm",
        alert_on_message_delivery = true,
    })
end)

describe("data_sm_resp", function()
    golden("decodes and encodes the 3.4 section 4.7.2 layout", {
        "00000019", -- command_length 25
        "80000103", -- command_id data_sm_resp
        "00000000", -- command_status ESME_ROK
        "0000000D", -- sequence_number 13
        "6D 73 67 2D 30 30 34 32 00", -- message_id "msg-0042"
    }, {
        command = "data_sm_resp", command_status = 0, sequence_number = 13,
        message_id = "msg-0042",
    })

    golden("decodes and encodes a delivery failure with its 3.4 section 4.7.2 TLVs", {
        "0000002F", -- command_length 47
        "80000103", -- command_id data_sm_resp
        "000000FE", -- command_status ESME_RDELIVERYFAILURE
        "0000000E", -- sequence_number 14
        "00", -- message_id NULL
        "001D", -- TLV tag additional_status_info_text (5.3.2.11)
        "0009", -- TLV length 9
        "6E 6F 20 72 6F 75 74 65 00", -- value "no route" (C-Octet String)
        "0420", -- TLV tag dpf_result (5.3.2.28)
        "0001", -- TLV length 1
        "00", -- value 0: DPF not set
        "0423", -- TLV tag network_error_code (5.3.2.31)
        "0003", -- TLV length 3
        "03", -- network type GSM
        "001B", -- error code 27
        "0425", -- TLV tag delivery_failure_reason (5.3.2.33)
        "0001", -- TLV length 1
        "03", -- value 3: temporary network error
    }, {
        command = "data_sm_resp", command_status = 0xFE, sequence_number = 14,
        message_id = "",
        additional_status_info_text = "no route", dpf_result = 0,
        network_error_code = "\3\0\27", delivery_failure_reason = 3,
    })
end)

describe("query_sm", function()
    golden("decodes and encodes the 3.4 section 4.8.1 layout", {
        "00000020", -- command_length 32
        "00000003", -- command_id query_sm
        "00000000", -- command_status
        "0000000F", -- sequence_number 15
        "61 33 66 39 63 32 65 31 00", -- message_id "a3f9c2e1"
        "05", -- source_addr_ton alphanumeric
        "00", -- source_addr_npi unknown
        "41 43 4D 45 00", -- source_addr "ACME"
    }, {
        command = "query_sm", command_status = 0, sequence_number = 15,
        message_id = "a3f9c2e1", source_addr_ton = 5, source_addr_npi = 0, source_addr = "ACME",
    })
end)

describe("query_sm_resp", function()
    golden("decodes and encodes the 3.4 section 4.8.2 layout", {
        "0000002C", -- command_length 44
        "80000003", -- command_id query_sm_resp
        "00000000", -- command_status ESME_ROK
        "0000000F", -- sequence_number 15
        "61 33 66 39 63 32 65 31 00", -- message_id "a3f9c2e1"
        "32 34 30 31 33 31 32 33 35 39 35 39 30 30 30 2B 00", -- final_date "240131235959000+"
        "02", -- message_state DELIVERED
        "00", -- error_code
    }, {
        command = "query_sm_resp", command_status = 0, sequence_number = 15,
        message_id = "a3f9c2e1", final_date = "240131235959000+", message_state = 2,
        error_code = 0,
    })
end)

describe("cancel_sm", function()
    golden("decodes and encodes the 3.4 section 4.9.1 layout", {
        "00000030", -- command_length 48
        "00000008", -- command_id cancel_sm
        "00000000", -- command_status
        "00000010", -- sequence_number 16
        "00", -- service_type NULL
        "61 33 66 39 63 32 65 31 00", -- message_id "a3f9c2e1"
        "05", -- source_addr_ton alphanumeric
        "00", -- source_addr_npi unknown
        "41 43 4D 45 00", -- source_addr "ACME"
        "01", -- dest_addr_ton international
        "01", -- dest_addr_npi ISDN
        "34 34 37 37 30 30 39 30 30 31 32 33 00", -- destination_addr "447700900123"
    }, {
        command = "cancel_sm", command_status = 0, sequence_number = 16,
        service_type = "", message_id = "a3f9c2e1",
        source_addr_ton = 5, source_addr_npi = 0, source_addr = "ACME",
        dest_addr_ton = 1, dest_addr_npi = 1, destination_addr = "447700900123",
    })
end)

describe("cancel_sm_resp", function()
    golden("decodes and encodes the 3.4 section 4.9.2 layout (header only)", {
        "00000010", -- command_length 16
        "80000008", -- command_id cancel_sm_resp
        "00000000", -- command_status ESME_ROK
        "00000010", -- sequence_number 16
    }, { command = "cancel_sm_resp", command_status = 0, sequence_number = 16 })
end)

describe("replace_sm", function()
    golden("decodes and encodes the 3.4 section 4.10.1 layout", {
        "00000041", -- command_length 65
        "00000007", -- command_id replace_sm
        "00000000", -- command_status
        "00000011", -- sequence_number 17
        "61 33 66 39 63 32 65 31 00", -- message_id "a3f9c2e1"
        "05", -- source_addr_ton alphanumeric
        "00", -- source_addr_npi unknown
        "41 43 4D 45 00", -- source_addr "ACME"
        "00", -- schedule_delivery_time NULL (immediate)
        "32 34 30 32 30 31 30 30 30 30 30 30 30 30 30 2B 00", -- validity_period "240201000000000+"
        "01", -- registered_delivery
        "00", -- sm_default_msg_id
        "0C", -- sm_length 12
        "55 70 64 61 74 65 64 20 74 65 78 74", -- short_message "Updated text"
    }, {
        command = "replace_sm", command_status = 0, sequence_number = 17,
        message_id = "a3f9c2e1", source_addr_ton = 5, source_addr_npi = 0, source_addr = "ACME",
        schedule_delivery_time = "", validity_period = "240201000000000+",
        registered_delivery = 1, sm_default_msg_id = 0, short_message = "Updated text",
    })
end)

describe("replace_sm_resp", function()
    golden("decodes and encodes the 3.4 section 4.10.2 layout (header only)", {
        "00000010", -- command_length 16
        "80000007", -- command_id replace_sm_resp
        "00000000", -- command_status ESME_ROK
        "00000011", -- sequence_number 17
    }, { command = "replace_sm_resp", command_status = 0, sequence_number = 17 })
end)

describe("submit_multi", function()
    golden("decodes and encodes the 3.4 section 4.5.1 layout with an SME address and a distribution list", {
        "00000047", -- command_length 71
        "00000021", -- command_id submit_multi
        "00000000", -- command_status
        "00000012", -- sequence_number 18
        "00", -- service_type NULL
        "05", -- source_addr_ton alphanumeric
        "00", -- source_addr_npi unknown
        "41 43 4D 45 00", -- source_addr "ACME"
        "02", -- number_of_dests 2
        "01", -- dest_address 1: dest_flag 1 (SME address, 4.5.1.1)
        "01", --   dest_addr_ton international
        "01", --   dest_addr_npi ISDN
        "34 34 37 37 30 30 39 30 30 31 32 33 00", --   destination_addr "447700900123"
        "02", -- dest_address 2: dest_flag 2 (distribution list)
        "73 74 61 66 66 00", --   dl_name "staff"
        "00", -- esm_class
        "00", -- protocol_id
        "00", -- priority_flag
        "00", -- schedule_delivery_time NULL
        "00", -- validity_period NULL
        "01", -- registered_delivery
        "00", -- replace_if_present_flag
        "00", -- data_coding
        "00", -- sm_default_msg_id
        "0D", -- sm_length 13
        "4D 65 65 74 69 6E 67 20 61 74 20 31 30", -- short_message "Meeting at 10"
    }, {
        command = "submit_multi", command_status = 0, sequence_number = 18,
        service_type = "", source_addr_ton = 5, source_addr_npi = 0, source_addr = "ACME",
        dest_address = {
            { dest_flag = 1, dest_addr_ton = 1, dest_addr_npi = 1, destination_addr = "447700900123" },
            { dest_flag = 2, dl_name = "staff" },
        },
        esm_class = 0, protocol_id = 0, priority_flag = 0,
        schedule_delivery_time = "", validity_period = "",
        registered_delivery = 1, replace_if_present_flag = 0, data_coding = 0,
        sm_default_msg_id = 0, short_message = "Meeting at 10",
    })
end)

describe("submit_multi_resp", function()
    golden("decodes and encodes the 3.4 section 4.5.2 layout with unsuccess_sme entries", {
        "0000003C", -- command_length 60
        "80000021", -- command_id submit_multi_resp
        "00000000", -- command_status ESME_ROK
        "00000012", -- sequence_number 18
        "6D 2D 37 37 00", -- message_id "m-77"
        "02", -- no_unsuccess 2
        "01", -- unsuccess_sme 1: dest_addr_ton international (4.5.2.1)
        "01", --   dest_addr_npi ISDN
        "34 34 37 37 30 30 39 30 30 39 39 39 00", --   destination_addr "447700900999"
        "0000000B", --   error_status_code ESME_RINVDSTADR
        "01", -- unsuccess_sme 2: dest_addr_ton international
        "01", --   dest_addr_npi ISDN
        "34 34 37 37 30 30 39 30 30 38 38 38 00", --   destination_addr "447700900888"
        "00000045", --   error_status_code ESME_RSUBMITFAIL
    }, {
        command = "submit_multi_resp", command_status = 0, sequence_number = 18,
        message_id = "m-77",
        unsuccess_sme = {
            { dest_addr_ton = 1, dest_addr_npi = 1, destination_addr = "447700900999", error_status_code = 0x0B },
            { dest_addr_ton = 1, dest_addr_npi = 1, destination_addr = "447700900888", error_status_code = 0x45 },
        },
    })
end)

describe("alert_notification", function()
    golden("decodes and encodes the 3.4 section 4.12.1 layout with ms_availability_status", {
        "0000002D", -- command_length 45
        "00000102", -- command_id alert_notification
        "00000000", -- command_status
        "00000013", -- sequence_number 19
        "01", -- source_addr_ton international
        "01", -- source_addr_npi ISDN
        "34 34 37 37 30 30 39 30 30 31 32 33 00", -- source_addr "447700900123" (the MS now available)
        "05", -- esme_addr_ton alphanumeric
        "00", -- esme_addr_npi unknown
        "45 53 4D 45 30 31 00", -- esme_addr "ESME01"
        "0422", -- TLV tag ms_availability_status (5.3.2.30)
        "0001", -- TLV length 1
        "00", -- value 0: available
    }, {
        command = "alert_notification", command_status = 0, sequence_number = 19,
        source_addr_ton = 1, source_addr_npi = 1, source_addr = "447700900123",
        esme_addr_ton = 5, esme_addr_npi = 0, esme_addr = "ESME01",
        ms_availability_status = 0,
    })
end)

describe("optional parameters (3.4 section 5.3)", function()
    golden("decodes and encodes int16 and int8 TLVs: user_message_reference, ports and the sar_* set", {
        "00000064", -- command_length 100
        "00000004", -- command_id submit_sm
        "00000000", -- command_status
        "00000014", -- sequence_number 20
        "00", -- service_type NULL
        "05", -- source_addr_ton alphanumeric
        "00", -- source_addr_npi unknown
        "41 43 4D 45 00", -- source_addr "ACME"
        "01", -- dest_addr_ton international
        "01", -- dest_addr_npi ISDN
        "34 34 37 37 30 30 39 30 30 31 32 33 00", -- destination_addr "447700900123"
        "00", -- esm_class
        "00", -- protocol_id
        "00", -- priority_flag
        "00", -- schedule_delivery_time NULL
        "00", -- validity_period NULL
        "00", -- registered_delivery
        "00", -- replace_if_present_flag
        "00", -- data_coding
        "00", -- sm_default_msg_id
        "11", -- sm_length 17
        "50 61 72 74 20 6F 6E 65 20 6F 66 20 74 68 72 65 65", -- short_message "Part one of three"
        "0204", -- TLV tag user_message_reference (5.3.2.17)
        "0002", -- TLV length 2
        "0007", -- value 7
        "020A", -- TLV tag source_port (5.3.2.20)
        "0002", -- TLV length 2
        "23F0", -- value 9200
        "020B", -- TLV tag destination_port (5.3.2.21)
        "0002", -- TLV length 2
        "0B84", -- value 2948
        "020C", -- TLV tag sar_msg_ref_num (5.3.2.22)
        "0002", -- TLV length 2
        "1234", -- value 0x1234
        "020E", -- TLV tag sar_total_segments (5.3.2.23)
        "0001", -- TLV length 1
        "03", -- value 3
        "020F", -- TLV tag sar_segment_seqnum (5.3.2.24)
        "0001", -- TLV length 1
        "01", -- value 1
    }, {
        command = "submit_sm", command_status = 0, sequence_number = 20,
        service_type = "", source_addr_ton = 5, source_addr_npi = 0, source_addr = "ACME",
        dest_addr_ton = 1, dest_addr_npi = 1, destination_addr = "447700900123",
        esm_class = 0, protocol_id = 0, priority_flag = 0,
        schedule_delivery_time = "", validity_period = "",
        registered_delivery = 0, replace_if_present_flag = 0, data_coding = 0,
        sm_default_msg_id = 0, short_message = "Part one of three",
        user_message_reference = 7, source_port = 9200, destination_port = 2948,
        sar_msg_ref_num = 0x1234, sar_total_segments = 3, sar_segment_seqnum = 1,
    })

    golden("decodes and encodes message_payload, callback_num and int8 TLVs with sm_length 0", {
        "0000005D", -- command_length 93
        "00000004", -- command_id submit_sm
        "00000000", -- command_status
        "00000015", -- sequence_number 21
        "00", -- service_type NULL
        "05", -- source_addr_ton alphanumeric
        "00", -- source_addr_npi unknown
        "41 43 4D 45 00", -- source_addr "ACME"
        "01", -- dest_addr_ton international
        "01", -- dest_addr_npi ISDN
        "34 34 37 37 30 30 39 30 30 31 32 33 00", -- destination_addr "447700900123"
        "00", -- esm_class
        "00", -- protocol_id
        "00", -- priority_flag
        "00", -- schedule_delivery_time NULL
        "00", -- validity_period NULL
        "01", -- registered_delivery
        "00", -- replace_if_present_flag
        "00", -- data_coding
        "00", -- sm_default_msg_id
        "00", -- sm_length 0: the text is in message_payload (5.2.21)
        "0201", -- TLV tag privacy_indicator (5.3.2.14)
        "0001", -- TLV length 1
        "02", -- value 2: confidential
        "020D", -- TLV tag language_indicator (5.3.2.19)
        "0001", -- TLV length 1
        "01", -- value 1: English
        "0381", -- TLV tag callback_num (5.3.2.36)
        "000A", -- TLV length 10
        "01", -- digit mode indicator: ASCII
        "01", -- TON international
        "01", -- NPI ISDN
        "35 35 35 31 32 33 34", -- number digits "5551234"
        "0424", -- TLV tag message_payload (5.3.2.32)
        "000B", -- TLV length 11
        "48 65 6C 6C 6F 20 77 6F 72 6C 64", -- value "Hello world"
        "1201", -- TLV tag display_time (5.3.2.26)
        "0001", -- TLV length 1
        "01", -- value 1: default
    }, {
        command = "submit_sm", command_status = 0, sequence_number = 21,
        service_type = "", source_addr_ton = 5, source_addr_npi = 0, source_addr = "ACME",
        dest_addr_ton = 1, dest_addr_npi = 1, destination_addr = "447700900123",
        esm_class = 0, protocol_id = 0, priority_flag = 0,
        schedule_delivery_time = "", validity_period = "",
        registered_delivery = 1, replace_if_present_flag = 0, data_coding = 0,
        sm_default_msg_id = 0, short_message = "",
        privacy_indicator = 2, language_indicator = 1,
        callback_num = "\1\1\1" .. "5551234", message_payload = "Hello world", display_time = 1,
    })

    golden("keeps an unknown (vendor-specific, 0x1400-0x3FFF) TLV in unknown_tlvs", {
        "00000040", -- command_length 64
        "00000004", -- command_id submit_sm
        "00000000", -- command_status
        "00000016", -- sequence_number 22
        "00", -- service_type NULL
        "05", -- source_addr_ton alphanumeric
        "00", -- source_addr_npi unknown
        "41 43 4D 45 00", -- source_addr "ACME"
        "01", -- dest_addr_ton international
        "01", -- dest_addr_npi ISDN
        "34 34 37 37 30 30 39 30 30 31 32 33 00", -- destination_addr "447700900123"
        "00", -- esm_class
        "00", -- protocol_id
        "00", -- priority_flag
        "00", -- schedule_delivery_time NULL
        "00", -- validity_period NULL
        "00", -- registered_delivery
        "00", -- replace_if_present_flag
        "00", -- data_coding
        "00", -- sm_default_msg_id
        "02", -- sm_length 2
        "48 69", -- short_message "Hi"
        "020B", -- TLV tag destination_port
        "0002", -- TLV length 2
        "0B84", -- value 2948
        "1401", -- TLV tag 0x1401 (vendor specific)
        "0003", -- TLV length 3
        "78 79 7A", -- value "xyz"
    }, {
        command = "submit_sm", command_status = 0, sequence_number = 22,
        service_type = "", source_addr_ton = 5, source_addr_npi = 0, source_addr = "ACME",
        dest_addr_ton = 1, dest_addr_npi = 1, destination_addr = "447700900123",
        esm_class = 0, protocol_id = 0, priority_flag = 0,
        schedule_delivery_time = "", validity_period = "",
        registered_delivery = 0, replace_if_present_flag = 0, data_coding = 0,
        sm_default_msg_id = 0, short_message = "Hi",
        destination_port = 2948,
        unknown_tlvs = { { tag = 0x1401, value = "xyz" } },
    })

    golden("keeps the position of an unknown TLV sent before a known one (tlv_order)", {
        "00000040", -- command_length 64
        "00000004", -- command_id submit_sm
        "00000000", -- command_status
        "00000017", -- sequence_number 23
        "00", -- service_type NULL
        "05", -- source_addr_ton alphanumeric
        "00", -- source_addr_npi unknown
        "41 43 4D 45 00", -- source_addr "ACME"
        "01", -- dest_addr_ton international
        "01", -- dest_addr_npi ISDN
        "34 34 37 37 30 30 39 30 30 31 32 33 00", -- destination_addr "447700900123"
        "00", -- esm_class
        "00", -- protocol_id
        "00", -- priority_flag
        "00", -- schedule_delivery_time NULL
        "00", -- validity_period NULL
        "00", -- registered_delivery
        "00", -- replace_if_present_flag
        "00", -- data_coding
        "00", -- sm_default_msg_id
        "02", -- sm_length 2
        "48 69", -- short_message "Hi"
        "1401", -- TLV tag 0x1401 (vendor specific)
        "0003", -- TLV length 3
        "78 79 7A", -- value "xyz"
        "020B", -- TLV tag destination_port
        "0002", -- TLV length 2
        "0B84", -- value 2948
    }, {
        command = "submit_sm", command_status = 0, sequence_number = 23,
        service_type = "", source_addr_ton = 5, source_addr_npi = 0, source_addr = "ACME",
        dest_addr_ton = 1, dest_addr_npi = 1, destination_addr = "447700900123",
        esm_class = 0, protocol_id = 0, priority_flag = 0,
        schedule_delivery_time = "", validity_period = "",
        registered_delivery = 0, replace_if_present_flag = 0, data_coding = 0,
        sm_default_msg_id = 0, short_message = "Hi",
        destination_port = 2948,
        unknown_tlvs = { { tag = 0x1401, value = "xyz" } },
        tlv_order = { 0x1401, 0x020B },
    })
end)

-- These run over every vector above (describe bodies run while busted loads
-- the file, so VECTORS is complete before any it() runs).
describe("PDU header (3.4 section 3.2)", function()
    it("has a command_length equal to the total length of the PDU, header included", function()
        assert.is_true(#VECTORS > 0)
        for _, v in ipairs(VECTORS) do
            assert.is_true(#v.bytes >= 16, v.title)
            assert.equal(#v.bytes, u32(v.bytes, 1), v.title)
        end
    end)

    it("has the command_id of section 5.1.2.1 for the command", function()
        for _, v in ipairs(VECTORS) do
            local id = COMMAND_ID[v.expected.command]
            assert.is_number(id, v.title)
            assert.equal(id, u32(v.bytes, 5), v.title)
        end
    end)

    it("has command_status and sequence_number in octets 9-16", function()
        for _, v in ipairs(VECTORS) do
            assert.equal(v.expected.command_status, u32(v.bytes, 9), v.title)
            assert.equal(v.expected.sequence_number, u32(v.bytes, 13), v.title)
        end
    end)

    it("sets bit 31 of command_id in responses (and generic_nack) only", function()
        for _, v in ipairs(VECTORS) do
            local name = v.expected.command
            local is_resp = name == "generic_nack" or name:sub(-5) == "_resp"
            local bit31 = u32(v.bytes, 5) >= 0x80000000
            assert.equal(is_resp, bit31, v.title)
        end
    end)

    it("gives each response the command_id of its request with bit 31 set", function()
        for name, id in pairs(COMMAND_ID) do
            if name:sub(-5) == "_resp" then
                local req = COMMAND_ID[name:sub(1, -6)]
                assert.is_number(req, name)
                assert.equal(req + 0x80000000, id, name)
            end
        end
    end)

    it("covers every command of section 5.1.2.1 with a golden vector", function()
        local seen = {}
        for _, v in ipairs(VECTORS) do
            seen[v.expected.command] = true
        end
        for name in pairs(COMMAND_ID) do
            assert.is_true(seen[name] == true, name)
        end
    end)

    it("matches the library's command table to section 5.1.2.1", function()
        local n = 0
        for name, id in pairs(COMMAND_ID) do
            n = n + 1
            assert.equal(id, codec.command[name], name)
            assert.equal(name, codec.command[id], name)
        end
        assert.equal(27, n)
    end)
end)
