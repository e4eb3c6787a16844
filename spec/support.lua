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
                    link.session:respond({ command = "submit_sm_resp", sequence_number = p.sequence_number,
                        message_id = ("id%d"):format(stats.submits) }, loop.now())
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


return _M
