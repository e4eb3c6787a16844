-- One account used from many processes, its limits held in Redis
-- (Debian's redis-server on loopback): smpp.redis, smpp.limits and
-- smpp.connect{ limits = { redis = ... } } against bin/smpp-sim.
local support = require "support"
local core = require "smpp.core"
local loop = require "smpp.loop"
local redis = require "smpp.redis"
local limits = require "smpp.limits"
local smpp = require "smpp"

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local format = string.format
local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local spawn, kill, alive = support.spawn, support.kill, support.alive
local start_redis, stop_redis = support.start_redis, support.stop_redis

describe("smpp.redis", function()
    local r
    before_each(function() r = start_redis() end)
    after_each(function() stop_redis(r) end)

    it("runs commands and scripts, and loads a script again after SCRIPT FLUSH", function()
        local c = redis.connect("127.0.0.1:" .. r.port)
        assert.are.equal("OK", c:call("SET", "k", "v\r\nwith a newline", "PX", 10000))
        assert.are.equal("v\r\nwith a newline", c:call("GET", "k"))
        assert.are.equal(redis.null, c:call("GET", "missing"))
        assert.are.equal(redis.null, c:call("SET", "k", "x", "NX"))
        assert.are.equal(3, c:call("INCRBY", "n", 3))
        local script = "return {KEYS[1], ARGV[1], tonumber(ARGV[2]) + 1}"
        assert.are.same({ "a", "b", 3 }, c:script(script, { "a" }, { "b", 2 }))
        assert.are.equal("OK", c:call("SCRIPT", "FLUSH"))
        assert.are.same({ "a", "b", 3 }, c:script(script, { "a" }, { "b", 2 }))
        local v, err, code = c:call("INCR", "k")
        assert.is_nil(v)
        assert.are.equal("redis", code)
        assert.matches("not an integer", err)
        assert.are.equal("v\r\nwith a newline", c:call("GET", "k")) -- the connection goes on
        c:close()
    end)

    it("authenticates and selects a database when asked to", function()
        stop_redis(r)
        r = start_redis(nil, "s3cret")
        local c = redis.connect{ port = r.port, password = "s3cret", db = 3 }
        assert.are.equal("OK", c:call("SET", "k", "in db 3"))
        assert.are.equal(redis.null, r.conn:call("GET", "k")) -- db 0 has no k
        assert.are.equal("OK", r.conn:call("SELECT", 3))
        assert.are.equal("in db 3", r.conn:call("GET", "k"))
        local bad = redis.connect{ port = r.port, password = "wrong" }
        local v, err, code = bad:call("PING")
        assert.is_nil(v)
        assert.are.equal("net", code) -- the connection is not usable
        assert.matches("WRONGPASS", err)
        local anon = redis.connect{ port = r.port }
        v, err, code = anon:call("GET", "k")
        assert.is_nil(v)
        assert.are.equal("redis", code)
        assert.matches("NOAUTH", err)
        c:close()
    end)

    it("reports an unreachable server as \"net\" and reconnects once it is back", function()
        local c = redis.connect{ port = r.port, timeout = 0.5 }
        assert.are.equal("PONG", c:call("PING"))
        stop_redis(r)
        local v, err, code = c:call("PING")
        assert.is_nil(v)
        assert.are.equal("net", code)
        assert.matches("redis 127%.0%.0%.1:%d+", err)
        r = start_redis()
        c = redis.connect{ port = r.port, timeout = 0.5 }
        assert.are.equal("PONG", c:call("PING"))
    end)
end)

describe("smpp.limits over redis", function()
    local r
    before_each(function() r = start_redis() end)
    after_each(function() stop_redis(r) end)

    it("spaces submits of every holder at the account's rate (GCRA, redis's clock)", function()
        local a = limits.new{ redis = "127.0.0.1:" .. r.port, key = "acct", rate = 10 }
        local b = limits.new{ redis = "127.0.0.1:" .. r.port, key = "acct", rate = 10 }
        assert.are.equal(0, a:take(1))
        local wait = b:take(1) -- the other holder shares the same bucket
        assert.is_true(wait > 80 and wait <= 103, "waits " .. wait)
        -- 40 submits taken as fast as each is allowed: 4 s at 10/s (less 2 % headroom)
        local t0, n = loop.now(), 0
        while n < 20 do
            for _, h in ipairs({ a, b }) do
                local w = h:take(1)
                if w == 0 then n = n + 1 else loop.sleep(w / 1000) end
            end
        end
        local elapsed = loop.now() - t0
        assert.is_true(elapsed >= 19 * 1000 / 10 / 0.98 - 20, "20 submits in " .. elapsed .. " ms")
        assert.is_true(elapsed < 19 * 1000 / 10 / 0.98 + 400, "20 submits in " .. elapsed .. " ms")
        -- a message of 3 parts takes 3 tokens
        loop.sleep(0.2)
        assert.are.equal(0, a:take(3))
        wait = b:take(1)
        assert.is_true(wait > 250 and wait <= 307, "waits " .. wait)
    end)

    it("leases bind slots: one holder each, renewed, released, and lost after the TTL", function()
        local l = limits.new{ redis = "127.0.0.1:" .. r.port, key = "acct", lease = 0.3 }
        assert.is_true(l:claim(1, "A"))
        assert.is_false(l:claim(1, "B"))
        assert.is_true(l:claim(1, "A")) -- claimed again by its holder (after a reconnect)
        assert.is_true(l:claim(2, "B"))
        assert.is_true(l:renew(1, "A"))
        assert.is_false(l:renew(1, "B"))
        assert.are.equal("A", l:holder(1))
        l:release(1, "B") -- not B's: nothing happens
        assert.are.equal("A", l:holder(1))
        l:release(1, "A")
        assert.is_nil(l:holder(1))
        assert.is_true(l:claim(1, "C"))
        loop.sleep(0.45) -- C died: its lease runs out
        assert.is_true(l:claim(1, "D"))
        assert.is_false(l:renew(1, "C"))
    end)

    it("says when redis cannot be reached", function()
        local l = limits.new{ redis = { port = support.free_port(), timeout = 0.3 }, key = "acct", rate = 10 }
        local v, err, code = l:take(1)
        assert.is_nil(v)
        assert.are.equal("net", code)
        assert.is_string(err)
        v, err, code = l:claim(1, "A")
        assert.is_nil(v)
        assert.are.equal("net", code)
        assert.matches("redis 127%.0%.0%.1:%d+", err)
    end)
end)

describe("smpp.connect with limits in redis", function()
    local r, sim
    before_each(function()
        r = start_redis()
        sim = support.start_sim("--throttle 30 --max-binds 2 --account test:test")
    end)
    after_each(function()
        support.stop_sim(sim)
        stop_redis(r)
    end)

    -- Processes A, B and C (spec/fixtures/limits_client.lua) for seconds,
    -- each taking at most binds slots, started 0.3 s apart; their pids and
    -- lines(name), what each has written.
    local function start_clients(seconds, binds)
        local dir = os.tmpname()
        os.remove(dir)
        assert(os.execute("mkdir -p " .. q(dir)))
        finally(function() os.execute("rm -rf " .. q(dir)) end)
        local env = format("LUA_PATH=%s LUA_CPATH=%s", q(package.path), q(package.cpath))
        local pids = {}
        for _, name in ipairs({ "A", "B", "C" }) do
            pids[name] = spawn(format("env %s %s %s %s %d %d %d %s %d >/dev/null 2>%s", env,
                q(support.lua_interpreter()), q(here .. "/fixtures/limits_client.lua"), name, sim.port, r.port,
                seconds, q(dir .. "/" .. name), binds, q(dir .. "/" .. name .. ".err")))
            loop.sleep(0.3)
        end
        return pids, function(name) return support.slurp(dir .. "/" .. name) end
    end

    it("holds 2 binds and 30/s across 3 processes for 20 s, and a standby takes a dead one's slot", function()
        local pids, lines = start_clients(20, 1) -- A and B bind, C is the standby
        assert.is_truthy(support.eventually(5, function()
            return lines("A"):match("^bound A") and lines("B"):match("^bound B")
        end), "A and B did not bind: " .. lines("A") .. lines("B") .. lines("A.err") .. lines("B.err"))
        loop.sleep(9)
        assert.are.equal("", lines("C")) -- still waiting for a slot
        kill(pids.A, "KILL")
        local killed_at = core.now_ms()
        local bound_at = support.eventually(6, function()
            return tonumber(lines("C"):match("^bound C (%d+)"))
        end)
        assert.is_truthy(bound_at, "C never took A's slot")
        local takeover = (bound_at - killed_at) / 1000
        -- the lease (2 s) runs out, then C looks within a quarter of it
        assert.is_true(takeover <= 2 + 0.5 + 0.5, "C took the slot after " .. takeover .. " s")
        assert.is_truthy(support.eventually(15, function()
            return lines("B"):match("done B") and lines("C"):match("done C")
        end), "B and C did not finish: " .. lines("B"):sub(-200) .. lines("C"):sub(-200))
        -- every message B and C sent was accepted; A's last one may have been in flight
        local ok, times = 0, {}
        for _, name in ipairs({ "A", "B", "C" }) do
            for text, t in lines(name):gmatch("ok (%S+) %S+ (%d+)") do
                ok = ok + 1
                times[#times + 1] = tonumber(t)
                assert.is_truthy(text:match("^" .. name .. "%-%d+$"))
            end
            if name ~= "A" then assert.is_nil(lines(name):match("fail "), lines(name):match("fail [^\n]*")) end
        end
        table.sort(times)
        local rate = (#times - 1) / ((times[#times] - times[1]) / 1000)
        io.stderr:write(format("\n[limits] 3 processes, %d messages accepted at %.2f/s of 30/s; takeover %.2f s\n",
            ok, rate, takeover))
        assert.is_true(rate >= 0.95 * 30, "accepted " .. rate .. "/s")
        local status, counts = support.stop_sim(sim)
        assert.are.equal(0, status)
        assert.is_true(counts.submits >= ok and counts.submits <= ok + 1,
            format("the simulator accepted %d, the clients saw %d", counts.submits, ok))
        assert.are.equal(0, counts.throttled)   -- never a 0x58
        assert.are.equal(0, counts.refused_binds)
        assert.are.equal(2, counts.peak_binds)   -- never a third bind
        assert.are.equal(3, counts.binds)        -- A, B, then C
    end)

    it("spreads the slots over the processes: a process that may take both leaves one to a waiting one", function()
        local pids, lines = start_clients(12, 2) -- each may take both slots
        assert.is_truthy(support.eventually(5, function()
            return lines("A"):match("^bound A") and lines("B"):match("^bound B")
        end), "A and B did not bind: " .. lines("A") .. lines("B") .. lines("A.err") .. lines("B.err"))
        loop.sleep(3) -- past the grace (1 s): A would have taken the second slot were nobody waiting
        local h1, h2 = r.conn:call("GET", "smpp:test:slot:1"), r.conn:call("GET", "smpp:test:slot:2")
        assert.are_not.equal(h1, h2) -- one slot each
        assert.are.equal("", lines("C"))
        kill(pids.A, "KILL")
        local killed_at = core.now_ms()
        local bound_at = support.eventually(6, function() return tonumber(lines("C"):match("^bound C (%d+)")) end)
        assert.is_truthy(bound_at, "C never took A's slot")
        -- while A's lease ran out, B went on sending: the account was never silent
        local during = 0
        for t in lines("B"):gmatch("ok %S+ %S+ (%d+)") do
            t = tonumber(t)
            if t > killed_at and t < bound_at then during = during + 1 end
        end
        local gap = (bound_at - killed_at) / 1000
        io.stderr:write(format("\n[limits] slots spread: after A's death, B sent %d in the %.2f s before C bound\n",
            during, gap))
        assert.is_true(during >= 10 * gap, "B sent " .. during .. " in " .. gap .. " s")
        support.eventually(10, function() return lines("B"):match("done B") and lines("C"):match("done C") end)
        local _, counts = support.stop_sim(sim)
        assert.are.equal(0, counts.refused_binds)
        assert.is_true(counts.peak_binds <= 2)
        assert.are.equal(0, counts.throttled)
    end)

    it("does not bind when redis cannot be reached (fails closed)", function()
        local port = support.free_port()
        local c, err, code = smpp.connect{ port = sim.port, system_id = "test", password = "test", sessions = 2,
            throttle = 30, limits = { redis = { port = port, timeout = 0.3 }, key = "smpp:test" } }
        assert.is_nil(c)
        assert.are.equal("limits", code)
        assert.matches("redis 127%.0%.0%.1:" .. port, err)
        local _, counts = support.stop_sim(sim)
        assert.are.equal(0, counts.connections)
    end)

    it("sends at its share of the rate while redis is down, and the whole rate again once it is back", function()
        local c = assert(smpp.connect{ port = sim.port, system_id = "test", password = "test", sessions = 2,
            throttle = 30, limits = { redis = { port = r.port, timeout = 0.3 }, key = "smpp:test", binds = 1 } })
        assert.are.same({ 1 }, c:stats().slots)
        local function send_for(seconds)
            local t_end, n = loop.now() + seconds * 1000, 0
            while loop.now() < t_end do
                assert.is_truthy(c:send{ to = "4915100000", text = "x" })
                n = n + 1
            end
            return n / seconds
        end
        local full = send_for(2)
        kill(r.pid) -- redis goes away with the lease inside it
        support.eventually(5, function() return not alive(r.pid) end)
        local down = send_for(3)
        assert.are.equal("unreachable", c:stats().limits)
        r = start_redis(r.port) -- back, empty: the slot is claimed again when renewed
        loop.sleep(1.1) -- the client looks at redis again within a second
        local back = send_for(2)
        io.stderr:write(format("\n[limits] 30/s account, 1 of 2 slots: %.1f/s, redis down %.1f/s, back %.1f/s\n",
            full, down, back))
        assert.is_true(full > 27 and full <= 30.5, "with redis: " .. full)
        assert.is_true(down > 12 and down <= 15.5, "without redis (half the slots): " .. down)
        assert.is_true(back > 26 and back <= 30.5, "with redis again: " .. back)
        c:close()
        local _, counts = support.stop_sim(sim)
        assert.are.equal(0, counts.throttled)
    end)
end)
