-- smpp.track with real stores: memory, a SQLite file (LuaSQL) and Debian's
-- redis-server; and clients in separate processes that are killed with
-- SIGKILL between the submit and its receipt, or share one store.
local smpp = require "smpp"
local track = require "smpp.track"
local loop = require "smpp.loop"
local support = require "support"

local format = string.format
local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
local HERE = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"
local FIXTURE = HERE .. "/fixtures/track_client.lua"

local function tmpdir()
    local p = io.popen("mktemp -d")
    local d = p:read("*l")
    p:close()
    return d
end

local redis
setup(function() redis = support.start_redis() end)
teardown(function() support.stop_redis(redis) end)

-- The stores under test, each made fresh: name -> function() -> spec
local dir = tmpdir()
local n = 0
local STORES = {
    memory = function() return "memory" end,
    sqlite = function()
        n = n + 1
        return { sqlite = format("%s/track-%d.db", dir, n) }
    end,
    redis = function()
        n = n + 1
        return { redis = redis.conn, prefix = format("t%d:", n) }
    end,
}

for _, name in ipairs({ "memory", "sqlite", "redis" }) do
    describe("smpp.track over " .. name, function()
        it("finds a record by its id in hex and in decimal, and nothing for an unknown id", function()
            local t = track.new(STORES[name]())
            local record = { key = t:message_key(), ids = { "0000A1B2" }, parts = 1, ref = "order-17",
                meta = { n = 3, tags = { "a", "b" } }, to = "4915100000", submitted = 1700000000 }
            assert.is_true(t:put("0000A1B2", record))
            for _, form in ipairs({ "0000A1B2", "a1b2", "A1B2", "41394", "00041394" }) do
                local got = assert(t:find(form), form)
                assert.are.equal("order-17", got.ref)
                assert.are.same({ n = 3, tags = { "a", "b" } }, got.meta)
            end
            assert.is_nil((t:find("ffff0001")))
            assert.is_nil((t:find(nil)))
        end)

        it("gives a message of 3 parts one outcome, and 'done' to one receipt only", function()
            local t = track.new(STORES[name]())
            local record = { key = t:message_key(), ids = { "10", "11", "12" }, parts = 3, ref = "long" }
            for _, id in ipairs(record.ids) do t:put(id, record) end
            local function settle(id, stat) return { t:settle(assert(t:find(id)), id, stat) } end
            assert.are.same({ "pending", false }, settle("10", "DELIVRD"))
            assert.are.same({ "pending", false }, settle("11", "ENROUTE")) -- not final
            assert.are.same({ "pending", false }, settle("11", "DELIVRD"))
            assert.are.same({ "delivered", true }, settle("12", "DELIVRD"))
            assert.are.same({ "delivered", false }, settle("12", "DELIVRD")) -- the same receipt again
            -- a failed part fails the message at once; done when the last part is final
            local r2 = { key = t:message_key(), ids = { "20", "21" }, parts = 2 }
            t:put("20", r2)
            t:put("21", r2)
            assert.are.same({ "failed", false }, settle("20", "UNDELIV"))
            assert.are.same({ "failed", true }, settle("21", "DELIVRD"))
        end)

        it("claims a ref once: the first claims, the next waits or gets the ids, a release frees it", function()
            local t = track.new(STORES[name]())
            assert.are.equal("claimed", t:claim("otp-1"))
            assert.are.equal("busy", t:claim("otp-1"))
            assert.is_true(t:claimed("otp-1", { "abc" }))
            assert.are.same({ "abc" }, t:claim("otp-1"))
            assert.are.equal("claimed", t:claim("otp-2"))
            t:release("otp-2")
            assert.are.equal("claimed", t:claim("otp-2"))
        end)

        it("forgets what is past its ttl", function()
            local spec = STORES[name]()
            if type(spec) ~= "table" then spec = {} end
            spec.ttl = 1
            local t = track.new(spec)
            t:put("77", { key = "k", ids = { "77" }, parts = 1 })
            assert.are.equal("claimed", t:claim("short"))
            assert.is_table(t:find("77"))
            loop.sleep(1.3)
            assert.is_nil((t:find("77")))
            assert.are.equal("claimed", t:claim("short"))
        end)
    end)
end

describe("smpp.track", function()
    it("keeps the newest max records in memory", function()
        local t = track.new{ max = 3 }
        for i = 1, 5 do t:put(tostring(i), { key = "k" .. i, ids = { tostring(i) } }) end
        assert.is_nil((t:find("1")))
        assert.is_nil((t:find("2")))
        assert.are.equal("k5", t:find("5").key)
    end)

    it("raises on a bad store, at the caller's line", function()
        assert.has_error(function() track.new(42) end)
        local ok, err = pcall(function()
            local c = smpp.connect{ system_id = "a", track = { sqlite = "/nonexistent/dir/x.db" } }
            return c
        end)
        assert.is_false(ok)
        assert.matches("track_spec.lua:%d+: smpp.connect: smpp.track: sqlite /nonexistent/dir/x.db", err)
        ok, err = pcall(smpp.connect, { system_id = "a", track = { sqlte = "x.db" } })
        assert.is_false(ok)
        assert.matches("unknown track option sqlte", err)
    end)
end)

