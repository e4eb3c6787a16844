-- Interop of our client (smpp.connect) with the SMSC of node-smpp (npm
-- "smpp" 0.5.1), spec/interop/smsc.js, over TCP on 127.0.0.1: binds of the
-- three kinds, a wrong password and an unknown account, submits with and
-- without receipts, receipts matched to what was sent (node-smpp's ids are
-- hex), MOs, a pipelined bulk send, and the counts node-smpp kept.
local smpp = require "smpp"
local support = require "interop_support"

local format = string.format
local q = support.q

-- Starts smsc.js for ID:PASSWORD; { port, pid, handle } once it listens.
local function start_node(account)
    support.need_node()
    local cmd = format("node %s %s </dev/null 2>&1 & echo \"pid $!\"; wait $!",
        q(support.INTEROP .. "/smsc.js"), q(account))
    local p = assert(io.popen(cmd, "r"))
    local node = { handle = p, lines = {} }
    node.pid = tonumber((p:read("*l") or ""):match("^pid (%d+)$"))
    local line = p:read("*l") or ""
    node.port = tonumber(line:match("listening on 127%.0%.0%.1:(%d+)"))
    assert(node.pid and node.port, "spec/interop/smsc.js did not start: " .. line)
    return node
end

-- SIGTERM; the counts of its last line.
local function stop_node(node)
    if node.counts then return node.counts end
    os.execute("kill -TERM " .. node.pid .. " 2>/dev/null")
    node.counts = {}
    for line in node.handle:lines() do
        node.lines[#node.lines + 1] = line
        for k, v in line:gmatch("(%a+)=(%d+)") do node.counts[k] = tonumber(v) end
    end
    node.handle:close()
    return node.counts
end

describe("interop: our client with node-smpp's SMSC", function()
    local node
    before_each(function() node = start_node("acct:secret") end)
    after_each(function() stop_node(node) end)

    local function connect(extra)
        local opts = { port = node.port, system_id = "acct", password = "secret" }
        for k, v in pairs(extra or {}) do opts[k] = v end
        return smpp.connect(opts)
    end

    it("binds three ways, and reads node-smpp's refusals", function()
        for _, kind in ipairs({ "transmitter", "receiver", "transceiver" }) do
            local c = assert(connect{ bind = kind })
            assert.matches(kind, tostring(c))
            c:close()
        end
        local c, err, code = connect{ password = "wrong" }
        assert.is_nil(c)
        assert.are.same({ 0x0E, true }, { code, err:find("ESME_RINVPASWD", 1, true) ~= nil })
        c, err, code = connect{ system_id = "other" }
        assert.is_nil(c)
        assert.are.same({ 0x0F, true }, { code, err:find("ESME_RINVSYSID", 1, true) ~= nil })
    end)

    it("sends, gets the receipt matched to the message, and an MO; answers both", function()
        local c = assert(connect())
        local plain = assert(c:send{ from = "12345", to = "447700900123", text = "no receipt" })
        assert.matches("^%x+$", plain[1])
        local ids = assert(c:send{ from = "12345", to = "447700900123", text = "echo Hello node", receipt = true,
            ref = 99 })
        local r = assert(c:wait("receipt", 5))
        assert.is_true(smpp.receipt.same_id(ids[1], r.id), r.id)
        assert.are.same({ "DELIVRD", 2, 99 }, { r.stat, r.state, r.message.ref })
        local m = assert(c:wait("message", 5))
        assert.are.same({ "447700900123", "12345", "Hello node" }, { m.from, m.to, m.text })
        c:close()
        local counts = stop_node(node)
        assert.are.same({ 2, 1, 1, 2 }, { counts.submits, counts.receipts, counts.mos, counts.acked })
    end)

    it("pipelines 2000 submits through a window of 50", function()
        local c = assert(connect{ window = 50 })
        local list = {}
        for i = 1, 2000 do list[i] = { from = "12345", to = tostring(447700000000 + i), text = "bulk" } end
        local seen = {}
        for i, r in ipairs(c:send_many(list)) do
            assert.is_string(r[1], "message " .. i)
            assert.is_nil(seen[r[1]])
            seen[r[1]] = true
        end
        c:close()
        assert.are.equal(2000, stop_node(node).submits)
    end)
end)

describe("interop: node-smpp as an SMSC that calls (outbind)", function()
    it("is answered by smpp.listen with a receiver bind on its connection; its MO and receipt come", function()
        support.need_node()
        local l = assert(require("smpp.core").tcp_listen("127.0.0.1", 0))
        local port = l:port()
        l:close()
        -- node calls 0.3 s later, once the listener is up
        local p = assert(io.popen(format("sleep 0.3; node %s %d NODE obpw 2>&1",
            q(support.INTEROP .. "/outbind.js"), port), "r"))
        local rx, err = smpp.listen{ port = port, timeout = 10, system_id = "acct", password = "pw",
            outbind = { system_id = "NODE", password = "obpw" } }
        assert(rx, err)
        local m = assert(rx:wait("message", 5))
        assert.are.same({ "447700900123", "12345", "hello from node" }, { m.from, m.to, m.text })
        local r = assert(rx:wait("receipt", 5))
        assert.are.same({ "1f", "DELIVRD" }, { r.id, r.stat })
        local lines = {}
        for line in p:lines() do
            lines[#lines + 1] = support.json_decode(line)
            if lines[#lines].done then break end
            rx:run(0.01)
        end
        rx:close()
        p:close()
        assert.are.same({ command = "bind_receiver", command_status = 0, system_id = "acct" }, lines[1])
        assert.are.same({ "deliver_sm_resp", 0, "deliver_sm_resp", 0 },
            { lines[2].command, lines[2].command_status, lines[3].command, lines[3].command_status })
        assert.are.same({ done = true, answers = 2 }, lines[4])
    end)
end)
