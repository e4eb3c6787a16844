-- The examples and the demo, run as a user runs them: each in a
-- process of its own against bin/smpp-sim, their output read back;
-- examples/openresty/run.sh with the nginx it starts.
local support = require "support"

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local root = here .. "/.."

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- The interpreter and module paths of this process, for a child.
local function lua_cmd(script, env)
    local vars = { ("LUA_PATH=%s LUA_CPATH=%s"):format(q(package.path), q(package.cpath)) }
    for k, v in pairs(env or {}) do vars[#vars + 1] = ("%s=%s"):format(k, q(tostring(v))) end
    return ("env %s %s %s"):format(table.concat(vars, " "), q(support.lua_interpreter()), script)
end

-- Runs a command; its output and exit status.
local function run(cmd)
    local p = assert(io.popen(cmd .. " 2>&1; echo \"exit $?\"", "r"))
    local out = p:read("a")
    p:close()
    local status = tonumber(out:match("exit (%d+)\n?$"))
    return out:gsub("exit %d+\n?$", ""), status
end

local function sim_env(sim)
    return { SMPP_PORT = sim.port, SMPP_SYSTEM_ID = "test", SMPP_PASSWORD = "test" }
end

describe("examples", function()
    local sim
    before_each(function()
        sim = support.start_sim("--throttle 0 --account test:test --mo-echo 'echo '")
    end)
    after_each(function() support.stop_sim(sim) end)

    it("send.lua sends and gets its receipt", function()
        local out, status = run(lua_cmd(q(root .. "/examples/send.lua"), sim_env(sim)))
        assert.are.equal(0, status, out)
        assert.matches("message id%s+%x+", out)
        assert.matches("stat=DELIVRD", out)
        assert.matches("for%s+order%-4711%s+final:%s+true", out)
    end)

    it("bulk.lua sends thousands through the window", function()
        local out, status = run(lua_cmd(q(root .. "/examples/bulk.lua") .. " 3000", sim_env(sim)))
        assert.are.equal(0, status, out)
        assert.matches("3000 sent, 0 failed", out)
        local _, counts = support.stop_sim(sim)
        assert.are.equal(3000, counts.submits)
    end)

    it("coroutines.lua sends from 50 coroutines", function()
        local out, status = run(lua_cmd(q(root .. "/examples/coroutines.lua"), sim_env(sim)))
        assert.are.equal(0, status, out)
        assert.matches("50 of 50 sent from 50 coroutines", out)
    end)

    it("cqueues.lua sends from cqueues coroutines and gets every receipt", function()
        local out, status = run(lua_cmd(q(root .. "/examples/cqueues.lua") .. " 8", sim_env(sim)))
        assert.are.equal(0, status, out)
        for i = 1, 8 do
            assert.matches("cq%-" .. i .. ": message id %x+\n", out)
            assert.matches("receipt for cq%-" .. i .. ": DELIVRD\n", out)
        end
        assert.matches("8 sent, 8 receipts\n$", out)
        local _, counts = support.stop_sim(sim)
        assert.are.equal(8, counts.submits)
        assert.are.equal(8, counts.receipts)
    end)

    it("receive.lua prints the MOs and receipts that reach a receiver bind", function()
        local listener = assert(io.popen(lua_cmd(q(root .. "/examples/receive.lua") .. " 3", sim_env(sim))
            .. " 2>&1", "r"))
        os.execute("sleep 0.7")
        -- a transmitter on the same account: the echo and the receipt go to the receiver
        local out, status = run(lua_cmd(q(root .. "/bin/smpp") .. " send --from 447700900123 --to 12345 "
            .. "--bind transmitter --receipt --wait 0 echo hello receiver", sim_env(sim)))
        assert.are.equal(0, status, out)
        local heard = listener:read("a")
        listener:close()
        assert.matches("MO from 12345 to 447700900123: hello receiver", heard)
        assert.matches("receipt for %x+: DELIVRD", heard)
        assert.matches("1 messages, 1 receipts", heard)
    end)
end)

describe("make demo", function()
    it("runs the whole exchange over TLS and exits 0", function()
        local out, status = run(lua_cmd(q(root .. "/examples/demo.lua")))
        assert.are.equal(0, status, out)
        assert.matches("listening on 127%.0%.0%.1:%d+ and TLS on port %d+", out)
        assert.matches("message id %x+", out)
        assert.matches("delivery receipt: receipt id=%x+ stat=DELIVRD", out)
        assert.matches("ref=demo%-1, final=true", out)
        assert.matches("MO message: smpp.message from 447700900123 to 12345: \"Hello from lua%-smpp €\"", out)
        assert.matches("submits=1 .* receipts=1 mos=1", out)
        assert.matches("demo done", out)
    end)
end)

describe("examples/openresty/run.sh", function()
    it("serves the API in nginx against the simulator, answers the curl it prints, and stops both on Ctrl-C",
        function()
        local json = require "dkjson"
        local port = support.free_port()
        -- (env: a Ctrl-C reaches the script even when this suite runs in the background)
        local p = assert(io.popen(("echo \"pid $$\"; HTTP_PORT=%d exec env --default-signal=INT sh %s 2>&1")
            :format(port, q(root .. "/examples/openresty/run.sh")), "r"))
        local pid = tonumber(p:read("*l"):match("^pid (%d+)$"))
        local out, curl = {}, {}
        for line in p:lines() do
            out[#out + 1] = line
            curl[#curl + 1] = line:match("^  (curl .*)$")
            if line:match("Ctrl%-C stops both%.$") then break end
        end
        local printed = table.concat(out, "\n")
        local function stop()
            if not pid then return "" end
            os.execute("kill -INT " .. pid)
            pid = nil
            local rest = p:read("*a")
            p:close()
            return rest
        end
        finally(stop)
        assert.are.equal(3, #curl, printed)
        local sim_pid = tonumber(printed:match("smpp%-sim %(pid (%d+)%)"))
        local nginx_pid = tonumber(printed:match("nginx %(pid (%d+)%)"))
        local prefix = printed:match("Logs: (%S+)/error%.log")
        assert.is_truthy(sim_pid and nginx_pid and prefix, printed)

        -- the curl lines, through a socket: POST /sms as JSON, then its receipt by ref
        local body, path = curl[1]:match("^curl %-s %-H 'Content%-Type: application/json' %-d '(.-)' "
            .. "http://127%.0%.0%.1:" .. port .. "(/sms)$")
        assert.is_truthy(body, curl[1])
        local status, answer = support.http(port, "POST", path, body, 30, "application/json")
        assert.are.equal(200, status, answer)
        assert.matches("^%x+$", json.decode(answer).ids[1])
        local receipt_path = curl[2]:match("^curl %-s 'http://127%.0%.0%.1:" .. port .. "(/receipts%?ref=r1)'$")
        assert.is_truthy(receipt_path, curl[2])
        local got = support.eventually(10, function()
            local s, b = support.http(port, "GET", receipt_path)
            return s == 200 and json.decode(b)
        end)
        assert.are.same({ ref = "r1", stat = "DELIVRD" }, got)
        assert.matches("^curl %-s http://127%.0%.0%.1:" .. port .. "/stats$", curl[3])
        status, answer = support.http(port, "GET", "/stats")
        assert.are.equal(200, status, answer)
        assert.are.equal(1, json.decode(answer).sent, answer)

        local rest = stop()
        assert.matches("smpp%-sim: connections=%d+ binds=2 .* submits=1 .* receipts=1", rest)
        assert.matches("stopped\n$", rest)
        assert.is_false(support.alive(nginx_pid))
        assert.is_false(support.alive(sim_pid))
        assert.is_nil(io.open(prefix .. "/nginx.conf"))
    end)
end)