-- ---- processes -------------------------------------------------------------

local function env()
    local ver = _VERSION:match("%d+%.%d+"):gsub("%.", "_")
    local out = {}
    for _, suffix in ipairs({ "", "_" .. ver }) do
        out[#out + 1] = format("LUA_PATH%s=%s LUA_CPATH%s=%s", suffix, q(package.path), suffix, q(package.cpath))
    end
    return "env " .. table.concat(out, " ")
end

-- Starts a fixture process; returns its pid and the file it writes to.
local function start(mode, sim, store, ref, text, bind)
    local out = os.tmpname()
    local pid = support.spawn(format("%s %s %s %s %d %s %s %s %s %s > %s.log 2>&1", env(),
        q(support.lua_interpreter()), q(FIXTURE), mode, sim.port, q(store), q(out), q(ref or "-"), q(text or "hello"),
        q(bind or "transceiver"), q(out)))
    return { pid = pid, out = out }
end

local function lines(p)
    local f = io.open(p.out)
    local got = {}
    if f then
        for l in f:lines() do got[#got + 1] = l end
        f:close()
    end
    return got
end

local function line_of(p, pattern, seconds)
    return support.eventually(seconds or 10, function()
        for _, l in ipairs(lines(p)) do
            if l:match(pattern) then return l end
        end
    end)
end

local function stop(p)
    if not p then return end
    support.kill(p.pid, "KILL")
    support.eventually(5, function() return not support.alive(p.pid) end)
    local log = io.open(p.out .. ".log")
    local text = log and log:read("*a") or ""
    if log then log:close() end
    os.remove(p.out)
    os.remove(p.out .. ".log")
    return text
end

for _, name in ipairs({ "sqlite", "redis" }) do
    describe("receipts through " .. name .. " across processes", function()
        local store
        before_each(function()
            n = n + 1
            store = name == "sqlite" and format("sqlite:%s/proc-%d.db", dir, n) or "redis:" .. redis.port
            if name == "redis" then redis.conn:call("FLUSHALL") end
        end)

        it("matches the receipt of a message whose sender was killed with SIGKILL after the submit", function()
            local sim = support.start_sim("--account test:test --receipt-delay 1500")
            local sender, receiver
            finally(function()
                stop(sender)
                stop(receiver)
                support.stop_sim(sim)
            end)
            sender = start("send", sim, store, "order-17", "killed before its receipt")
            local ids = assert(line_of(sender, "^ids "), table.concat(lines(sender), "\n"))
            support.kill(sender.pid, "KILL") -- after the submit_sm_resp, before the receipt
            local id = ids:match("^ids (%S+)")
            receiver = start("receive", sim, store)
            local got = line_of(receiver, "^receipt ", 15)
            assert.is_truthy(got, table.concat(lines(receiver), "\n"))
            local rid, stat, ref, outcome, done, order, lerr =
                got:match("^receipt (%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S+)$")
            assert.is_true(smpp.receipt.same_id(id, rid))
            assert.are.same({ "DELIVRD", "order-17", "delivered", "true", "order-17", "-" },
                { stat, ref, outcome, done, order, lerr })
        end)

        it("gives a message of 3 parts sent by a killed process one outcome on a new one", function()
            local sim = support.start_sim("--account test:test --receipt-delay 1500")
            local sender, receiver
            finally(function()
                stop(sender)
                stop(receiver)
                support.stop_sim(sim)
            end)
            sender = start("send", sim, store, "long-1", ("A message in three parts. "):rep(15))
            local ids = assert(line_of(sender, "^ids "), table.concat(lines(sender), "\n"))
            assert.are.equal(3, select(2, ids:gsub(" ", "")))
            support.kill(sender.pid, "KILL")
            receiver = start("receive", sim, store)
            local got = support.eventually(15, function()
                local r = {}
                for _, l in ipairs(lines(receiver)) do
                    if l:match("^receipt ") then r[#r + 1] = l:match("^receipt %S+ (.*)$") end
                end
                return #r == 3 and r
            end)
            assert.is_truthy(got, table.concat(lines(receiver), "\n"))
            assert.are.same({ "DELIVRD long-1 pending false long-1 -", "DELIVRD long-1 pending false long-1 -",
                "DELIVRD long-1 delivered true long-1 -" }, got)
        end)

        it("sends at most once per ref: two processes at the same time, and again after a SIGKILL", function()
            local sim = support.start_sim("--account test:test --submit-delay 300 --no-receipts")
            local procs = {}
            finally(function()
                for _, p in ipairs(procs) do stop(p) end
                support.stop_sim(sim)
            end)
            procs[1] = start("once", sim, store, "otp-42", "your code is 1234")
            procs[2] = start("once", sim, store, "otp-42", "your code is 1234")
            local a = line_of(procs[1], "^%a+ [%w%p]+$", 15)
            local b = line_of(procs[2], "^%a+ [%w%p]+$", 15)
            assert.is_truthy(a and b, table.concat(lines(procs[1]), "\n") .. "\n"
                .. table.concat(lines(procs[2]), "\n"))
            local kinds = { a:match("^(%a+)"), b:match("^(%a+)") }
            table.sort(kinds)
            assert.are.same({ "again", "ids" }, kinds)
            assert.are.equal(a:match(" (%S+)$"), b:match(" (%S+)$")) -- the same message id
            -- a sender killed after its submit left the SMSC: the next one does not send it again
            procs[3] = start("once-hold", sim, store, "otp-43", "code 5678")
            assert.is_truthy(line_of(procs[3], "^ids "), table.concat(lines(procs[3]), "\n"))
            support.kill(procs[3].pid, "KILL")
            procs[4] = start("once", sim, store, "otp-43", "code 5678")
            assert.matches("^again ", line_of(procs[4], "^%a+ ", 15))
            local _, counts = support.stop_sim(sim)
            assert.are.equal(2, counts.submits) -- otp-42 once, otp-43 once
        end)
    end)
end

describe("receipts through redis between hosts", function()
    it("matches on a receiver bind of another process what a transmitter sent", function()
        redis.conn:call("FLUSHALL")
        local store = "redis:" .. redis.port
        local sim = support.start_sim("--account test:test --receipt-delay 300")
        local tx, rx
        finally(function()
            stop(tx)
            stop(rx)
            support.stop_sim(sim)
        end)
        rx = start("receive", sim, store, nil, nil, "receiver")
        assert.is_truthy(line_of(rx, "^bound$"))
        tx = start("send", sim, store, "from-tx", "sent by the transmitter", "transmitter")
        assert.is_truthy(line_of(tx, "^ids "), table.concat(lines(tx), "\n"))
        local got = line_of(rx, "^receipt ", 10)
        assert.is_truthy(got, table.concat(lines(rx), "\n"))
        assert.matches("^receipt %S+ DELIVRD from%-tx delivered true from%-tx %-$", got)
    end)
end)

describe("a tracker whose store is down", function()
    it("never holds a submit back, and hands the receipt on with lookup_error", function()
        local sim = support.start_sim("--account test:test --receipt-delay 200")
        finally(function() support.stop_sim(sim) end)
        local dead = support.free_port() -- nothing listens there
        local c = assert(smpp.connect{ port = sim.port, system_id = "test", password = "test",
            track = { redis = { port = dead, timeout = 0.2 } } })
        local got
        c:on("receipt", function(r) got = r end)
        local ids = assert(c:send{ to = "4915100000", text = "store down", receipt = true, ref = "x" })
        assert.is_string(ids[1])
        local deadline = loop.now() + 5000
        while not got and loop.now() < deadline do c:run(0.05) end
        assert.is_table(got)
        assert.is_nil(got.message)
        assert.matches("redis 127.0.0.1:%d+", got.lookup_error)
        assert.is_true(c:stats().track_errors >= 2) -- the write, then the lookup
        local r, err, code = c:send{ to = "4915100000", text = "once", ref = "y", once = true }
        assert.is_nil(r)
        assert.are.equal("track", code)
        assert.matches("once: the tracker's store failed", err)
        c:close()
        local _, counts = support.stop_sim(sim)
        assert.are.equal(1, counts.submits) -- the once-send was not sent
    end)
end)

describe("receipts through sqlite against node-smpp's SMSC", function()
    it("matches, on a new process, the receipt of a message whose sender was killed", function()
        local interop = require "interop_support"
        interop.need_node()
        local p = assert(io.popen(format("RECEIPT_DELAY_MS=1500 node %s test:test </dev/null 2>&1 & "
            .. "echo \"pid $!\"; wait $!", q(interop.INTEROP .. "/smsc.js")), "r"))
        local pid = tonumber((p:read("*l") or ""):match("^pid (%d+)$"))
        local line = p:read("*l") or ""
        local node = { port = tonumber(line:match("listening on 127%.0%.0%.1:(%d+)")) }
        assert.is_truthy(pid and node.port, line)
        n = n + 1
        local store = format("sqlite:%s/node-%d.db", dir, n)
        local sender, receiver
        finally(function()
            stop(sender)
            stop(receiver)
            support.kill(pid)
            p:read("*a")
            p:close()
        end)
        sender = start("send", node, store, "node-17", "to node-smpp")
        local ids = assert(line_of(sender, "^ids "), table.concat(lines(sender), "\n"))
        support.kill(sender.pid, "KILL")
        receiver = start("receive", node, store, nil, nil, "receiver")
        local got = line_of(receiver, "^receipt ", 15)
        assert.is_truthy(got, table.concat(lines(receiver), "\n"))
        assert.matches("^receipt %x+ DELIVRD node%-17 delivered true node%-17 %-$", got)
        assert.is_true(smpp.receipt.same_id(ids:match("^ids (%S+)"), got:match("^receipt (%S+)")))
    end)
end)
