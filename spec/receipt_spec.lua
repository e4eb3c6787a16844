-- smpp.receipt: delivery receipt texts as real SMSCs send them, the TLVs that
-- win over the text, message id comparison across hex and decimal, and the
-- arguments the functions refuse.
local receipt = require "smpp.receipt"
local pdu = require "smpp.pdu"

local function date(y, mo, d, h, mi, s)
    return { year = y, month = mo, day = d, hour = h, min = mi, sec = s or 0 }
end

-- A receipt as a plain table (without its metatable), for assert.same.
local function plain(r)
    local t = {}
    for k, v in pairs(r) do t[k] = v end
    return t
end

local function deliver_sm(fields)
    local t = { command = "deliver_sm", sequence_number = 7, esm_class = 4,
        source_addr = "447700900123", destination_addr = "12345" }
    for k, v in pairs(fields) do t[k] = v end
    return pdu.decode(pdu.encode(t))
end

describe("receipt.parse", function()
    it("reads the appendix B format", function()
        -- SMPP 3.4 appendix B, as Cloudhopper writes it (DeliveryReceiptTest)
        local r = receipt.parse("id:0123456789 sub:001 dlvrd:001 submit date:1005232039 "
            .. "done date:1005242339 stat:DELIVRD err:012 text:This is a sample mes")
        assert.same({
            id = "0123456789", sub = "001", dlvr = "001",
            submit_date = date(2010, 5, 23, 20, 39), done_date = date(2010, 5, 24, 23, 39),
            stat = "DELIVRD", state = 2, err = "012", text = "This is a sample mes",
        }, plain(r))
    end)

    it("reads dlvr: as the profile spells it, and dlvrd: as appendix B does", function()
        local r = receipt.parse("id:1 sub:001 dlvr:001 submit date:2401312359 done date:2402010000 "
            .. "stat:DELIVRD err:0 text:x")
        assert.are.equal("001", r.dlvr)
        assert.are.equal("000", receipt.parse("id:1 dlvrd:000 stat:UNDELIV").dlvr)
    end)

    it("reads a real SMSC receipt whose text is punctuation and a colon", function()
        -- Cloudhopper parseRealWorldReceipt0, from a live SMSC
        local r = receipt.parse("id:0059113978 sub:001 dlvrd:001 submit date:1002101730 "
            .. "done date:1002101731 stat:DELIVRD err:000 text:@$#!%&/:")
        assert.are.equal("0059113978", r.id)
        assert.same(date(2010, 2, 10, 17, 31), r.done_date)
        assert.are.equal("@$#!%&/:", r.text)
    end)

    it("reads keys in any case (Text:, Stat:, ID:, SUBMIT DATE:)", function()
        -- "Text:" is what jsmpp writes and the Cloudhopper SMSC simulator sends
        local r = receipt.parse("id:4 sub:001 dlvrd:001 submit date:1006020051 done date:1006020051 "
            .. "stat:DELIVRD err:000 Text:Hello")
        assert.are.equal("Hello", r.text)
        r = receipt.parse("ID:AB12 SUB:001 DLVRD:001 SUBMIT DATE:2402291200 Done Date:2402291201 "
            .. "Stat:expired Err:000 TEXT:hi")
        assert.are.equal("AB12", r.id)
        assert.same(date(2024, 2, 29, 12, 0), r.submit_date)
        assert.same(date(2024, 2, 29, 12, 1), r.done_date)
        assert.are.equal("EXPIRED", r.stat) -- stat comes out in upper case
        assert.are.equal(3, r.state)
        assert.are.equal("hi", r.text)
    end)

    it("reads submit_date/done_date and submitdate/donedate, and a date of zeros as absent", function()
        local r = receipt.parse("id:9 submit_date:2401312359 done_date:2402010001 stat:DELIVRD")
        assert.same(date(2024, 1, 31, 23, 59), r.submit_date)
        assert.same(date(2024, 2, 1, 0, 1), r.done_date)
        -- OpenMarket's documented rejection: no spaces in the date keys, done date all zeros
        r = receipt.parse("id:0118Z-0122I-2309U-57DGB sub:000 dlvrd:000 submitdate:180122230957 "
            .. "donedate:000000000000 stat:REJECTD err:375 text:")
        assert.are.equal("0118Z-0122I-2309U-57DGB", r.id)
        assert.same(date(2018, 1, 22, 23, 9, 57), r.submit_date)
        assert.is_nil(r.done_date)
        assert.are.equal("REJECTD", r.stat)
        assert.are.equal(8, r.state)
        assert.are.equal("375", r.err)
        assert.are.equal("", r.text)
    end)

    it("reads 12-digit dates with seconds, a UUID id and an empty text", function()
        -- Cloudhopper parseReceiptWithTimestampIncludingSeconds
        local r = receipt.parse("id:74e02ee1-4e2f-4a6e-a78b-4b247d756a22 sub:001 dlvrd:001 "
            .. "submit date:110206193041 done date:110206193110 stat:DELIVRD err:000 text:")
        assert.are.equal("74e02ee1-4e2f-4a6e-a78b-4b247d756a22", r.id)
        assert.same(date(2011, 2, 6, 19, 30, 41), r.submit_date)
        assert.same(date(2011, 2, 6, 19, 31, 10), r.done_date)
        assert.are.equal("", r.text)
    end)

    it("reads 14-digit dates (YYYYMMDDhhmmss) without sub and dlvrd, and err:0", function()
        -- Cloudhopper parseReceiptWithMissingSubAndDlvrdFields
        local r = receipt.parse("id:2E179B310EDE971B2760C72B7F026E1B submit date:20110314181534 "
            .. "done date:20110314181741 stat:DELIVRD err:0")
        assert.same({
            id = "2E179B310EDE971B2760C72B7F026E1B", submit_date = date(2011, 3, 14, 18, 15, 34),
            done_date = date(2011, 3, 14, 18, 17, 41), stat = "DELIVRD", state = 2, err = "0",
        }, plain(r))
    end)

    it("reads fields in another order, text before stat included", function()
        -- Cloudhopper parseReceiptWithFieldsOutOfOrder
        local r = receipt.parse("sub:001 id:74e02ee1-4e2f-4a6e-a78b-4b247d756a22 err:000 dlvrd:001 "
            .. "done date:110206193110 submit date:110206193041 text: stat:DELIVRD")
        assert.are.equal("74e02ee1-4e2f-4a6e-a78b-4b247d756a22", r.id)
        assert.are.equal("DELIVRD", r.stat)
        assert.are.equal("", r.text)
        assert.same(date(2011, 2, 6, 19, 30, 41), r.submit_date)
        -- jsmpp's custom receipt example: err before stat
        r = receipt.parse("id:5 sub:001 dlvrd:001 submit date:2401010000 done date:2401010001 "
            .. "err:000 stat:DELIVRD text:ok")
        assert.are.equal("000", r.err)
        assert.are.equal("DELIVRD", r.stat)
        assert.are.equal("ok", r.text)
    end)

    it("reads a receipt without text (Kannel users' SMSC, Stack Overflow 8754853)", function()
        local r = receipt.parse("id:40072910491427628 sub:001 dlvrd:001 submit date:1007291049 "
            .. "done date:1007291049 stat:DELIVRD err:000")
        assert.are.equal("40072910491427628", r.id)
        assert.are.equal("000", r.err)
        assert.is_nil(r.text)
    end)

    it("skips vendor keys after err (HLR lookup receipts: IMSI:, MSC:, MCCMNC:)", function()
        local r = receipt.parse("id:40072910491427628 sub:001 dlvrd:001 submit date:1007291049 "
            .. "done date:1007291049 stat:DELIVRD err:000 IMSI:219101100935850 MSC:38591016 "
            .. "HLR:38591xxxxxxx ORN:VipNet PON:VipNet RON:VipNet ROC:HR MCCMNC:21910")
        assert.are.equal("DELIVRD", r.stat)
        assert.are.equal("000", r.err)
        assert.is_nil(r.text)
        -- the failure case, vendor keys with empty values
        r = receipt.parse("id:40072910491419819 sub:001 dlvrd:001 submit date:1007291049 "
            .. "done date:1007291049 stat:UNDELIV err:001 IMSI: MSC: ORN:VipNet")
        assert.are.equal("UNDELIV", r.stat)
        assert.are.equal("001", r.err)
    end)

    it("skips lower-case vendor keys between err and text", function()
        local r = receipt.parse("id:23112715404110001 sub:001 dlvrd:001 submit date:2311271540 "
            .. "done date:2311271541 stat:DELIVRD err:000 imsi:9374747474 msc:3333 cc:91 nnc:40493 "
            .. "mccmnc:40493 isPorted:false p_nnc: isRoaming:true r_cc:961 r_nnc:415001 text:dlr ")
        assert.are.equal("000", r.err)
        assert.are.equal("dlr", r.text)
        assert.same(date(2023, 11, 27, 15, 41), r.done_date)
    end)

    it("keeps the leading zeros of an id (Vonage/Nexmo) and reads a 20-digit id", function()
        local r = receipt.parse("id:0000000012345678 sub:001 dlvrd:001 submit date:1601010100 "
            .. "done date:1601010101 stat:DELIVRD err:000 text:none")
        assert.are.equal("0000000012345678", r.id)
        assert.are.equal("none", r.text)
        -- smppcenter.com's example: a 20-digit id and dates with seconds
        r = receipt.parse("id:64567564356765435676 sub:001 dlvrd:001 submit date:190608165232 "
            .. "done date:190608165237 stat:DELIVRD err:000 text:Hello World")
        assert.are.equal("64567564356765435676", r.id)
        assert.same(date(2019, 6, 8, 16, 52, 37), r.done_date)
        assert.are.equal("Hello World", r.text)
    end)

    it("reads an undelivered receipt with an error code and a text starting with -", function()
        local r = receipt.parse("id:0911897980 sub:001 dlvrd:000 submit date:1201121551 "
            .. "done date:1201121551 stat:UNDELIV err:075 text:-PROFILE")
        assert.are.equal("UNDELIV", r.stat)
        assert.are.equal(5, r.state)
        assert.are.equal("075", r.err)
        assert.are.equal("-PROFILE", r.text)
    end)

    it("reads intermediate notifications (ENROUTE, ACCEPTD)", function()
        assert.are.equal(1, receipt.parse("id:77 sub:001 dlvrd:000 stat:ENROUTE err:000").state)
        assert.are.equal(6, receipt.parse("id:77 sub:001 dlvrd:000 stat:ACCEPTD err:000").state)
    end)

    it("tolerates extra spaces, a space after the colon, and a trailing CR LF", function()
        local r = receipt.parse("  id:123   sub:001  dlvrd:001 submit  date: 2401312359 "
            .. "done date:2402010000   stat: DELIVRD  err:000 text:  two  spaces\r\n")
        assert.are.equal("123", r.id)
        assert.are.equal("001", r.sub)
        assert.same(date(2024, 1, 31, 23, 59), r.submit_date)
        assert.are.equal("DELIVRD", r.stat)
        assert.are.equal("two  spaces", r.text)
    end)

    it("runs text to the end, colons and key-like words included", function()
        local r = receipt.parse("id:123 sub:001 dlvrd:001 submit date:2401312359 done date:2402010000 "
            .. "stat:DELIVRD err:000 text:Meet at 10:30 id:99 stat:EXPIRED err:999 url:http://x.y/z")
        assert.are.equal("123", r.id)
        assert.are.equal("DELIVRD", r.stat)
        assert.are.equal("000", r.err)
        assert.are.equal("Meet at 10:30 id:99 stat:EXPIRED err:999 url:http://x.y/z", r.text)
    end)

    it("gives empty values as empty strings and absent fields as nil", function()
        local r = receipt.parse("id:123 sub: dlvrd: submit date: done date: stat:DELIVRD err: text:")
        assert.same({ id = "123", sub = "", dlvr = "", stat = "DELIVRD", state = 2, err = "", text = "" },
            plain(r))
        r = receipt.parse("stat:DELIVRD")
        assert.same({ stat = "DELIVRD", state = 2 }, plain(r))
    end)

    it("refuses dates that are not dates", function()
        local r = receipt.parse("id:1 submit date:2413010000 done date:2302290000 stat:DELIVRD")
        assert.is_nil(r.submit_date) -- month 13
        assert.is_nil(r.done_date) -- 2023-02-29
        assert.is_nil(receipt.parse("id:1 submit date:24010100 stat:DELIVRD").submit_date)
        assert.is_nil(receipt.parse("id:1 done date:24O1010000 stat:DELIVRD").done_date)
    end)

    it("gives dates os.time() takes", function()
        local r = receipt.parse("id:1 submit date:2401312359 done date:240201000005 stat:DELIVRD")
        assert.are.equal(65, os.time(r.done_date) - os.time(r.submit_date))
    end)

    it("returns nil, \"not a delivery receipt\" for a text that is not one", function()
        for _, text in ipairs{ "Hello, see you at 10:30", "Your code is 1234. id: none", "", "   ",
            "text:only a text", "id: stat: err:000", "sub:001 dlvrd:001" } do
            local r, err = receipt.parse(text)
            assert.is_nil(r, text)
            assert.are.equal("not a delivery receipt", err)
        end
    end)

    it("gives a receipt that prints as one readable line", function()
        local r = receipt.parse("id:0059113978 sub:001 dlvrd:001 submit date:1002101730 "
            .. "done date:1002101731 stat:DELIVRD err:000 text:two\nlines")
        local s = tostring(r)
        assert.matches("^receipt id=0059113978 stat=DELIVRD state=2 err=000 ", s)
        assert.matches("submit_date=2010-02-10 17:30:00", s, 1, true)
        assert.matches('text="two\\nlines"', s, 1, true)
        assert.is_nil(s:find("\n"))
        s = tostring(receipt.parse("id:a\nb stat:DELIVRD"))
        assert.are.equal('receipt id="a\\nb" stat=DELIVRD state=2', s)
    end)
end)

