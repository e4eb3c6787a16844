-- Ctrl-C (SIGINT): a blocking call of the library, in a script that the
-- standalone lua5.4 runs, ends within 100 ms with the interpreter's
-- "interrupted!" error and the client goes on working afterwards; bin/smpp
-- shell survives Ctrl-C during a command and at its prompt, and still unbinds
-- when its input ends. Both run as child processes against bin/smpp-sim.
local core = require "smpp.core"
local loop = require "smpp.loop"
local support = require "support"

local format = string.format
local now_ms, slurp = core.now_ms, support.slurp

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local SHELL = here .. "/../bin/smpp"

-- What a child runs: connects, prints "waiting <now_ms>", blocks in the call
-- named by its first argument, prints how that ended, then sends and closes.
local CHILD = [[
local smpp = require "smpp"
local core = require "smpp.core"
local loop = require "smpp.loop"
local how, port = arg[1], tonumber(arg[2])
io.stdout:setvbuf("line")
local client = assert(smpp.connect{ port = port, system_id = "test", password = "test" })
local listener = assert(core.tcp_listen("127.0.0.1", 0))
core.signals("USR1") -- a handler that raises nothing: SIGUSR1 only wakes poll
local calls = {
    wait = function() return client:wait("message", 30) end,
    deadline = function() return loop.wait(nil, nil, core.now_ms() + 30000) end,
    socket = function() return loop.wait(listener, "r") end,
    short = function() return loop.wait(listener, "r", core.now_ms() + 1500) end,
    run = function()
        loop.spawn(loop.sleep, 30)
        return loop.run()
    end,
}
local started = core.now_ms()
print("waiting " .. started)
local ok, err = pcall(calls[how])
local ended = core.now_ms()
print(("ended %d after %d ms: %s %s"):format(ended, ended - started, tostring(ok), tostring(err)))
local ids, serr = client:send{ to = "447700900123", text = "after" }
print("ids " .. (ids and table.concat(ids, ",") or "none: " .. tostring(serr)))
client:close()
print("closed")
]]

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function write_file(path, text)
    local f = assert(io.open(path, "w"))
    f:write(text)
    f:close()
end

local function tmpdir()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. q(dir)))
    return dir
end

