-- smpp.ngx inside Debian's nginx (libnginx-mod-http-lua, LuaJIT), the
-- OpenResty stand-in: examples/openresty/nginx.conf with 2 workers against
-- bin/smpp-sim over TLS, driven by HTTP requests from this process.
local support = require "support"
local loop = require "smpp.loop"

local format = string.format
local http, get_stats, eventually = support.http, support.nginx_stats, support.eventually
local start_nginx, stop_nginx = support.start_nginx, support.stop_nginx
local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
local function error_log(ngx) return support.slurp(ngx.prefix .. "/error.log") end

local alive = support.alive

-- Worker pids of the nginx master.
local function workers(ngx)
    local p = io.popen("env -u LD_PRELOAD pgrep -P " .. ngx.pid) -- (pgrep hangs under the sanitizer runtime)
    local list = {}
    for line in p:lines() do list[#list + 1] = tonumber(line) end
    p:close()
    return list
end

describe("smpp.ngx in nginx (2 workers, TLS to the simulator)", function()
    local certs, sim, nginx
    local RATE = 50

    after_each(function()
        os.execute("rm -rf " .. q(certs) .. (nginx and " " .. q(nginx.prefix) or ""))
        nginx = nil
    end)

    before_each(function()
        certs = support.certificates()
        sim = support.start_sim(format("--tls-port 0 --cert %s/server.pem --key %s/server.key --throttle %d "
            .. "--max-binds 2 --account test:test", certs, certs, RATE))
    end)

    it("sends 200 messages through HTTP exactly once, with their receipts, across a reload", function()
        finally(function()
            stop_nginx(nginx)
            support.stop_sim(sim)
        end)
        nginx = start_nginx{ CA = certs .. "/ca.pem", SMSC_HOST = "127.0.0.1", SMSC_PORT = sim.tls_port,
            SMSC_NAME = "localhost", SYSTEM_ID = "test", PASSWORD = "test", THROTTLE = RATE }
        -- both slots bound before the traffic starts
        local st = eventually(15, function()
            local s = get_stats(nginx.port)
            return s and s.bound == 2 and s
        end)
        assert.is_truthy(st, "the binds did not come up: " .. error_log(nginx))

        local N, CONCURRENCY = 200, 20
        local results, done, reloaded = {}, 0, false
        local old_workers = workers(nginx)
        local t0 = loop.now()
        for w = 1, CONCURRENCY do
            loop.spawn(function()
                for i = w, N, CONCURRENCY do
                    local body = format("to=49151%06d&from=12345&text=message+%d&receipt=1&ref=r%d", i, i, i)
                    results[i] = { http(nginx.port, "POST", "/sms", body, 30) }
                    done = done + 1
                    if done == 60 and not reloaded then
                        reloaded = true
                        os.execute("kill -HUP " .. nginx.pid) -- nginx -s reload, mid-traffic
                    end
                end
            end)
        end
        loop.run()
        local elapsed = (loop.now() - t0) / 1000
        io.stderr:write(format("\n[ngx] %d messages through HTTP in %.2f s: %.1f msg/s (throttle %d/s)\n",
            N, elapsed, N / elapsed, RATE))

        assert.is_true(reloaded)
        local seen = {}
        for i = 1, N do
            local status, body = results[i][1], results[i][2]
            assert.are.equal(200, status, format("request %d: %s", i, tostring(body)))
            local id = body:match('"ids":%["([^"]+)"%]')
            assert.is_truthy(id, body)
            assert.is_nil(seen[id], "message id given twice: " .. id)
            seen[id] = i
        end
        -- the reload replaced the workers, and the new ones hold the binds
        for _, old in ipairs(old_workers) do
            assert.is_true(eventually(10, function() return not alive(old) end), "worker " .. old .. " still runs")
        end
        local new_workers = workers(nginx)
        assert.are.equal(2, #new_workers)
        local final = eventually(20, function()
            local s = get_stats(nginx.port)
            return s and s.receipt_refs == N and s
        end)
        assert.is_truthy(final, "not every receipt was handled: "
            .. tostring((get_stats(nginx.port) or {}).receipt_refs))
        for _, pid in ipairs(final.slots) do
            local found = false
            for _, w in ipairs(new_workers) do found = found or w == pid end
            assert.is_true(found, "a slot is held by a worker that is not running: " .. tostring(pid))
        end
        -- one receipt per message, each matched to its request's ref
        for _, i in ipairs({ 1, 59, 61, 137, 200 }) do
            local status, body = http(nginx.port, "GET", "/receipts?ref=r" .. i)
            assert.are.equal(200, status, body)
            assert.matches('"stat":"DELIVRD"', body)
        end
        stop_nginx(nginx)
        local status, counts = support.stop_sim(sim)
        assert.are.equal(0, status)
        assert.are.equal(N, counts.submits)      -- exactly once: nothing lost, nothing twice
        assert.are.equal(0, counts.throttled)    -- the shared throttle held across workers
        assert.are.equal(0, counts.refused_binds)
        assert.is_true(counts.peak_binds <= 2, "the simulator saw " .. counts.peak_binds .. " binds")
        assert.is_true(counts.binds >= 4, "the reload did not rebind: " .. counts.binds .. " binds")
        assert.are.equal(N, counts.receipts)
        assert.is_falsy(error_log(nginx):match("%[alert%]"), error_log(nginx))
    end)

    it("keeps its binds through the SMSC's idle timeout and hands MOs to the handler module", function()
        finally(function()
            stop_nginx(nginx)
            support.stop_sim(sim)
        end)
        support.stop_sim(sim)
        sim = support.start_sim(format("--tls-port 0 --cert %s/server.pem --key %s/server.key --max-binds 2 "
            .. "--account test:test --idle-timeout 1 --mo-echo 'echo '", certs, certs))
        nginx = start_nginx({ CA = certs .. "/ca.pem", SMSC_HOST = "127.0.0.1", SMSC_PORT = sim.tls_port,
            SMSC_NAME = "localhost", SYSTEM_ID = "test", PASSWORD = "test", THROTTLE = RATE },
            function(conf) return (conf:gsub('bind = "transceiver",', '%0 enquire_link = 0.3,')) end)
        local before = eventually(15, function()
            local s = get_stats(nginx.port)
            return s and s.bound == 2 and s
        end)
        assert.is_truthy(before, error_log(nginx))
        loop.sleep(3) -- three idle timeouts of the SMSC, with nothing to send
        local status, body = http(nginx.port, "POST", "/sms", "to=4915100001&from=12345&text=echo+hello+back", 30)
        assert.are.equal(200, status, body)
        local after = eventually(10, function()
            local s = get_stats(nginx.port)
            return s and s.messages == 1 and s
        end)
        assert.is_truthy(after, "the MO did not reach the handler: " .. error_log(nginx))
        assert.are.same(before.slots, after.slots) -- the same workers, never rebound
        assert.matches("message from 4915100001 to 12345: hello back", error_log(nginx), 1, true)
        stop_nginx(nginx)
        local _, counts = support.stop_sim(sim)
        assert.are.equal(0, counts.idle_drops)
        assert.are.equal(2, counts.binds)
        assert.are.equal(1, counts.mos)
    end)

    it("gives the slot of a worker that died to another after the lease", function()
        finally(function()
            stop_nginx(nginx)
            support.stop_sim(sim)
        end)
        nginx = start_nginx({ CA = certs .. "/ca.pem", SMSC_HOST = "127.0.0.1", SMSC_PORT = sim.tls_port,
            SMSC_NAME = "localhost", SYSTEM_ID = "test", PASSWORD = "test", THROTTLE = RATE },
            function(conf) return (conf:gsub('sessions = 2,', 'sessions = 1, lease = 2,')) end)
        local before = eventually(15, function()
            local s = get_stats(nginx.port)
            return s and s.bound == 1 and s
        end)
        assert.is_truthy(before, error_log(nginx))
        local victim = before.slots[1]
        os.execute("kill -KILL " .. victim)
        local t0 = loop.now()
        local after = eventually(10, function()
            local s = get_stats(nginx.port)
            return s and s.bound == 1 and s.slots[1] and s.slots[1] ~= victim and s
        end)
        local took = (loop.now() - t0) / 1000
        assert.is_truthy(after, "nobody took the slot: " .. error_log(nginx))
        assert.is_true(alive(after.slots[1]))
        assert.is_true(took < 2 + 1.5, "the slot came back after " .. took .. " s") -- lease, plus a poll
        local status, body = http(nginx.port, "POST", "/sms", "to=4915100002&text=after+the+crash", 30)
        assert.are.equal(200, status, body)
        stop_nginx(nginx)
        local _, counts = support.stop_sim(sim)
        assert.are.equal(1, counts.submits)
        assert.are.equal(1, counts.peak_binds)
        assert.are.equal(2, counts.binds, error_log(nginx))
    end)

    it("holds the account's slots and rate in redis when asked to (many nginx hosts)", function()
        local redis = support.start_redis()
        finally(function()
            stop_nginx(nginx)
            support.stop_sim(sim)
            support.stop_redis(redis)
        end)
        nginx = start_nginx({ CA = certs .. "/ca.pem", SMSC_HOST = "127.0.0.1", SMSC_PORT = sim.tls_port,
            SMSC_NAME = "localhost", SYSTEM_ID = "test", PASSWORD = "test", THROTTLE = RATE },
            function(conf)
                return (conf:gsub('shm = "smpp",', '%0 limits = { redis = "127.0.0.1:' .. redis.port .. '" },'))
            end)
        local st = eventually(15, function()
            local s = get_stats(nginx.port)
            return s and s.bound == 2 and s
        end)
        assert.is_truthy(st, error_log(nginx))
        local holders = {}
        for k = 1, 2 do
            holders[k] = redis.conn:call("GET", "smpp:test:slot:" .. k)
            assert.matches(":" .. st.slots[k] .. "$", holders[k]) -- host:pid of the worker bound
        end
        local N, failures = 100, {}
        for w = 1, 10 do
            loop.spawn(function()
                for i = w, N, 10 do
                    local status, body = http(nginx.port, "POST", "/sms", format("to=4915%07d&text=r%d", i, i), 30)
                    if status ~= 200 then failures[#failures + 1] = tostring(status) .. " " .. tostring(body) end
                end
            end)
        end
        loop.run()
        assert.are.same({}, failures)
        assert.is_truthy(redis.conn:call("GET", "smpp:test:tat")) -- the rate was taken from redis
        stop_nginx(nginx)
        -- the slots were given back on the way out
        assert.are.equal(require("smpp.redis").null, redis.conn:call("GET", "smpp:test:slot:1"))
        local _, counts = support.stop_sim(sim)
        assert.are.equal(N, counts.submits)
        assert.are.equal(0, counts.throttled)
        assert.is_true(counts.peak_binds <= 2)
    end)

    it("refuses an SMSC whose certificate does not name the host", function()
        finally(function()
            stop_nginx(nginx)
            support.stop_sim(sim)
        end)
        nginx = start_nginx{ CA = certs .. "/ca.pem", SMSC_HOST = "127.0.0.1", SMSC_PORT = sim.tls_port,
            SMSC_NAME = "smsc.example.com", SYSTEM_ID = "test", PASSWORD = "test", THROTTLE = RATE }
        local logged = eventually(10, function()
            return error_log(nginx):match("smpp%.ngx: slot %d: bind failed: ([^\n]*)")
        end)
        assert.is_truthy(logged, error_log(nginx))
        assert.matches("TLS handshake", logged)
        local status, body = http(nginx.port, "POST", "/sms", "to=4915100000&text=hi&timeout=1", 30)
        assert.are.equal(504, status, body) -- nobody bound: given up, and never sent
        assert.matches('"code":"timeout"', body)
        stop_nginx(nginx)
        local _, counts = support.stop_sim(sim)
        assert.are.equal(0, counts.binds)
        assert.are.equal(0, counts.submits)
    end)
end)