describe("receipt.parse of a deliver_sm", function()
    local text = "id:0059113978 sub:001 dlvrd:001 submit date:1002101730 done date:1002101731 "
        .. "stat:DELIVRD err:000 text:@$#!%&/:"

    it("reads the text of short_message", function()
        local r = receipt.parse(deliver_sm{ short_message = text })
        assert.are.equal("0059113978", r.id)
        assert.are.equal("DELIVRD", r.stat)
        assert.are.equal(2, r.state)
    end)

    it("lets receipted_message_id and message_state win over the text", function()
        -- Cloudhopper parseRealWorldReceipt0: the TLV has the id in hex; that
        -- SMSC writes its texts in ASCII, so its account charset is latin1
        local r = receipt.parse(deliver_sm{ short_message = text, receipted_message_id = "38601fa",
            message_state = 5 }, { charset = "latin1" })
        assert.are.equal("38601fa", r.id)
        assert.are.equal("UNDELIV", r.stat)
        assert.are.equal(5, r.state)
        assert.are.equal("000", r.err)
        assert.are.equal("@$#!%&/:", r.text)
        assert.is_true(receipt.same_id(r.id, "0059113978"))
    end)

    it("keeps the id of the text when receipted_message_id is empty", function()
        local r = receipt.parse{ command = "deliver_sm", short_message = text, receipted_message_id = "" }
        assert.are.equal("0059113978", r.id)
    end)

    it("reads message_payload when short_message is empty", function()
        local r = receipt.parse(deliver_sm{ message_payload = text, message_state = 2 }, { charset = "latin1" })
        assert.are.equal("0059113978", r.id)
        assert.are.equal("@$#!%&/:", r.text)
    end)

    it("makes a receipt of the TLVs alone when there is no receipt text", function()
        local r = receipt.parse(deliver_sm{ receipted_message_id = "a3f9c2e1", message_state = 3 })
        assert.same({ id = "a3f9c2e1", stat = "EXPIRED", state = 3 }, plain(r))
    end)

    it("keeps a message_state it has no name for, and the stat of the text", function()
        local r = receipt.parse(deliver_sm{ short_message = text, message_state = 9 })
        assert.are.equal(9, r.state)
        assert.are.equal("DELIVRD", r.stat)
    end)

    it("returns nil, \"not a delivery receipt\" for a message that is not one", function()
        local r, err = receipt.parse(deliver_sm{ esm_class = 0, short_message = "Hello there" })
        assert.is_nil(r)
        assert.are.equal("not a delivery receipt", err)
        r, err = receipt.parse(pdu.decode(pdu.encode{ command = "submit_sm", sequence_number = 1,
            destination_addr = "447700900123", short_message = text }))
        assert.is_nil(r)
        assert.are.equal("not a delivery receipt", err)
    end)
end)