-- `env` with this process's module paths (Lua 5.4 reads LUA_PATH_5_4 first).
local function env()
    local ver = _VERSION:match("%d+%.%d+"):gsub("%.", "_")
    local out = { "env" }
    for _, suffix in ipairs({ "", "_" .. ver }) do
        out[#out + 1] = format("LUA_PATH%s=%s LUA_CPATH%s=%s", suffix, q(package.path), suffix, q(package.cpath))
    end
    return table.concat(out, " ")
end

-- Polls (every 10 ms) until fn() gives a true value or ms pass: that value, or nil.
local function within(ms, fn)
    local deadline = now_ms() + ms
    while true do
        local v = fn()
        if v or now_ms() > deadline then return v end
        loop.sleep(0.01)
    end
end

local function count(s, plain)
    local n, from = 0, 1
    while true do
        local i = s:find(plain, from, true)
        if not i then return n end
        n, from = n + 1, i + #plain
    end
end

describe("Ctrl-C", function()
    local sim

    setup(function()
        sim = support.start_sim()
    end)

    teardown(function()
        if sim then support.stop_sim(sim) end
    end)

    describe("in a script run by lua5.4", function()
        -- Runs the child blocked in calls[how], sends it SIGINT (or sig) 500 ms
        -- after it says it waits; returns what it printed, parsed.
        local function interrupt(how, sig)
            local dir = tmpdir()
            local script, out, err = dir .. "/child.lua", dir .. "/out", dir .. "/err"
            write_file(script, CHILD)
            local pid = support.spawn(format("%s %s %s %s %d >%s 2>%s", env(), q(support.lua_interpreter()),
                q(script), how, sim.port, q(out), q(err)))
            local started = within(10000, function() return tonumber(slurp(out):match("waiting (%d+)")) end)
            assert(started, "the child did not start waiting: " .. slurp(out) .. slurp(err))
            loop.sleep(0.5)
            local signaled = now_ms()
            support.kill(pid, sig or "INT")
            local done = within(5000, function() return slurp(out):match("\nclosed\n") end)
            if not done then support.kill(pid, "KILL") end
            local text = slurp(out)
            local r = { text = text, stderr = slurp(err), signaled = signaled }
            local ended, elapsed, ok, message = text:match("ended (%d+) after (%d+) ms: (%S+) ([^\n]*)")
            r.ended, r.elapsed, r.ok, r.message = tonumber(ended), tonumber(elapsed), ok, message
            r.ids = text:match("\nids ([^\n]*)")
            os.execute("rm -rf " .. q(dir))
            assert(done, format("the child did not end within 5 s of SIG%s; it printed:\n%s%s", sig or "INT",
                text, r.stderr))
            return r
        end

        -- The blocked call ends within 100 ms of SIGINT (and not before it),
        -- with "interrupted!", and the client sends afterwards.
        local function check(r)
            assert.is_true(r.elapsed >= 450, "the call returned before SIGINT: " .. r.text)
            assert.is_true(r.ended - r.signaled < 100,
                format("the call ended %d ms after SIGINT: %s", r.ended - r.signaled, r.text))
            assert.are.equal("false", r.ok)
            assert.matches("interrupted!", r.message, 1, true)
            assert.matches("^%d+$", r.ids) -- the message id the simulator gave
            assert.are.equal("", r.stderr)
        end

        it("ends client:wait at once with \"interrupted!\" and the client sends afterwards", function()
            check(interrupt("wait"))
        end)

        it("ends smpp.loop.wait for a deadline at once", function()
            check(interrupt("deadline"))
        end)

        it("ends smpp.loop.wait on a socket with no deadline at once", function()
            check(interrupt("socket"))
        end)

        it("ends smpp.loop.run at once", function()
            check(interrupt("run"))
        end)

        it("but another signal, which raises nothing, does not end a wait before its time", function()
            local r = interrupt("short", "USR1")
            assert.is_true(r.elapsed >= 1500 and r.elapsed < 3000,
                format("a wait of 1500 ms took %d ms: %s", r.elapsed, r.text))
            assert.are.equal("true", r.ok)
            assert.are.equal("timeout", r.message)
            assert.matches("^%d+$", r.ids)
            assert.are.equal("", r.stderr)
        end)
    end)

    describe("in bin/smpp shell", function()
        it("ends the running command, goes on at the prompt and unbinds at the end of input", function()
            local dir = tmpdir()
            local fifo, out, err = dir .. "/in", dir .. "/out", dir .. "/err"
            local pidfile, statusfile = dir .. "/pid", dir .. "/status"
            assert(os.execute("mkfifo " .. q(fifo)))
            write_file(dir .. "/run.sh", format("%s %s %s shell --port %d --system-id test --password test --trace"
                .. " <%s >%s 2>%s &\necho $! >%s\nwait $!\necho $? >%s\n", env(), q(support.lua_interpreter()),
                q(SHELL), sim.port, q(fifo), q(out), q(err), q(pidfile), q(statusfile)))
            support.spawn("sh " .. q(dir .. "/run.sh"))
            -- read and write: the open does not wait for the shell to open its end
            local input = assert(io.open(fifo, "r+"))
            local function send(line)
                input:write(line, "\n")
                input:flush()
            end
            local function prompts() return count(slurp(out), "smpp> ") end
            local pid = within(5000, function() return tonumber(slurp(pidfile):match("%d+")) end)
            local ok, failure = pcall(function()
                assert(pid, "no pid for the shell")
                assert(within(10000, function() return prompts() >= 1 end),
                    "no prompt: " .. slurp(out) .. slurp(err))

                -- Ctrl-C during a command that blocks for 30 s
                send('print("waiting") io.stdout:flush() return client:wait("message", 30)')
                assert(within(5000, function() return slurp(out):match("waiting\n") end),
                    "the command did not start: " .. slurp(out) .. slurp(err))
                loop.sleep(0.5)
                local signaled = now_ms()
                support.kill(pid, "INT")
                assert(within(5000, function() return prompts() >= 2 end),
                    "no prompt after Ctrl-C: " .. slurp(out) .. slurp(err))
                local back = now_ms() - signaled
                assert.is_true(back < 500, format("the prompt came back %d ms after Ctrl-C", back))
                assert.matches("waiting\ninterrupted\nsmpp> $", slurp(out))

                -- Ctrl-C at the prompt: a fresh prompt
                loop.sleep(0.2)
                support.kill(pid, "INT")
                assert(within(5000, function() return prompts() >= 3 end),
                    "no fresh prompt after Ctrl-C at the prompt: " .. slurp(out) .. slurp(err))
                assert.is_true(support.alive(pid), "the shell is gone")

                send('print("ids", table.concat(client:send{ to = "447700900123", text = "x" }, ","))')
                send('print("alive")')
            end)
            input:close() -- the end of the shell's input: it unbinds and leaves
            local status = within(10000, function() return slurp(statusfile):match("%d+") end)
            if not status and pid then support.kill(pid, "KILL") end
            local text, trace = slurp(out), slurp(err)
            os.execute("rm -rf " .. q(dir))
            assert(ok, failure)
            assert.are.equal("0", status, "the shell's exit status; it printed:\n" .. text .. trace)
            assert.matches("waiting\ninterrupted\nsmpp> \nsmpp> ids\t%d+\nsmpp> alive\nsmpp> \n$", text)
            assert.matches("-> unbind seq", trace, 1, true)
            assert.matches("<- unbind_resp seq", trace, 1, true)
            assert.matches("closed: unbound", trace, 1, true)
            assert.is_nil(trace:find("traceback", 1, true), trace)
        end)
    end)
end)
