-- Sessions over TLS on 127.0.0.1, through smpp.transport.posix: our ESME
-- against our SMSC side, with verification on as users get it.
local core = require "smpp.core"
local loop = require "smpp.loop"
local posix = require "smpp.transport.posix"
local support = require "support"

local dir = support.certificates()
local server_tls = { cert = dir .. "/server.pem", key = dir .. "/server.key" }

-- One SMSC connection and one ESME run; returns the ESME's outcome and the SMSC's stats.
local function exchange(host, client_tls)
    local listener = assert(posix.listen("127.0.0.1", 0))
    local port = listener:port()
    local stats, outcome = { submits = 0 }, {}
    loop.spawn(support.tiny_smsc, listener, stats, server_tls)
    loop.spawn(function()
        local stream, err, code = posix.connect(host, port, { tls = client_tls, timeout = 5 })
        if not stream then
            outcome.err, outcome.code = err, code
            return
        end
        outcome.version = stream.tls:version()
        local link = posix.link(stream, core.session{ role = "esme", enquire_link = 0 })
        local s = link.session
        s:send({ command = "bind_transceiver", system_id = "esme" }, loop.now())
        local deadline = loop.now() + 5000
        local function pump()
            for _, ev in ipairs(link:step(deadline)) do
                if ev.type == "response" and ev.pdu.message_id then
                    outcome.message_id = ev.pdu.message_id
                end
            end
        end
        while s:state() ~= "bound_trx" do pump() end
        s:send({ command = "submit_sm", destination_addr = "447700900123", short_message = "over TLS" }, loop.now())
        while s:outstanding() > 0 do pump() end
        s:send({ command = "unbind" }, loop.now())
        while s:state() ~= "closed" do pump() end
        link:close()
    end)
    loop.run()
    listener:close()
    return outcome, stats
end

describe("TLS", function()
    it("binds, submits and unbinds over TLS with the certificate and host name verified", function()
        local outcome, stats = exchange("localhost", { ca = dir .. "/ca.pem" })
        assert.is_nil(outcome.err)
        assert.are.equal("id1", outcome.message_id)
        assert.are.equal(1, stats.submits)
        assert.matches("^TLSv1%.[23]$", outcome.version)
    end)
    it("verifies an IP address against the certificate too", function()
        local outcome = exchange("127.0.0.1", { ca = dir .. "/ca.pem" })
        assert.is_nil(outcome.err)
        assert.are.equal("id1", outcome.message_id)
    end)
    it("refuses a server whose certificate comes from an unknown CA", function()
        local outcome, stats = exchange("localhost", { ca = dir .. "/other-ca.pem" })
        assert.are.equal("tls", outcome.code)
        assert.matches("unknown CA", outcome.err)
        assert.are.equal(0, stats.submits)
    end)
    it("refuses a server certificate for another name", function()
        local other = support.certificates("DNS:smsc.example.com")
        local saved = server_tls
        server_tls = { cert = other .. "/server.pem", key = other .. "/server.key" }
        local outcome = exchange("localhost", { ca = other .. "/ca.pem" })
        server_tls = saved
        assert.are.equal("tls", outcome.code)
        assert.matches("host name mismatch: expected 'localhost'", outcome.err, 1, true)
    end)
    it("accepts any certificate only when verification is turned off", function()
        local outcome = exchange("localhost", { verify = false })
        assert.is_nil(outcome.err)
        assert.are.equal("id1", outcome.message_id)
    end)
    it("refuses a TLS 1.2-only server when 1.3 is the minimum, naming the versions", function()
        local saved = server_tls
        server_tls = { cert = dir .. "/server.pem", key = dir .. "/server.key", max_version = "1.2" }
        local outcome = exchange("localhost", { ca = dir .. "/ca.pem", min_version = "1.3" })
        server_tls = saved
        assert.are.equal("tls", outcome.code)
        assert.matches("version", outcome.err)
    end)
    it("writes the session keys to SSLKEYLOGFILE's file when asked", function()
        local keylog = dir .. "/keys.log"
        local outcome = exchange("localhost", { ca = dir .. "/ca.pem", keylog = keylog })
        assert.is_nil(outcome.err)
        local f = assert(io.open(keylog))
        local text = f:read("*a")
        f:close()
        assert.is_truthy(text:find("TRAFFIC_SECRET", 1, true) or text:find("CLIENT_RANDOM", 1, true))
    end)
end)
