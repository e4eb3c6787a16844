-- Sessions over real TCP sockets on 127.0.0.1: an ESME and an SMSC driven
-- by smpp.loop coroutines, by cqueues, and from the top level.
local core = require "smpp.core"
local loop = require "smpp.loop"
local posix = require "smpp.transport.posix"

local support = require "support"
local smsc = support.tiny_smsc

-- The ESME side: bind, send n submits through a window, unbind.
local function esme(port, n, window, results)
    local sock = assert(posix.connect("127.0.0.1", port, { timeout = 5 }))
    local link = posix.link(sock, core.session{ role = "esme", window = window })
    local session = link.session
    local deadline = loop.now() + 10000
    local bind_id = assert(session:send({ command = "bind_transceiver", system_id = "esme", password = "pw" },
        loop.now()))
    local pending, sent = { [bind_id] = "bind" }, 0
    local function turn()
        for _, ev in ipairs(link:step(deadline)) do
            if ev.type == "response" and ev.command == "unbind" then
                results.unbind = ev.pdu.command_status
            elseif ev.type == "response" then
                results[#results + 1] = { kind = pending[ev.id], status = ev.pdu.command_status,
                    message_id = ev.pdu.message_id }
                pending[ev.id] = nil
            elseif ev.type == "closed" then
                results.closed = ev.message
            else
                error("esme: unexpected event " .. ev.type .. " " .. tostring(ev.message))
            end
        end
    end
    while session:state() ~= "bound_trx" do
        turn()
        assert(loop.now() < deadline, "bind took too long")
    end
    while sent < n do
        local id, _, code = session:send({ command = "submit_sm", source_addr = "12345",
            destination_addr = "447700900123", short_message = "hello " .. sent }, loop.now())
        if id then
            pending[id] = "submit"
            sent = sent + 1
        else
            assert.are.equal("window", code)
            turn()
        end
        assert(loop.now() < deadline, "submits took too long")
    end
    while session:outstanding() > 0 do turn() end
    session:send({ command = "unbind" }, loop.now())
    while session:state() ~= "closed" do turn() end
    link:close()
end