describe("receipt.is_receipt", function()
    it("accepts an SMSC delivery receipt (esm_class 0x04), with other bits set too", function()
        assert.is_true(receipt.is_receipt(deliver_sm{ esm_class = 0x04 }))
        assert.is_true(receipt.is_receipt(deliver_sm{ esm_class = 0x44 })) -- with UDHI
        assert.is_true(receipt.is_receipt{ command = "data_sm", esm_class = 0x04 })
    end)

    it("accepts an intermediate delivery notification (0x20)", function()
        assert.is_true(receipt.is_receipt(deliver_sm{ esm_class = 0x20 }))
    end)

    it("refuses SME acknowledgements (0x08, 0x10), plain messages and other commands", function()
        assert.is_false(receipt.is_receipt(deliver_sm{ esm_class = 0x08 }))
        assert.is_false(receipt.is_receipt(deliver_sm{ esm_class = 0x10 }))
        assert.is_false(receipt.is_receipt(deliver_sm{ esm_class = 0x00 }))
        assert.is_false(receipt.is_receipt(deliver_sm{ esm_class = 0x0C }))
        assert.is_false(receipt.is_receipt{ command = "submit_sm", esm_class = 0x04 })
        assert.is_false(receipt.is_receipt{})
    end)
end)

describe("receipt.same_id", function()
    it("is true for the same id", function()
        assert.is_true(receipt.same_id("a3f9c2e1", "a3f9c2e1"))
        assert.is_true(receipt.same_id("", ""))
    end)

    it("ignores case and leading zeros", function()
        assert.is_true(receipt.same_id("2E179B310EDE971B2760C72B7F026E1B", "2e179b310ede971b2760c72b7f026e1b"))
        assert.is_true(receipt.same_id("0000000012345678", "12345678"))
        assert.is_true(receipt.same_id("00ABC", "abc"))
        assert.is_true(receipt.same_id("000", "0"))
    end)

    it("matches an id in hex with the same id in decimal, either way round", function()
        assert.is_true(receipt.same_id("38601fa", "0059113978"))
        assert.is_true(receipt.same_id("0059113978", "38601FA"))
        -- Cloudhopper's toMessageIdAsHexString example
        assert.is_true(receipt.same_id("98765432101", "16fee0e525"))
        -- an all-digit hex id: "10" in hex is 16
        assert.is_true(receipt.same_id("10", "16"))
        assert.is_true(receipt.same_id("0", "00"))
    end)

    it("matches 16 hex digits with their 20-digit decimal, exactly", function()
        assert.is_true(receipt.same_id("ffffffffffffffff", "18446744073709551615"))
        assert.is_true(receipt.same_id("18446744073709551615", "FFFFFFFFFFFFFFFF"))
        assert.is_true(receipt.same_id("8000000000000000", "9223372036854775808")) -- 2^63
        assert.is_true(receipt.same_id("9223372036854775808", "8000000000000000"))
        assert.is_true(receipt.same_id("8000000000000001", "9223372036854775809"))
        assert.is_true(receipt.same_id("fffffffffffffffe", "18446744073709551614"))
        -- one off, in the last digit a double cannot tell apart
        assert.is_false(receipt.same_id("ffffffffffffffff", "18446744073709551614"))
        assert.is_false(receipt.same_id("8000000000000000", "9223372036854775809"))
        assert.is_false(receipt.same_id("8000000000000001", "9223372036854775808"))
    end)

    it("matches the two forms with leading zeros and in any case", function()
        assert.is_true(receipt.same_id("0000FFFFFFFFFFFFFFFF", "0018446744073709551615"))
        assert.is_true(receipt.same_id("00000000000000000000000000000000000000038601Fa", "59113978"))
        assert.is_true(receipt.same_id("38601FA", "00000000000000000000000000000000000059113978"))
        assert.is_true(receipt.same_id("0008000000000000000", "009223372036854775808"))
    end)

    it("gives ids past 64 bits no other form", function()
        -- 17 hex digits: 0x10000000000000000 is 2^64
        assert.is_false(receipt.same_id("10000000000000000", "18446744073709551616"))
        assert.is_false(receipt.same_id("3800e11b0592d471c", "64567564356765435676"))
        -- 20 digits of 2^64, 21 digits: no hex
        assert.is_false(receipt.same_id("18446744073709551616", "10000000000000000"))
        assert.is_false(receipt.same_id("100000000000000000000", "56bc75e2d63100000"))
        -- but each is still itself, in any case and with leading zeros
        assert.is_true(receipt.same_id("3800E11B0592D471C", "003800e11b0592d471c"))
        assert.is_true(receipt.same_id("0100000000000000000000", "100000000000000000000"))
    end)

    it("is symmetric", function()
        local ids = { "", "0", "00", "9", "10", "16", "a", "A", "38601fa", "0059113978",
            "ffffffffffffffff", "18446744073709551615", "8000000000000000", "9223372036854775808",
            "10000000000000000", "18446744073709551616", "100000000000000000000", "74e02ee1-4e2f",
            "2E179B31-0EDE-971B-2760-C72B7F026E1B", "100", "598", "256" }
        for _, a in ipairs(ids) do
            for _, b in ipairs(ids) do
                assert.are.equal(receipt.same_id(a, b), receipt.same_id(b, a), a .. " | " .. b)
            end
        end
    end)

    it("does not match two ids that are only forms of a third", function()
        -- "a" is 10 and "16" is 0x10: both are forms of "10", not of each other
        assert.is_false(receipt.same_id("a", "16"))
        assert.is_false(receipt.same_id("100", "598")) -- 0x100 is 256, 598 is 0x256
        assert.is_true(receipt.same_id("100", "256"))
        assert.is_true(receipt.same_id("598", "256"))
    end)

    it("compares ids that read as no number as text", function()
        assert.is_true(receipt.same_id("2E179B31-0EDE-971B-2760-C72B7F026E1B",
            "2e179b31-0ede-971b-2760-c72b7f026e1b"))
        assert.is_false(receipt.same_id("2E179B31-0EDE-971B-2760-C72B7F026E1B",
            "2E179B310EDE971B2760C72B7F026E1B"))
        assert.is_true(receipt.same_id("msg-00042-X", "MSG-00042-x"))
        assert.is_false(receipt.same_id("msg-42-x", "msg-00042-x"))
    end)

    it("is false for different ids", function()
        assert.is_false(receipt.same_id("12345678", "12345679"))
        assert.is_false(receipt.same_id("38601fb", "0059113978"))
        assert.is_false(receipt.same_id("abc", "abd"))
        assert.is_false(receipt.same_id("74e02ee1-4e2f", "74e02ee14e2f"))
        assert.is_false(receipt.same_id("", "0"))
        assert.is_false(receipt.same_id("1", "1 "))
    end)
end)

