-- smpp.connect and the client, end to end against the simulator over real
-- sockets: in coroutines (smpp.spawn, the simulator in the same process), at
-- top level against bin/smpp-sim in a process of its own, and in cqueues.
local smpp = require "smpp"
local loop = require "smpp.loop"
local support = require "support"

local ACCOUNT, PASSWORD = "12345678912345", "secret"

-- Runs fn(sim, port, tls_port) in a coroutine against a fresh simulator; the
-- simulator stops when fn ends, and an error in fn fails the test.
local function with_sim(opts, fn)
    opts.port = 0
    opts.accounts = opts.accounts or { [ACCOUNT] = PASSWORD }
    local sim = smpp.server(opts)
    local port, tls_port = assert(sim:start())
    local failure
    smpp.spawn(function()
        local ok, err = xpcall(fn, debug.traceback, sim, port, tls_port)
        if not ok then failure = err end
        sim:stop()
    end)
    smpp.run()
    if failure then error(failure, 0) end
    return sim
end

local function connect(port, extra)
    local opts = { port = port, system_id = ACCOUNT, password = PASSWORD }
    for k, v in pairs(extra or {}) do opts[k] = v end
    return smpp.connect(opts)
end

describe("smpp.connect", function()
    it("checks its options before connecting, with clear messages", function()
        local function msg(opts)
            local ok, err = pcall(function()
                local c = smpp.connect(opts) -- not a tail call: the error names this line
                return c
            end)
            assert.is_false(ok)
            return err
        end
        assert.matches("password is 9 characters, the SMSC takes at most 8",
            msg{ system_id = "a", password = "123456789" })
        assert.matches('unknown bind type "sender"', msg{ system_id = "a", bind = "sender" })
        assert.matches("system_id .* at most 15", msg{ system_id = "1234567890123456" })
        assert.matches("system_id is required", msg{ password = "x" })
        assert.matches("charset must be", msg{ system_id = "a", charset = "ebcdic" })
        assert.matches("window must be positive", msg{ system_id = "a", window = 0 })
        assert.matches("port must be 1 to 65535", msg{ system_id = "a", port = 70000 })
        assert.matches("options must be a table", msg("host"))
        -- the message points at the caller's line
        assert.matches("client_spec.lua", msg{ system_id = "a", bind = "x" })
    end)

    it("strips the dashes of an account id and binds all three ways over TCP", function()
        with_sim({ throttle = 0 }, function(sim, port)
            for _, kind in ipairs({ "transmitter", "receiver", "transceiver" }) do
                local c = assert(connect(port, { system_id = "123-456-789-12345", bind = kind }))
                assert.matches(kind, tostring(c))
                local ids, err, code = c:send{ to = "447700900123", text = "hi" }
                if kind == "receiver" then
                    assert.is_nil(ids)
                    assert.are.equal("state", code)
                    assert.matches("receiver", err)
                else
                    assert.are.equal(1, #ids)
                end
                c:close()
            end
            assert.are.equal(2, sim.stats.submits)
            assert.are.equal(3, sim.stats.binds)
        end)
    end)

    it("fails with the SMSC's status for a wrong password or an unknown account", function()
        with_sim({}, function(_, port)
            local c, err, code = connect(port, { password = "wrong" })
            assert.is_nil(c)
            assert.are.equal(0x0E, code)
            assert.matches("ESME_RINVPASWD", err)
            c, err, code = connect(port, { system_id = "nobody" })
            assert.is_nil(c)
            assert.are.equal(0x0F, code)
            assert.matches("ESME_RINVSYSID", err)
        end)
    end)

    it("fails with a network error when nothing listens", function()
        local listener = assert(require("smpp.transport.posix").listen("127.0.0.1", 0))
        local port = listener:port()
        listener:close()
        local c, err = connect(port, { timeout = 2 })
        assert.is_nil(c)
        assert.is_string(err)
    end)
end)

describe("client over TLS", function()
    local dir
    setup(function() dir = support.certificates() end)
    teardown(function() os.execute("rm -rf " .. dir) end)

    it("binds every way with the certificate checked, and refuses an untrusted one", function()
        with_sim({ throttle = 0, tls_port = 0, tls = { cert = dir .. "/server.pem", key = dir .. "/server.key" } },
            function(sim, _, tls_port)
                for _, kind in ipairs({ "transmitter", "receiver", "transceiver" }) do
                    local c = assert(connect(tls_port, { host = "localhost", bind = kind,
                        tls = { ca = dir .. "/ca.pem" } }))
                    assert.matches("TLS", tostring(c))
                    if kind ~= "receiver" then
                        assert.are.equal(1, #assert(c:send{ to = "447700900123", text = "over TLS" }))
                    end
                    c:close()
                end
                assert.are.equal(2, sim.stats.submits)
                local c, err, code = connect(tls_port, { host = "localhost", tls = { ca = dir .. "/other-ca.pem" } })
                assert.is_nil(c)
                assert.are.equal("tls", code)
                assert.matches("certificate", err)
            end)
    end)
end)

describe("client:send", function()
    it("returns one id per part, and matches receipts to what was sent", function()
        with_sim({ throttle = 0 }, function(_, port)
            local c = assert(connect(port))
            local ids = assert(c:send{ from = "12345", to = "447700900123", text = "Hello", receipt = true,
                ref = "order-17" })
            assert.are.equal(1, #ids)
            local long = assert(c:send{ to = "447700900123", text = ("0123456789"):rep(20), receipt = true })
            assert.are.equal(2, #long)
            local r, p = c:wait("receipt", 5)
            assert.are.equal("deliver_sm", p.command)
            assert.is_true(smpp.receipt.same_id(ids[1], r.id))
            assert.are.equal("DELIVRD", r.stat)
            assert.are.equal("order-17", r.message.ref)
            assert.are.equal("Hello", r.message.text)
            assert.matches("stat=DELIVRD", tostring(r))
            local r2 = c:wait("receipt", 5)
            assert.are.same(long, r2.message.ids)
            local r3 = c:wait("receipt", 5) -- one receipt per part
            assert.are.same(long, r3.message.ids)
            assert.are.equal(3, c:stats().receipts)
            local st = c:stats()
            assert.are.equal(2, st.sent)
            assert.are.equal(3, st.parts)
            c:close()
        end)
    end)

    it("gives nil, message, status for a refused submit, and checks its arguments", function()
        with_sim({ throttle = 0, faults = { submit_status = 0x45 } }, function(_, port)
            local c = assert(connect(port))
            local ids, err, code = c:send{ to = "447700900123", text = "x" }
            assert.is_nil(ids)
            assert.are.equal(0x45, code)
            assert.matches("ESME_RSUBMITFAIL", err)
            assert.are.equal(1, c:stats().failed_by_status[0x45])
            assert.has_error(function() c:send{ text = "no destination" } end)
            assert.has_error(function() c:send{ to = "1" } end, "smpp.send: give text or data (one of them)")
            assert.has_error(function() c:send{ to = "1", text = "a", data = "b" } end)
            assert.has_error(function() c:on("nonsense", print) end)
            c:close()
            ids, err, code = c:send{ to = "1", text = "after close" }
            assert.is_nil(ids)
            assert.are.same({ "the client is closed", "closed" }, { err, code })
        end)
    end)

    it("writes validity and schedule as SMPP times, and sends binary data", function()
        local lines = {}
        with_sim({ throttle = 0, log = function(l) lines[#lines + 1] = l end }, function(_, port)
            local c = assert(connect(port))
            local at = os.time{ year = 2031, month = 2, day = 3, hour = 4, min = 5, sec = 6, isdst = false }
            at = at + (os.time() - os.time(os.date("!*t"))) -- that wall time read as UTC
            assert(c:send{ to = "1", text = "timed", validity = 2 * 86400 + 3 * 3600 + 4 * 60 + 5, schedule = at })
            assert(c:send{ to = "2", text = "raw", validity = "000001000000000R" })
            assert(c:send{ to = "3", data = "\0\1\2\255" })
            local _, err = pcall(function() local r = c:send{ to = "4", text = "x", validity = {} } return r end)
            assert.matches("validity must be a number or an SMPP time string", err)
            c:close()
        end)
        local all = table.concat(lines, "\n")
        assert.matches('validity_period="000002030405000R"', all)
        assert.matches('schedule_delivery_time="310203040506000%+"', all)
        assert.matches('validity_period="000001000000000R"', all)
        assert.matches('data_coding=4[^\n]*short_message="\\0\\1\\2\\255"', all)
    end)

    it("pipelines send_many through the window, one result per message", function()
        with_sim({ throttle = 0 }, function(sim, port)
            local c = assert(connect(port, { window = 20 }))
            local list = {}
            for i = 1, 500 do list[i] = { to = tostring(1000 + i), text = "bulk " .. i } end
            local results = c:send_many(list)
            assert.are.equal(500, #results)
            local seen = {}
            for i, r in ipairs(results) do
                assert.is_string(r[1], "message " .. i)
                assert.is_nil(seen[r[1]])
                seen[r[1]] = true
            end
            assert.are.equal(500, sim.stats.submits)
            c:close()
        end)
    end)

    it("sends 0x58-refused submits again: nothing lost, nothing twice, order kept", function()
        with_sim({ throttle = 20 }, function(sim, port)
            -- no throttle of our own: the simulator's 20/s refuses most of a burst
            local c = assert(connect(port, { window = 10 }))
            local list = {}
            for i = 1, 40 do list[i] = { to = tostring(i), text = "t" .. i } end
            local results = c:send_many(list)
            for i, r in ipairs(results) do assert.is_string(r[1], "message " .. i) end
            assert.is_true(sim.stats.throttled > 0, "the simulator refused none")
            assert.are.equal(40, sim.stats.submits)
            local order = {}
            for k = sim.oldest, sim.newest do order[#order + 1] = tonumber(sim:message(sim.order[k]).destination) end
            for i = 1, 40 do assert.are.equal(i, order[i]) end
            c:close()
        end)
    end)

    it("keeps under the simulator's strict limit with throttle set", function()
        with_sim({ throttle = 20 }, function(sim, port)
            local c = assert(connect(port, { throttle = 20, window = 10 }))
            local list = {}
            for i = 1, 30 do list[i] = { to = tostring(i), text = "t" .. i } end
            local t0 = loop.now()
            for _, r in ipairs(c:send_many(list)) do assert.is_string(r[1]) end
            assert.are.equal(0, sim.stats.throttled)
            assert.is_true(loop.now() - t0 >= 1000, "30 messages at 20/s took under a second")
            c:close()
        end)
    end)

    it("has query, cancel, replace, data_sm and submit_multi", function()
        with_sim({ throttle = 0 }, function(_, port)
            local c = assert(connect(port))
            local id = assert(c:send{ to = "447700900123", text = "x" })[1]
            assert.are.equal(2, assert(c:query(id)).message_state)
            assert.is_true(c:replace{ id = id, text = "y" })
            assert.is_true(c:cancel(id))
            assert.are.equal(4, c:query(id).message_state)
            local _, err, code = c:query("nope")
            assert.are.equal(0x67, code)
            assert.matches("ESME_RQUERYFAIL", err)
            assert.is_string(assert(c:data_sm{ destination_addr = "447700900123", message_payload = "d" }).message_id)
            local m = assert(c:submit_multi{ to = { "4471", "4472" }, text = "multi" })
            assert.is_string(m.message_id)
            assert.is_string(assert(c:submit{ destination_addr = "1", short_message = "raw" }).message_id)
            c:close()
        end)
    end)

    it("submit_multi takes distribution lists and long texts; its addresses are checked at the call", function()
        local seen = {}
        with_sim({ throttle = 0, log = function(line) seen[#seen + 1] = line end }, function(_, port)
            local c = assert(connect(port))
            local long = string.rep("0123456789", 30) -- 300 octets: past short_message's 254
            assert.is_string(assert(c:submit_multi{ to = { "4471" }, dl = { "staff" }, text = long }).message_id)
            local got
            for _, line in ipairs(seen) do
                if line:find("^<%- submit_multi") then got = line end
            end
            assert.matches('dl_name="staff"', got, 1, true)
            assert.matches('destination_addr="4471"', got, 1, true)
            assert.matches("message_payload=", got, 1, true)
            local function raised(m)
                local ok, err = pcall(function() local r = c:submit_multi(m); return r end)
                assert.is_false(ok)
                assert.matches("client_spec.lua", err) -- at the caller's line
                return err
            end
            assert.matches("to%[2%] is 21 characters, a destination_addr holds at most 20",
                raised{ to = { "1", string.rep("2", 21) }, text = "x" })
            assert.matches("dl%[1%] is 21 characters, a dl_name holds at most 20",
                raised{ dl = { string.rep("d", 21) }, text = "x" })
            assert.matches("to%[1%] must be a non%-empty string", raised{ to = { "" }, text = "x" })
            assert.matches("give to", raised{ text = "x" })
            local many = {}
            for i = 1, 255 do many[i] = tostring(i) end
            assert.matches("255 destinations: a submit_multi takes at most 254", raised{ to = many, text = "x" })
            c:close()
        end)
    end)

    it("replace_sm keeps the message's alphabet: the text in it, or an error that says why", function()
        local seen = {}
        with_sim({ throttle = 0, log = function(line) seen[#seen + 1] = line end }, function(_, port)
            local c = assert(connect(port))
            local id = assert(c:send{ to = "447700900123", text = "Привет" })[1]
            assert.is_true(c:replace{ id = id, text = "Пока", encoding = "ucs2" })
            local got
            for _, line in ipairs(seen) do
                if line:find("^<%- replace_sm") then got = line end
            end
            assert.matches('short_message="\\4\\31\\4>', got, 1, true) -- "По" in UCS-2
            local ok, err, code = c:replace{ id = id, text = "Пока" } -- not in GSM 7-bit
            assert.are.same({ nil, "text" }, { ok, code })
            assert.is_string(err)
            ok, err, code = c:replace{ id = id, text = string.rep("x", 255) }
            assert.are.same({ nil, "text" }, { ok, code })
            assert.matches("255 octets: a replace_sm holds at most 254", err)
            c:close()
        end)
    end)
end)

describe("smpp.connect: what goes wrong at the door reads clearly", function()
    local posix = require "smpp.transport.posix"

    it("plain TCP to a TLS port, or a port that closes at once, hints at TLS; it is not 'refused'", function()
        local dir = support.certificates()
        with_sim({ throttle = 0, tls_port = 0, tls = { cert = dir .. "/server.pem", key = dir .. "/server.key" } },
            function(_, _, tls_port)
                local c, err, code = connect(tls_port, { timeout = 3 })
                assert.is_nil(c)
                assert.are.equal("closed", code)
                assert.matches("bind_transceiver: no answer, the link ended: ", err, 1, true)
                assert.matches("(if the port is a TLS port, set tls = true)", err, 1, true)
                assert.is_nil(err:find("refused"))
                -- over TLS without the CA: the hint names the option as it is written
                c, err, code = connect(tls_port, { tls = true, timeout = 3 })
                assert.are.same({ nil, "tls" }, { c, code })
                assert.matches('tls = { ca = "file.pem" }', err, 1, true)
                assert.is_nil(err:find("ca_file"))
                assert(connect(tls_port, { tls = { ca = dir .. "/ca.pem" }, timeout = 3 })):close()
            end)
        local closer = assert(posix.listen("127.0.0.1", 0))
        loop.spawn(function()
            local s = posix.accept(closer, loop.now() + 5000)
            if s then s:close() end
        end)
        local c, err, code
        loop.spawn(function() c, err, code = connect(closer:port(), { timeout = 3 }) end)
        loop.run()
        closer:close()
        assert.are.same({ nil, "closed" }, { c, code })
        assert.matches("no answer, the link ended", err, 1, true)
    end)

    it("a TLS alert during the bind (a client certificate required) is code 'tls', with the option to give", function()
        local dir = support.certificates()
        local port = support.free_port()
        local pid = support.spawn(("exec openssl s_server -quiet -accept 127.0.0.1:%d -cert %s/server.pem "
            .. "-key %s/server.key -Verify 1 -tls1_3 >/dev/null 2>&1"):format(port, dir, dir))
        local c, err, code
        support.eventually(5, function()
            c, err, code = smpp.connect{ port = port, system_id = "a", password = "b", timeout = 3,
                tls = { ca = dir .. "/ca.pem" } }
            return code ~= "net"
        end)
        support.kill(pid)
        assert.are.same({ nil, "tls" }, { c, code })
        assert.matches("requires a client certificate (give tls = { cert = ..., key = ... })", err, 1, true)
    end)

    it("takes an IPv6 host written in brackets, as its messages write it", function()
        local l6 = posix.listen("::1", 0)
        if l6 then -- a host with IPv6 loopback: a bind over it
            l6:close()
            with_sim({ throttle = 0, host = "::1" }, function(_, port)
                local c = assert(smpp.connect{ host = "[::1]", port = port, system_id = ACCOUNT, password = PASSWORD })
                assert.matches("@::1:", tostring(c), 1, true)
                c:close()
            end)
        else -- none: the address is read (a connect error, not a failure to resolve)
            local c, err, code = smpp.connect{ host = "[::1]", port = 9, system_id = "a", timeout = 1 }
            assert.are.same({ nil, "net" }, { c, code })
            assert.is_nil(err:find("resolve"), err)
        end
    end)
end)

describe("client:send the short way", function()
    -- The submits a tiny SMSC receives from clients bound to it in turn.
    local function received(client_opts, messages, many)
        local posix = require "smpp.transport.posix"
        local listener = assert(posix.listen("127.0.0.1", 0))
        local stats = { submits = 0, pdus = {} }
        local results, ok, err
        smpp.spawn(support.tiny_smsc, listener, stats)
        smpp.spawn(function()
            local opts = { port = listener:port(), system_id = "sys", password = "pw" }
            for k, v in pairs(client_opts) do opts[k] = v end
            local c = assert(smpp.connect(opts))
            ok, err = pcall(function()
                if many then
                    results = c:send_many(messages)
                else
                    results = {}
                    for i, m in ipairs(messages) do results[i] = { c:send(m) } end
                end
            end)
            c:close()
        end)
        smpp.run()
        listener:close()
        if not ok then error(err, 0) end
        return stats.pdus, results
    end

    it("ends a request whose response cannot be read at once, the short way and the long way", function()
        local posix = require "smpp.transport.posix"
        local listener = assert(posix.listen("127.0.0.1", 0))
        local stats = { submits = 0, garble = { [2] = true, [4] = true } }
        local results, elapsed = {}, nil
        smpp.spawn(support.tiny_smsc, listener, stats)
        smpp.spawn(function()
            local c = assert(smpp.connect{ port = listener:port(), system_id = "sys", password = "pw",
                response_timeout = 5 })
            local t0 = loop.now()
            for i, m in ipairs{ { to = "1", text = "short" }, { to = "2", text = "short" },
                { to = "3", text = "long", priority = 1 }, { to = "4", text = "long", priority = 1 } } do
                results[i] = { c:send(m) }
            end
            elapsed = loop.now() - t0
            c:close()
        end)
        smpp.run()
        listener:close()
        assert.are.same({ "id1" }, results[1][1])
        assert.are.same({ "id3" }, results[3][1])
        for _, k in ipairs{ 2, 4 } do
            assert.is_nil(results[k][1])
            assert.are.equal("invalid", results[k][3])
            assert.matches("could not be read .*message_id", results[k][2])
        end
        assert.is_true(elapsed < 2000, "waited " .. elapsed .. " ms")
    end)

    it("sends the same octets as the long way, message for message", function()
        local messages = {
            { to = "4915112345678", from = "12345", text = "Hello, bench!" },
            { to = "4915112345678", from = "ACME", text = "Price: 5€ [x] {y} ~ ^", receipt = true },
            { to = "447700900123", from = "4915112345678", text = "Привет" },
            { to = "447700900123", text = ("x"):rep(160) }, -- the most one part holds
            { to = "447700900123", text = ("€"):rep(80) }, -- 160 septets with the escapes
            { to = "447700900123", text = ("x"):rep(161) }, -- two parts: the long way
            { to = "447700900123", text = "" },
            { to = "447700900123", from = "Shop 1", text = "@$_ éè", receipt = true },
            { to = "447700900123", text = "hi", to_ton = 2, priority = 1 }, -- extra fields: the long way
        }
        for _, charset in ipairs({ "gsm7", "latin1" }) do
            local short = received({ charset = charset, from = "INFO" }, messages)
            local long = received({ charset = charset, from = "INFO", trace = true, logger = function() end }, messages)
            assert.are.equal(#long, #short)
            local parts = 0
            for _, m in ipairs(messages) do parts = parts + smpp.text.count(m.text, { charset = charset }).parts end
            assert.are.equal(parts, #short)
            assert.is_true(parts > #messages) -- a long message among them
            for i = 1, #long do
                -- a long message's reference number counts up per destination: not compared
                local l, sh = smpp.pdu.decode(long[i]), smpp.pdu.decode(short[i])
                if l.esm_class == 0x40 then
                    l.short_message, sh.short_message = l.short_message:sub(5), sh.short_message:sub(5)
                end
                assert.are.equal(smpp.pdu.encode(l), smpp.pdu.encode(sh), charset .. ": submit " .. i .. " differs")
            end
            local many = received({ charset = charset, from = "INFO" }, messages, true)
            assert.are.equal(#short, #many)
        end
    end)

    it("gives the same results and errors as the long way", function()
        local bad = {
            { to = "", text = "x" }, { to = 5, text = "x" }, { to = "1" }, { to = "1", text = 5 },
            { to = "1", text = "x", data = "y" }, { to = ("9"):rep(30), text = "x" },
        }
        for _, m in ipairs(bad) do
            local sok, serr = pcall(received, {}, { m })
            local lok, lerr = pcall(received, { trace = true, logger = function() end }, { m })
            assert.are.equal(lok, sok)
            assert.is_false(sok)
            -- the message names the problem the same way, at the caller's line or not
            assert.are.equal((tostring(lerr):gsub("^.-:%d+: ", "")), (tostring(serr):gsub("^.-:%d+: ", "")))
        end
        local _, results = received({}, { { to = "1", text = "a" }, { to = "2", text = "b" } }, true)
        assert.are.same({ { "id1" }, { "id2" } }, results)
        _, results = received({}, { { to = "1", text = "a" }, { to = "2", text = "b" } })
        assert.are.same({ { { "id1" } }, { { "id2" } } }, results)
    end)

    it("reports refusals, timeouts and lost links per message", function()
        with_sim({ throttle = 0, faults = { submit_status = 0x45 } }, function(sim, port)
            local c = assert(connect(port, { response_timeout = 0.3 }))
            local results = c:send_many({ { to = "1", text = "a" }, { to = "2", text = "b" } })
            assert.are.same({ { nil, "ESME_RSUBMITFAIL (0x45): submit_sm or submit_multi failed", 0x45 },
                { nil, "ESME_RSUBMITFAIL (0x45): submit_sm or submit_multi failed", 0x45 } }, results)
            local ids, err, code = c:send{ to = "3", text = "c" }
            assert.are.same({ nil, 0x45 }, { ids, code })
            assert.matches("ESME_RSUBMITFAIL", err)
            sim.faults = { withhold = true }
            ids, err, code = c:send{ to = "4", text = "d" }
            assert.are.same({ nil, "timeout" }, { ids, code })
            assert.matches("no response to submit_sm within 0.3 s", err)
            local st = c:stats()
            assert.are.same({ 4, 0, 4, 3, 1 },
                { st.sent, st.accepted, st.failed, st.failed_by_status[0x45], st.failed_by_status.timeout })
            assert.matches("sent=4 accepted=0 parts=0 failed=4 ", tostring(st), 1, true)
            assert.matches("failed_by_status={0x45:3 timeout:1}", tostring(st), 1, true)
            c:close()
        end)
    end)

    it("counts the SMSC's 0x58 answers, and reconnects only when a bind is made again", function()
        with_sim({ throttle = 5 }, function(sim, port)
            local c = assert(connect(port, { window = 10, reconnect = { min = 0.05, max = 0.1 } }))
            local list = {}
            for i = 1, 12 do list[i] = { to = tostring(i), text = "m" .. i, timeout = 10 } end
            for i, r in ipairs(c:send_many(list)) do assert.is_string(r[1], "message " .. i) end
            local st = c:stats()
            assert.are.equal(sim.stats.throttled, st.throttled)
            assert.is_true(st.throttled > 0, "the simulator refused none")
            assert.are.same({ 12, 12, 0 }, { st.sent, st.accepted, st.reconnects })
            -- the link drops and the SMSC refuses binds for a while (0x0D):
            -- the attempts that fail are not reconnects
            sim.max_binds = 0
            sim:drop()
            c:run(0.5)
            assert.are.equal(0, c:stats().reconnects)
            assert.is_true(sim.stats.refused_binds > 0, "no bind was tried")
            sim.max_binds = 2
            local deadline = loop.now() + 3000
            while c:stats().bound == 0 and loop.now() < deadline do c:run(0.05) end
            st = c:stats()
            assert.are.same({ 1, 1 }, { st.bound, st.reconnects })
            assert.are.equal(sim.stats.throttled, st.throttled) -- the dropped engine's count is kept
            c:close()
        end)
    end)
end)

describe("client events", function()
    it("joins long MO messages, and calls handlers", function()
        with_sim({ throttle = 0 }, function(sim, port)
            local c = assert(connect(port, { bind = "receiver" }))
            local got = {}
            c:on("message", function(m) got[#got + 1] = m end)
            local long = ("Ünïcødé long MO message. "):rep(8)
            sim:deliver{ account = ACCOUNT, source_addr = "447700900123", destination_addr = "12345", text = long }
            sim:deliver{ account = ACCOUNT, text = "short one" }
            c:run(1)
            assert.are.equal(2, #got)
            assert.are.equal(long, got[1].text)
            assert.is_true(got[1].parts > 1)
            assert.are.equal("447700900123", got[1].from)
            assert.are.equal("short one", got[2].text)
            assert.matches("smpp.message from", tostring(got[2]))
            c:close()
        end)
    end)

    it("answers a deliver_sm whose handler raised with ESME_RX_T_APPN, so it comes again", function()
        local lines = {}
        with_sim({ throttle = 0, log = function(l) lines[#lines + 1] = l end }, function(sim, port)
            local c = assert(connect(port))
            local calls = 0
            c:on("message", function() calls = calls + 1; error("database down") end)
            sim:deliver{ account = ACCOUNT, text = "hello" }
            c:run(0.5)
            assert.are.equal(1, calls)
            c:close()
        end)
        local answered
        for _, l in ipairs(lines) do
            if l:match("deliver_sm_resp") and l:match("0x64") or l:match("ESME_RX_T_APPN") then answered = true end
        end
        assert.is_true(answered, table.concat(lines, "\n"))
    end)

    it("closes from inside a handler after the deliver_sm is answered", function()
        local lines = {}
        with_sim({ throttle = 0, log = function(l) lines[#lines + 1] = l end }, function(sim, port)
            local c = assert(connect(port))
            c:on("message", function(m)
                assert.are.equal("bye", m.text)
                c:close()
            end)
            sim:deliver{ account = ACCOUNT, text = "bye" }
            c:run(5)
            assert.is_true(c.closed)
            assert.are.equal(0, c:stats().bound)
        end)
        local all = table.concat(lines, "\n")
        local resp = all:match("<%- (deliver_sm_resp[^\n]*)")
        assert.is_string(resp, all)
        assert.is_nil(resp:find("status"), resp) -- status 0 is not shown
    end)

    it("spreads traffic over sessions = 2 and never opens more", function()
        with_sim({ throttle = 0, max_binds = 2 }, function(sim, port)
            local c = assert(connect(port, { sessions = 2, window = 5 }))
            assert.are.equal(2, c:stats().bound)
            local list = {}
            for i = 1, 100 do list[i] = { to = tostring(i), text = "x" } end
            for _, r in ipairs(c:send_many(list)) do assert.is_string(r[1]) end
            local per = {}
            for link in pairs(sim.links) do per[#per + 1] = link.session:last_rx() end
            assert.are.equal(2, #per)
            assert.are.equal(0, sim.stats.refused_binds)
            -- a third client session would be refused: the account's two are taken
            local other, _, code = connect(port)
            assert.is_nil(other)
            assert.are.equal(0x0D, code)
            c:close()
        end)
    end)

    it("goes on over the other session when one link drops", function()
        with_sim({ throttle = 0, max_binds = 2 }, function(sim, port)
            local c = assert(connect(port, { sessions = 2, reconnect = false }))
            local closed = {}
            c:on("close", function(_, index) closed[#closed + 1] = index end)
            assert.are.equal(1, sim:drop(1)) -- one of the two links fails
            c:run(0.4)
            local list = {}
            for i = 1, 20 do list[i] = { to = tostring(i), text = "on" } end
            local ok = 0
            for _, r in ipairs(c:send_many(list)) do
                if type(r[1]) == "string" then ok = ok + 1 end
            end
            assert.are.equal(20, ok)
            assert.are.equal(1, #closed)
            assert.are.equal(1, c:stats().bound)
            c:close()
        end)
    end)

    it("answers a receipt whose handler raised with ESME_RX_T_APPN", function()
        local lines = {}
        with_sim({ throttle = 0, log = function(l) lines[#lines + 1] = l end }, function(_, port)
            local c = assert(connect(port))
            c:on("receipt", function() error("cannot store it") end)
            assert(c:send{ to = "1", text = "x", receipt = true })
            c:run(0.5)
            c:close()
        end)
        local all = table.concat(lines, "\n")
        assert.matches("<%- deliver_sm_resp[^\n]*ESME_RX_T_APPN", all)
    end)

    it("gives a handler that takes the receipt alone the same receipt as one that takes the PDU too", function()
        with_sim({ throttle = 0 }, function(_, port)
            local function receipts_of(handler_takes_pdu, with_pdu_handler)
                local c = assert(connect(port))
                local got, pdus = {}, 0
                if handler_takes_pdu then
                    c:on("receipt", function(r, p) got[#got + 1] = { r, p } end)
                else
                    c:on("receipt", function(r) got[#got + 1] = { r } end)
                end
                if with_pdu_handler then
                    c:on("pdu", function(p) if p.command == "deliver_sm" then pdus = pdus + 1 end end)
                end
                local results = c:send_many{
                    { to = "447700900123", text = "Hello", receipt = true, ref = "a" },
                    { to = "447700900124", text = "Grüße €", receipt = true, ref = "b" },
                    { to = "447700900125", text = ("long "):rep(40), receipt = true, ref = "c" },
                }
                local deadline = os.time() + 5
                while #got < 4 and os.time() < deadline do c:run(0.05) end
                assert.are.equal(4, c:stats().receipts)
                c:close()
                table.sort(got, function(x, y) return x[1].id < y[1].id end)
                return got, results, pdus
            end
            local plain, ids = receipts_of(false)
            local full, full_ids = receipts_of(true)
            local seen, _, pdus = receipts_of(false, true)
            assert.are.equal(4, #plain)
            assert.are.equal(4, pdus) -- a pdu handler still sees every deliver_sm
            for k = 1, 4 do
                local r, f = plain[k][1], full[k][1]
                assert.is_nil(plain[k][2])
                assert.are.equal("deliver_sm", full[k][2].command)
                -- the same receipt but for the message ids and dates
                assert.are.same(smpp.receipt.parse(full[k][2]), setmetatable(
                    (function()
                        local t = {}
                        for key, v in pairs(f) do t[key] = v end
                        t.message, t.outcome, t.done = nil, nil, nil -- what the tracker adds
                        return t
                    end)(),
                    getmetatable(f)))
                for _, key in ipairs{ "stat", "state", "err", "sub", "dlvr", "text" } do
                    assert.are.equal(f[key], r[key])
                end
                assert.are.equal("smpp.receipt", getmetatable(r).__name)
                assert.are.equal(f.message.ref, r.message.ref)
                assert.are.equal(seen[k][1].message.ref, r.message.ref)
                assert.are.equal(f.message.text, r.message.text)
                assert.is_table(r.done_date)
            end
            assert.are.same({ "a", "b", "c", "c" }, { plain[1][1].message.ref, plain[2][1].message.ref,
                plain[3][1].message.ref, plain[4][1].message.ref })
            assert.are.equal("Grüße €", plain[2][1].message.text)
            -- one outcome per message: the 2-part "c" is pending after its first receipt, done at its last
            assert.are.same({ "delivered", true, "delivered", true }, { plain[1][1].outcome, plain[1][1].done,
                plain[2][1].outcome, plain[2][1].done })
            assert.are.same({ "pending", false, "delivered", true }, { plain[3][1].outcome, plain[3][1].done,
                plain[4][1].outcome, plain[4][1].done })
            assert.are.equal("Grüße €", plain[2][1].text) -- the simulator quotes the text
            assert.is_true(smpp.receipt.same_id(ids[1][1], plain[1][1].id))
            assert.is_true(smpp.receipt.same_id(full_ids[3][2], full[4][1].id))
        end)
    end)

    it("takes every receipt once when a receipt handler sends and so reads the link again", function()
        with_sim({ throttle = 0 }, function(_, port)
            local c = assert(connect(port, { window = 10 }))
            local seen, again = {}, 0
            c:on("receipt", function(r)
                local ref = r.message and r.message.ref or "?"
                seen[ref] = (seen[ref] or 0) + 1
                if ref:sub(1, 1) == "a" then -- answers to each, from inside the handler
                    again = again + 1
                    local more = {}
                    for k, p in ipairs{ "b", "c", "d" } do
                        more[k] = { to = "2", text = "again", receipt = true, ref = p .. ref:sub(2) }
                    end
                    for _, res in ipairs(c:send_many(more)) do assert.is_string(res[1]) end
                end
            end)
            local list = {}
            for i = 1, 40 do list[i] = { to = "1", text = "first", receipt = true, ref = "a" .. i } end
            c:send_many(list)
            local deadline = os.time() + 10
            while c:stats().receipts < 160 and os.time() < deadline do c:run(0.05) end
            assert.are.equal(160, c:stats().receipts)
            assert.are.equal(40, again)
            for i = 1, 40 do
                assert.are.same({ 1, 1, 1, 1 }, { seen["a" .. i], seen["b" .. i], seen["c" .. i], seen["d" .. i] })
            end
            assert.is_nil(seen["?"])
            c:close()
        end)
    end)

    it("binds a transmitter and receiver pair", function()
        with_sim({ throttle = 0 }, function(_, port)
            local c = assert(connect(port, { bind = { "transmitter", "receiver" } }))
            assert.matches("transmitter%+receiver", tostring(c))
            assert.is_table(c:send{ to = "1", text = "pair", receipt = true })
            local r = c:wait("receipt", 5)
            assert.are.equal("DELIVRD", r.stat)
            c:close()
        end)
    end)

    it("keeps a quiet session alive past the simulator's idle timeout with enquire_link", function()
        with_sim({ throttle = 0, idle_timeout = 1 }, function(sim, port)
            local c = assert(connect(port, { enquire_link = 0.3 }))
            c:run(2.5)
            assert.are.equal(0, sim.stats.idle_drops)
            assert.is_table(c:send{ to = "1", text = "still here" })
            c:close()
            -- and without keepalive the same wait loses the link
            local quiet = assert(connect(port, { enquire_link = 0, reconnect = false }))
            quiet:run(2)
            assert.are.equal(1, sim.stats.idle_drops)
            assert.are.equal(0, quiet:stats().bound)
            quiet:close()
        end)
    end)
end)

describe("client reconnect", function()
    it("accounts for every message when the link drops mid-window, and rebinds", function()
        with_sim({ throttle = 0, faults = { drop_after = 30 } }, function(sim, port)
            local c = assert(connect(port, { window = 20, reconnect = { min = 0.05, max = 0.2 } }))
            c:on("close", function() sim.faults.drop_after = nil end)
            local list = {}
            for i = 1, 100 do list[i] = { to = tostring(i), text = "m" .. i } end
            local results = c:send_many(list)
            local ok, lost = 0, 0
            for _, r in ipairs(results) do
                if type(r[1]) == "string" then
                    ok = ok + 1
                else
                    assert.are.equal("closed", r[3])
                    lost = lost + 1
                end
            end
            assert.are.equal(100, ok + lost)
            assert.is_true(lost > 0, "the drop lost nothing in flight")
            assert.is_true(c:stats().reconnects >= 1)
            assert.is_table(c:send{ to = "1", text = "after the drop" })
            c:close()
        end)
    end)

    it("sends again, once, what was in flight when asked to (resend = true)", function()
        with_sim({ throttle = 0, faults = { drop_after = 30 } }, function(sim, port)
            local c = assert(connect(port, { window = 20, resend = true, reconnect = { min = 0.05, max = 0.2 } }))
            c:on("close", function() sim.faults.drop_after = nil end)
            local list = {}
            for i = 1, 100 do list[i] = { to = tostring(i), text = "m" .. i } end
            for i, r in ipairs(c:send_many(list)) do assert.is_string(r[1], "message " .. i) end
            assert.is_true(c:stats().reconnects >= 1)
            c:close()
        end)
    end)

    it("close waits for outstanding responses", function()
        with_sim({ throttle = 0, faults = { delay = 0.3 } }, function(_, port)
            local c = assert(connect(port, { window = 10 }))
            local results = {}
            for i = 1, 5 do
                smpp.spawn(function() results[i] = c:send{ to = tostring(i), text = "late" } end)
            end
            loop.sleep(0.05)
            c:close(3)
            loop.sleep(0.05)
            for i = 1, 5 do assert.is_table(results[i], "message " .. i) end
        end)
    end)
end)

describe("client logging", function()
    it("traces PDUs, decoded and in hex, and never shows the password", function()
        local lines = {}
        with_sim({ throttle = 0 }, function(_, port)
            local c = assert(connect(port, { trace = true, logger = function(level, msg)
                lines[#lines + 1] = level .. " " .. msg end }))
            c:send{ to = "1", text = "traced" }
            c:close()
        end)
        local all = table.concat(lines, "\n")
        assert.matches("bind_transceiver", all)
        assert.matches("submit_sm_resp", all)
        assert.is_nil(all:find(PASSWORD, 1, true))
        assert.is_nil(all:lower():find("73 65 63 72 65 74", 1, true)) -- "secret" in hex
    end)
end)

describe("client at top level", function()
    it("blocks in send and wait, against bin/smpp-sim", function()
        local sim = support.start_sim("--throttle 0 --account test:pw --mo-echo 'echo '")
        finally(function() support.stop_sim(sim) end)
        local c = assert(smpp.connect{ port = sim.port, system_id = "test", password = "pw" })
        local ids = assert(c:send{ to = "447700900123", text = "echo from the top", receipt = true })
        local r = assert(c:wait("receipt", 5))
        assert.is_true(smpp.receipt.same_id(ids[1], r.id))
        local m = assert(c:wait("message", 5))
        assert.are.equal("from the top", m.text)
        assert.are.same({ nil, "timeout" }, { c:wait("message", 0.2) })
        c:close()
        local status, counts = support.stop_sim(sim)
        assert.are.equal(0, status)
        assert.are.equal(1, counts.submits)
    end)
end)

describe("client in cqueues", function()
    local ok_cq, cqueues = pcall(require, "cqueues")
    it("sends and receives inside a cqueues controller", function()
        assert(ok_cq, "lua-cqueues is needed: " .. tostring(cqueues))
        local sim = support.start_sim("--throttle 0 --account test:pw --mo-echo 'echo '")
        finally(function() support.stop_sim(sim) end)
        local cq = cqueues.new()
        local got = {}
        cq:wrap(function()
            local c = assert(smpp.connect{ port = sim.port, system_id = "test", password = "pw" })
            got.ids = c:send{ to = "1", text = "echo cq" }
            got.message = c:wait("message", 5)
            c:close()
        end)
        assert(cq:loop())
        assert.are.equal(1, #got.ids)
        assert.are.equal("cq", got.message.text)
    end)
end)

describe("smpp.listen (outbind)", function()
    it("binds as a receiver on the connection of an outbind that carries what it expects", function()
        with_sim({ throttle = 0 }, function(sim)
            local port = support.free_port()
            local warned = {}
            loop.spawn(function()
                loop.sleep(0.1)
                assert(sim:outbind("127.0.0.1", port, "SMSC", "wrong")) -- refused; the wait goes on
                loop.sleep(0.1)
                assert(sim:outbind("127.0.0.1", port, "SMSC", "obpw"))
            end)
            local rx = assert(smpp.listen{ port = port, timeout = 5, system_id = ACCOUNT, password = PASSWORD,
                outbind = { password = "obpw" }, logger = function(_, msg) warned[#warned + 1] = msg end })
            assert.matches('outbind from "SMSC" refused', warned[1], 1, true)
            assert.are.same({ 1, 1 }, { rx:stats().bound, sim.stats.binds })
            sim:deliver{ account = ACCOUNT, source_addr = "4477", destination_addr = "123", text = "over outbind" }
            assert.are.equal("over outbind", assert(rx:wait("message", 3)).text)
            local ok, _, code = rx:send{ to = "1", text = "x" }
            assert.are.same({ nil, "state" }, { ok, code }) -- a receiver
            rx:close()
        end)
    end)

    it("gives up at its timeout, and checks its options at the call", function()
        local t0 = loop.now()
        local rx, err, code = smpp.listen{ port = support.free_port(), timeout = 0.2, system_id = "a" }
        assert.are.same({ nil, "timeout" }, { rx, code })
        assert.matches("no SMSC called in time", err, 1, true)
        assert.is_true(loop.now() - t0 >= 200)
        assert.has_error(function() smpp.listen{ system_id = "a" } end, "smpp.listen: port must be a number")
        assert.has_error(function() smpp.listen{ port = 1, system_id = "a", bind = "transmitter" } end,
            "smpp.listen: an outbind is answered by a receiver bind")
    end)
end)
