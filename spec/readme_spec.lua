-- Every code block of README.md, run as a reader would run it, so the README
-- cannot drift from the code. Each ```lua block runs in a process of its own
-- against bin/smpp-sim (TLS and plain ports, the README's accounts) with only
-- the SMSC's address, ports and CA and the Redis address substituted:
--   "smsc.example.com" -> 127.0.0.1; port 8143 -> the TLS port; port 2775 ->
--   the plain port; tls = true / tls = { -> the test CA given as tls.ca;
--   "10.0.0.5:6379" -> a redis-server of the spec's own.
-- A block whose first line is "-- (the client above)" goes on from the block
-- before it (one program). The REPL transcript is typed into bin/smpp shell
-- and its answers compared; the simulator's command line is started and
-- must listen on both ports; the nginx config is run by spec/ngx_spec.lua,
-- and the make and luarocks lines are what .ci/run runs.
local support = require "support"

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local root = here .. "/.."
do -- absolute: some commands run from another directory
    local p = assert(io.popen("cd '" .. root:gsub("'", "'\\''") .. "' && pwd"))
    root = p:read("l")
    p:close()
end
local format = string.format

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function lua_cmd(script)
    return format("env LUA_PATH=%s LUA_CPATH=%s timeout 60 %s %s", q(package.path), q(package.cpath),
        q(support.lua_interpreter()), script)
end

local function run(cmd, input)
    local infile = os.tmpname()
    local f = assert(io.open(infile, "w"))
    f:write(input or "")
    f:close()
    local p = assert(io.popen(cmd .. " <" .. q(infile) .. " 2>&1; echo \"exit $?\"", "r"))
    local out = p:read("a")
    p:close()
    os.remove(infile)
    local status = tonumber(out:match("exit (%d+)\n?$"))
    return (out:gsub("exit %d+\n?$", "")), status
end

-- The README's fenced blocks in order: { lang, text, line }.
local function blocks()
    local list, lang, lines, start = {}, nil, nil, nil
    local n = 0
    for line in io.lines(root .. "/README.md") do
        n = n + 1
        local fence = line:match("^```(%S*)$")
        if fence and lang == nil then
            lang, lines, start = fence, {}, n
        elseif fence and lang ~= nil then
            list[#list + 1] = { lang = lang, text = table.concat(lines, "\n") .. "\n", line = start }
            lang = nil
        elseif lang ~= nil then
            lines[#lines + 1] = line
        end
    end
    return list
end

-- The Lua programs: blocks, those that go on from the one before joined.
local function programs()
    local list = {}
    for _, b in ipairs(blocks()) do
        if b.lang == "lua" then
            if b.text:match("^%-%- %(the client above%)\n") and #list > 0 then
                local last = list[#list]
                last.text = last.text .. b.text
                last.lines[#last.lines + 1] = b.line
            else
                list[#list + 1] = { text = b.text, line = b.line, lines = { b.line } }
            end
        end
    end
    return list
end

local function substitute(text, sim, ca, redis_port)
    text = text:gsub('"smsc%.example%.com"', '"127.0.0.1"')
    text = text:gsub("port = 8143", "port = " .. sim.tls_port):gsub("(, )8143(,)", "%1" .. sim.tls_port .. "%2")
    text = text:gsub("port = 2775", "port = " .. sim.port)
    local with_ca = format("ca = %q", ca)
    text = text:gsub("tls = true", function() return "tls = { " .. with_ca .. " }" end)
    text = text:gsub("tls = { (%a)", function(c) return "tls = { " .. with_ca .. ", " .. c end)
    if redis_port then text = text:gsub('"10%.0%.0%.5:6379"', format('"127.0.0.1:%d"', redis_port)) end
    return text
end

describe("README.md", function()
    local dir = support.certificates()
    local sim, redis
    setup(function()
        redis = support.start_redis()
        sim = support.start_sim(format("--tls-port 0 --cert %s --key %s --throttle 0 --account test:test "
            .. "--account 12345678912345:secret", q(dir .. "/server.pem"), q(dir .. "/server.key")))
        assert(sim.tls_port, "the simulator opened no TLS port")
    end)
    teardown(function()
        support.stop_sim(sim)
        support.stop_redis(redis)
    end)

    it("has its blocks where this spec looks for them", function()
        local kinds = {}
        for _, b in ipairs(blocks()) do kinds[b.lang] = (kinds[b.lang] or 0) + 1 end
        assert.is_true((kinds.lua or 0) >= 10, "lua blocks: " .. tostring(kinds.lua))
        assert.is_true(#programs() < kinds.lua, "no block goes on from another")
    end)

    for _, prog in ipairs(programs()) do
        it(format("runs the Lua of line %s as written", table.concat(prog.lines, "+")), function()
            local file = os.tmpname()
            finally(function() os.remove(file) end)
            local f = assert(io.open(file, "w"))
            f:write(substitute(prog.text, sim, dir .. "/ca.pem", redis.port))
            f:close()
            local out, status = run(lua_cmd(q(file)))
            assert.are.equal(0, status, format("README.md:%d exited %s:\n%s", prog.line, tostring(status), out))
            assert.is_nil(out:find("stack traceback", 1, true), out)
        end)
    end

    it("has a REPL transcript that bin/smpp shell answers line by line", function()
        local transcript
        for _, b in ipairs(blocks()) do
            if b.text:match("^%$ bin/smpp shell") then transcript = b.text end
        end
        assert(transcript, "no bin/smpp shell transcript")
        local command = transcript:match("^%$ bin/smpp (shell[^\n]*)\n"):gsub("%-%-port 2775", "--port " .. sim.port)
        local input, expected = {}, {}
        for line in transcript:gmatch("[^\n]+") do
            local typed = line:match("^smpp> (.*)$")
            if typed then
                input[#input + 1] = typed
            elseif not line:match("^%$ ") then
                expected[#expected + 1] = (line:gsub(":2775 ", ":" .. sim.port .. " "))
            end
        end
        assert.is_true(#input >= 3)
        local out, status = run(lua_cmd(q(root .. "/bin/smpp") .. " " .. command), table.concat(input, "\n") .. "\n")
        assert.are.equal(0, status, out)
        -- each answer, in order: ids as any hex, "..." as anything
        local at = 1
        for _, want in ipairs(expected) do
            local pattern = want:gsub("[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0"):gsub("%%%.%%%.%%%.", ".-")
                :gsub("0000000%d", "%%x+")
            local s, e = out:find(pattern, at)
            assert(s, format("the shell did not answer %q (after offset %d):\n%s", want, at, out))
            at = e + 1
        end
    end)

    it("gives a prompt on the tree with make shell, and its variables with make env", function()
        local out, status = run(format("make -s -C %s shell", q(root)),
            'print("hex", smpp.pdu.hexdump(smpp.pdu.encode{ command = "enquire_link" }))\n')
        assert.are.equal(0, status, out)
        assert.matches("smpp %d+%.%d+%.%d+ loaded as smpp", out)
        assert.matches("hex\t0000  00 00 00 10 00 00 00 15", out, 1, true)
        out, status = run(format("cd / && eval \"$(make -s -C %s env)\" && cd /tmp && "
            .. "lua5.4 -e 'print(package.searchpath(\"smpp.core\", package.cpath))' && command -v smpp-sim",
            q(root)))
        assert.are.equal(0, status, out)
        assert.matches("/build/lua5.4/smpp/core.so\n", out, 1, true)
        assert.matches("/bin/smpp%-sim\n", out)
    end)

    it("starts the simulator with the command line it shows", function()
        local line
        for _, b in ipairs(blocks()) do
            if b.lang == "sh" and b.text:match("^bin/smpp%-sim ") then line = b.text end
        end
        assert(line, "no bin/smpp-sim command line")
        local options = line:gsub("\\\n", " "):match("^bin/smpp%-sim (.-)%s*$")
        options = options:gsub("%-%-port 2775", "--port 0"):gsub("%-%-tls%-port 8143", "--tls-port 0")
            :gsub("server%.pem", q(dir .. "/server.pem")):gsub("server%.key", q(dir .. "/server.key"))
        local other = support.start_sim(options)
        local status = support.stop_sim(other)
        assert.is_number(other.tls_port)
        assert.are.equal(0, status)
    end)
end)
