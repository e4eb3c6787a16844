-- An independent reading of the bytes: Wireshark's SMPP dissector (tshark)
-- decodes a capture of our client talking to bin/smpp-sim on loopback, and
-- must find every PDU well formed, with the fields the client sent and got.
local smpp = require "smpp"
local support = require "support"

local format = string.format

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- tshark runs without the sanitizer runtime that make check-asan preloads.
local function run(cmd)
    local p = assert(io.popen(cmd .. " 2>/dev/null", "r"))
    local out = p:read("a")
    p:close()
    return out
end

local function have_capture()
    return run("command -v tshark") ~= "" and run("id -u"):match("^0") ~= nil
end

describe("interop: tshark decodes what the client and simulator say", function()
    it("finds every PDU well formed, with our fields", function()
        assert(have_capture(), "tshark and root are needed to capture on loopback (.ci/deps.sh installs tshark)")
        local sim = support.start_sim("--throttle 0 --account test:test")
        local dir = os.tmpname()
        local pid
        -- one finally: busted keeps only the last one given
        finally(function()
            if pid then os.execute("kill " .. pid .. " 2>/dev/null") end
            support.stop_sim(sim)
            os.execute("rm -rf " .. q(dir))
        end)
        os.remove(dir)
        os.execute("mkdir -p " .. q(dir))
        local pcap = dir .. "/smpp.pcap"
        -- capture in the background until told to stop
        local pidfile = dir .. "/pid"
        os.execute(format("(env -u LD_PRELOAD tshark -i lo -f %s -w %s >%s/tshark.log 2>&1 & echo $! >%s)",
            q("tcp port " .. sim.port), q(pcap), q(dir), q(pidfile)))
        pid = assert(io.open(pidfile)):read("l")
        -- "Capturing on" comes before packets are really seen: knock (a bare
        -- TCP connection, nothing SMPP) until the capture holds a packet
        local posix = require "smpp.transport.posix"
        local seen_any = false
        for _ = 1, 100 do
            local knock = posix.connect("127.0.0.1", sim.port)
            if knock then knock:close() end
            if run("env -u LD_PRELOAD tshark -r " .. q(pcap) .. " -c 1") ~= "" then
                seen_any = true
                break
            end
            os.execute("sleep 0.1")
        end
        assert(seen_any, "tshark captured nothing on lo")
        local c = assert(smpp.connect{ port = sim.port, system_id = "test", password = "test" })
        local short = assert(c:send{ from = "12345", to = "447700900123", text = "Hello tshark", receipt = true })
        local long = assert(c:send{ from = "12345", to = "447700900124", text = ("Ünïcødé ✓ "):rep(12) })
        assert.are.equal(2, #long) -- 120 characters of UCS-2: two parts
        local r = assert(c:wait("receipt", 5))
        c:close()
        os.execute("sleep 0.5")
        os.execute("kill -INT " .. pid .. "; sleep 1")

        local decode = "-d " .. q("tcp.port==" .. sim.port .. ",smpp")
        -- every value of a field, in the order of the capture (a TCP segment
        -- may carry several PDUs: all occurrences, comma-separated)
        local function values(field)
            local out = {}
            local text = run(format("env -u LD_PRELOAD tshark -r %s %s -Y smpp -T fields -E occurrence=a "
                .. "-E aggregator=, -e %s", q(pcap), decode, field))
            for line in text:gmatch("[^\n]+") do
                for v in line:gmatch("[^,]+") do out[#out + 1] = v end
            end
            return out
        end
        local malformed = run(format("env -u LD_PRELOAD tshark -r %s %s -Y %s", q(pcap), decode,
            q("_ws.malformed || (smpp && _ws.expert.severity >= 6291456)"))) -- warnings and errors
        assert.are.equal("", malformed, "tshark calls something malformed:\n" .. malformed)

        local seen = {}
        for _, cmd in ipairs(values("smpp.command_id")) do
            cmd = tonumber(cmd)
            seen[cmd] = (seen[cmd] or 0) + 1
        end
        for i, status in ipairs(values("smpp.command_status")) do -- as far as the dissector shows them
            assert.are.equal(0, tonumber(status), "status " .. i)
        end
        assert.are.equal("test", values("smpp.system_id")[1])
        -- the submit_sm destinations and the receipt's (our source), in whatever order they met
        local dests = values("smpp.destination_addr")
        table.sort(dests)
        assert.are.same({ "12345", "447700900123", "447700900124", "447700900124" }, dests)
        assert.are.same({ short[1], long[1], long[2] }, values("smpp.message_id"))
        assert.are.same({ r.id }, values("smpp.receipted_message_id"))
        assert.are.same({ 1, 1, 3, 3, 1, 1, 1, 1 }, { seen[0x09], seen[0x80000009], seen[0x04], seen[0x80000004],
            seen[0x05], seen[0x80000005], seen[0x06], seen[0x80000006] })
    end)
end)
