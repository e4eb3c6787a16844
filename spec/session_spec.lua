-- The session engine, sans-I/O: an ESME and an SMSC session wired together
-- in memory, with a fake clock (milliseconds).
local core = require "smpp.core"
local smpp = require "smpp"

-- Moves the bytes one side has to send into the other.
local function pump(from, to, now)
    local out = from:output()
    if #out > 0 then
        to:feed(out, now)
        from:sent(#out)
    end
    return #out
end

local function pair(opts)
    opts = opts or {}
    local esme = core.session({ role = "esme", window = opts.window, response_timeout = opts.response_timeout,
        enquire_link = opts.enquire_link, sequence = opts.sequence, charset = opts.charset }, 0)
    local smsc = core.session({ role = "smsc", enquire_link = 0 }, 0)
    return esme, smsc
end

local function only(events, kind)
    local out = {}
    for _, e in ipairs(events) do
        if e.type == kind then out[#out + 1] = e end
    end
    return out
end

-- Binds esme to smsc with the given bind command; returns the clock.
local function bind(esme, smsc, command, now)
    now = now or 0
    local id = assert(esme:send({ command = command, system_id = "sys", password = "pw" }, now))
    pump(esme, smsc, now)
    local req = smsc:events(now)[1]
    assert.are.equal("request", req.type)
    assert.are.equal(command, req.pdu.command)
    assert(smsc:respond({ command = command .. "_resp", sequence_number = req.pdu.sequence_number,
        system_id = "smsc" }, now))
    pump(smsc, esme, now)
    local ev = esme:events(now)
    assert.are.equal("response", ev[1].type)
    assert.are.equal(id, ev[1].id)
    return now
end

describe("session states", function()
    it("binds as a transceiver, and both sides know it", function()
        local esme, smsc = pair()
        assert.are.equal("open", esme:state())
        bind(esme, smsc, "bind_transceiver")
        assert.are.equal("bound_trx", esme:state())
        assert.are.equal("bound_trx", smsc:state())
    end)
    it("goes back to open when the bind is refused", function()
        local esme, smsc = pair()
        esme:send({ command = "bind_transmitter", system_id = "x", password = "bad" }, 0)
        assert.are.equal("binding", esme:state())
        pump(esme, smsc, 0)
        local req = smsc:events(0)[1]
        smsc:respond({ command = "bind_transmitter_resp", sequence_number = req.pdu.sequence_number,
            command_status = 0x0E }, 0)
        pump(smsc, esme, 0)
        local ev = esme:events(0)[1]
        assert.are.equal(0x0E, ev.pdu.command_status)
        assert.are.equal("open", esme:state())
        assert.are.equal("open", smsc:state())
    end)
    it("refuses a submit_sm on a receiver bind before sending anything", function()
        local esme, smsc = pair()
        bind(esme, smsc, "bind_receiver")
        local id, err, code = esme:send({ command = "submit_sm", destination_addr = "1" }, 0)
        assert.is_nil(id)
        assert.are.equal("state", code)
        assert.matches("submit_sm is not allowed in state bound_rx for the ESME", err, 1, true)
        assert.are.equal("", esme:output())
    end)
    it("refuses a submit_sm before the bind", function()
        local esme = pair()
        local _, err, code = esme:send({ command = "submit_sm", destination_addr = "1" }, 0)
        assert.are.equal("state", code)
        assert.matches("in state open", err)
    end)
    it("answers a second bind on a bound session with ESME_RALYBND", function()
        local esme, smsc = pair()
        bind(esme, smsc, "bind_transceiver")
        smsc:feed(smpp.pdu.encode{ command = "bind_transceiver", sequence_number = 99, system_id = "x" }, 0)
        assert.are.same({}, smsc:events(0))
        local r = smpp.pdu.decode(smsc:output())
        assert.are.same({ "bind_transceiver_resp", 99, 0x05 }, { r.command, r.sequence_number, r.command_status })
    end)
    it("answers a request the peer may not send in this state with ESME_RINVBNDSTS", function()
        local esme, smsc = pair()
        bind(esme, smsc, "bind_receiver")
        smsc:feed(smpp.pdu.encode{ command = "submit_sm", sequence_number = 5, destination_addr = "1" }, 0)
        local ev = smsc:events(0)
        assert.are.equal("invalid", ev[1].type)
        local r = smpp.pdu.decode(smsc:output())
        assert.are.same({ "submit_sm_resp", 5, 0x04 }, { r.command, r.sequence_number, r.command_status })
    end)
    it("unbinds: unbind, unbind_resp, then closed on both sides", function()
        local esme, smsc = pair()
        bind(esme, smsc, "bind_transmitter")
        local id = assert(esme:send({ command = "unbind" }, 0))
        assert.are.equal("unbinding", esme:state())
        pump(esme, smsc, 0)
        local sev = smsc:events(0)
        assert.are.equal("closed", sev[#sev].type)
        assert.are.equal("the peer unbound", sev[#sev].message)
        pump(smsc, esme, 0)
        local ev = esme:events(0)
        assert.are.equal("response", ev[1].type)
        assert.are.equal(id, ev[1].id)
        assert.are.equal("closed", ev[2].type)
        assert.are.equal("closed", esme:state())
    end)
end)

describe("outbind", function()
    it("is sent by the SMSC in the open state and waits for no response", function()
        local esme, smsc = pair()
        local id = smsc:send({ command = "outbind", system_id = "acct", password = "pw" }, 0)
        assert.are.equal(0, id)
        assert.are.equal(0, smsc:outstanding())
        pump(smsc, esme, 0)
        local ev = esme:events(0)[1]
        assert.are.same({ "request", "outbind", "acct" }, { ev.type, ev.pdu.command, ev.pdu.system_id })
        assert.are.same({}, smsc:events(60000))
    end)
end)

describe("requests and responses", function()
    it("keeps a large window: 20 000 outstanding, answered in a shuffled order, over and over", function()
        local esme, smsc = pair{ window = 20000 }
        bind(esme, smsc, "bind_transceiver")
        local by_dest, seen, next_dest = {}, 0, 0
        math.randomseed(7)
        for round = 1, 3 do
            while true do -- fill the window
                next_dest = next_dest + 1
                local id, err, code = esme:send({ command = "submit_sm", destination_addr = tostring(next_dest) }, 0)
                if not id then
                    assert.are.equal("window", code, err)
                    next_dest = next_dest - 1
                    break
                end
                by_dest[tostring(next_dest)] = id
            end
            assert.are.equal(20000, esme:outstanding())
            pump(esme, smsc, 0)
            local reqs = smsc:events(0)
            -- answer all but a few, shuffled; those few stay outstanding into the next round
            for i = #reqs, 2, -1 do
                local j = math.random(i)
                reqs[i], reqs[j] = reqs[j], reqs[i]
            end
            for i = 1, #reqs - 7 * round do
                smsc:respond({ command = "submit_sm_resp", sequence_number = reqs[i].pdu.sequence_number,
                    message_id = "m" .. reqs[i].pdu.destination_addr }, 0)
            end
            pump(smsc, esme, 0)
            for _, ev in ipairs(esme:events(0)) do
                assert.are.equal("response", ev.type)
                local dest = ev.pdu.message_id:sub(2)
                assert.are.equal(by_dest[dest], ev.id) -- every response to its own request
                by_dest[dest] = nil
                seen = seen + 1
            end
            assert.are.equal(7 * round * (round + 1) / 2, esme:outstanding()) -- left unanswered so far
        end
        assert.is_true(seen > 3 * 19000)
    end)

    it("matches responses by sequence number, in any order", function()
        local esme, smsc = pair{ window = 5 }
        bind(esme, smsc, "bind_transceiver")
        local ids = {}
        for i = 1, 3 do
            ids[i] = assert(esme:send({ command = "submit_sm", destination_addr = tostring(i) }, 0))
        end
        pump(esme, smsc, 0)
        local reqs = smsc:events(0)
        assert.are.equal(3, #reqs)
        for i = 3, 1, -1 do
            smsc:respond({ command = "submit_sm_resp", sequence_number = reqs[i].pdu.sequence_number,
                message_id = "m" .. reqs[i].pdu.destination_addr }, 0)
        end
        pump(smsc, esme, 0)
        local ev = esme:events(0)
        assert.are.same({ ids[3], ids[2], ids[1] }, { ev[1].id, ev[2].id, ev[3].id })
        assert.are.same({ "m3", "m2", "m1" }, { ev[1].pdu.message_id, ev[2].pdu.message_id, ev[3].pdu.message_id })
        assert.are.equal(0, esme:outstanding())
    end)
    it("refuses a request when the window is full, and takes it once a response frees a place", function()
        local esme, smsc = pair{ window = 2 }
        bind(esme, smsc, "bind_transceiver")
        assert(esme:send({ command = "submit_sm", destination_addr = "1" }, 0))
        assert(esme:send({ command = "submit_sm", destination_addr = "2" }, 0))
        local id, err, code = esme:send({ command = "submit_sm", destination_addr = "3" }, 0)
        assert.is_nil(id)
        assert.are.equal("window", code)
        assert.matches("window full", err)
        pump(esme, smsc, 0)
        local req = smsc:events(0)[1]
        smsc:respond({ command = "submit_sm_resp", sequence_number = req.pdu.sequence_number, message_id = "a" }, 0)
        pump(smsc, esme, 0)
        esme:events(0)
        assert.is_number((esme:send({ command = "submit_sm", destination_addr = "3" }, 0)))
    end)
    it("resolves a request with the generic_nack that names it", function()
        local esme, smsc = pair()
        bind(esme, smsc, "bind_transceiver")
        local id, seq = esme:send({ command = "query_sm", message_id = "1" }, 0)
        esme:feed(smpp.pdu.encode{ command = "generic_nack", sequence_number = seq, command_status = 0x03 }, 0)
        local ev = esme:events(0)[1]
        assert.are.same({ "response", id, "generic_nack", 0x03 },
            { ev.type, ev.id, ev.pdu.command, ev.pdu.command_status })
        assert.are.equal(0, esme:outstanding())
        assert.is_not_nil(smsc)
    end)
    it("reports a late or unknown response instead of failing", function()
        local esme, smsc = pair()
        bind(esme, smsc, "bind_transceiver")
        esme:feed(smpp.pdu.encode{ command = "submit_sm_resp", sequence_number = 4242, message_id = "x" }, 0)
        local ev = esme:events(0)[1]
        assert.are.equal("unexpected", ev.type)
        assert.are.equal(4242, ev.pdu.sequence_number)
    end)
    it("wraps sequence numbers from 0x7FFFFFFF back to 1", function()
        local esme, smsc = pair{ sequence = 0x7FFFFFFE }
        local _, s1 = esme:send({ command = "enquire_link" }, 0)
        local _, s2 = esme:send({ command = "enquire_link" }, 0)
        local _, s3 = esme:send({ command = "enquire_link" }, 0)
        assert.are.same({ 0x7FFFFFFE, 0x7FFFFFFF, 1 }, { s1, s2, s3 })
        assert.is_not_nil(smsc)
    end)
end)

describe("timers", function()
    it("times a request out after response_timeout, not before", function()
        local esme, smsc = pair{ response_timeout = 5 }
        bind(esme, smsc, "bind_transceiver")
        local id = esme:send({ command = "submit_sm", destination_addr = "1" }, 1000)
        assert.are.equal(6000, esme:deadline())
        assert.are.same({}, only(esme:events(5999), "timeout"))
        local ev = esme:events(6000)
        assert.are.equal("timeout", ev[1].type)
        assert.are.equal(id, ev[1].id)
        assert.are.equal("submit_sm", ev[1].command)
        assert.are.equal(0, esme:outstanding())
    end)
    it("times out many requests in the order they were sent", function()
        local esme, smsc = pair{ window = 100, response_timeout = 1 }
        bind(esme, smsc, "bind_transceiver")
        local ids = {}
        for i = 1, 100 do ids[i] = esme:send({ command = "submit_sm", destination_addr = "1" }, i) end
        local got = {}
        for _, e in ipairs(esme:events(50 + 1000)) do got[#got + 1] = e.id end
        assert.are.equal(50, #got)
        for i = 1, 50 do assert.are.equal(ids[i], got[i]) end
    end)
    it("sends enquire_link after 20 s without traffic; the peer's answer keeps the link", function()
        local esme, smsc = pair()
        bind(esme, smsc, "bind_transceiver")
        assert.are.equal(20000, esme:deadline())
        esme:events(19999)
        assert.are.equal("", esme:output())
        esme:events(20000)
        assert.are.equal("enquire_link", smpp.pdu.decode(esme:output()).command)
        pump(esme, smsc, 20000)
        assert.are.same({}, smsc:events(20000)) -- answered by the engine itself
        pump(smsc, esme, 20050)
        assert.are.same({}, esme:events(20050))
        assert.are.equal("bound_trx", esme:state())
        assert.are.equal(40050, esme:deadline())
    end)
    it("declares the link dead when enquire_link gets no answer in time", function()
        local esme, smsc = pair{ response_timeout = 10 }
        bind(esme, smsc, "bind_transceiver")
        esme:events(20000)
        assert.are.equal(30000, esme:deadline())
        local ev = esme:events(30000)
        assert.are.equal("closed", ev[#ev].type)
        assert.matches("no answer to enquire_link", ev[#ev].message)
        assert.are.equal("closed", esme:state())
    end)
    it("counts only what the peer sends as activity", function()
        local esme, smsc = pair{ window = 20, response_timeout = 60 }
        bind(esme, smsc, "bind_transceiver")
        for t = 1000, 19000, 1000 do
            assert(esme:send({ command = "submit_sm", destination_addr = "1" }, t))
        end
        esme:events(20000)
        local out = esme:output()
        assert.is_truthy(out:find(smpp.pdu.encode{ command = "enquire_link", sequence_number = 21 }, 1, true))
        assert.is_not_nil(smsc)
    end)
end)

describe("bad input and lost links", function()
    it("answers an unknown command with generic_nack 0x03 and the same sequence number", function()
        local esme, smsc = pair()
        bind(esme, smsc, "bind_transceiver")
        esme:feed(string.char(0, 0, 0, 16, 0, 0, 0, 0x99, 0, 0, 0, 0, 0, 0, 0, 77), 0)
        local ev = esme:events(0)[1]
        assert.are.equal("invalid", ev.type)
        local nack = smpp.pdu.decode(esme:output())
        assert.are.same({ "generic_nack", 77, 0x03 }, { nack.command, nack.sequence_number, nack.command_status })
    end)
    it("answers a request with a bad field with its own response and the codec's status", function()
        local esme, smsc = pair()
        bind(esme, smsc, "bind_transceiver")
        local body = "\0\1\1" .. "123\0\1\1" .. "456\0\0\0\0\0\0\0\0\0\0" .. string.char(200) .. "x"
        esme:feed(string.char(0, 0, 0, 16 + #body, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 8) .. body, 0)
        assert.are.equal("invalid", esme:events(0)[1].type)
        local nack = smpp.pdu.decode(esme:output())
        assert.are.same({ "deliver_sm_resp", 8, 0x01 }, { nack.command, nack.sequence_number, nack.command_status })
    end)
    it("answers a request with a body it cannot read with its own response and the status, in both roles", function()
        local esme, smsc = pair()
        bind(esme, smsc, "bind_transceiver")
        local function u32(...)
            local out = {}
            for i, v in ipairs({ ... }) do
                out[i] = string.char(math.floor(v / 16777216) % 256, math.floor(v / 65536) % 256,
                    math.floor(v / 256) % 256, v % 256)
            end
            return table.concat(out)
        end
        for _, side in ipairs({ esme, smsc }) do -- an enquire_link with a body
            side:feed(u32(20, 0x15, 0, 31) .. "abcd", 0)
            assert.are.equal("invalid", side:events(0)[1].type)
            local r = smpp.pdu.decode(side:output())
            side:sent(#side:output())
            assert.are.same({ "enquire_link_resp", 31, 0x02 }, { r.command, r.sequence_number, r.command_status })
        end
        -- a submit_sm whose service_type has no NUL before the end
        local body = "abc"
        smsc:feed(u32(16 + #body, 4, 0, 32) .. body, 0)
        assert.are.equal("invalid", smsc:events(0)[1].type)
        local r = smpp.pdu.decode(smsc:output())
        smsc:sent(#smsc:output())
        assert.are.same({ "submit_sm_resp", 32 }, { r.command, r.sequence_number })
        assert.are_not.equal(0, r.command_status)
        -- an unknown command_id: generic_nack
        smsc:feed(u32(16, 0x1234, 0, 33), 0)
        smsc:events(0)
        r = smpp.pdu.decode(smsc:output())
        assert.are.same({ "generic_nack", 33, 0x03 }, { r.command, r.sequence_number, r.command_status })
    end)
    it("tells of an aborted request whether any of it had left: unsent when none had", function()
        local esme, smsc = pair()
        bind(esme, smsc, "bind_transceiver")
        local a = assert(esme:send({ command = "submit_sm", destination_addr = "1", short_message = "a" }, 0, "a"))
        local out = esme:output()
        esme:sent(10) -- part of a's octets handed to the socket
        local b = assert(esme:send({ command = "submit_sm", destination_addr = "1", short_message = "b" }, 0, "b"))
        assert.is_truthy(#out > 10)
        esme:close("cut")
        local got = {}
        for _, ev in ipairs(esme:events(0)) do
            if ev.type == "aborted" then got[ev.tag] = { ev.id, ev.unsent or false } end
        end
        assert.are.same({ a = { a, false }, b = { b, true } }, got)
        assert.is_not_nil(smsc)
    end)
    it("closes on a command_length it cannot frame, after a generic_nack", function()
        local esme, smsc = pair()
        bind(esme, smsc, "bind_transceiver")
        esme:feed(string.char(0, 0, 0, 5, 0, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 1), 0)
        local ev = esme:events(0)
        assert.are.equal("closed", ev[#ev].type)
        assert.matches("framing error", ev[#ev].message)
        assert.are.equal("generic_nack", smpp.pdu.decode(esme:output()).command)
    end)
    it("ends every outstanding request with the reason when the link goes", function()
        local esme, smsc = pair{ window = 5 }
        bind(esme, smsc, "bind_transceiver")
        local ids = {}
        for _ = 1, 4 do ids[#ids + 1] = esme:send({ command = "submit_sm", destination_addr = "1" }, 0) end
        esme:close("connection reset by peer")
        local ev = esme:events(0)
        local aborted = only(ev, "aborted")
        assert.are.equal(4, #aborted)
        local seen = {}
        for _, e in ipairs(aborted) do
            seen[e.id] = true
            assert.are.equal("connection reset by peer", e.message)
        end
        for _, id in ipairs(ids) do assert.is_true(seen[id]) end
        assert.are.equal("closed", ev[#ev].type)
        local _, _, code = esme:send({ command = "submit_sm", destination_addr = "1" }, 0)
        assert.are.equal("closed", code)
    end)
    it("takes PDUs split across any chunks", function()
        local esme, smsc = pair()
        bind(esme, smsc, "bind_transceiver")
        local bytes = ""
        for i = 1, 5 do
            bytes = bytes .. smpp.pdu.encode{ command = "deliver_sm", sequence_number = i, destination_addr = "1" }
        end
        local got = 0
        for i = 1, #bytes, 7 do
            esme:feed(bytes:sub(i, i + 6), 0)
            got = got + #only(esme:events(0), "request")
        end
        assert.are.equal(5, got)
        assert.is_not_nil(smsc)
    end)
end)

describe("throttle", function()
    local function bound(opts)
        local esme = core.session({ role = "esme", window = opts.window or 10, throttle = opts.throttle,
            max_resends = opts.max_resends, enquire_link = 0, response_timeout = 1000 }, 0)
        local smsc = core.session({ role = "smsc", enquire_link = 0, response_timeout = 1000 }, 0)
        bind(esme, smsc, "bind_transceiver")
        return esme, smsc
    end
    local function answer_all(esme, smsc, now, status_of)
        pump(esme, smsc, now)
        for _, ev in ipairs(smsc:events(now)) do
            if ev.type == "request" then
                local p = ev.pdu
                smsc:respond({ command = "submit_sm_resp", sequence_number = p.sequence_number,
                    command_status = status_of and status_of(p) or 0, message_id = "m" .. p.short_message }, now)
            end
        end
        pump(smsc, esme, now)
        return esme:events(now)
    end

    it("lets 10/s through for 60 s: 600 plus the burst, evenly spaced", function()
        local esme, smsc = bound{ throttle = core.throttle({ rate = 10 }, 0) }
        local sent, times = 0, {}
        for now = 0, 59999 do
            local id, _, code = esme:send({ command = "submit_sm", destination_addr = "1",
                short_message = tostring(now) }, now)
            if id then
                sent = sent + 1
                times[#times + 1] = now
                answer_all(esme, smsc, now)
            else
                assert.are.equal("throttled", code)
            end
        end
        assert.is_true(sent >= 599 and sent <= 601, "sent " .. sent)
        for i = 11, #times do -- never more than 10 in any second
            assert.is_true(times[i] - times[i - 10] >= 1000)
        end
    end)

    it("sends submits refused with 0x58 again, in their order, with no duplicates", function()
        local t = core.throttle({ rate = 100 }, 0)
        local esme, smsc = bound{ throttle = t }
        local ids, now = {}, 0
        for i = 1, 5 do
            now = now + 10
            ids[i] = assert(esme:send({ command = "submit_sm", destination_addr = "1", short_message = "s" .. i }, now))
        end
        local refused = { s2 = true, s3 = true }
        local ev = answer_all(esme, smsc, now, function(p) return refused[p.short_message] and 0x58 or 0 end)
        assert.are.equal(3, #ev) -- s1, s4, s5 answered; s2 and s3 wait
        local _, err, code = esme:send({ command = "submit_sm", destination_addr = "1", short_message = "s6" }, now)
        assert.are.equal("throttled", code)
        assert.matches("refused submits go first", err)
        -- after the backoff pause they go again, s2 before s3
        local order = {}
        local got = {}
        for _, e in ipairs(ev) do got[e.id] = e.pdu.message_id end
        while now < 10000 and (not got[ids[2]] or not got[ids[3]]) do
            now = now + 50
            esme:events(now)
            pump(esme, smsc, now)
            for _, e in ipairs(smsc:events(now)) do
                order[#order + 1] = e.pdu.short_message
                smsc:respond({ command = "submit_sm_resp", sequence_number = e.pdu.sequence_number,
                    message_id = "m" .. e.pdu.short_message }, now)
            end
            pump(smsc, esme, now)
            for _, e in ipairs(esme:events(now)) do
                assert.is_nil(got[e.id], "answered twice")
                got[e.id] = e.pdu.message_id
            end
        end
        assert.are.same({ "s2", "s3" }, order)
        assert.are.same({ "ms1", "ms2", "ms3", "ms4", "ms5" }, { got[ids[1]], got[ids[2]], got[ids[3]], got[ids[4]],
            got[ids[5]] })
        assert.is_true(now >= 1000, "the backoff pause is at least a second")
        assert.is_true(t:rate() < 100, "the rate is cut after 0x58")
        now = now + esme:submit_delay(now)
        assert.is_number((esme:send({ command = "submit_sm", destination_addr = "1", short_message = "s6" }, now)))
    end)

    it("never sends a refused submit again at or after its caller's deadline: it ends as expired", function()
        local t = core.throttle({ rate = 100 }, 0)
        local esme, smsc = bound{ throttle = t }
        local job = {}
        local id = assert(esme:send({ command = "submit_sm", destination_addr = "1", short_message = "x" }, 0,
            job, 1, 600))
        local evs = answer_all(esme, smsc, 0, function() return 0x58 end)
        assert.are.equal(0, #evs) -- refused: waiting to go again, after the back-off pause (1 s)
        local d = esme:deadline()
        assert.are.equal(600, d) -- the caller's deadline comes first: the loop wakes for it
        evs = esme:events(599)
        assert.are.equal(0, #evs)
        evs = esme:events(600)
        assert.are.same({ "expired", id, job, 1, 0x58 },
            { evs[1].type, evs[1].id, evs[1].tag, evs[1].part, evs[1].status })
        assert.are.equal(0, esme:outstanding())
        for now = 600, 3000, 100 do -- nothing of it goes again
            pump(esme, smsc, now)
            assert.are.equal(0, #smsc:events(now))
            esme:events(now)
        end
    end)

    it("does not queue a refusal that comes after the caller's deadline: it is the response", function()
        local esme, smsc = bound{ throttle = core.throttle({ rate = 100 }, 0) }
        local id = assert(esme:send({ command = "submit_sm", destination_addr = "1", short_message = "x" }, 0,
            "t", 2, 50))
        local evs = answer_all(esme, smsc, 80, function() return 0x58 end)
        assert.are.same({ "response", id, "t", 2, 0x58 },
            { evs[1].type, evs[1].id, evs[1].tag, evs[1].part, evs[1].pdu.command_status })
    end)

    it("gives up after max_resends and hands the refusal over", function()
        local esme, smsc = bound{ max_resends = 2 }
        local id = assert(esme:send({ command = "submit_sm", destination_addr = "1", short_message = "x" }, 0))
        local final
        for now = 0, 100 do
            for _, e in ipairs(answer_all(esme, smsc, now, function() return 0x58 end)) do final = e end
            esme:events(now)
            if final then break end
        end
        assert.are.equal(id, final.id)
        assert.are.equal(0x58, final.pdu.command_status)
    end)
end)

describe("session short way (tags, submit, answer, compact events)", function()
    it("builds with submit the same submit_sm as send does from a table", function()
        local a_esme, a_smsc = pair()
        local b_esme, b_smsc = pair()
        bind(a_esme, a_smsc, "bind_transceiver")
        bind(b_esme, b_smsc, "bind_transceiver")
        assert(a_esme:send({ command = "submit_sm", source_addr = "ACME", source_addr_ton = 5, source_addr_npi = 0,
            destination_addr = "4915112345678", dest_addr_ton = 1, dest_addr_npi = 1, registered_delivery = 1,
            esm_class = 0, data_coding = 8, short_message = "\0h\0i" }, 0))
        assert(b_esme:submit(0, 7, 1, nil, "ACME", 5, 0, "4915112345678", 1, 1, 1, 0, 8, "\0h\0i"))
        assert.are.equal(a_esme:output(), b_esme:output())
    end)

    it("gives a tagged request's tag back in its events, and its success as a compact triple", function()
        local esme, smsc = pair({ response_timeout = 1 })
        bind(esme, smsc, "bind_transceiver")
        local ok_id = assert(esme:submit(0, 41, 1, nil, "1", 0, 0, "2", 1, 1, 0, 0, 0, "ok"))
        local bad_id = assert(esme:submit(0, 42, 1, nil, "1", 0, 0, "3", 1, 1, 0, 0, 0, "refused"))
        local late_id = assert(esme:send({ command = "submit_sm", destination_addr = "4", short_message = "x" }, 0, 43))
        pump(esme, smsc, 0)
        local reqs = smsc:events(0)
        assert.are.equal(3, #reqs)
        assert(smsc:answer(0, reqs[1].pdu.sequence_number, "submit_sm_resp", 0, "MSG1"))
        assert(smsc:answer(0, reqs[2].pdu.sequence_number, "submit_sm_resp", 0x45))
        pump(smsc, esme, 0)
        local pairs_ = {}
        local evs, nresp, nreq = esme:events(0, pairs_)
        assert.are.same({ 1, 0 }, { nresp, nreq })
        assert.are.same({ 41, 1, "MSG1" }, pairs_)
        assert.are.equal(1, #evs) -- the refusal comes as an event, with its tag
        assert.are.same({ "response", bad_id, 42, 0x45 },
            { evs[1].type, evs[1].id, evs[1].tag, evs[1].pdu.command_status })
        local timeouts = esme:events(1000, pairs_)
        assert.are.same({ "timeout", late_id, 43 }, { timeouts[1].type, timeouts[1].id, timeouts[1].tag })
        assert.is_truthy(ok_id)
    end)

    it("gives an SMSC its submits without TLVs as compact triples, and the rest as events", function()
        local esme, smsc = pair()
        bind(esme, smsc, "bind_transceiver")
        assert(esme:submit(0, 1, 1, nil, "1", 0, 0, "447700900001", 1, 1, 0, 0, 0, "plain"))
        assert(esme:submit(0, 2, 1, nil, "1", 0, 0, "447700900002", 1, 1, 1, 0, 0, "receipt"))
        assert(esme:send({ command = "submit_sm", destination_addr = "447700900003", short_message = "tlv",
            user_message_reference = 7 }, 0))
        local out = esme:output()
        pump(esme, smsc, 0)
        local reqs = {}
        local evs, nresp, nreq = smsc:events(0, {}, reqs)
        assert.are.same({ 0, 2 }, { nresp, nreq })
        assert.are.same({ "447700900001", false, "447700900002" }, { reqs[2], reqs[3], reqs[5] })
        -- a receipt asked for: the submit's octets as they came
        assert.are.equal("receipt", core.decode(reqs[6]).short_message)
        assert.is_truthy(out:find(reqs[6], 1, true))
        assert.are.equal(1, #evs)
        assert.are.equal(7, evs[1].pdu.user_message_reference)
        -- answered by sequence number: the ESME sees its message id
        assert(smsc:answer(0, reqs[1], "submit_sm_resp", 0, "ID1"))
        pump(smsc, esme, 0)
        local got = {}
        esme:events(0, got)
        assert.are.same({ 1, 1, "ID1" }, got)
    end)

    it("sends the receipt of a submit made of its octets", function()
        local esme, smsc = pair()
        bind(esme, smsc, "bind_transceiver")
        local function receipt_of(submit, ...)
            local bytes = core.encode(submit)
            assert(smsc:receipt(0, 5, bytes, ...))
            pump(smsc, esme, 0)
            local evs = esme:events(0)
            assert.are.equal(1, #evs)
            return evs[1].pdu
        end
        local p = receipt_of({ command = "submit_sm", sequence_number = 9, source_addr = "ACME",
            source_addr_ton = 5, source_addr_npi = 0, destination_addr = "4915112345678", dest_addr_ton = 1,
            dest_addr_npi = 1, registered_delivery = 1,
            short_message = (smpp.text.encode("Hello, {world} of receipts!", "gsm7")) },
            "0000002A", "DELIVRD", "000", "2611261200", "2611261201")
        assert.are.same({ "deliver_sm", "4915112345678", 1, 1, "ACME", 5, 0, 4, 0, "0000002A", 2 },
            { p.command, p.source_addr, p.source_addr_ton, p.source_addr_npi, p.destination_addr,
                p.dest_addr_ton, p.dest_addr_npi, p.esm_class, p.data_coding, p.receipted_message_id,
                p.message_state })
        -- GSM 03.38 octets: { is an escape
        assert.are.equal("id:0000002A sub:001 dlvrd:001 submit date:2611261200 done date:2611261201 "
            .. "stat:DELIVRD err:000 text:Hello, {world} of re", smpp.text.decode(p.short_message, 0))
        local r = smpp.receipt.parse(p)
        assert.are.same({ "0000002A", "DELIVRD", 2, "000", "Hello, {world} of re" },
            { r.id, r.stat, r.state, r.err, r.text })
        -- UCS-2 text read as such, a UDH skipped; data_sm's message_payload;
        -- a stat word read into message_state (7 when unknown)
        local udh = "\5\0\3\7\2\1"
        p = receipt_of({ command = "submit_sm", source_addr = "1", destination_addr = "2", esm_class = 0x40,
            data_coding = 8, short_message = udh .. smpp.text.encode("Grüße aus Köln, 20 Zeichen+", "ucs2") },
            "7", "UNDELIV", "001", "2611261200", "2611261201")
        assert.are.same({ 5, "Grüße aus Köln, 20 Z", "000" }, { p.message_state, smpp.receipt.parse(p).text,
            smpp.receipt.parse(p).dlvr })
        p = receipt_of({ command = "data_sm", source_addr = "1", destination_addr = "2",
            message_payload = "from the payload" }, "8", "NOWORD", "001", "2611261200", "2611261201")
        assert.are.same({ 7, "from the payload", "UNKNOWN" }, { p.message_state, smpp.receipt.parse(p).text,
            smpp.receipt.parse(p).stat })
        assert.matches(" stat:NOWORD err:001 ", p.short_message)
        -- submit_multi: no destination_addr, so the receipt comes from ""
        p = receipt_of({ command = "submit_multi", source_addr = "1", short_message = "multi",
            dest_address = { { dest_flag = 1, destination_addr = "3" } } }, "9", "DELIVRD", "000", "a", "b")
        assert.are.same({ "", "1", "multi" }, { p.source_addr, p.destination_addr, smpp.receipt.parse(p).text })
        -- what is no submit, or cannot be read, raises
        assert.has_error(function() smsc:receipt(0, 1, core.encode{ command = "enquire_link" }, "1", "DELIVRD",
            "000", "2611261200", "2611261201") end, "smpp.session: the submit: a enquire_link, not a submit")
        assert.has_error(function() smsc:receipt(0, 1, "\0\0\0\5", "1", "DELIVRD", "000", "a", "b") end)
        -- what no deliver_sm can carry: nil, message, "encode", nothing sent
        local nok, why, code = smsc:receipt(0, 1, core.encode{ command = "submit_sm", destination_addr = "1" },
            ("9"):rep(300), "DELIVRD", "000", "a", "b")
        assert.are.same({ nil, "encode" }, { nok, code })
        assert.matches("over 254 octets", why)
        nok, why, code = smsc:receipt(0, 1, core.encode{ command = "submit_sm", destination_addr = "1" },
            "\255\254", "DELIVRD", "000", "a", "b")
        assert.are.same({ nil, "encode" }, { nok, code })
        assert.matches("not UTF%-8", why)
        nok, why, code = smsc:receipt(0, 1, core.encode{ command = "data_sm", source_addr = ("1"):rep(30),
            destination_addr = "2" }, "1", "DELIVRD", "000", "a", "b")
        assert.are.same({ nil, "encode" }, { nok, code })
        assert.matches("destination_addr", why)
        assert.are.equal("", smsc:output())
    end)

    it("gives an ESME its receipts as compact pairs, read in the session's charset, in order", function()
        local function receipts_of(cfg, requests)
            local esme, smsc = pair(cfg)
            bind(esme, smsc, "bind_transceiver")
            for _, p in ipairs(requests) do
                p.command, p.destination_addr = p.command or "deliver_sm", "12345"
                assert(smsc:send(p, 0))
            end
            pump(smsc, esme, 0)
            local list = {}
            local evs, nresp, nreq = esme:events(0, {}, list)
            assert.are.equal(0, nresp)
            return list, nreq, evs
        end
        local text = "id:0A1b sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 "
            .. "stat:delivrd err:000 text:@x"
        local list, n, evs = receipts_of(nil, {
            { esm_class = 4, short_message = text },
            { esm_class = 4, short_message = "", receipted_message_id = "77", message_state = 5 },
            { esm_class = 0x20, data_coding = 8, short_message = smpp.text.encode("id:9 stat:ENROUTE", "ucs2") },
        })
        assert.are.equal(3, n)
        assert.are.equal(0, #evs)
        -- the same receipt smpp.receipt.parse makes of the decoded PDU
        local expect = smpp.receipt.parse(smpp.pdu.decode(smpp.pdu.encode{ command = "deliver_sm", esm_class = 4,
            destination_addr = "12345", short_message = text }))
        assert.are.same(expect, list[2])
        -- (octet 0x40 is ¡ in GSM 03.38)
        assert.are.same({ "0A1b", "DELIVRD", 2, "¡x", 12 }, { list[2].id, list[2].stat, list[2].state, list[2].text,
            list[2].done_date.hour })
        assert.are.equal("smpp.receipt", getmetatable(list[2]).__name)
        assert.matches("^receipt id=0A1b stat=DELIVRD", tostring(list[2]))
        assert.are.same({ "77", "UNDELIV", 5 }, { list[4].id, list[4].stat, list[4].state })
        assert.are.same({ "9", "ENROUTE" }, { list[6].id, list[6].stat })
        assert.is_true(list[1] < list[3] and list[3] < list[5]) -- sequence numbers, in order
        -- data_coding 0 in the account's alphabet: latin1 reads 0xE9 as é
        local l1 = receipts_of({ charset = "latin1" },
            { { esm_class = 4, short_message = "id:1 stat:DELIVRD text:caf\233" } })
        assert.are.equal("café", l1[2].text)
        local g = receipts_of(nil, { { esm_class = 4, short_message = "id:1 stat:DELIVRD text:\0" } })
        assert.are.equal("@", g[2].text)
        -- not receipts, or after an event with a table: events, in their order
        local none, n2, evs2 = receipts_of(nil, {
            { esm_class = 4, short_message = "id:5 stat:DELIVRD" },
            { esm_class = 0, short_message = "id:1 stat:DELIVRD" }, -- an MO: esm_class says so
            { esm_class = 4, short_message = "id:6 stat:DELIVRD" },
            { command = "data_sm", esm_class = 4, receipted_message_id = "7", message_state = 2 },
            { esm_class = 4, short_message = "not a receipt at all" },
        })
        assert.are.equal(1, n2)
        assert.are.equal("5", none[2].id)
        assert.are.same({ "deliver_sm", "deliver_sm", "data_sm", "deliver_sm" }, { evs2[1].pdu.command,
            evs2[2].pdu.command, evs2[3].pdu.command, evs2[4].pdu.command })
        assert.are.same({ 0, 4 }, { evs2[1].pdu.esm_class, evs2[2].pdu.esm_class })
        assert.has_error(function() pair({ charset = "ucs2" }) end)
    end)

    it("carries any value as a tag and a part number, and a part 0 response as a table", function()
        local esme, smsc = pair()
        bind(esme, smsc, "bind_transceiver")
        local job = { name = "job" }
        assert(esme:submit(0, job, 3, nil, "1", 0, 0, "2", 1, 1, 0, 0, 0, "p3"))
        assert(esme:send({ command = "submit_sm", destination_addr = "2", short_message = "whole" }, 0, job, 0))
        pump(esme, smsc, 0)
        for _, ev in ipairs(smsc:events(0)) do
            assert(smsc:answer(0, ev.pdu.sequence_number, "submit_sm_resp", 0, "ID" .. ev.pdu.short_message))
        end
        pump(smsc, esme, 0)
        local list = {}
        local evs, n = esme:events(0, list)
        assert.are.equal(1, n)
        assert.are.equal(job, list[1])
        assert.are.same({ 3, "IDp3" }, { list[2], list[3] })
        assert.are.same({ "response", job, 0, "IDwhole" }, { evs[1].type, evs[1].tag, evs[1].part,
            evs[1].pdu.message_id })
        assert.are.equal(0, esme:outstanding())
    end)

    it("holds a tag while its request is outstanding, and lets it go when it ends", function()
        local esme, smsc = pair()
        bind(esme, smsc, "bind_transceiver")
        local weak = setmetatable({}, { __mode = "k" })
        weak[{}] = "sent"
        assert(esme:submit(0, next(weak), 1, nil, "1", 0, 0, "2", 1, 1, 0, 0, 0, "x"))
        collectgarbage()
        collectgarbage()
        assert.are.equal("sent", select(2, next(weak))) -- the session holds it
        pump(esme, smsc, 0)
        local seq = smsc:events(0)[1].pdu.sequence_number
        assert(smsc:answer(0, seq, "submit_sm_resp", 0, "ID"))
        pump(smsc, esme, 0)
        local list = {}
        assert.are.equal(1, select(2, esme:events(0, list)))
        list = nil
        collectgarbage()
        collectgarbage()
        assert.is_nil(next(weak))
    end)

    it("refuses bad arguments to submit and answer", function()
        local esme, smsc = pair()
        bind(esme, smsc, "bind_transceiver")
        assert.has_error(function() esme:submit(0, 1, 1, nil, "1", 300, 0, "2", 1, 1, 0, 0, 0, "x") end)
        assert.has_error(function() esme:submit(0, {}, -1, nil, "1", 0, 0, "2", 1, 1, 0, 0, 0, "x") end,
            "bad argument #3 to 'submit' (part must be 0 to 65535)")
        assert.has_error(function() esme:submit(0, 1, 1, nil, "1", 0, 0, nil, 1, 1, 0, 0, 0, "x") end)
        assert.has_error(function() esme:submit(0, 1, 1, nil, "1", 0, 0, ("9"):rep(30), 1, 1, 0, 0, 0, "x") end,
            "smpp.session: destination_addr: 30 octets, at most 20 allowed")
        assert.has_error(function() smsc:answer(0, 1, "no_such_resp", 0) end)
        local nok, err, code = smsc:answer(0, 1, "submit_sm", 0)
        assert.are.same({ nil, "state" }, { nok, code })
        assert.matches("not a response", err)
    end)
end)