describe("receipt.id_keys", function()
    it("gives the key of the id, then its decimal and hex forms", function()
        assert.same({ "38601fa", "59113978" }, receipt.id_keys("38601FA"))
        assert.same({ "59113978", "1494301048", "38601fa" }, receipt.id_keys("0059113978"))
        assert.same({ "10", "16", "a" }, receipt.id_keys("10"))
        assert.same({ "abc", "2748" }, receipt.id_keys("00ABC"))
    end)

    it("gives each form once", function()
        assert.same({ "9" }, receipt.id_keys("9"))
        assert.same({ "0" }, receipt.id_keys("0000"))
        assert.same({ "0" }, receipt.id_keys("0"))
        assert.same({ "f", "15" }, receipt.id_keys("F"))
        assert.same({ "15", "21", "f" }, receipt.id_keys("15"))
    end)

    it("reads 16 hex digits and decimals up to 2^64 - 1 exactly", function()
        assert.same({ "ffffffffffffffff", "18446744073709551615" }, receipt.id_keys("FFFFFFFFFFFFFFFF"))
        assert.same({ "18446744073709551615", "ffffffffffffffff" }, receipt.id_keys("18446744073709551615"))
        assert.same({ "8000000000000000", "9223372036854775808", "1c6bf526340000" },
            receipt.id_keys("8000000000000000"))
        assert.same({ "9223372036854775808", "8000000000000000" }, receipt.id_keys("9223372036854775808"))
        assert.same({ "ffffffffffffffff", "18446744073709551615" }, receipt.id_keys("000ffffffffffffffff"))
        assert.same({ "1000000000000000", "1152921504606846976", "38d7ea4c68000" },
            receipt.id_keys("00001000000000000000"))
    end)

    it("gives an id past 64 bits, or of other characters, its key alone", function()
        -- 17 digits: no decimal form as hex, but a hex form as the decimal 10^16
        assert.same({ "10000000000000000", "2386f26fc10000" }, receipt.id_keys("10000000000000000"))
        assert.same({ "3800e11b0592d471c" }, receipt.id_keys("3800E11B0592D471C"))
        assert.same({ "18446744073709551616" }, receipt.id_keys("18446744073709551616"))
        assert.same({ "100000000000000000000" }, receipt.id_keys("100000000000000000000"))
        assert.same({ "2e179b31-0ede-971b-2760-c72b7f026e1b" },
            receipt.id_keys("2E179B31-0EDE-971B-2760-C72B7F026E1B"))
        assert.same({ "74e02ee1-4e2f" }, receipt.id_keys("74e02ee1-4e2f"))
        assert.same({ "" }, receipt.id_keys(""))
    end)

    it("gives keys that are their own keys, each the same id as the id", function()
        for _, id in ipairs{ "0059113978", "38601FA", "FFFFFFFFFFFFFFFF", "9223372036854775808", "10",
            "7", "0", "", "x-1", "10000000000000000" } do
            for _, k in ipairs(receipt.id_keys(id)) do
                assert.are.equal(k, receipt.id_keys(k)[1], id)
                assert.is_true(receipt.same_id(id, k), id .. " | " .. k)
            end
        end
    end)

    it("keeps a long id whole", function()
        local id = ("AB"):rep(300)
        assert.same({ ("ab"):rep(300) }, receipt.id_keys(("0"):rep(50) .. id))
        assert.is_true(receipt.same_id(id, ("0"):rep(50) .. id:lower()))
    end)
end)

