-- smpp.ngx inside Debian's nginx (libnginx-mod-http-lua, LuaJIT), the
-- OpenResty stand-in: examples/openresty/nginx.conf with 2 workers against
-- bin/smpp-sim over TLS, driven by HTTP requests from this process.
local support = require "support"
local core = require "smpp.core"
local loop = require "smpp.loop"

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local root = here .. "/.."
-- smpp/core.so for LuaJIT (make test builds it before the suite)
local luajit_build = os.getenv("SMPP_LUAJIT_BUILD") or (root .. "/build/luajit")
local NGINX = os.getenv("NGINX") or "/usr/sbin/nginx"

local format = string.format
local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- One HTTP/1.0 exchange over smpp.core sockets (yields inside loop.spawn):
-- status, body (or nil, message).
local function http(port, method, path, body, seconds)
    local sock, err = core.tcp_connect("127.0.0.1", port)
    if not sock then return nil, err end
    local deadline = loop.now() + (seconds or 30) * 1000
    while true do
        local done, cerr = sock:connect_step()
        if done then break end
        if done == nil then sock:close() return nil, cerr end
        if loop.wait(sock, "w", deadline) == "timeout" then sock:close() return nil, "connect timed out" end
    end
    local req = format("%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n", method, path)
    if body then
        req = req .. format("Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n", #body)
    end
    req = req .. "\r\n" .. (body or "")
    local from = 1
    while from <= #req do
        local n, werr = sock:write(req, from)
        if not n then sock:close() return nil, werr end
        from = from + n
        if n == 0 and loop.wait(sock, "w", deadline) == "timeout" then sock:close() return nil, "write timed out" end
    end
    local chunks = {}
    while true do
        local data, rerr = sock:read()
        if data then
            chunks[#chunks + 1] = data
        elseif data == nil then
            if rerr ~= "closed" then sock:close() return nil, rerr end
            break
        elseif loop.wait(sock, "r", deadline) == "timeout" then
            sock:close()
            return nil, "read timed out"
        end
    end
    sock:close()
    local resp = table.concat(chunks)
    local status = tonumber(resp:match("^HTTP/1%.%d (%d+)"))
    return status, resp:match("\r\n\r\n(.*)$") or ""
end

local function get_stats(port)
    local status, body = http(port, "GET", "/stats")
    if status ~= 200 then return nil, body end
    local s = {}
    for k, v in body:gmatch('"([%w_]+)":(%d+)') do s[k] = tonumber(v) end
    s.slots = {}
    for pid in (body:match('"slots":%[(.-)%]') or ""):gmatch("[^,]+") do s.slots[#s.slots + 1] = tonumber(pid) end
    return s
end

local function sleep(seconds) loop.sleep(seconds) end

-- Polls until fn() returns a true value (returned) or seconds pass.
local function eventually(seconds, fn)
    local deadline = loop.now() + seconds * 1000
    while true do
        local v = fn()
        if v or loop.now() > deadline then return v end
        sleep(0.05)
    end
end

local function free_port()
    local l = assert(core.tcp_listen("127.0.0.1", 0))
    local port = l:port()
    l:close()
    return port
end

local function alive(pid)
    return os.execute("kill -0 " .. pid .. " 2>/dev/null") == true
end

-- nginx with examples/openresty/nginx.conf filled in; returns { prefix, port, pid }.
local function start_nginx(vars)
    local prefix = os.tmpname()
    os.remove(prefix)
    assert(os.execute("mkdir -p " .. q(prefix .. "/body")))
    local conf = support.slurp(root .. "/examples/openresty/nginx.conf")
    vars.PREFIX = prefix
    vars.HTTP_PORT = vars.HTTP_PORT or free_port()
    vars.LUA_PATH = format("%s/lua/?.lua;%s/lua/?/init.lua;%s/examples/openresty/?.lua;;", root, root, root)
    vars.LUA_CPATH = luajit_build .. "/?.so;;"
    conf = conf:gsub("@([%u_]+)@", function(k) return tostring(assert(vars[k], "no value for @" .. k .. "@")) end)
    local f = assert(io.open(prefix .. "/nginx.conf", "w"))
    f:write(conf)
    f:close()
    local as_root = io.popen("id -u"):read("*l") == "0"
    -- as root, the workers would run as nobody: they stay root to read the checkout
    -- (make check-asan preloads the sanitizer runtime: not for nginx)
    local cmd = format("env -u LD_PRELOAD %s -p %s -c %s %s 2>&1", NGINX, q(prefix), q(prefix .. "/nginx.conf"),
        as_root and "-g 'user root;'" or "")
    local p = io.popen(cmd)
    local out = p:read("*a")
    local ok = p:close()
    assert(ok, "nginx did not start: " .. out .. support.slurp(prefix .. "/error.log"))
    local pid = eventually(5, function() return tonumber(support.slurp(prefix .. "/nginx.pid"):match("%d+")) end)
    assert(pid, "nginx wrote no pid: " .. support.slurp(prefix .. "/error.log"))
    return { prefix = prefix, port = vars.HTTP_PORT, pid = pid }
end

local function stop_nginx(ngx)
    if not ngx or ngx.stopped then return end
    ngx.stopped = true
    os.execute("kill -QUIT " .. ngx.pid .. " 2>/dev/null")
    if not eventually(15, function() return not alive(ngx.pid) end) then
        os.execute("kill -KILL " .. ngx.pid .. " 2>/dev/null")
    end
end

local function error_log(ngx) return support.slurp(ngx.prefix .. "/error.log") end

-- Worker pids of the nginx master.
local function workers(ngx)
    local p = io.popen("pgrep -P " .. ngx.pid)
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
            return s and #s.slots == 2 and s.slots[1] and s.slots[2] and s
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
        assert.is_truthy(final, "not every receipt was handled: " .. tostring((get_stats(nginx.port) or {}).receipt_refs))
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