describe("sessions over TCP", function()
    it("bind, 500 submits through a window of 10, unbind: all in smpp.loop coroutines", function()
        local listener = assert(posix.listen("127.0.0.1", 0))
        local port = listener:port()
        local stats, results = { submits = 0 }, {}
        loop.spawn(smsc, listener, stats)
        loop.spawn(esme, port, 500, 10, results)
        loop.run()
        listener:close()
        assert.are.equal(500, stats.submits)
        assert.are.equal(501, #results)
        assert.are.equal("bind", results[1].kind)
        local ids = {}
        for i = 2, 501 do
            assert.are.equal(0, results[i].status)
            ids[results[i].message_id] = true
        end
        local distinct = 0
        for _ in pairs(ids) do distinct = distinct + 1 end
        assert.are.equal(500, distinct)
        assert.are.equal("unbound", results.closed)
        assert.are.equal("the peer unbound", stats.closed)
    end)

    it("two ESMEs at once against two SMSC connections, in one thread", function()
        local listener = assert(posix.listen("127.0.0.1", 0))
        local port = listener:port()
        local s1, s2, r1, r2 = { submits = 0 }, { submits = 0 }, {}, {}
        loop.spawn(smsc, listener, s1)
        loop.spawn(smsc, listener, s2)
        loop.spawn(esme, port, 100, 5, r1)
        loop.spawn(esme, port, 100, 50, r2)
        loop.run()
        listener:close()
        assert.are.equal(200, s1.submits + s2.submits)
        assert.are.same({ 101, 101 }, { #r1, #r2 })
    end)

    it("runs the same code under cqueues: two sessions driven concurrently in one thread", function()
        local cqueues = require "cqueues"
        local cq = cqueues.new()
        local listener = assert(posix.listen("127.0.0.1", 0))
        local port = listener:port()
        local s1, s2, r1, r2 = { submits = 0 }, { submits = 0 }, {}, {}
        cq:wrap(smsc, listener, s1)
        cq:wrap(smsc, listener, s2)
        cq:wrap(esme, port, 50, 10, r1)
        cq:wrap(esme, port, 50, 10, r2)
        assert(cq:loop())
        listener:close()
        assert.are.equal(100, s1.submits + s2.submits)
        assert.are.same({ 51, 51 }, { #r1, #r2 })
    end)

    it("blocks at top level, as in the REPL, when no scheduler runs", function()
        -- The SMSC runs in another process; this process calls without coroutines.
        local listener = assert(posix.listen("127.0.0.1", 0))
        local port = listener:port()
        listener:close()
        local lua = support.lua_interpreter()
        local server = io.popen(("%s -e 'local l = assert(require(\"smpp.transport.posix\").listen(\"127.0.0.1\", %d)) "
            .. "local loop = require \"smpp.loop\" loop.spawn(require(\"support\").tiny_smsc, l, { submits = 0 }) "
            .. "loop.run()'"):format(lua, port))
        local results = {}
        local ok, err
        for _ = 1, 50 do -- until the server listens
            ok, err = pcall(esme, port, 20, 5, results)
            if ok then break end
            results = {}
            loop.sleep(0.1)
        end
        server:close()
        assert(ok, err)
        assert.are.equal(21, #results)
        assert.are.equal("unbound", results.closed)
    end)

    it("lets any scheduler wait on a link: pollfd, events and timeout", function()
        local listener = assert(posix.listen("127.0.0.1", 0))
        local sock
        loop.spawn(function() sock = assert(posix.accept(listener, loop.now() + 2000)) end)
        local client
        loop.spawn(function() client = assert(posix.connect("127.0.0.1", listener:port())) end)
        loop.run()
        local link = posix.link(client, core.session{ role = "esme", enquire_link = 20 })
        assert.are.equal(client:pollfd(), link:pollfd())
        assert.are.equal("r", link:events())
        assert.is_true(link:timeout() > 19 and link:timeout() <= 20)
        link.session:send({ command = "bind_transmitter", system_id = "x" }, loop.now())
        assert.are.equal("rw", link:events())
        assert(link:flush(loop.now() + 1000))
        assert.are.equal("r", link:events())
        assert.is_true(link:flush(loop.now() + 1000)) -- nothing to write: at once
        -- core.poll: the ready events per entry, in a table given or a new one, and their count
        local fds, evs, ready = { sock:pollfd(), client:pollfd() }, { 1, 2 }, { 9, 9, 9 }
        local got, n = core.poll(fds, evs, 1000, ready)
        assert.are.equal(ready, got)
        assert.are.same({ 1, 2, 9 }, got) -- the bind waits to be read; the client can write
        assert.are.equal(2, n)
        got, n = core.poll({ client:pollfd() }, { 1 }, 0)
        assert.are.same({ 0 }, got)
        assert.are.equal(0, n)
        link:close()
        sock:close()
        listener:close()
    end)

    it("reports a refused connection with the address", function()
        local listener = assert(posix.listen("127.0.0.1", 0))
        local port = listener:port()
        listener:close()
        local sock, err, code = posix.connect("127.0.0.1", port)
        assert.is_nil(sock)
        assert.are.equal("net", code)
        assert.matches(("connect to 127.0.0.1:%d: Connection refused"):format(port), err, 1, true)
    end)
end)

describe("smpp.loop.pcall", function()
    it("lets a coroutine of loop.run wait inside it, as itself, on every Lua", function()
        local seen = {}
        for i = 1, 2 do
            loop.spawn(function()
                local me = loop.running()
                local ok, a, b, c = loop.pcall(function(x)
                    loop.sleep(0.02) -- yields to loop.run, the other coroutine runs meanwhile
                    local inner_ok, same = loop.pcall(function()
                        loop.sleep(0.01)
                        return loop.running() == me
                    end)
                    seen[#seen + 1] = i
                    return x, inner_ok and same, nil
                end, "x" .. i)
                seen["r" .. i] = { ok, a, b, c, loop.running() == me }
            end)
        end
        loop.run()
        assert.are.same({ true, "x1", true, nil, true }, seen.r1)
        assert.are.same({ true, "x2", true, nil, true }, seen.r2)
        assert.are.equal(2, #seen)
    end)

    it("returns what pcall returns for errors, error objects and C functions, and blocks at top level", function()
        local obj = { code = 7 }
        assert.are.same({ false, obj }, { loop.pcall(error, obj) })
        local ok, err = loop.pcall(function() error("boom") end)
        assert.is_false(ok)
        assert.matches("link_spec.lua:%d+: boom", err)
        assert.are.same({ true, 3 }, { loop.pcall(math.max, 1, 3, 2) })
        local t0 = loop.now()
        assert.is_true((loop.pcall(loop.sleep, 0.02)))
        assert.is_true(loop.now() - t0 >= 15)
    end)
end)
