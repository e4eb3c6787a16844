-- Helpers shared by the specs, written to run on Lua 5.4 and LuaJIT alike.
local _M = {}

--- The big-endian 4-octet encodings of the given integers, concatenated
--- (string.pack(">I4...") without needing Lua 5.3).
function _M.u32(...)
    local out = {}
    for i = 1, select("#", ...) do
        local n = select(i, ...)
        out[i] = string.char(math.floor(n / 16777216) % 256, math.floor(n / 65536) % 256,
            math.floor(n / 256) % 256, n % 256)
    end
    return table.concat(out)
end

--- A tiny SMSC over smpp.core sessions: accepts one connection, binds it,
--- answers submits with ids, and returns when the ESME unbinds.
function _M.tiny_smsc(listener, stats, tls)
    local core = require "smpp.core"
    local loop = require "smpp.loop"
    local posix = require "smpp.transport.posix"
    local sock, err = posix.accept_tls(listener, tls, loop.now() + 5000)
    if not sock then
        stats.error = err
        return
    end
    local link = posix.link(sock, core.session{ role = "smsc", enquire_link = 0 })
    local deadline = loop.now() + 10000
    while loop.now() < deadline do
        for _, ev in ipairs(link:step(deadline)) do
            if ev.type == "request" then
                local p = ev.pdu
                if p.command:match("^bind_") then
                    link.session:respond({ command = p.command .. "_resp", sequence_number = p.sequence_number,
                        system_id = "smsc" }, loop.now())
                elseif p.command == "submit_sm" then
                    stats.submits = stats.submits + 1
                    if stats.pdus then -- as received, but for the sequence number
                        local copy = {}
                        for k, v in pairs(p) do copy[k] = v end
                        copy.sequence_number = 0
                        stats.pdus[#stats.pdus + 1] = require("smpp.pdu").encode(copy)
                    end
                    if stats.garble and stats.garble[stats.submits] then
                        -- a submit_sm_resp whose message_id has no NUL: framed, but unreadable
                        link:flush(loop.now() + 1000)
                        local seq = p.sequence_number
                        link.sock:write("\0\0\0\19\128\0\0\4\0\0\0\0" .. _M.u32(seq) .. "abc")
                    else
                        link.session:respond({ command = "submit_sm_resp", sequence_number = p.sequence_number,
                            message_id = ("id%d"):format(stats.submits) }, loop.now())
                    end
                end
            elseif ev.type == "closed" then
                link:flush(loop.now() + 1000)
                link:close()
                stats.closed = ev.message
                return
            end
        end
    end
    error("smsc: not closed in time")
end

--- Makes a CA and certificates with the openssl command in a fresh directory:
--- ca.pem, server.pem/server.key for the names given (default localhost and
--- 127.0.0.1), other-ca.pem (a CA nobody trusts).
function _M.certificates(names)
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir))
    local san = names or "DNS:localhost,IP:127.0.0.1"
    local script = ([[
set -e
cd %s
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=test-ca 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout other-ca.key -out other-ca.pem -days 2 -subj /CN=other-ca 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=smsc 2>/dev/null
printf 'subjectAltName=%s
' > ext.cnf
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 \
    -extfile ext.cnf 2>/dev/null
]]):format(dir, san)
    assert(os.execute("sh -c '" .. script:gsub("'", "'\\''") .. "'"))
    return dir
end

local format, concat = string.format, table.concat
local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
local function exists(path)
    local f = io.open(path, "rb")
    if f then f:close() end
    return f ~= nil
end
local function slurp(path)
    local f = io.open(path, "rb")
    if not f then return "" end
    local s = f:read("*a")
    f:close()
    return s
end
_M.slurp = slurp
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local SIM = here .. "/../bin/smpp-sim"

-- ---- bin/smpp-sim as a subprocess ------------------------------------------

-- The interpreter running this spec (its smpp.core is built for it).
local interpreter
function _M.lua_interpreter()
    if interpreter then return interpreter end
    local p = io.popen("readlink /proc/$PPID/exe 2>/dev/null") -- $PPID: this process
    local exe = p and p:read("*l")
    if p then p:close() end
    if exe and exe:match("lua") and exists(exe) then
        interpreter = exe
    else
        interpreter = rawget(_G, "jit") and "luajit" or "lua" .. _VERSION:match("%d+%.%d+")
    end
    return interpreter
end

