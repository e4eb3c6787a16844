-- The client's delivery promises under a hostile SMSC: every call ends by
-- its deadline with one result, nothing is sent after that result, what
-- never left is "unsent", resends are said, and an inbound deliver_sm is
-- acknowledged only once the application has it. Against bin/smpp-sim and
-- against a scripted SMSC in this process that answers as each case needs.
local smpp = require "smpp"
local core = require "smpp.core"
local loop = require "smpp.loop"
local posix = require "smpp.transport.posix"
local support = require "support"

local now_ms = loop.now
local ACCOUNT, PASSWORD = "12345678912345", "secret"

-- A scripted SMSC: serves every connection on a port of its own in
-- coroutines of this process. behaviour.submit(p, n) returns the status and
-- message id to answer the n-th submit_sm with (nil: no answer);
-- behaviour.bound(smsc, link) runs right after a bind is answered.
local function scripted(behaviour)
    behaviour = behaviour or {}
    local listener = assert(posix.listen("127.0.0.1", 0))
    local smsc = { port = listener:port(), submits = {}, answers = {}, binds = 0, links = {} }

    local function serve(sock)
        local link = posix.link(sock, core.session{ role = "smsc", enquire_link = 0 })
        smsc.links[#smsc.links + 1] = link
        smsc.link = link
        while not smsc.stopped and not link.gone do
            for _, ev in ipairs(link:step(now_ms() + 50)) do
                local p = ev.pdu
                if ev.type == "request" and p.command:match("^bind_") then
                    smsc.binds = smsc.binds + 1
                    link.session:respond({ command = p.command .. "_resp", sequence_number = p.sequence_number,
                        system_id = "scripted" }, now_ms())
                    if behaviour.bound then behaviour.bound(smsc, link) end
                elseif ev.type == "request" and p.command == "submit_sm" then
                    local n = #smsc.submits + 1
                    smsc.submits[n] = { text = p.short_message, at = now_ms(), link = #smsc.links }
                    local status, id = 0, ("m%d"):format(n)
                    if behaviour.submit then status, id = behaviour.submit(p, n, smsc) end
                    if status then
                        link.session:respond({ command = "submit_sm_resp", sequence_number = p.sequence_number,
                            command_status = status, message_id = status == 0 and id or nil }, now_ms())
                    end
                elseif ev.type == "response" then -- to a deliver_sm of ours
                    smsc.answers[#smsc.answers + 1] = p.command_status
                elseif ev.type == "closed" then
                    link.gone = true
                end
            end
            link:flush(now_ms() + 100)
        end
        link:close()
    end

    smpp.spawn(function()
        while not smsc.stopped do
            local sock = posix.accept(listener, now_ms() + 100)
            if sock then smpp.spawn(serve, sock) end
        end
        listener:close()
    end)

    --- Sends an MO deliver_sm on the newest link.
    function smsc.deliver(text, link)
        link = link or smsc.link
        assert(link.session:send({ command = "deliver_sm", source_addr = "447700900123", destination_addr = "12345",
            short_message = text }, now_ms()))
        link:flush(now_ms() + 100)
    end

    --- Drops every link (the TCP connections close).
    function smsc.drop()
        for _, l in ipairs(smsc.links) do
            if not l.gone then
                l.gone = true
            end
        end
    end
    return smsc
end

-- Runs fn(smsc) in a coroutine beside a scripted SMSC; an error fails the test.
local function with_smsc(behaviour, fn)
    local smsc = scripted(behaviour)
    local failure
    smpp.spawn(function()
        local ok, err = xpcall(fn, debug.traceback, smsc)
        if not ok then failure = err end
        smsc.stopped = true
    end)
    smpp.run()
    if failure then error(failure, 0) end
    return smsc
end

local function connect(port, extra)
    local opts = { port = port, system_id = ACCOUNT, password = PASSWORD, reconnect = { min = 0.1, max = 1 } }
    for k, v in pairs(extra or {}) do opts[k] = v end
    return smpp.connect(opts)
end

describe("a call's deadline", function()
    it("ends a send by its deadline as unsent while the SMSC is down, without spinning, reconnecting meanwhile",
        function()
            local sim = support.start_sim("--throttle 0 --account " .. ACCOUNT .. ":" .. PASSWORD)
            local port = sim.port
            local failed = 0
            local c = assert(connect(port, { logger = function(_, msg)
                if msg:find("reconnect failed", 1, true) then failed = failed + 1 end
            end }))
            assert(c:send{ to = "447700900123", text = "before" })
            support.stop_sim(sim)
            local t0, cpu0 = now_ms(), os.clock()
            local ids, err, code = c:send{ to = "447700900123", text = "while down", timeout = 1 }
            local took, cpu = now_ms() - t0, (os.clock() - cpu0) * 1000
            assert.is_nil(ids)
            assert.are.equal("unsent", code)
            assert.matches("not sent", err)
            assert.is_true(took >= 1000 and took <= 1150, "took " .. took .. " ms")
            assert.is_true(cpu <= 10, "CPU " .. cpu .. " ms while waiting 1 s (1 % at most)")
            assert.is_true(failed >= 1, "it tried to reconnect")
            assert.are.equal(0, c:stats().reconnects) -- none made yet
            -- the SMSC comes back on the same port: the client binds again by itself
            sim = support.start_sim("--throttle 0 --account " .. ACCOUNT .. ":" .. PASSWORD .. " --port " .. port)
            ids = c:send{ to = "447700900123", text = "after", timeout = 5 }
            assert.are.equal(1, #assert(ids))
            assert.are.equal(1, c:stats().reconnects)
            c:close()
            support.stop_sim(sim)
        end)

    it("ends what the full window holds back as unsent, and what is on the wire unanswered as timeout", function()
        with_smsc({ submit = function() return nil end }, function(smsc)
            local c = assert(connect(smsc.port, { window = 1, response_timeout = 10 }))
            local t0 = now_ms()
            local list = { { to = "1", text = "a" }, { to = "1", text = "b" }, { to = "1", text = "c" } }
            local results = c:send_many(list, { timeout = 1 })
            local took = now_ms() - t0
            assert.are.same({ "timeout", "unsent", "unsent" }, { results[1][3], results[2][3], results[3][3] })
            assert.is_true(took >= 1000 and took <= 1200, "took " .. took .. " ms")
            assert.are.equal(1, #smsc.submits)
            c:close(0.1)
        end)
    end)

    it("gives a throttled send its answer by its deadline, and sends nothing of it afterwards", function()
        with_smsc({ submit = function() return 0x58 end }, function(smsc)
            local c = assert(connect(smsc.port))
            local t0 = now_ms()
            local ids, err, code = c:send{ to = "1", text = "refused", timeout = 1.5 }
            local took = now_ms() - t0
            assert.is_nil(ids)
            assert.are.equal(0x58, code) -- refused by the SMSC: certain, safe to retry
            assert.matches("ESME_RTHROTTLED", err)
            assert.is_true(took <= 1650, "took " .. took .. " ms")
            local n = #smsc.submits
            assert.is_true(n >= 2, "sent again within the deadline after the first 0x58")
            assert.is_true(smsc.submits[2].at - smsc.submits[1].at <= 1100, "the first resend within a second")
            c:run(3) -- the client goes on: nothing of that message goes again
            assert.are.equal(n, #smsc.submits)
            c:close(0.1)
        end)
    end)

    it("ends a send that its own throttle holds back by its deadline as unsent, without busy-waiting", function()
        with_smsc({}, function(smsc)
            local c = assert(connect(smsc.port, { throttle = 1 }))
            local results, took = {}, {}
            local cpu0 = os.clock()
            for i = 1, 3 do
                smpp.spawn(function()
                    local t0 = now_ms()
                    results[i] = { c:send{ to = "1", text = "t" .. i, timeout = 1.2 } }
                    took[i] = now_ms() - t0
                end)
            end
            while not (results[1] and results[2] and results[3]) do loop.sleep(0.05) end
            local cpu = (os.clock() - cpu0) * 1000
            assert.are.same({ "m1", "m2" }, { results[1][1][1], results[2][1][1] }) -- one a second
            assert.are.same({ nil, "unsent" }, { results[3][1], results[3][3] })
            assert.is_true(took[3] >= 1200 and took[3] <= 1350, "took " .. took[3] .. " ms")
            assert.is_true(cpu <= 60, "CPU " .. cpu .. " ms for 1.2 s of waiting")
            c:run(1.5)
            assert.are.equal(2, #smsc.submits) -- the third never went
            c:close(0.1)
        end)
    end)

    it("gets a message through three 0x58 in a row, the first resend within a second", function()
        with_smsc({ submit = function(_, n) if n <= 3 then return 0x58 end return 0, "ok" .. n end }, function(smsc)
            local c = assert(connect(smsc.port))
            local ids = assert(c:send{ to = "1", text = "persistent", timeout = 20 })
            assert.are.same({ "ok4" }, { ids[1] })
            assert.is_nil(ids.resent) -- a refusal is certain: sending it again is no duplicate
            assert.is_true(smsc.submits[2].at - smsc.submits[1].at <= 1100)
            for k = 1, 4 do assert.are.equal("persistent", smsc.submits[k].text) end
            c:close(0.1)
        end)
    end)
end)

describe("close", function()
    it("ends the calls still waiting at once: what never left unsent, what is on the wire closed", function()
        with_smsc({ submit = function() return nil end }, function(smsc)
            local c = assert(connect(smsc.port, { window = 1 }))
            local results, took = {}, {}
            for i = 1, 2 do
                smpp.spawn(function()
                    local t0 = now_ms()
                    results[i] = { c:send{ to = "1", text = "m" .. i, timeout = 10 } }
                    took[i] = now_ms() - t0
                end)
            end
            loop.sleep(0.2)
            c:close(0.3)
            while not (results[1] and results[2]) do loop.sleep(0.02) end
            assert.are.same({ "closed", "unsent" }, { results[1][3], results[2][3] })
            assert.is_true(took[1] < 1500 and took[2] < 1500, took[1] .. " and " .. took[2] .. " ms")
            assert.are.equal(1, #smsc.submits)
        end)
    end)
end)

describe("resend = true", function()
    it("sends an unanswered request again once, says so in the result and the counters, and goes on", function()
        with_smsc({ submit = function(_, n) if n == 1 then return nil end return 0, "id" .. n end }, function(smsc)
            local c = assert(connect(smsc.port, { resend = true, response_timeout = 0.4 }))
            local ids = assert(c:send{ to = "1", text = "twice", timeout = 5 })
            assert.are.same({ "id2", true }, { ids[1], ids.resent })
            assert.are.equal(1, c:stats().resent)
            ids = assert(c:send{ to = "1", text = "once" })
            assert.are.same({ "id3" }, { ids[1], ids.resent })
            assert.are.same({ "twice", "twice", "once" }, { smsc.submits[1].text, smsc.submits[2].text,
                smsc.submits[3].text })
            c:close(0.1)
        end)
    end)

    it("says resent on an uncertain failure too: the SMSC may have it twice", function()
        with_smsc({ submit = function() return nil end }, function(smsc)
            local c = assert(connect(smsc.port, { resend = true, response_timeout = 0.3 }))
            local ids, err, code, accepted = c:send{ to = "1", text = "lost twice", timeout = 3 }
            assert.are.same({ nil, "timeout", true, 0 }, { ids, code, accepted and accepted.resent, #accepted })
            assert.matches("no response", err)
            assert.are.equal(2, #smsc.submits)
            local results = c:send_many({ { to = "1", text = "again" } }, { timeout = 3 })
            assert.are.same({ "timeout", true }, { results[1][3], results[1].resent })
            c:close(0.1)
        end)
    end)

    it("sends what a lost link took again, in the original order", function()
        local smsc
        smsc = with_smsc({ submit = function(_, n, s)
            if n <= 5 then
                if n == 5 then s.drop() end
                return nil
            end
            return 0, "id" .. n
        end }, function(s)
            local c = assert(connect(s.port, { resend = true, window = 10 }))
            local list = {}
            for i = 1, 5 do list[i] = { to = "1", text = "m" .. i } end
            local results = c:send_many(list, { timeout = 5 })
            for i = 1, 5 do
                assert.is_true(results[i].resent, "message " .. i .. " says it was sent again")
                assert.are.equal("id" .. (5 + i), results[i][1])
            end
            c:close(0.1)
        end)
        local again = {}
        for k = 6, #smsc.submits do again[#again + 1] = smsc.submits[k].text end
        assert.are.same({ "m1", "m2", "m3", "m4", "m5" }, again)
    end)
end)

describe("inbound messages", function()
    it("are acknowledged only when wait() returns them, and refused with 0x64 past max_queued", function()
        with_smsc({ bound = function(s, link)
            for i = 1, 5 do s.deliver("mo" .. i, link) end
        end }, function(smsc)
            local c = assert(connect(smsc.port, { max_queued = 3 }))
            c:run(0.5)
            assert.are.same({ 0x64, 0x64 }, smsc.answers) -- the queue holds 3, unanswered
            for i = 1, 3 do
                local m = assert(c:wait("message", 1))
                assert.are.equal("mo" .. i, m.text)
            end
            c:run(0.2)
            assert.are.same({ 0x64, 0x64, 0, 0, 0 }, smsc.answers)
            assert.are.equal(2, c:stats().deferred)
            c:close(0.1)
        end)
    end)

    it("reach handlers given to smpp.connect, in place before the first deliver_sm", function()
        with_smsc({ bound = function(s, link) s.deliver("right away", link) end }, function(smsc)
            local got = {}
            local c = assert(connect(smsc.port, { on = { message = function(m) got[#got + 1] = m.text end } }))
            c:run(0.3)
            assert.are.same({ "right away" }, got)
            assert.are.same({ 0 }, smsc.answers)
            c:close(0.1)
        end)
    end)

    it("waiting in the queue go first to a handler set later", function()
        with_smsc({ bound = function(s, link) s.deliver("one", link); s.deliver("two", link) end }, function(smsc)
            local c = assert(connect(smsc.port))
            c:run(0.3)
            assert.are.same({}, smsc.answers)
            local got = {}
            c:on("message", function(m) got[#got + 1] = m.text end)
            assert.are.same({ "one", "two" }, got)
            c:run(0.2)
            assert.are.same({ 0, 0 }, smsc.answers)
            c:close(0.1)
        end)
    end)
end)

describe("send_many", function()
    it("makes a bad entry that entry's result, and sends the others", function()
        with_smsc({}, function(smsc)
            local c = assert(connect(smsc.port))
            local results = c:send_many({ { to = "1", text = "a" }, { to = "", text = "b" }, { to = "1", text = "c" },
                "not a table", { to = "1", text = "d", reciept = true } })
            assert.are.same({ "m1", "m2" }, { results[1][1], results[3][1] })
            for _, k in ipairs({ 2, 4, 5 }) do
                assert.are.same({ nil, "argument" }, { results[k][1], results[k][3] })
            end
            assert.matches("to must be a non%-empty string", results[2][2])
            assert.matches('did you mean "receipt"', results[5][2])
            assert.are.equal(2, #smsc.submits)
            c:close(0.1)
        end)
    end)
end)

describe("an idle link", function()
    it("is bound again before a send when it died while the process was idle", function()
        local sim = support.start_sim("--throttle 0 --idle-timeout 1 --account " .. ACCOUNT .. ":" .. PASSWORD)
        local c = assert(connect(sim.port, { enquire_link = 0 }))
        os.execute("sleep 1.6") -- nothing drives the sockets: the SMSC drops the idle bind
        local ids, err = c:send{ to = "447700900123", text = "after a pause" }
        assert.is_truthy(ids, err)
        assert.are.equal(2, c:stats().binds)
        c:close()
        support.stop_sim(sim)
    end)
end)

describe("the PDU trace", function()
    it("shows every PDU on the wire with its sequence number, the 0x58 refusal and the resend too", function()
        with_smsc({ submit = function(_, n) if n == 1 then return 0x58 end return 0, "ok" end }, function(smsc)
            local lines = {}
            local c = assert(connect(smsc.port, { trace = true,
                logger = function(level, msg) if level == "trace" then lines[#lines + 1] = msg end end }))
            assert(c:send{ to = "1", text = "traced" })
            c:close(0.1)
            local out, refusals, seqs = 0, 0, {}
            for _, l in ipairs(lines) do
                assert.is_nil(l:find("seq=nil", 1, true), l)
                local seq = l:match("^%S+ %S+ %-> submit_sm seq=(%d+)")
                if seq then out, seqs[#seqs + 1] = out + 1, seq end
                if l:match("<%- submit_sm_resp") and l:match("ESME_RTHROTTLED") then refusals = refusals + 1 end
            end
            assert.are.equal(2, out)
            assert.are.equal(1, refusals)
            assert.are_not.equal(seqs[1], seqs[2])
            assert.are.equal(2, #smsc.submits)
        end)
    end)
end)

describe("receipt ids", function()
    it("match when the SMSC writes in decimal a 16-hex-digit message id", function()
        local got
        with_smsc({ submit = function(_, _, s)
            smpp.spawn(function()
                loop.sleep(0.05)
                assert(s.link.session:send({ command = "deliver_sm", source_addr = "1", destination_addr = "2",
                    esm_class = 4, short_message = "id:18446744073709551360 sub:001 dlvrd:001 submit date:2612021200 "
                        .. "done date:2612021201 stat:DELIVRD err:000 text:x" }, now_ms()))
                s.link:flush(now_ms() + 100)
            end)
            return 0, "FFFFFFFFFFFFFF00"
        end }, function(smsc)
            local c = assert(connect(smsc.port, { on = { receipt = function(r) got = r end } }))
            assert(c:send{ to = "1", text = "x", receipt = true, ref = "order-17" })
            c:run(0.3)
            assert.is_truthy(got)
            assert.are.equal("order-17", got.message and got.message.ref)
            assert.are.equal(0, c:stats().unmatched)
            assert.are.same({ 0 }, smsc.answers)
            c:close(0.1)
        end)
    end)
end)

describe("misuse", function()
    it("raises at the caller's line, naming an unknown option or field with the nearest valid one", function()
        local ok, err = pcall(function()
            local c = smpp.connect{ hots = "localhost", system_id = "a" } -- the line named
            return c
        end)
        assert.is_false(ok)
        assert.matches('smpp.connect: unknown option "hots" %(did you mean "host"%?%)', err)
        assert.matches("delivery_spec.lua:%d+:", err)
        with_smsc({}, function(smsc)
            local c = assert(connect(smsc.port))
            local sok, serr = pcall(function()
                local r = c:send{ to = "1", text = "x", reciept = true }
                return r
            end)
            assert.is_false(sok)
            assert.matches('smpp.send: unknown message field "reciept" %(did you mean "receipt"%?%)', serr)
            assert.matches("delivery_spec.lua:%d+:", serr)
            -- a field too long for its PDU: named as the message names it, at the caller's line
            for _, case in ipairs({
                { { to = string.rep("1", 21) }, "to is 21 characters, a destination_addr holds at most 20" },
                { { from = string.rep("A", 21) }, "from is 21 characters, a source_addr holds at most 20" },
                { { service_type = "123456" }, "service_type is 6 characters, a service_type holds at most 5" } }) do
                local m = { to = "1", text = "x" }
                for k, v in pairs(case[1]) do m[k] = v end
                sok, serr = pcall(function()
                    local r = c:send(m)
                    return r
                end)
                assert.is_false(sok)
                assert.matches("delivery_spec.lua:%d+: smpp.send: " .. case[2], serr)
            end
            -- fields given as they are, which the codec cannot write: raised too, nothing sent
            sok, serr = pcall(function()
                local r = c:send{ to = "1", text = "x", fields = { no_such_field = 1 } }
                return r
            end)
            assert.is_false(sok)
            assert.matches("smpp.send: .*unknown field no_such_field", serr)
            assert.matches("delivery_spec.lua:%d+:", serr)
            local results = c:send_many({ { to = "1", text = "y", fields = { user_message_reference = "x" } },
                { to = "1", text = "z" } })
            assert.are.same({ nil, "argument", "m1" }, { results[1][1], results[1][3], results[2][1] })
            sok, serr = pcall(function()
                local r = c:query(1)
                return r
            end)
            assert.is_false(sok)
            assert.matches("delivery_spec.lua:%d+: smpp.query: id must be a string", serr)
            sok, serr = pcall(function()
                local r = c:submit{ destination_addr = "1", bogus = true }
                return r
            end)
            assert.is_false(sok)
            assert.matches("delivery_spec.lua:%d+: smpp.submit: .*unknown field bogus", serr)
            assert.are.equal(1, #smsc.submits) -- only "z"
            c:close(0.1)
        end)
    end)
end)

describe("reading in batches", function()
    it("reads a lone answer within milliseconds while many requests are outstanding", function()
        -- only the first submit is answered: 25 octets, fewer than a batch of 128
        with_smsc({ submit = function(_, n) if n == 1 then return 0, "first" end end }, function(smsc)
            local c = assert(connect(smsc.port, { window = 30, response_timeout = 2 }))
            local t0, first_at, first, lowat = now_ms(), nil, nil, nil
            local done = 0
            for i = 1, 20 do
                smpp.spawn(function()
                    local ids = c:send{ to = "1", text = "m" .. i, timeout = 2 }
                    if i == 1 then
                        first_at, first = now_ms(), ids
                        lowat = c.sessions[1].link.lowat -- 19 still outstanding: batching
                    end
                    done = done + 1
                end)
            end
            while done < 20 do loop.sleep(0.05) end
            assert.are.same({ "first" }, first)
            assert.are.equal(128, lowat)
            assert.is_true(first_at - t0 < 300, "the answer took " .. (first_at - t0) .. " ms")
            assert.are.equal(20, #smsc.submits)
            c:close(0.1)
        end)
    end)
end)
