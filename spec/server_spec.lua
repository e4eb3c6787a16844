-- smpp.server, the simulator, driven over real sockets by raw PDUs made
-- with our codec, so that every rule is seen exactly as a peer sees it.
local smpp = require "smpp"
local loop = require "smpp.loop"
local posix = require "smpp.transport.posix"
local support = require "support"
local u32 = support.u32

-- A raw client: send tables, receive decoded PDUs.
local function raw(port)
    local sock = assert(posix.connect("127.0.0.1", port))
    local framer = smpp.pdu.framer()
    local seq = 0
    local c = {}
    function c.send_raw(bytes)
        local at = 1
        while at <= #bytes do
            local n = assert(sock:write(bytes, at))
            at = at + n
            if n == 0 then loop.wait(sock, "w", loop.now() + 1000) end
        end
    end
    function c.send(t)
        if not t.sequence_number then
            seq = seq + 1
            t.sequence_number = seq
        end
        local bytes, at = smpp.pdu.encode(t), 1
        while at <= #bytes do
            local n = assert(sock:write(bytes, at))
            at = at + n
            if n == 0 then loop.wait(sock, "w", loop.now() + 1000) end
        end
        return t.sequence_number
    end
    function c.recv(seconds)
        local deadline = loop.now() + math.floor((seconds or 2) * 1000)
        while true do
            local p, err = framer:next()
            if p then return p end
            assert(not err, err)
            if loop.wait(sock, "r", deadline) == "timeout" then return nil, "timeout" end
            local data = sock:read()
            if data then
                framer:feed(data)
            elseif data == nil then
                return nil, "closed"
            end
        end
    end
    -- the next PDU that is not an enquire_link
    function c.expect(command, seconds)
        while true do
            local p, err = c.recv(seconds)
            if not p then return nil, err end
            if p.command == "enquire_link" then
                c.send{ command = "enquire_link_resp", sequence_number = p.sequence_number }
            elseif not command or p.command == command then
                return p
            end
        end
    end
    function c.bind(kind, id, password)
        c.send{ command = kind or "bind_transceiver", system_id = id or "acct", password = password or "secret" }
        return c.expect()
    end
    -- every octet that comes within seconds, past the framer; and whether the link closed
    function c.octets(seconds)
        local deadline, got = loop.now() + math.floor(seconds * 1000), {}
        while loop.wait(sock, "r", deadline) ~= "timeout" do
            local data = sock:read()
            if data == nil then return table.concat(got), true end
            if data then got[#got + 1] = data end
        end
        return table.concat(got), false
    end
    function c.close() sock:close() end
    return c
end

-- Runs fn(port, sim) in a coroutine against a fresh simulator.
local function with_sim(opts, fn)
    opts.port = 0
    opts.accounts = opts.accounts or { acct = "secret" }
    local sim = smpp.server(opts)
    local port = assert(sim:start())
    local failure
    loop.spawn(function()
        local ok, err = pcall(fn, port, sim)
        if not ok then failure = err end
        sim:stop()
    end)
    loop.run()
    if failure then error(failure, 0) end
    return sim
end

describe("smpp.server binds", function()
    it("answers a wrong password with 0x0E and an unknown system_id with 0x0F", function()
        with_sim({}, function(port)
            local c = raw(port)
            assert.are.equal(0x0E, c.bind("bind_transmitter", "acct", "wrong").command_status)
            assert.are.equal(0x0F, c.bind("bind_transmitter", "nobody", "secret").command_status)
            local ok = c.bind("bind_transmitter", "acct", "secret")
            assert.are.same({ "bind_transmitter_resp", 0 }, { ok.command, ok.command_status })
            assert.are.equal(0x34, ok.sc_interface_version)
        end)
    end)
    it("refuses a bind beyond max_binds for the account, and a second bind on a session", function()
        with_sim({ max_binds = 2 }, function(port)
            local a, b, c = raw(port), raw(port), raw(port)
            assert.are.equal(0, a.bind().command_status)
            assert.are.equal(0, b.bind().command_status)
            assert.are.equal(0x0D, c.bind().command_status)
            assert.are.equal(0x05, a.bind().command_status)
            a.close()
            loop.sleep(0.3)
            assert.are.equal(0, c.bind().command_status) -- the slot is free again
        end)
    end)
end)

describe("smpp.server requests", function()
    it("answers a submit before the bind with 0x04 and a receiver's submit with 0x04", function()
        with_sim({}, function(port)
            local c = raw(port)
            c.send{ command = "submit_sm", destination_addr = "1" }
            assert.are.equal(0x04, c.expect("submit_sm_resp").command_status)
            assert.are.equal(0, c.bind("bind_receiver").command_status)
            c.send{ command = "submit_sm", destination_addr = "1" }
            assert.are.equal(0x04, c.expect("submit_sm_resp").command_status)
        end)
    end)
    it("gives unique message ids, and knows them in query_sm (0x67 for others)", function()
        with_sim({ throttle = 0 }, function(port)
            local c = raw(port)
            c.bind()
            local ids = {}
            for i = 1, 20 do
                c.send{ command = "submit_sm", destination_addr = "447700900123", short_message = "m" .. i }
                local r = c.expect("submit_sm_resp")
                assert.are.equal(0, r.command_status)
                assert.is_nil(ids[r.message_id])
                ids[r.message_id] = true
                ids.last = r.message_id
            end
            c.send{ command = "query_sm", message_id = ids.last }
            local q = c.expect("query_sm_resp")
            assert.are.same({ 0, ids.last, 2 }, { q.command_status, q.message_id, q.message_state })
            c.send{ command = "query_sm", message_id = "nope" }
            assert.are.equal(0x67, c.expect("query_sm_resp").command_status)
        end)
    end)
    it("remembers at most max_messages messages, forgetting the oldest", function()
        with_sim({ throttle = 0, max_messages = 3 }, function(port)
            local c = raw(port)
            c.bind()
            local ids = {}
            for i = 1, 5 do
                c.send{ command = "submit_sm", destination_addr = "447700900123", short_message = "m" .. i }
                ids[i] = c.expect("submit_sm_resp").message_id
            end
            for i, want in ipairs({ 0x67, 0x67, 0, 0, 0 }) do
                c.send{ command = "query_sm", message_id = ids[i] }
                assert.are.equal(want, c.expect("query_sm_resp").command_status, "message " .. i)
            end
        end)
    end)
    it("answers bad fields with the codec's status, unknown commands with generic_nack 0x03", function()
        with_sim({}, function(port)
            local c = raw(port)
            c.bind()
            -- a schedule_delivery_time the codec refuses to write, put in by hand
            local good = smpp.pdu.encode{ command = "submit_sm", sequence_number = 7, destination_addr = "1",
                schedule_delivery_time = "240101120000000+" }
            c.send_raw((good:gsub("240101120000000%+", "2401011200000001")))
            local r = c.expect()
            assert.are.same({ "submit_sm_resp", 7, 0x61 }, { r.command, r.sequence_number, r.command_status })
            c.send_raw(u32(16, 0x99, 0, 8))
            r = c.expect()
            assert.are.same({ "generic_nack", 8, 0x03 }, { r.command, r.sequence_number, r.command_status })
            c.send_raw(u32(12, 0x15, 0, 9))
            r = c.expect()
            assert.are.same({ "generic_nack", 0x02 }, { r.command, r.command_status })
            assert.are.equal("closed", select(2, c.recv(1)))
        end)
    end)
    it("throttles an account: beyond the rate, 0x58", function()
        local sim = with_sim({ throttle = 5 }, function(port)
            local c = raw(port)
            c.bind()
            local statuses = {}
            for _ = 1, 12 do
                c.send{ command = "submit_sm", destination_addr = "1" }
                local r = c.expect("submit_sm_resp")
                statuses[r.command_status] = (statuses[r.command_status] or 0) + 1
            end
            -- at most 5 in any second: the burst's first 5, then refusals
            assert.are.same({ 5, 7 }, { statuses[0], statuses[0x58] })
            loop.sleep(1.05) -- a second later the window has room again
            c.send{ command = "submit_sm", destination_addr = "1" }
            assert.are.equal(0, c.expect("submit_sm_resp").command_status)
        end)
        assert.are.equal(7, sim.stats.throttled)
    end)
end)

describe("smpp.server receipts and MOs", function()
    it("sends a delivery receipt for a submit that asks for one", function()
        with_sim({ throttle = 0 }, function(port)
            local c = raw(port)
            c.bind()
            c.send{ command = "submit_sm", source_addr = "12345", destination_addr = "447700900123",
                short_message = "Hello from the spec, a long text", registered_delivery = 1 }
            local id = c.expect("submit_sm_resp").message_id
            local d = assert(c.expect("deliver_sm"))
            c.send{ command = "deliver_sm_resp", sequence_number = d.sequence_number }
            assert.are.equal(0x04, d.esm_class)
            assert.are.same({ "447700900123", "12345" }, { d.source_addr, d.destination_addr })
            local r = assert(smpp.receipt.parse(d))
            assert.are.same({ id, "DELIVRD", 2 }, { r.id, r.stat, r.state })
            assert.are.equal("Hello from the spec,", r.text)
        end)
    end)
    it("sends the receipt to a receiver bound on the account, queued until one binds", function()
        with_sim({ throttle = 0 }, function(port)
            local tx = raw(port)
            tx.bind("bind_transmitter")
            tx.send{ command = "submit_sm", destination_addr = "447700900123", short_message = "x",
                registered_delivery = 1 }
            local id = tx.expect("submit_sm_resp").message_id
            loop.sleep(0.2)
            local rx = raw(port)
            rx.bind("bind_receiver")
            local d = assert(rx.expect("deliver_sm"))
            assert.are.equal(id, d.receipted_message_id)
        end)
    end)
    it("echoes an MO for a text with the mo_echo prefix, and delivers injected MOs", function()
        with_sim({ throttle = 0, mo_echo = "ECHO " }, function(port, sim)
            local c = raw(port)
            c.bind()
            c.send{ command = "submit_sm", source_addr = "12345", destination_addr = "447700900123",
                short_message = "ECHO hi there" }
            c.expect("submit_sm_resp")
            local mo = assert(c.expect("deliver_sm"))
            assert.are.same({ 0, "hi there", "447700900123", "12345" },
                { mo.esm_class, smpp.text.decode(mo.short_message, mo.data_coding), mo.source_addr,
                    mo.destination_addr })
            sim:deliver{ account = "acct", source_addr = "447700900999", text = "Привет" }
            local mo2 = assert(c.expect("deliver_sm"))
            assert.are.equal("Привет", smpp.text.decode(mo2.short_message, mo2.data_coding))
        end)
    end)
    for _, concat in ipairs({ "udh8", "sar" }) do
        it("echoes the whole text of a long message sent in parts (" .. concat .. ")", function()
            with_sim({ throttle = 0, mo_echo = "ECHO " }, function(port)
                local c = raw(port)
                c.bind()
                local said = "ECHO " .. ("every part of this text comes back; "):rep(8)
                local parts = assert(smpp.text.split(said, { concat = concat }))
                assert.is_true(#parts > 1)
                for _, part in ipairs(parts) do
                    part.command, part.source_addr, part.destination_addr = "submit_sm", "12345", "447700900123"
                    c.send(part)
                    assert.are.equal(0, c.expect("submit_sm_resp").command_status)
                end
                local joiner, whole = smpp.text.joiner(), nil
                repeat
                    local mo = assert(c.expect("deliver_sm"))
                    c.send{ command = "deliver_sm_resp", sequence_number = mo.sequence_number }
                    whole = joiner:add(mo)
                until whole
                assert.are.equal(said:sub(6), smpp.text.decode(whole.payload, whole.data_coding))
                assert.are.same({ "447700900123", "12345" }, { whole.source_addr, whole.destination_addr })
                assert.is_nil((c.expect("deliver_sm", 0.3))) -- once
            end)
        end)
    end
end)

describe("smpp.server registered_delivery (3.4 section 5.2.17)", function()
    -- The registered_delivery values whose submits got a receipt, sorted.
    local function receipted(opts)
        local rd_of_seq, id_rd, receipts = {}, {}, {}
        with_sim(opts, function(port)
            local c = raw(port)
            c.bind()
            for rd = 0, 3 do
                rd_of_seq[c.send{ command = "submit_sm", destination_addr = "447700900123",
                    short_message = "rd " .. rd, registered_delivery = rd }] = rd
            end
            while true do
                local p = c.expect(nil, 0.3)
                if not p then break end
                if p.command == "submit_sm_resp" then
                    id_rd[p.message_id] = rd_of_seq[p.sequence_number]
                elseif p.command == "deliver_sm" then
                    c.send{ command = "deliver_sm_resp", sequence_number = p.sequence_number }
                    receipts[#receipts + 1] = p.receipted_message_id
                end
            end
        end)
        local got = {}
        for i, id in ipairs(receipts) do got[i] = id_rd[id] end
        table.sort(got)
        return got
    end
    for _, way in ipairs({ "compact", "table" }) do
        local function opts(stat)
            -- a log makes the simulator see every PDU as a table
            return { throttle = 0, receipt_stat = stat, log = way == "table" and function() end or nil }
        end
        it("receipts a delivered message for 1 and 3, never for 0 or 2 (" .. way .. " submits)", function()
            assert.are.same({ 1, 3 }, receipted(opts("DELIVRD")))
        end)
        it("receipts a failed message for 1 and 2, never for 0 or 3 (" .. way .. " submits)", function()
            assert.are.same({ 1, 2 }, receipted(opts("UNDELIV")))
        end)
    end
end)

describe("smpp.server idle timeout", function()
    it("drops a session with no PDU for idle_timeout, but not one that pings", function()
        with_sim({ idle_timeout = 0.5 }, function(port)
            local quiet, pinging = raw(port), raw(port)
            quiet.bind()
            pinging.bind()
            for _ = 1, 5 do
                loop.sleep(0.2)
                pinging.send{ command = "enquire_link" }
                assert.are.equal("enquire_link_resp", pinging.expect().command)
            end
            local p, err = quiet.recv(0.1)
            assert.is_nil(p)
            assert.are.equal("closed", err)
        end)
    end)
end)

describe("smpp.server faults", function()
    it("answers every submit with the status asked for", function()
        with_sim({ faults = { submit_status = 0x45 } }, function(port)
            local c = raw(port)
            c.bind()
            c.send{ command = "submit_sm", destination_addr = "1" }
            assert.are.equal(0x45, c.expect("submit_sm_resp").command_status)
        end)
    end)
    it("withholds responses, so the client sees its timeout", function()
        with_sim({ faults = { withhold = true } }, function(port)
            local c = raw(port)
            c.bind()
            c.send{ command = "submit_sm", destination_addr = "1" }
            local p, err = c.expect("submit_sm_resp", 0.5)
            assert.is_nil(p)
            assert.are.equal("timeout", err)
        end)
    end)
    it("drops the link after N PDUs", function()
        with_sim({ faults = { drop_after = 3 }, throttle = 0 }, function(port)
            local c = raw(port)
            c.bind()
            c.send{ command = "submit_sm", destination_addr = "1" }
            c.expect("submit_sm_resp")
            c.send{ command = "submit_sm", destination_addr = "1" }
            c.send{ command = "submit_sm", destination_addr = "1" }
            local seen, err = 0
            repeat
                local p
                p, err = c.recv(1)
                if p then seen = seen + 1 end
            until not p
            assert.are.equal("closed", err)
            assert.is_true(seen <= 2)
        end)
    end)
end)

describe("smpp.server over TLS", function()
    it("binds and submits on the TLS port with the certificate verified", function()
        local dir = support.certificates()
        local sim = smpp.server{ port = 0, tls_port = 0, accounts = { acct = "secret" },
            tls = { cert = dir .. "/server.pem", key = dir .. "/server.key" } }
        local _, tls_port = assert(sim:start())
        local got
        loop.spawn(function()
            local stream = assert(posix.connect("localhost", tls_port, { tls = { ca = dir .. "/ca.pem" } }))
            local link = posix.link(stream, require("smpp.core").session{ role = "esme" })
            link.session:send({ command = "bind_transceiver", system_id = "acct", password = "secret" }, loop.now())
            for _ = 1, 20 do
                for _, ev in ipairs(link:step(loop.now() + 1000)) do
                    if ev.type == "response" then got = ev.pdu end
                end
                if got then break end
            end
            link:close()
            sim:stop()
        end)
        loop.run()
        assert.are.same({ "bind_transceiver_resp", 0 }, { got.command, got.command_status })
    end)
end)

describe("smpp.server client certificates", function()
    local dir = support.certificates()
    -- client.pem from the CA the simulator trusts, stranger.pem from another
    assert(os.execute(("cd %s && for who in client:ca stranger:other-ca; do n=${who%%%%:*}; ca=${who#*:}; "
        .. "openssl req -newkey rsa:2048 -nodes -keyout $n.key -out $n.csr -subj /CN=$n 2>/dev/null && "
        .. "openssl x509 -req -in $n.csr -CA $ca.pem -CAkey $ca.key -CAcreateserial -out $n.pem -days 2 "
        .. "2>/dev/null || exit 1; done"):format(dir)))
    local server_tls = { cert = dir .. "/server.pem", key = dir .. "/server.key", ca = dir .. "/ca.pem" }

    -- For each client certificate (or none): "bound", or the client's error.
    local function binds(tls, whos)
        local sim = smpp.server{ port = 0, tls_port = 0, accounts = { acct = "secret" }, tls = tls }
        local _, tls_port = assert(sim:start())
        local got = {}
        loop.spawn(function()
            for _, who in ipairs(whos) do
                local client_tls = { ca = dir .. "/ca.pem" }
                if who ~= "none" then
                    client_tls.cert, client_tls.key = dir .. "/" .. who .. ".pem", dir .. "/" .. who .. ".key"
                end
                local client, err = smpp.connect{ host = "localhost", port = tls_port, tls = client_tls,
                    system_id = "acct", password = "secret", reconnect = false, timeout = 5 }
                got[who] = client and "bound" or err
                if client then client:close() end
            end
            sim:stop()
        end)
        loop.run()
        return got, sim
    end

    it("with tls.ca, refuses a client without a certificate or with one of another CA", function()
        local got, sim = binds(server_tls, { "none", "stranger", "client" })
        assert.are.equal("bound", got.client)
        assert.are_not.equal("bound", got.none)
        assert.are_not.equal("bound", got.stranger)
        assert.are.equal(1, sim.stats.binds)
    end)
    it("with verify = false, takes a client without a certificate", function()
        local tls = { verify = false }
        for k, v in pairs(server_tls) do tls[k] = tls[k] == nil and v or tls[k] end
        assert.are.equal("bound", binds(tls, { "none" }).none)
    end)
    it("refuses verify = true without a CA to check against, and tls_port without tls", function()
        local sim = smpp.server{ port = 0, tls_port = 0, accounts = { acct = "secret" },
            tls = { cert = server_tls.cert, key = server_tls.key, verify = true } }
        local port, err = sim:start()
        if port then sim:stop() loop.run() end
        assert.is_nil(port)
        assert.matches("client certificates", err)
        assert.has_error(function() smpp.server{ port = 0, tls_port = 0 } end,
            "smpp.server: tls_port needs tls = { cert = ..., key = ... }")
    end)
end)

describe("bin/smpp-sim", function()
    it("prints --help, listens, and on SIGTERM prints its counts and exits 0", function()
        local env = ("LUA_PATH=%q LUA_CPATH=%q "):format(package.path, package.cpath)
        local lua = support.lua_interpreter()
        local help = io.popen(env .. lua .. " bin/smpp-sim --help")
        assert.matches("%-%-throttle=N", help:read("*a"))
        help:close()
        local out = os.tmpname()
        local pid = io.popen(("%s sh -c 'echo $$; exec %s bin/smpp-sim --port 0 --account 123-456:pw > %s'")
            :format(env, lua, out)):read("*l")
        local port
        for _ = 1, 50 do
            local f = io.open(out)
            local line = f and f:read("*l")
            if f then f:close() end
            port = line and tonumber(line:match(":(%d+)"))
            if port then break end
            loop.sleep(0.1)
        end
        assert.is_number(port)
        loop.spawn(function()
            local c = raw(port)
            assert.are.equal(0, c.bind("bind_transmitter", "123456", "pw").command_status) -- dashes stripped
            c.close()
        end)
        loop.run()
        local killed = os.execute("kill -TERM " .. pid)
        assert.is_true(killed == true or killed == 0)
        local text
        for _ = 1, 50 do
            local f = io.open(out)
            text = f:read("*a")
            f:close()
            if text:find("binds=") then break end
            loop.sleep(0.1)
        end
        os.remove(out)
        assert.matches("connections=1 binds=1", text)
    end)
end)

describe("smpp.server receipt text", function()
    it("quotes the first 20 characters, not octets, in the account's alphabet", function()
        with_sim({ throttle = 0 }, function(port)
            local c = raw(port)
            c.bind()
            local octets, dcs = smpp.text.encode("aПривет, как дела? Всё хорошо", "ucs2")
            c.send{ command = "submit_sm", destination_addr = "1", short_message = octets, data_coding = dcs,
                registered_delivery = 1 }
            c.expect("submit_sm_resp")
            local d = assert(c.expect("deliver_sm"))
            assert.are.equal(0, d.data_coding)
            local r = assert(smpp.receipt.parse(d))
            assert.are.equal(20, #r.text:gsub("[\128-\191]", ""))
            assert.are.equal("a??????, ??? ????? ?", r.text)
        end)
    end)
end)

describe("smpp.server receipts the table way and the compact way", function()
    it("makes the same receipt for a submit however it came, and drops one no deliver_sm can carry", function()
        local function receipt_for(opts, submit)
            local d, dropped
            local sim = with_sim(opts, function(port)
                local c = raw(port)
                c.bind()
                c.send(submit)
                local resp = c.expect(submit.command .. "_resp")
                assert.are.equal(0, resp.command_status)
                d = c.expect("deliver_sm", 0.5)
                -- the link goes on
                c.send{ command = "enquire_link" }
                assert(c.expect("enquire_link_resp"))
            end)
            dropped = sim.stats.dropped
            return d, dropped
        end
        local submit = { command = "submit_sm", source_addr = "ACME", source_addr_ton = 5,
            destination_addr = "447700900123", dest_addr_ton = 1, dest_addr_npi = 1, registered_delivery = 1,
            short_message = "Compact or not, the same receipt" }
        -- compact (no faults, no log) and by table (a log makes the simulator see every PDU)
        local compact = assert(receipt_for({ throttle = 0 }, submit))
        local lines = {}
        submit.sequence_number = nil
        local logged = assert(receipt_for({ throttle = 0, log = function(l) lines[#lines + 1] = l end }, submit))
        compact.sequence_number, logged.sequence_number = nil, nil
        -- (the dates: the two runs may straddle a minute)
        compact.short_message = compact.short_message:gsub("date:%d+", "date:")
        logged.short_message = logged.short_message:gsub("date:%d+", "date:")
        assert.are.same(compact, logged)
        assert.matches("text:Compact or not, the ", compact.short_message)
        -- a data_sm from an address too long for a deliver_sm's destination_addr
        local d, dropped = receipt_for({ throttle = 0 }, { command = "data_sm", source_addr = ("1"):rep(30),
            destination_addr = "2", registered_delivery = 1, message_payload = "x" })
        assert.is_nil(d)
        assert.are.equal(1, dropped)
    end)
end)

describe("smpp.server more faults and outbind", function()
    it("answers late with faults.delay", function()
        with_sim({ faults = { delay = 0.4 }, throttle = 0 }, function(port)
            local c = raw(port)
            c.bind()
            c.send{ command = "submit_sm", destination_addr = "1" }
            assert.is_nil((c.expect("submit_sm_resp", 0.2)))
            local r = assert(c.expect("submit_sm_resp", 1))
            assert.are.equal(0, r.command_status)
        end)
    end)
    it("answers with a generic_nack", function()
        with_sim({ faults = { generic_nack = 0x08 } }, function(port)
            local c = raw(port)
            c.bind()
            local seq = c.send{ command = "submit_sm", destination_addr = "1" }
            local r = c.expect()
            assert.are.same({ "generic_nack", seq, 0x08 }, { r.command, r.sequence_number, r.command_status })
        end)
    end)
    it("sends a malformed PDU, which our framer reports as fatal", function()
        with_sim({ faults = { malformed = true } }, function(port)
            local c = raw(port)
            c.bind()
            c.send{ command = "submit_sm", destination_addr = "1" }
            local ok, err = pcall(c.recv, 1)
            assert.is_false(ok)
            assert.matches("command_length 12 is under 16", err)
        end)
    end)
    it("stalls in the middle of a PDU and then answers nothing, keeping the link open", function()
        local deliver_sm_head = u32(0, 5):sub(5) -- command_id 0x00000005 at octets 5-8
        with_sim({ faults = { stall = true }, throttle = 0 }, function(port)
            local c = raw(port)
            c.bind()
            c.send{ command = "submit_sm", destination_addr = "1", registered_delivery = 1 }
            local octets, closed = c.octets(0.5)
            assert.are.same({ 20, deliver_sm_head, false }, { #octets, octets:sub(5, 8), closed })
            c.send{ command = "enquire_link" }
            c.send{ command = "submit_sm", destination_addr = "1" }
            assert.are.same({ "", false }, { c.octets(0.5) })
        end)
        with_sim({ faults = { stall = true }, throttle = 0 }, function(port)
            local c = raw(port)
            c.bind()
            -- in one write: a submit, a ping and another submit; the ping may be
            -- answered before the submit is seen, nothing after the half PDU
            c.send_raw(smpp.pdu.encode{ command = "submit_sm", sequence_number = 2, destination_addr = "1" }
                .. smpp.pdu.encode{ command = "enquire_link", sequence_number = 3 }
                .. smpp.pdu.encode{ command = "submit_sm", sequence_number = 4, destination_addr = "1" })
            local octets = c.octets(0.5)
            assert.are.equal(deliver_sm_head, octets:sub(-16, -13))
            assert.is_true(#octets <= 36)
        end)
    end)
    it("outbinds to a listening ESME, which then binds on that connection", function()
        local sim = smpp.server{ port = 0, accounts = { acct = "secret" } }
        local esme_listener = assert(posix.listen("127.0.0.1", 0))
        local got = {}
        loop.spawn(function()
            local sock = assert(posix.accept(esme_listener, loop.now() + 2000))
            local link = posix.link(sock, require("smpp.core").session{ role = "esme" })
            for _ = 1, 20 do
                for _, ev in ipairs(link:step(loop.now() + 500)) do
                    if ev.type == "request" and ev.pdu.command == "outbind" then
                        got.outbind = ev.pdu.system_id
                        link.session:send({ command = "bind_receiver", system_id = "acct", password = "secret" },
                            loop.now())
                    elseif ev.type == "response" then
                        got.bind = ev.pdu.command_status
                    end
                end
                if got.bind then break end
            end
            link:close()
            sim:stop()
        end)
        assert(sim:outbind("127.0.0.1", esme_listener:port(), "acct", "secret"))
        loop.run()
        esme_listener:close()
        assert.are.same({ outbind = "acct", bind = 0 }, got)
    end)
end)

describe("smpp.server log", function()
    it("logs every PDU it reads and every answer it writes, one line each, passwords masked", function()
        local lines = {}
        with_sim({ log = function(line) lines[#lines + 1] = line end }, function(port)
            local c = raw(port)
            c.bind()
        end)
        assert.matches("^<%- bind_transceiver seq=1 ", lines[1])
        assert.matches("^%-> bind_transceiver_resp seq=1", lines[2])
        assert.matches('password="%*%*%*"', lines[1])
        assert.is_nil(table.concat(lines, "|"):find("secret", 1, true))
    end)
end)