-- Starts bin/smpp-sim with the options given (a shell word list) on a free
-- port; returns { port, pid, ... } once it listens.
function _M.start_sim(options)
    local errfile = os.tmpname()
    local env = {}
    -- the module paths of this process; LUA_PATH_5_x wins over LUA_PATH in 5.2+
    local ver = _VERSION:match("%d+%.%d+"):gsub("%.", "_")
    for _, suffix in ipairs({ "", "_" .. ver }) do
        env[#env + 1] = format("LUA_PATH%s=%s LUA_CPATH%s=%s; export LUA_PATH%s LUA_CPATH%s;",
            suffix, q(package.path), suffix, q(package.cpath), suffix, suffix)
    end
    -- The shell prints the simulator's pid, waits for it, then prints its exit
    -- status: the same on every Lua, whatever io.popen's close returns.
    local cmd = format("%s %s %s --port 0 %s 2>%s </dev/null & echo \"pid $!\"; wait $!; echo \"exit $?\"",
        concat(env, " "), q(_M.lua_interpreter()), q(SIM), options or "", q(errfile))
    local p = assert(io.popen(cmd, "r"))
    local sim = { handle = p, errfile = errfile, options = options, lines = {} }
    sim.pid = tonumber((p:read("*l") or ""):match("^pid (%d+)$"))
    while true do
        local line = p:read("*l")
        if not line or line:match("^exit %d+$") then
            p:close()
            local err = slurp(errfile)
            os.remove(errfile)
            error(format("bin/smpp-sim %s did not start (%s); stderr: %s", options or "",
                tostring(line), err), 0)
        end
        sim.lines[#sim.lines + 1] = line
        local port = line:match("^smpp%-sim: listening on 127%.0%.0%.1:(%d+)")
        if port then
            sim.port = tonumber(port)
            sim.tls_port = tonumber(line:match("TLS on port (%d+)"))
            break
        end
    end
    assert(sim.pid, "no pid for bin/smpp-sim")
    return sim
end

-- SIGTERM, then the exit status and the counts of its last line
-- ("smpp-sim: connections=N binds=N ...").
function _M.stop_sim(sim)
    if sim.stopped then return sim.status, sim.counts end
    sim.stopped = true
    os.execute("kill -TERM " .. sim.pid .. " 2>/dev/null")
    local status, counts = nil, nil
    for line in sim.handle:lines() do
        sim.lines[#sim.lines + 1] = line
        local code = line:match("^exit (%d+)$")
        if code then status = tonumber(code) end
        if line:match("^smpp%-sim: connections=") then
            counts = {}
            for k, v in line:gmatch("(%w[%w_]*)=(%d+)") do counts[k] = tonumber(v) end
        end
    end
    sim.handle:close()
    sim.stderr = slurp(sim.errfile)
    os.remove(sim.errfile)
    sim.status, sim.counts = status, counts
    return status, counts
end

-- ---- nginx (examples/openresty) and HTTP -----------------------------------

-- smpp/core.so for LuaJIT, which nginx's lua module runs (make test builds it)
local luajit_build = os.getenv("SMPP_LUAJIT_BUILD") or (here .. "/../build/luajit")
local NGINX = os.getenv("NGINX") or "/usr/sbin/nginx"

--- Polls until fn() returns a true value (returned) or seconds pass.
function _M.eventually(seconds, fn)
    local loop = require "smpp.loop"
    local deadline = loop.now() + seconds * 1000
    while true do
        local v = fn()
        if v or loop.now() > deadline then return v end
        loop.sleep(0.05)
    end
end

--- A port nothing listens on now.
function _M.free_port()
    local l = assert(require("smpp.core").tcp_listen("127.0.0.1", 0))
    local port = l:port()
    l:close()
    return port
end

--- One HTTP/1.0 exchange with 127.0.0.1:port over smpp.core sockets (it
--- yields inside smpp.spawn): status, body; or nil, message. A body goes as
--- content_type (default application/x-www-form-urlencoded).
function _M.http(port, method, path, body, seconds, content_type)
    local core, loop = require "smpp.core", require "smpp.loop"
    local sock, err = core.tcp_connect("127.0.0.1", port)
    if not sock then return nil, err end
    local deadline = loop.now() + (seconds or 30) * 1000
    local function give_up(why)
        sock:close()
        return nil, why
    end
    while true do
        local done, cerr = sock:connect_step()
        if done then break end
        if done == nil then return give_up(cerr) end
        if loop.wait(sock, "w", deadline) == "timeout" then return give_up("connect timed out") end
    end
    local req = format("%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n", method, path)
    if body then
        req = req .. format("Content-Type: %s\r\nContent-Length: %d\r\n",
            content_type or "application/x-www-form-urlencoded", #body)
    end
    req = req .. "\r\n" .. (body or "")
    local from = 1
    while from <= #req do
        local n, werr = sock:write(req, from)
        if not n then return give_up(werr) end
        from = from + n
        if n == 0 and loop.wait(sock, "w", deadline) == "timeout" then return give_up("write timed out") end
    end
    local chunks = {}
    while true do
        local data, rerr = sock:read()
        if data then
            chunks[#chunks + 1] = data
        elseif data == nil then
            if rerr ~= "closed" then return give_up(rerr) end
            break
        elseif loop.wait(sock, "r", deadline) == "timeout" then
            return give_up("read timed out")
        end
    end
    sock:close()
    local resp = concat(chunks)
    return tonumber(resp:match("^HTTP/1%.%d (%d+)")), resp:match("\r\n\r\n(.*)$") or ""
end

--- nginx running examples/openresty/nginx.conf with the @...@ values of
--- vars (edit(conf) may change the text further); { prefix, port, pid }.
function _M.start_nginx(vars, edit)
    local prefix = os.tmpname()
    os.remove(prefix)
    assert(os.execute("mkdir -p " .. q(prefix .. "/body")))
    local conf = slurp(here .. "/../examples/openresty/nginx.conf")
    local root = here .. "/.."
    vars.PREFIX = prefix
    vars.HTTP_PORT = vars.HTTP_PORT or _M.free_port()
    vars.LUA_PATH = format("%s/lua/?.lua;%s/lua/?/init.lua;%s/examples/openresty/?.lua;;", root, root, root)
    vars.LUA_CPATH = luajit_build .. "/?.so;;"
    conf = conf:gsub("@([%u_]+)@", function(k) return tostring(assert(vars[k], "no value for @" .. k .. "@")) end)
    if edit then conf = edit(conf) end
    local f = assert(io.open(prefix .. "/nginx.conf", "w"))
    f:write(conf)
    f:close()
    local id = io.popen("id -u")
    local as_root = id:read("*l") == "0"
    id:close()
    -- as root, the workers would run as nobody: they stay root to read the
    -- checkout; make check-asan's preloaded sanitizer runtime is not for nginx
    local cmd = format("env -u LD_PRELOAD %s -p %s -c %s %s 2>&1", NGINX, q(prefix), q(prefix .. "/nginx.conf"),
        as_root and "-g 'user root;'" or "")
    local p = io.popen(cmd)
    local out = p:read("*a")
    local ok = p:close()
    assert(ok, "nginx did not start: " .. out .. slurp(prefix .. "/error.log"))
    local pid = _M.eventually(5, function() return tonumber(slurp(prefix .. "/nginx.pid"):match("%d+")) end)
    assert(pid, "nginx wrote no pid: " .. slurp(prefix .. "/error.log"))
    return { prefix = prefix, port = vars.HTTP_PORT, pid = pid }
end

--- Stops nginx gracefully (QUIT), killing it after 15 s.
function _M.stop_nginx(ngx)
    if not ngx or ngx.stopped then return end
    ngx.stopped = true
    os.execute("kill -QUIT " .. ngx.pid .. " 2>/dev/null")
    local gone = _M.eventually(15, function() return os.execute("kill -0 " .. ngx.pid .. " 2>/dev/null") ~= true end)
    if not gone then os.execute("kill -KILL " .. ngx.pid .. " 2>/dev/null") end
end

--- GET /stats of examples/openresty: its numbers, and slots (worker pids).
function _M.nginx_stats(port)
    local status, body = _M.http(port, "GET", "/stats")
    if status ~= 200 then return nil, body end
    local s = {}
    for k, v in body:gmatch('"([%w_]+)":(%d+)') do s[k] = tonumber(v) end
    s.slots = {}
    for pid in (body:match('"slots":%[(.-)%]') or ""):gmatch("[^,]+") do s.slots[#s.slots + 1] = tonumber(pid) end
    return s
end


-- ---- processes and redis-server ---------------------------------------------

local REDIS = os.getenv("REDIS_SERVER") or "/usr/bin/redis-server"

-- A command in the background: its pid.
function _M.spawn(cmd)
    local p = assert(io.popen(format("sh -c %s", q(cmd .. " & echo $!"))))
    local pid = tonumber(p:read("*l"))
    p:close()
    return assert(pid, "no pid for " .. cmd)
end

function _M.kill(pid, sig) os.execute(format("kill -%s %d 2>/dev/null", sig or "TERM", pid)) end
function _M.alive(pid)
    local r = os.execute(format("kill -0 %d 2>/dev/null", pid))
    return r == true or r == 0 -- (Lua 5.1 gives the status)
end

--- redis-server on loopback (port: a free one by default; password: requirepass).
function _M.start_redis(port, password)
    port = port or _M.free_port()
    local pid = _M.spawn(format("env -u LD_PRELOAD %s --port %d --bind 127.0.0.1 --save '' --appendonly no "
        .. "--daemonize no --loglevel warning %s >/dev/null 2>&1", REDIS, port,
        password and "--requirepass " .. q(password) or ""))
    local conn = require("smpp.redis").connect{ port = port, timeout = 0.5, password = password }
    local up = _M.eventually(5, function() return conn:call("PING") == "PONG" end)
    assert(up, "redis-server did not start on port " .. port)
    return { port = port, pid = pid, conn = conn }
end

function _M.stop_redis(r)
    if not r then return end
    r.conn:close()
    _M.kill(r.pid)
    _M.eventually(5, function() return not _M.alive(r.pid) end)
end

return _M
