-- smpp.text.joiner: the parts of inbound long messages joined, each kept until
-- its message is handled, a part delivered again recognised, and a message
-- whose part never comes released partial, by time or by memory.
local smpp = require "smpp"
local text = smpp.text

local FROM, TO = "447700900123", "12345"

-- The parts of a text as deliver_sm tables (opts as for text.split, with
-- from and to).
local function parts_of(s, opts)
    opts = opts or {}
    local list = assert(text.split(s, opts))
    for _, p in ipairs(list) do
        p.command = "deliver_sm"
        p.source_addr, p.destination_addr = opts.from or FROM, opts.to or TO
    end
    return list
end

-- The kinds add() gives for the parts at the numbers given, in that order,
-- and the last message and released list.
local function add_all(j, parts, order, now)
    local kinds, message, released = {}, nil, nil
    for i, seq in ipairs(order) do
        local m, kind, rel = j:add(parts[seq], now)
        kinds[i] = kind
        if m then message = m end
        if rel then
            released = released or {}
            for _, r in ipairs(rel) do released[#released + 1] = r end
        end
    end
    return kinds, message, released
end

local function decoded(m)
    return (text.decode(m.payload, m.data_coding))
end

local LONG_A = ("Alpha one two three. "):rep(20) -- 420 septets: 3 parts of 153
local LONG_B = ("Bravo four five six! "):rep(20)

describe("text.joiner", function()
    describe("joining", function()
        it("joins 8-bit UDH parts that arrive out of order", function()
            local j = text.joiner()
            local parts = parts_of(LONG_A, { ref = 7 })
            assert.are.equal(3, #parts)
            local kinds, m = add_all(j, parts, { 3, 1, 2 }, 0)
            assert.are.same({ "held", "held", "whole" }, kinds)
            assert.are.equal(LONG_A, decoded(m))
            assert.are.same({ FROM, TO, 0, 3, true }, { m.source_addr, m.destination_addr, m.data_coding,
                m.parts, m.complete })
            assert.is_nil(m.partial)
            assert.is_nil(m.missing)
        end)

        it("joins 16-bit UDH parts and SAR parts", function()
            local j = text.joiner()
            local u16 = parts_of(LONG_A, { concat = "udh16", ref = 40000 })
            local kinds, m = add_all(j, u16, { 2, 3, 1 }, 0)
            assert.are.same({ "held", "held", "whole" }, kinds)
            assert.are.equal(LONG_A, decoded(m))
            local sar = parts_of(LONG_B, { concat = "sar", ref = 300 })
            kinds, m = add_all(j, sar, { 1, 3, 2 }, 0)
            assert.are.same({ "held", "held", "whole" }, kinds)
            assert.are.equal(LONG_B, decoded(m))
            assert.are.equal(#sar, m.parts)
        end)

        it("joins UCS-2 parts, and SAR parts of data_sm carried in message_payload", function()
            local j = text.joiner()
            local s = ("Grüße aus Köln – 東京 "):rep(10)
            local parts = parts_of(s, { encoding = "ucs2", ref = 9 })
            local _, m = add_all(j, parts, { 2, 1, 3 }, 0)
            assert.are.equal(8, m.data_coding)
            assert.are.equal(s, decoded(m))
            local sar = parts_of(LONG_B, { concat = "sar", ref = 5 })
            for _, p in ipairs(sar) do
                p.command, p.message_payload, p.short_message = "data_sm", p.short_message, nil
            end
            _, m = add_all(j, sar, { 3, 2, 1 }, 0)
            assert.are.equal(LONG_B, decoded(m))
        end)

        it("takes PDUs as smpp.pdu.decode gives them", function()
            local j = text.joiner()
            local kinds, m = {}, nil
            for i, p in ipairs(parts_of(LONG_A, { ref = 200 })) do
                p.sequence_number = i
                local got, kind = j:add(smpp.pdu.decode(smpp.pdu.encode(p)), 0)
                kinds[i], m = kind, got or m
            end
            assert.are.same({ "held", "held", "whole" }, kinds)
            assert.are.equal(LONG_A, decoded(m))
        end)

        it("lets a message that is no part through at once, needing no handled()", function()
            local j = text.joiner()
            local m, kind, released = j:add({ source_addr = "1", destination_addr = "2", short_message = "hi",
                esm_class = 0, data_coding = 0 }, 0)
            assert.are.equal("single", kind)
            assert.is_nil(released)
            assert.are.same({ "hi", 1, true, "1", "2" }, { m.payload, m.parts, m.complete, m.source_addr,
                m.destination_addr })
            assert.is_false(j:handled(m, 0))
            assert.are.equal(0, (j:pending_count()))
            -- the same again is the same again: nothing tells it from a new one
            assert.are.equal("single", select(2, j:add({ short_message = "hi", esm_class = 0 }, 0)))
            -- a header without concatenation (ports) is stripped; a payload is the message
            m = j:add({ esm_class = 0x40, short_message = "\4\4\2\1\2hello" }, 0)
            assert.are.equal("hello", m.payload)
            m = j:add({ short_message = "", message_payload = ("p"):rep(500) }, 0)
            assert.are.equal(("p"):rep(500), m.payload)
        end)

        it("keeps messages of other senders, destinations and kinds with the same reference apart", function()
            local j = text.joiner()
            local a = parts_of(LONG_A, { ref = 5, from = "1111" })
            local b = parts_of(LONG_B, { ref = 5, from = "2222" })
            local c = parts_of(LONG_B, { ref = 5, to = "999" })
            local d = parts_of(LONG_A, { ref = 5, concat = "udh16" })
            local got = {}
            for seq = 1, 3 do
                for _, list in ipairs({ a, b, c, d }) do
                    local m = j:add(list[4 - seq], 0)
                    if m then got[#got + 1] = m end
                end
            end
            assert.are.equal(4, #got)
            assert.are.same({ LONG_A, LONG_B, LONG_B, LONG_A },
                { decoded(got[1]), decoded(got[2]), decoded(got[3]), decoded(got[4]) })
            assert.are.same({ "1111", "2222", FROM, FROM },
                { got[1].source_addr, got[2].source_addr, got[3].source_addr, got[4].source_addr })
            assert.are.equal("999", got[3].destination_addr)
        end)

        it("checks its options", function()
            local function refusal(opts)
                local ok, err = pcall(text.joiner, opts)
                assert.is_false(ok)
                return err
            end
            assert.matches("joiner: timeout must be a number >= 0, got %-1", refusal{ timeout = -1 })
            assert.matches("joiner: max_bytes must be a number >= 0, got big", refusal{ max_bytes = "big" })
            assert.matches("joiner: options must be a table", refusal(5))
        end)
    end)

    describe("keeping parts until the message is handled", function()
        it("holds the parts of a joined message until handled(), then forgets them", function()
            local j = text.joiner()
            local _, m = add_all(j, parts_of(LONG_A, { ref = 1 }), { 1, 2, 3 }, 0)
            assert.are.equal(1, (j:pending_count()))
            assert.is_true(j:handled(m, 0))
            assert.are.same({ 0, 0 }, { j:pending_count() })
            assert.are.equal(3, j:remembered_count())
            assert.is_false(j:handled(m, 0)) -- once is enough
        end)

        it("gives the whole message again when the last part comes again after the handler failed", function()
            local j = text.joiner()
            local parts = parts_of(LONG_A, { ref = 2 })
            local kinds, first = add_all(j, parts, { 1, 2, 3 }, 0)
            assert.are.same({ "held", "held", "whole" }, kinds)
            -- the handler raised: no handled(); the SMSC, answered 0x64, delivers part 3 again
            local again, kind = j:add(parts[3], 30)
            assert.are.equal("whole", kind)
            assert.are.equal(LONG_A, decoded(again))
            assert.are.equal(decoded(first), decoded(again))
            -- and again, until a handler returns
            local third = j:add(parts[3], 60)
            assert.are.equal(LONG_A, decoded(third))
            assert.is_true(j:handled(third, 60))
            -- now it is handled: the last part once more is only answered
            local none, after = j:add(parts[3], 90)
            assert.is_nil(none)
            assert.are.equal("again", after)
            assert.are.equal(0, (j:pending_count()))
        end)

        it("keeps a whole message not handled for timeout after it was last given, then drops it quietly", function()
            local j = text.joiner{ timeout = 100 }
            local parts = parts_of(LONG_A, { ref = 3 })
            add_all(j, parts, { 1, 2 }, 0)
            add_all(j, parts, { 3 }, 90) -- whole at 90: kept until 190
            assert.are.equal(190, j:next_expiry())
            assert.are.same({}, j:expire(150))
            assert.are.equal("whole", select(2, j:add(parts[3], 150))) -- given again: until 250
            assert.are.same({}, j:expire(249))
            assert.are.equal(1, (j:pending_count()))
            assert.are.same({}, j:expire(250)) -- not partial: nothing for the handler
            assert.are.equal(0, (j:pending_count()))
            assert.is_nil(j:next_expiry())
        end)
    end)

    describe("a part delivered again", function()
        it("answers a part of a handled message without holding it, and joins the next message with the reference",
            function()
                local j = text.joiner()
                local a = parts_of(LONG_A, { ref = 42 })
                local _, m = add_all(j, a, { 1, 2, 3 }, 0)
                assert.is_true(j:handled(m, 0))
                -- part 2's response was lost: the SMSC delivers it again
                local none, kind, released = j:add(a[2], 40)
                assert.are.same({ "again" }, { kind })
                assert.is_nil(none)
                assert.is_nil(released)
                assert.are.equal(0, (j:pending_count()))
                -- a new message from the same sender with the same reference
                local b = parts_of(LONG_B, { ref = 42 })
                local kinds, mb = add_all(j, b, { 1, 2, 3 }, 50)
                assert.are.same({ "held", "held", "whole" }, kinds)
                assert.are.equal(LONG_B, decoded(mb))
                assert.is_true(j:handled(mb, 50))
                -- its parts are recognised in their turn, and A's still
                assert.are.equal("again", select(2, j:add(b[1], 60)))
                assert.are.equal("again", select(2, j:add(a[1], 60)))
                assert.are.equal(0, (j:pending_count()))
            end)

        it("recognises a part by its octets, sender, destination and number", function()
            local j = text.joiner()
            local a = parts_of(LONG_A, { ref = 11 })
            local _, m = add_all(j, a, { 1, 2, 3 }, 0)
            j:handled(m, 0)
            local other_from = parts_of(LONG_A, { ref = 11, from = "4477" })
            local other_to = parts_of(LONG_A, { ref = 11, to = "54321" })
            assert.are.equal("held", select(2, j:add(other_from[2], 1)))
            assert.are.equal("held", select(2, j:add(other_to[2], 1)))
            -- the same reference and number with other octets is a new message's part
            local b = parts_of(LONG_B, { ref = 11 })
            assert.are.equal("held", select(2, j:add(b[2], 1)))
            assert.are.equal(3, (j:pending_count()))
        end)

        it("answers a repeated part of a message being joined once, counting it once", function()
            local j = text.joiner()
            local parts = parts_of(LONG_A, { ref = 12 })
            local kinds, m = add_all(j, parts, { 1, 1, 3, 3, 1 }, 0)
            assert.are.same({ "held", "again", "held", "again", "again" }, kinds)
            assert.is_nil(m)
            local count, bytes = j:pending_count()
            assert.are.equal(1, count)
            assert.are.equal(#parts[1].short_message - 6 + #parts[3].short_message - 6 + 2 * 64, bytes)
            local whole, kind = j:add(parts[2], 0)
            assert.are.equal("whole", kind)
            assert.are.equal(LONG_A, decoded(whole))
        end)

        it("takes a part with a number held already but other octets as a new message beside the other",
            function()
                local j = text.joiner()
                local a = parts_of(LONG_A, { ref = 13 })
                local b = parts_of(LONG_B, { ref = 13 })
                add_all(j, a, { 1, 2 }, 0) -- A3 comes late
                local kinds, m, released = add_all(j, b, { 1, 3, 2 }, 10)
                assert.are.same({ "held", "held", "whole" }, kinds)
                assert.is_nil(released)
                assert.are.equal(LONG_B, decoded(m))
                assert.is_true(j:handled(m, 10))
                -- A kept its parts: its last one completes it
                local ma, kind = j:add(a[3], 40)
                assert.are.equal("whole", kind)
                assert.are.equal(LONG_A, decoded(ma))
                assert.is_true(j:handled(ma, 40))
                assert.are.equal(0, (j:pending_count()))
            end)

        it("gives a whole message not handled again beside a new one with its reference, in any order",
            function()
                for _, order in ipairs({ { "B1", "B2", "A3", "B3" }, { "B3", "A3", "B1", "B2" },
                    { "A3", "B2", "B1", "B3" }, { "B2", "B1", "B3", "A3" } }) do
                    local j = text.joiner()
                    local list = { A = parts_of(LONG_A, { ref = 15 }), B = parts_of(LONG_B, { ref = 15 }) }
                    local _, first = add_all(j, list.A, { 3, 1, 2 }, 0) -- its handler raised
                    assert.are.equal(LONG_A, decoded(first))
                    local got = {}
                    for _, name in ipairs(order) do
                        local m, kind, released = j:add(list[name:sub(1, 1)][tonumber(name:sub(2))], 5)
                        assert.is_nil(released)
                        if m then
                            assert.are.equal("whole", kind)
                            got[#got + 1] = decoded(m)
                            assert.is_true(j:handled(m, 5))
                        end
                    end
                    -- A comes again at A3, B when its last part is in
                    local a_at = order[4] == "A3" and 2 or 1
                    assert.are.equal(2, #got, table.concat(order, " "))
                    assert.are.equal(LONG_A, got[a_at], table.concat(order, " "))
                    assert.are.equal(LONG_B, got[3 - a_at], table.concat(order, " "))
                    assert.are.equal(0, (j:pending_count()))
                end
            end)

        it("joins at most 4 messages under one reference, releasing the oldest beyond", function()
            local j = text.joiner()
            local lists = {}
            for i = 1, 5 do
                lists[i] = parts_of(("message %d. "):format(i):rep(30), { ref = 16 })
                local _, kind, released = j:add(lists[i][1], i)
                assert.are.equal("held", kind)
                if i < 5 then
                    assert.is_nil(released)
                else
                    assert.are.equal(1, #released)
                    assert.are.same({ true, { 2, 3 } }, { released[1].partial, released[1].missing })
                    assert.matches("^message 1%. ", decoded(released[1]))
                end
            end
            assert.are.equal(4, (j:pending_count()))
            -- the newest that lacks a part takes it
            local kinds, m = add_all(j, lists[5], { 2, 3 }, 6)
            assert.are.same({ "held", "whole" }, kinds)
            assert.are.equal(("message 5. "):rep(30), decoded(m))
        end)

        it("forgets a handled message's parts after remember seconds", function()
            local j = text.joiner{ remember = 60 }
            local a = parts_of(LONG_A, { ref = 14 })
            local _, m = add_all(j, a, { 1, 2, 3 }, 100)
            j:handled(m, 100)
            assert.are.equal("again", select(2, j:add(a[2], 159)))
            assert.are.equal(3, j:remembered_count())
            j:expire(160)
            assert.are.equal(0, j:remembered_count())
            assert.are.equal("held", select(2, j:add(a[2], 160)))
        end)

        it("remembers at most max_remembered parts, the newest", function()
            local j = text.joiner{ max_remembered = 7 }
            local lists = {}
            for i = 1, 4 do
                lists[i] = parts_of(LONG_A, { ref = 20 + i })
                local _, m = add_all(j, lists[i], { 1, 2, 3 }, i)
                j:handled(m, i)
                assert.is_true(j:remembered_count() <= 7)
            end
            assert.are.equal(6, j:remembered_count()) -- the last two messages
            assert.are.equal("held", select(2, j:add(lists[2][1], 10)))
            assert.are.equal("again", select(2, j:add(lists[3][1], 10)))
            assert.are.equal("again", select(2, j:add(lists[4][3], 10)))
            -- many messages later, still bounded
            for i = 1, 300 do
                local _, m = add_all(j, parts_of(LONG_B, { ref = i % 256, from = tostring(i) }), { 1, 2, 3 }, 20)
                j:handled(m, 20)
            end
            assert.are.equal(6, j:remembered_count())
            -- remember = 0: nothing is
            local none = text.joiner{ remember = 0 }
            local _, m = add_all(none, lists[1], { 1, 2, 3 }, 0)
            assert.is_true(none:handled(m, 0))
            assert.are.equal(0, none:remembered_count())
            assert.are.equal("held", select(2, none:add(lists[1][1], 0)))
        end)
    end)

    describe("many messages at once", function()
        -- A deterministic shuffle (the same on every Lua).
        local function shuffle(list, seed)
            local x = seed
            for i = #list, 2, -1 do
                x = (x * 1103515245 + 12345) % 2147483648
                local k = x % i + 1
                list[i], list[k] = list[k], list[i]
            end
            return list
        end

        it("gives each message exactly once, with its own text, however its parts come and repeat", function()
            local j = text.joiner{ remember = 3600 } -- a second per delivery below
            local texts, queue = {}, {}
            for i = 1, 200 do
                -- few references, many senders: references are reused across senders
                texts[i] = ("message %d says %s. "):format(i, ("xyz"):rep(i % 7 + 1)):rep(12)
                local parts = parts_of(texts[i], { ref = i % 5, from = tostring(1000 + i % 40),
                    concat = ({ "udh8", "udh16", "sar" })[i % 3 + 1] })
                for _, p in ipairs(parts) do
                    queue[#queue + 1] = p
                    if #queue % 3 == 0 then queue[#queue + 1] = p end -- delivered twice
                end
            end
            -- messages i and i + 120 share sender, reference and kind: rounds of 150 parts keep
            -- them apart in time, as a sender's reference counting up would
            local got, fails = {}, {}
            local t = 0
            local function deliver(p)
                t = t + 1
                local m, kind = j:add(p, t)
                if m then
                    assert.are.equal("whole", kind)
                    local s = decoded(m)
                    local n = tonumber(s:match("^message (%d+) says"))
                    assert.are.equal(texts[n], s)
                    if n % 4 == 0 and not fails[n] then
                        fails[n] = p -- the handler raised: the SMSC delivers this part again later
                    else
                        got[n] = (got[n] or 0) + 1
                        assert.is_true(j:handled(m, t))
                    end
                end
            end
            local round = {}
            for i, p in ipairs(queue) do
                round[#round + 1] = p
                if i == #queue or #round >= 150 then
                    for _, q in ipairs(shuffle(round, i)) do deliver(q) end
                    for n, again in pairs(fails) do
                        if again ~= true then
                            fails[n] = true
                            deliver(again)
                        end
                    end
                    round = {}
                end
            end
            for i = 1, 200 do
                assert.are.equal(1, got[i], "message " .. i)
            end
            assert.are.equal(0, (j:pending_count()))
            -- everything delivered once more, later: recognised, nothing held
            for _, p in ipairs(queue) do
                assert.are.equal("again", select(2, j:add(p, t)))
            end
            assert.are.equal(0, (j:pending_count()))
        end)

        it("stays right through many deliveries of a message not handled, and many expiries", function()
            local j = text.joiner{ timeout = 5 }
            local a = parts_of(LONG_A, { ref = 1 })
            add_all(j, a, { 1, 2 }, 0)
            for t = 1, 1000 do
                local m, kind = j:add(a[3], t)
                assert.are.equal("whole", kind)
                assert.are.equal(LONG_A, decoded(m))
            end
            assert.are.equal(1005, j:next_expiry())
            for i = 1, 1000 do
                j:add(parts_of(LONG_B, { ref = i % 256, from = tostring(i) })[2], 1000 + i)
            end
            assert.are.same({}, j:expire(1005)) -- the whole one not handled: dropped quietly
            assert.are.equal(1000, (j:pending_count()))
            assert.are.equal(1006, j:next_expiry())
            local out = j:expire(1010)
            assert.are.equal(5, #out)
            for k, m in ipairs(out) do
                assert.are.same({ tostring(k), { 1, 3 } }, { m.source_addr, m.missing })
            end
            assert.are.equal(1011, j:next_expiry())
            assert.are.equal(995, #j:expire(3000))
            assert.is_nil(j:next_expiry())
        end)
    end)

    describe("a message missing a part", function()
        it("comes partial once, with the missing numbers, after the timeout", function()
            local j = text.joiner{ timeout = 30 }
            local parts = parts_of(("c"):rep(800), { ref = 3 }) -- 6 parts
            add_all(j, parts, { 1, 3, 6 }, 100)
            assert.are.equal(130, j:next_expiry())
            assert.are.same({}, j:expire(129))
            local out = j:expire(130)
            assert.are.equal(1, #out)
            local m = out[1]
            assert.are.same({ true, false, { 2, 4, 5 }, 6, FROM, TO },
                { m.partial, m.complete, m.missing, m.parts, m.source_addr, m.destination_addr })
            assert.are.equal(("c"):rep(153 * 2 + 35), m.payload)
            assert.are.same({}, j:expire(1000))
            assert.is_nil(j:next_expiry())
            assert.are.equal(0, (j:pending_count()))
        end)

        it("counts the timeout from the first part, and keeps the order of many messages", function()
            local j = text.joiner{ timeout = 10 }
            local a = parts_of(LONG_A, { ref = 1 })
            local b = parts_of(LONG_B, { ref = 2 })
            j:add(a[1], 0)
            j:add(b[1], 5)
            j:add(a[2], 9) -- a part later does not extend it
            assert.are.equal(10, j:next_expiry())
            local out = j:expire(12)
            assert.are.equal(1, #out)
            assert.are.same({ 3 }, out[1].missing)
            assert.are.equal(15, j:next_expiry())
            out = j:expire(15)
            assert.are.same({ 2, 3 }, out[1].missing)
        end)

        it("gives a part that comes after its message was released as a partial of its own, later", function()
            local j = text.joiner{ timeout = 10 }
            local a = parts_of(LONG_A, { ref = 1 })
            add_all(j, a, { 1, 3 }, 0)
            local first = j:expire(10)[1]
            assert.is_true(j:handled(first, 10))
            assert.are.equal("again", select(2, j:add(a[1], 11))) -- its parts are recognised
            assert.are.equal("held", select(2, j:add(a[2], 12))) -- the late one is not lost
            local late = j:expire(22)[1]
            assert.are.same({ 1, 3 }, late.missing)
            assert.are.equal(LONG_A:sub(154, 306), decoded(late))
        end)

        it("releases the oldest messages partial when the parts outgrow max_bytes", function()
            local j = text.joiner{ max_bytes = 1000 }
            local released_total = 0
            for i = 1, 50 do
                local p = parts_of(("m"):rep(300), { ref = i % 256, from = tostring(i) })
                local m, kind, released = j:add(p[1], i)
                assert.are.equal("held", kind)
                assert.is_nil(m)
                for _, r in ipairs(released or {}) do
                    released_total = released_total + 1
                    assert.are.same({ true, { 2 }, 2 }, { r.partial, r.missing, r.parts })
                    assert.are.equal(("m"):rep(153), r.payload)
                    assert.are.equal(tostring(released_total), r.source_addr) -- the oldest first
                end
                local _, bytes = j:pending_count()
                assert.is_true(bytes <= 1000)
            end
            assert.are.equal(50, released_total + j:pending_count())
            assert.is_true(released_total >= 40)
            -- a whole message pushed out is not reported: it was given already
            local small = text.joiner{ max_bytes = 700 }
            local kinds, m, released = add_all(small, parts_of(LONG_A, { ref = 1 }), { 1, 2, 3 }, 0)
            assert.are.same({ "held", "held", "whole" }, kinds)
            assert.is_nil(released)
            assert.are.equal(LONG_A, decoded(m))
            assert.are.equal(1, (small:pending_count()))
            local _, kind, pushed = small:add(parts_of(LONG_B, { ref = 2 })[1], 1)
            assert.are.equal("held", kind)
            assert.is_nil(pushed)
            assert.are.equal(1, (small:pending_count()))
        end)

        it("bounds the messages kept however small their parts", function()
            local j = text.joiner{ max_bytes = 64 * 100 }
            local released = 0
            for i = 1, 1000 do
                local _, _, rel = j:add({ source_addr = tostring(i), esm_class = 0x40,
                    short_message = string.char(5, 0, 3, 1, 2, 1) }, 0)
                released = released + (rel and #rel or 0)
            end
            assert.are.equal(100, (j:pending_count()))
            assert.are.equal(900, released)
        end)
    end)
end)