describe("receipt.final", function()
    it("is true for the states after which the SMSC stops trying", function()
        -- SMPP 3.4 5.2.28: DELIVERED, EXPIRED, DELETED, UNDELIVERABLE, ACCEPTED
        -- (read on the subscriber's behalf) and REJECTED are final states
        for _, s in ipairs{ "DELIVRD", "EXPIRED", "DELETED", "UNDELIV", "ACCEPTD", "REJECTD", "undeliv", "acceptd" } do
            assert.is_true(receipt.final(s), s)
        end
        for n = 2, 8 do
            if n ~= 7 then assert.is_true(receipt.final(n), n) end
        end
    end)

    it("is false for ENROUTE, UNKNOWN and what it does not know", function()
        for _, s in ipairs{ "ENROUTE", "UNKNOWN", "DELIVERED", "ACCEPTED", "" } do
            assert.is_false(receipt.final(s), s)
        end
        assert.is_false(receipt.final(1))
        assert.is_false(receipt.final(7))
        assert.is_false(receipt.final(9))
    end)
end)

describe("bad arguments", function()
    it("raise errors that name the argument", function()
        assert.has_error(function() receipt.parse(nil) end,
            "smpp.receipt.parse: pdu_or_text must be a receipt text or a decoded deliver_sm, got nil")
        assert.has_error(function() receipt.parse(42) end,
            "smpp.receipt.parse: pdu_or_text must be a receipt text or a decoded deliver_sm, got number")
        assert.has_error(function() receipt.parse{ short_message = 5 } end,
            "smpp.receipt.parse: pdu.short_message must be a string, got number")
        assert.has_error(function() receipt.parse{ message_state = "2" } end,
            "smpp.receipt.parse: pdu.message_state must be a number, got string")
        assert.has_error(function() receipt.is_receipt("id:1") end,
            "smpp.receipt.is_receipt: pdu must be a decoded PDU table, got string")
        assert.has_error(function() receipt.same_id(nil, "1") end,
            "smpp.receipt.same_id: a must be a string, got nil")
        assert.has_error(function() receipt.same_id("1", 1) end,
            "smpp.receipt.same_id: b must be a string, got number")
        assert.has_error(function() receipt.id_keys(59113978) end,
            "smpp.receipt.id_keys: id must be a string, got number")
        assert.has_error(function() receipt.final({}) end,
            "smpp.receipt.final: stat must be a stat name or a message_state number, got table")
    end)

    it("point at the caller", function()
        local _, err = pcall(receipt.same_id, "1")
        assert.matches("same_id: b must be a string, got nil", err, 1, true)
        _, err = pcall(function() receipt.parse{ message_payload = true } end)
        assert.matches("receipt_spec%.lua:%d+: smpp%.receipt%.parse: pdu%.message_payload", err)
    end)

    it("raise errors from the core functions too", function()
        local core = require "smpp.core"
        assert.has_error(function() core.receipt_parse(nil) end)
        assert.matches("#2", select(2, pcall(core.receipt_same_id, "1", nil)))
        assert.matches("#1", select(2, pcall(core.receipt_id_keys, nil)))
    end)
end)

describe("receipt.parse of a PDU in another alphabet", function()
    local smpp = require "smpp"
    it("reads a UCS-2 receipt through its data_coding", function()
        local body = "id:77 sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 "
            .. "stat:DELIVRD err:000 text:Привет"
        local ucs2 = { command = "deliver_sm", esm_class = 4, data_coding = 8,
            short_message = assert(smpp.text.encode(body, "ucs2")) }
        local r = assert(smpp.receipt.parse(ucs2))
        assert.are.equal("77", r.id)
        assert.are.equal("DELIVRD", r.stat)
        assert.are.equal("Привет", r.text)
    end)
    it("reads '@' of a GSM receipt text as '@', not as NUL", function()
        local gsm = { command = "deliver_sm", esm_class = 4, data_coding = 0,
            short_message = "id:5 stat:DELIVRD err:000 text:a\0b" }
        assert.are.equal("a@b", assert(smpp.receipt.parse(gsm)).text)
    end)

    it("reads the octets of a PDU as the text's decoding would, in every account charset", function()
        -- octets that read the same in GSM 03.38 and ASCII, and octets that do not
        local bodies = { "id:0000ABCD sub:001 dlvrd:001 submit date:2611260930 done date:2611260931 "
            .. "stat:DELIVRD err:000 text:Hello, bench!", "id:7 stat:UNDELIV err:001 text:[x] $5 @home_é" }
        for _, body in ipairs(bodies) do
            for _, charset in ipairs({ "gsm7", "latin1" }) do
                local octets, dcs = assert(smpp.text.encode(body, charset == "gsm7" and "gsm7" or "latin1",
                    { charset = charset }))
                local p = { command = "deliver_sm", esm_class = 4, data_coding = dcs, short_message = octets }
                local from_pdu = assert(smpp.receipt.parse(p, { charset = charset }))
                local from_text = assert(smpp.receipt.parse(smpp.text.decode(octets, dcs, { charset = charset })))
                assert.are.same(from_text, from_pdu)
                assert.are.equal(body:match("text:(.*)$"), from_pdu.text)
            end
        end
        assert.has_error(function() smpp.receipt.parse({ command = "deliver_sm", esm_class = 4, data_coding = 0,
            short_message = "id:1 stat:DELIVRD" }, { charset = "ebcdic" }) end)
    end)

    it("reads an IA5 (data_coding 1) or Latin-1 (3) receipt, its octets past ASCII decoded", function()
        local head = "id:9 sub:001 dlvrd:001 submit date:2611260930 done date:2611260931 stat:DELIVRD err:000 text:"
        for _, case in ipairs({
            { 1, "plain ~{}|", "plain ~{}|" },          -- printable ASCII: as it is
            { 3, "caf\233 \163", "café £" },            -- Latin-1 octets become UTF-8
            { 1, "bad\233", "bad�" },                   -- not ASCII: the replacement character
            { 3, "tab\there", "tab\there" },           -- a control octet: decoded, kept
        }) do
            local r = assert(smpp.receipt.parse({ command = "deliver_sm", esm_class = 4,
                data_coding = case[1], short_message = head .. case[2] }))
            assert.are.equal("9", r.id)
            assert.are.equal(case[3], r.text)
        end
    end)
end)
