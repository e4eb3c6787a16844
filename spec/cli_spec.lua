-- bin/smpp and bin/smpp-sim as a user runs them: each in a process of its
-- own, against bin/smpp-sim; their output and exit status read back.
local support = require "support"
local json = require "dkjson"

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local root = here .. "/.."

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- A command line running a tool of bin/ with this process' interpreter and
-- module paths, and the environment given.
local function tool_cmd(name, args, env)
    local vars = { ("LUA_PATH=%s LUA_CPATH=%s"):format(q(package.path), q(package.cpath)) }
    for k, v in pairs(env or {}) do vars[#vars + 1] = ("%s=%s"):format(k, q(tostring(v))) end
    return ("env %s %s %s %s"):format(table.concat(vars, " "), q(support.lua_interpreter()),
        q(root .. "/bin/" .. name), args)
end

-- Runs a command: its standard output, its exit status, its standard error.
local function run(cmd)
    local errfile = os.tmpname()
    local p = assert(io.popen(cmd .. " 2>" .. q(errfile) .. "; echo \"exit $?\"", "r"))
    local out = p:read("*a")
    p:close()
    local err = support.slurp(errfile)
    os.remove(errfile)
    local status = tonumber(out:match("exit (%d+)\n?$"))
    return (out:gsub("exit %d+\n?$", "")), status, err
end

local function json_lines(out)
    local list = {}
    for line in out:gmatch("[^\n]+") do list[#list + 1] = assert(json.decode(line), line) end
    return list
end

local function env_of(sim, id)
    return { SMPP_PORT = sim.port, SMPP_SYSTEM_ID = id or "test", SMPP_PASSWORD = "test" }
end

-- A usage error: status 2, one line naming the problem and a hint at
-- --help on stderr, nothing on stdout, no traceback.
local function assert_usage(tool, out, status, err, pattern)
    assert.are.equal(2, status, out .. err)
    assert.are.equal("", out)
    assert.matches("^" .. tool .. ": " .. pattern, err)
    assert.matches("\nTry '" .. tool .. " %-%-help' for more information%.\n$", err)
    assert.is_nil(err:find("traceback", 1, true), err)
    assert.is_nil(err:find("%.lua:%d+:"), err)
end

-- `smpp listen --json -v` in the background, back once its bind is up.
local function start_listener(sim, args)
    local errfile = os.tmpname()
    local p = assert(io.popen(tool_cmd("smpp", "listen --json -v " .. args, env_of(sim)) .. " 2>" .. q(errfile),
        "r"))
    local bound = support.eventually(10, function()
        return support.slurp(errfile):find("bound to", 1, true)
    end)
    assert.is_truthy(bound, support.slurp(errfile))
    return { handle = p, errfile = errfile }
end

local function listener_output(l)
    local out = l.handle:read("*a")
    l.handle:close()
    os.remove(l.errfile)
    return json_lines(out)
end

describe("bin/smpp", function()
    local sim
    before_each(function()
        sim = support.start_sim("--throttle 0 --account 123456789012345:test --account test:test --mo-echo 'echo '")
    end)
    after_each(function() support.stop_sim(sim) end)
    local function smpp(args, env) return run(tool_cmd("smpp", args, env or env_of(sim))) end

    it("send prints the ids and the receipt, the account's dashes dropped", function()
        local out, status, err = smpp("send --to 447700900123 --receipt Hello there", env_of(sim, "123-456-789-012345"))
        assert.are.equal(0, status, err)
        assert.matches("^message id: %x+\nreceipt id=%x+ stat=DELIVRD", out)
    end)

    it("takes short and long options, --opt=value, -abc bundles and -pVALUE", function()
        local e = { SMPP_SYSTEM_ID = "test", SMPP_PASSWORD = "test" }
        local forms = {
            ("-p %d -rj -t 447700900123 -T5 Hi"):format(sim.port),
            ("--port=%d --receipt --json --to=447700900123 --timeout=5 Hi"):format(sim.port),
            ("-p%d --to 447700900123 --timeout 5 -r -j -- Hi"):format(sim.port),
        }
        for _, args in ipairs(forms) do
            local out, status, err = smpp("send " .. args, e)
            assert.are.equal(0, status, args .. ": " .. err)
            local lines = json_lines(out)
            assert.are.equal(2, #lines, out)
            assert.is_true(lines[1].ok)
            assert.matches("^%x+$", lines[1].ids[1])
            assert.are.equal("receipt", lines[2].type)
            assert.are.equal("DELIVRD", lines[2].stat)
            assert.are.equal(lines[1].ids[1], lines[2].id)
        end
        local _, counts = support.stop_sim(sim)
        assert.are.equal(#forms, counts.submits)
    end)

    it("reads the text from standard input with -, without its last newline; -- ends the options", function()
        local l = start_listener(sim, "--count 2")
        local out, status, err = run("printf 'echo Code 4711\\n' | "
            .. tool_cmd("smpp", "send -b transmitter --from 447700900123 --to 12345 -", env_of(sim)))
        assert.are.equal(0, status, err)
        assert.matches("^message id: %x+\n$", out)
        status, err = select(2, smpp("send -b transmitter --from 447700900123 --to 12345 -- echo -5 degrees"))
        assert.are.equal(0, status, err)
        local heard = listener_output(l)
        assert.are.equal(2, #heard)
        assert.are.same({ "message", "Code 4711", "12345", "447700900123" },
            { heard[1].type, heard[1].text, heard[1].from, heard[1].to })
        assert.are.equal("-5 degrees", heard[2].text)
    end)

    it("listen prints what comes as lines, or JSON lines, until --count", function()
        local l = start_listener(sim, "-n 1")
        local out, status, err = smpp("send --bind transmitter --from 447700900123 --to 12345 echo ping €")
        assert.are.equal(0, status, err)
        assert.matches("^message id: %x+\n$", out)
        local heard = listener_output(l)
        assert.are.equal(1, #heard)
        assert.are.equal("ping €", heard[1].text)
    end)

    it("shell evaluates Lua with a bound client", function()
        local out, status = run("printf '%s\\n' 'client:send{ to = \"1\", text = \"from the shell\" }[1]' "
            .. "'client:stats().sent' 'nonsense(' | " .. tool_cmd("smpp", "shell", env_of(sim)))
        assert.are.equal(0, status, out)
        assert.matches("smpp> %x+\n", out)
        assert.matches("smpp> 1\n", out)
        assert.matches("smpp> shell:1:", out)
    end)

    it("prints --help (every option, the exit codes) and --version, and exits 0", function()
        for _, flag in ipairs({ "-h", "--help" }) do
            local out, status = smpp(flag)
            assert.are.equal(0, status)
            assert.matches("^Usage: smpp send %[OPTION%]%.%.%. TEXT%.%.%.\n", out)
            for _, o in ipairs({ "%-H, %-%-host=HOST", "%-T, %-%-timeout=S", "%-j, %-%-json", "%-V, %-%-version",
                "%-r, %-%-receipt", "%-n, %-%-count=N", "Exit status:", "  3    timed out" }) do
                assert.matches(o, out)
            end
        end
        local smpp_lib = require "smpp"
        for _, flag in ipairs({ "-V", "--version" }) do
            local out, status = smpp(flag)
            assert.are.equal(0, status)
            assert.are.equal("smpp (lua-smpp) " .. smpp_lib._VERSION .. "\n", out)
        end
    end)

    it("refuses a bad command line with status 2 and one line, before it connects", function()
        local cases = {
            { "send --bogus --to 1 hi", "unknown option %-%-bogus" },
            { "send --too 1 hi", "unknown option %-%-too %(did you mean %-%-to%?%)" },
            { "send -x --to 1 hi", "unknown option %-x" },
            { "send --to 1", "no text: give TEXT, or %- to read it from standard input" },
            { "send --to 1 ''", "the text is empty" },
            { "send --to '' hi", "%-%-to ADDR is needed" },
            { "send hi", "%-%-to ADDR is needed" },
            { "send --to 1 --encoding utf8 hi", "%-%-encoding takes auto, gsm7, ascii, latin1 or ucs2, not 'utf8'" },
            { "send --to 1 --encoding gsm7 Привет", "character 'П' at octet 1 cannot be written in gsm7\n" },
            { "send --to 1 --port abc hi", "%-%-port takes a whole number, not 'abc'" },
            { "send --to 1 --timeout 0 hi", "%-%-timeout takes a number above 0, not '0'" },
            { "send --to 1 --timeout", "%-%-timeout needs a value %(S%)" },
            { "send --to 1 --json=yes hi", "%-%-json takes no value" },
            { "send --to 1 --key k.pem hi", "%-%-key needs %-%-cert" },
            { "send --to 1 -b receiver hi", "a receiver bind cannot send" },
            { "send --to 1 --password 123456789 hi", ".*password is 9 characters" },
            { "listen --to 1", "%-%-to is an option of 'smpp send', not of 'listen'" },
            { "listen hello", "'smpp listen' takes no TEXT %(got 'hello'%)" },
            { "frobnicate", "unknown command 'frobnicate' %(send, listen or shell%)" },
            { "", "a command is needed: send, listen or shell" },
        }
        for _, case in ipairs(cases) do
            local out, status, err = smpp(case[1])
            assert_usage("smpp", out, status, err, case[2])
        end
        local out, status, err = smpp("send --to 1 hi", { SMPP_PORT = sim.port })
        assert_usage("smpp", out, status, err, "%-%-system%-id %(or SMPP_SYSTEM_ID%) is needed")
        out, status, err = smpp("send --to 1 hi", { SMPP_PORT = "x", SMPP_SYSTEM_ID = "test" })
        assert_usage("smpp", out, status, err, "SMPP_PORT must be a port number, not 'x'")
        local _, counts = support.stop_sim(sim)
        assert.are.equal(0, counts.connections)
    end)

    it("exits 1 when it cannot connect or bind, with one line (and a JSON one with --json)", function()
        local out, status, err = smpp("send --to 1 hi", { SMPP_PORT = support.free_port(), SMPP_SYSTEM_ID = "test" })
        assert.are.equal(1, status, err)
        assert.are.equal("", out)
        assert.matches("^smpp: connect to 127%.0%.0%.1:%d+: Connection refused\n$", err)
        out, status, err = smpp("send --json --to 1 hi",
            { SMPP_PORT = sim.port, SMPP_SYSTEM_ID = "test", SMPP_PASSWORD = "wrong" })
        assert.are.equal(1, status, err)
        local r = json_lines(out)[1]
        assert.is_false(r.ok)
        assert.are.equal(14, r.code) -- ESME_RINVPASWD
        assert.matches("0x0E", r.error)
        assert.matches("^smpp: .*0x0E", err)
    end)
end)

describe("bin/smpp against the simulator's faults", function()
    local sim
    after_each(function() if sim then support.stop_sim(sim) end sim = nil end)
    local function smpp(args) return run(tool_cmd("smpp", args, env_of(sim))) end

    it("exits 1 with the SMSC's status when it refuses the message (--submit-status)", function()
        sim = support.start_sim("--throttle 0 --submit-status 0x45")
        local out, status, err = smpp("send --json --to 1 hi")
        assert.are.equal(1, status, err)
        local r = json_lines(out)[1]
        assert.are.same({ false, 69 }, { r.ok, r.code })
        assert.matches("^ESME_RSUBMITFAIL %(0x45%)", r.error)
    end)

    it("exits 3 within about --timeout when no answer comes (--withhold), saying it may have arrived", function()
        sim = support.start_sim("--throttle 0 --withhold")
        local loop = require "smpp.loop"
        local t0 = loop.now()
        local out, status, err = smpp("send --json --timeout 1 --to 1 hi")
        local took = (loop.now() - t0) / 1000
        assert.are.equal(3, status, err)
        assert.are.equal("timeout", json_lines(out)[1].code)
        assert.is_true(took < 3.5, "took " .. took .. " s")
    end)

    it("exits 1 when the receipt says another state than DELIVRD (--receipt-stat), 3 when none comes", function()
        sim = support.start_sim("--throttle 0 --receipt-stat UNDELIV")
        local out, status, err = smpp("send --to 1 --receipt hi")
        assert.are.equal(1, status, err)
        assert.matches("stat=UNDELIV", out)
        assert.matches("^smpp: not delivered: UNDELIV\n$", err)
        support.stop_sim(sim)
        sim = support.start_sim("--throttle 0 --no-receipts")
        out, status, err = smpp("send --json --to 1 --receipt --wait 0.5 hi")
        assert.are.equal(3, status, err)
        local lines = json_lines(out)
        assert.is_true(lines[1].ok)
        assert.are.same({ false, "timeout" }, { lines[2].ok, lines[2].code })
    end)

    it("exits 1 on a reply it cannot read (--generic-nack, --malformed), 3 on half a PDU (--stall)", function()
        for _, case in ipairs({ { "--generic-nack 0x03", 1, 3 }, { "--malformed", 1, "closed" },
            { "--stall", 3, "timeout" } }) do
            sim = support.start_sim("--throttle 0 " .. case[1])
            local out, status, err = smpp("send --json --timeout 2 --to 1 hi")
            assert.are.equal(case[2], status, case[1] .. ": " .. out .. err)
            local r = json_lines(out)[1]
            assert.are.same({ false, case[3] }, { r.ok, r.code }, case[1])
            assert.matches("^smpp: ", err)
            support.stop_sim(sim)
            sim = nil
        end
    end)
end)

describe("bin/smpp-sim", function()
    local function sim_run(args) return run(tool_cmd("smpp-sim", args)) end

    it("prints --help with every fault switch, and --version", function()
        for _, flag in ipairs({ "-h", "--help" }) do
            local out, status = sim_run(flag)
            assert.are.equal(0, status)
            assert.matches("^Usage: smpp%-sim %[OPTION%]%.%.%.\n", out)
            for _, o in ipairs({ "%-%-tls%-port=N", "%-%-ca=FILE", "%-%-submit%-status=STATUS", "%-%-withhold",
                "%-%-generic%-nack", "%-%-malformed", "%-%-stall", "%-%-drop%-after", "%-%-submit%-delay",
                "%-%-receipt%-stat=STAT", "%-%-mo%-echo=PREFIX" }) do
                assert.matches(o, out)
            end
        end
        local out, status = sim_run("-V")
        assert.are.equal(0, status)
        assert.matches("^smpp%-sim %(lua%-smpp%) %d", out)
    end)

    it("refuses a bad command line with status 2, before it listens", function()
        local cases = {
            { "--tls-port 0", "%-%-tls%-port needs %-%-cert %(and %-%-key%)" },
            { "--cert x.pem", "%-%-cert needs %-%-tls%-port" },
            { "--ca x.pem", "%-%-ca needs %-%-tls%-port" },
            { "--account nopass", "%-%-account takes ID:PASSWORD, not 'nopass'" },
            { "--withhold --stall", "%-%-submit%-status, %-%-withhold, .* one at a time" },
            { "--throttle fast", "%-%-throttle takes a number, not 'fast'" },
            { "--bogus", "unknown option %-%-bogus" },
            { "extra", "unexpected argument 'extra'" },
        }
        for _, case in ipairs(cases) do
            local out, status, err = sim_run("--port 0 " .. case[1])
            assert_usage("smpp%-sim", out, status, err, case[2])
        end
    end)

    it("with --ca, takes only TLS clients whose certificate that CA issued", function()
        local dir = support.certificates()
        finally(function() os.execute("rm -rf " .. q(dir)) end)
        -- a client certificate issued by the CA
        assert(os.execute(("cd %s && openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr "
            .. "-subj /CN=esme 2>/dev/null && openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key "
            .. "-CAcreateserial -out client.pem -days 2 2>/dev/null"):format(q(dir))))
        local sim = support.start_sim(("--tls-port 0 --cert %s/server.pem --key %s/server.key --ca %s/ca.pem")
            :format(dir, dir, dir))
        finally(function() support.stop_sim(sim) end)
        assert.is_number(sim.tls_port)
        local env = { SMPP_PORT = sim.tls_port, SMPP_SYSTEM_ID = "test", SMPP_PASSWORD = "test" }
        local out, status, err = run(tool_cmd("smpp", ("send --ca %s/ca.pem --to 1 hi"):format(dir), env))
        assert.are.equal(1, status, out .. err)
        assert.matches("^smpp: .*certificate", err)
        out, status, err = run(tool_cmd("smpp", ("send --ca %s/ca.pem --cert %s/client.pem --key %s/client.key "
            .. "--to 1 hi"):format(dir, dir, dir), env))
        assert.are.equal(0, status, err)
        assert.matches("^message id: %x+\n$", out)
    end)
end)
