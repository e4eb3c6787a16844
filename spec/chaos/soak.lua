-- A chaos soak of smpp.connect: messages sent through spec/chaos/proxy.js
-- (links dropped, stalled, cut inside a PDU, connections refused) to
-- node-smpp's SMSC (spec/interop/smsc.js, recording what it accepted), then
-- what the client reported for each message joined with what the SMSC took.
--
--   lua5.4 spec/chaos/soak.lua [MESSAGES [SEED [SECONDS]]] [--rate N] [--quiet MIN-MAX]
--                              [--keep] [--verbose]
--
-- (with LUA_PATH and LUA_CPATH finding smpp and smpp.core). MESSAGES
-- (default 20000) are split over four rounds, each with a new client:
-- send_many batches and 100 coroutines (smpp.spawn, smpp.run) calling
-- client:send, each with resend = false and resend = true. SEED (default 1)
-- seeds the proxy's faults. SECONDS (default 0.03 s a message, at least 60)
-- caps the whole run: each round runs as a child process with a quarter of
-- it (less the set-up); the proxy's faults run for the first half of that,
-- then the network heals, and a round still running at its end is killed
-- and reported HUNG (a correct client ends every call in that quiet half:
-- each call has its own deadline). --rate sets the client's throttle (default: the round's
-- messages spread over 30 % of its time, at least 50/s), so that the faults
-- meet traffic; --quiet gives the proxy's quiet periods between faults
-- (milliseconds, default 300-1500); --keep keeps the work directory (the
-- SMSC's record, the proxy's fault log, the rounds' results, also kept when
-- the run fails); --verbose prints every fault of the proxy at the end.
--
-- Every message must end with exactly one result (the client's contract):
-- accepted (its ids; ids.resent when it went again after an uncertain loss,
-- and so also on an uncertain failure that went twice: the 4th value's .resent),
-- refused (the SMSC's numeric command_status), "unsent", or uncertain
-- ("timeout", "closed", "invalid"). The join classifies each one:
--
--   lost            no result (the call returned without one), or more than one
--   hung            begun in a round that had to be killed (the call never returned)
--   unknown         a result outside the contract (another code, empty ids, an error raised)
--   silent_dup      accepted by the SMSC twice or more, and the result (accepted or
--                   uncertain) does not say resent
--   silent_certain  accepted by the SMSC although reported refused or "unsent"
--   silent_phantom  reported accepted, but the SMSC took it not, or answered other ids
--   stray           (total only) a text the SMSC took that no message of the run has
--
-- (a submit_sm cut short by a cut link that node-smpp read and answered as a
-- whole one is left out: smsc_truncated counts them)
--
-- and counts the results (accepted counts the resent ones too; unstarted:
-- the messages of a killed round it never came to). One line per round and
-- a total, for machines:
--
--   soak: way=send_many resend=false messages=5000 status=finished seconds=61.2 cpu=9.8
--     faults=24 longest_call=6.1 accepted=4870 refused=0 unsent=12 uncertain=118 resent=0
--     lost=0 hung=0 unstarted=0 unknown=0 silent_dup=0 silent_certain=0 silent_phantom=0
--   soak: total messages=20000 rounds=4 finished=4 ... stray=0 smsc_accepted=19990 faults=97
--
-- (each on one line; status: finished, HUNG, HUNG-IN-CLOSE, NOCONNECT or
-- CRASHED; cpu: the seconds of CPU the round's process used, as long as
-- seconds when a hung call spins; faults: the proxy's faults during the
-- round; longest_call: the seconds of the longest send or send_many call,
-- one still running when the round was killed included), a few examples of
-- every problem on stderr, and exit status 1 when
-- any round did not finish or any of lost, hung, unknown, silent_* or stray
-- is not 0. Everything talks to 127.0.0.1 only.
local format, concat = string.format, table.concat
local floor, max, ceil = math.floor, math.max, math.ceil

local HERE = (debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$")) or "."
local INTEROP = HERE .. "/../interop"
local LUA = arg and arg[-1] or "lua5.4"
local ACCOUNT, PASSWORD = "soak", "soak"
local WORKERS = 100 -- coroutines of the spawn rounds
local BATCH = 100   -- messages of one send_many call
local ROUNDS = {
    { way = "send_many", resend = false },
    { way = "send_many", resend = true },
    { way = "spawn", resend = false },
    { way = "spawn", resend = true },
}
local EXAMPLES = 3 -- problems shown per kind and round
local UNCERTAIN = { timeout = true, closed = true, invalid = true }

--- s quoted as one word for the shell.
local function q(s)
    return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- Words written to the result files: every octet outside [%w._-] as %XX.
local function enc(s)
    return (tostring(s):gsub("[^%w%._%-]", function(c) return format("%%%02X", c:byte()) end))
end

local function dec(s)
    return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function text_of(run, i)
    return format("soak-%s-%d", run, i)
end

------------------------------------------------------------------------
-- A round (the child process): one client, its messages, a result file.

-- One result as a line: "r I ok ID,ID RESENT", "r I fail CODE MESSAGE",
-- "r I bad WHAT" (send_many's results also "r I none": no result there).
local function result_line(i, a, b, c, d)
    local resent
    if type(a) == "table" then
        if a[1] == nil then -- send_many's { nil, message, code, ids, resent = }
            b, c, resent = a[2], a[3], a.resent == true
        else
            local ids = {}
            for k = 1, #a do
                if type(a[k]) ~= "string" then
                    return format("r %d bad id-%d-is-a-%s", i, k, type(a[k]))
                end
                ids[k] = enc(a[k])
            end
            return format("r %d ok %s %d", i, concat(ids, ","), a.resent == true and 1 or 0)
        end
    elseif a ~= nil then
        return format("r %d bad result-is-a-%s", i, type(a))
    end
    -- send's nil, message, code, ids (ids.resent: it went twice)
    if type(d) == "table" and d.resent == true then resent = true end
    -- the code: n<number>, s<string> or - (none)
    local code = type(c) == "number" and "n" .. tostring(c) or c == nil and "-" or "s" .. enc(tostring(c))
    return format("r %d fail %s %s %d", i, code, enc(tostring(b)), resent and 1 or 0)
end

local function round_main(way, resend, first, count, port, run, rate, out_path)
    local smpp = require "smpp"
    local now = require("smpp.loop").now
    local out = assert(io.open(out_path, "w"))
    out:setvbuf("line")
    out:write(format("start %d\n", now()))
    local client, err
    for _ = 1, 40 do -- the proxy may be refusing: try again, a bounded number of times
        client, err = smpp.connect{ host = "127.0.0.1", port = port, system_id = ACCOUNT, password = PASSWORD,
            window = 64, throttle = rate, response_timeout = 2, timeout = 3, enquire_link = 5,
            resend = resend, reconnect = { min = 0.2, max = 1 } }
        if client then break end
        smpp.sleep(0.25)
    end
    if not client then
        out:write("connect-failed ", enc(err), "\n")
        out:close()
        return 2
    end
    local function message(i)
        return { to = "447700900" .. format("%03d", i % 1000), from = "soak", text = text_of(run, i) }
    end
    local last = first + count - 1
    if way == "send_many" then
        for b = first, last, BATCH do
            local e = math.min(last, b + BATCH - 1)
            local list = {}
            for i = b, e do list[#list + 1] = message(i) end
            local t0 = now()
            out:write(format("begin %d %d %d\n", b, e, t0))
            local ok, results = pcall(client.send_many, client, list)
            out:write(format("call %d %d %d\n", b, e, now() - t0))
            if not ok then
                for i = b, e do out:write(format("r %d bad raised %s\n", i, enc(results))) end
            else
                local lines = {}
                for k = 1, #list do
                    local r = results[k]
                    lines[k] = r == nil and format("r %d none", b + k - 1) or result_line(b + k - 1, r)
                end
                lines[#lines + 1] = ""
                out:write(concat(lines, "\n"))
                local extra = 0
                for k in pairs(results) do
                    if type(k) ~= "number" or k < 1 or k > #list or k % 1 ~= 0 then extra = extra + 1 end
                end
                if extra > 0 then out:write(format("extra %d %d %d\n", b, e, extra)) end
            end
        end
    else
        for w = 1, WORKERS do
            smpp.spawn(function()
                for i = first + w - 1, last, WORKERS do
                    local t0 = now()
                    out:write(format("begin %d %d %d\n", i, i, t0))
                    local r = table.pack(pcall(client.send, client, message(i)))
                    out:write(format("call %d %d %d\n", i, i, now() - t0))
                    if not r[1] then
                        out:write(format("r %d bad raised %s\n", i, enc(r[2])))
                    else
                        out:write(result_line(i, r[2], r[3], r[4], r[5]), "\n")
                    end
                end
            end)
        end
        smpp.run()
    end
    out:write("sent\n")
    client:close(2)
    local st, words = client:stats(), {}
    for k, v in pairs(st) do
        if type(v) == "number" then words[#words + 1] = k .. "=" .. v end
    end
    table.sort(words)
    out:write("stats ", concat(words, " "), "\n")
    out:write("done\n")
    out:close()
    return 0
end

------------------------------------------------------------------------
-- The driver: the SMSC, the proxy, the rounds, the join.

local function now_s()
    local f = io.popen("date +%s.%N")
    local t = tonumber(f:read("l"))
    f:close()
    return t or os.time()
end

-- Starts a shell command in the background (under `timeout LIFE` when
-- given); reads its pid and the first line of its stdout matching pattern.
local function start(cmd, pattern, life)
    local p = assert(io.popen(format("exec 0</dev/null; %s%s & echo \"pid $!\"; wait $!",
        life and format("timeout -k 5 %d ", life) or "", cmd), "r"))
    local pid = tonumber((p:read("l") or ""):match("^pid (%d+)$"))
    local line = p:read("l") or ""
    local port = tonumber(line:match(pattern))
    return { handle = p, pid = pid, port = port, first = line }
end

-- SIGTERM; the lines it wrote until it exited.
local function stop(proc)
    if proc.pid then os.execute("kill -TERM " .. proc.pid .. " 2>/dev/null") end
    local lines = {}
    for line in proc.handle:lines() do lines[#lines + 1] = line end
    proc.handle:close()
    return lines
end

local function read_lines(path)
    local f = io.open(path)
    if not f then return {} end
    local t = {}
    for line in f:lines() do t[#t + 1] = line end
    f:close()
    return t
end

-- What a round's result file says: results by message, begun messages.
local function read_round(path, seconds)
    -- longest: the longest call, in seconds (one still in flight at the
    -- end: as long as it had been running by then, at least)
    local r = { results = {}, begun = {}, sent = false, done = false, extra = 0, longest = 0 }
    local started, open = nil, {}
    for _, line in ipairs(read_lines(path)) do
        local w = {}
        for word in line:gmatch("%S+") do w[#w + 1] = word end
        if w[1] == "r" then
            local i = tonumber(w[2])
            local list = r.results[i] or {}
            r.results[i] = list
            local res = { kind = w[3] }
            if w[3] == "ok" then
                res.ids = {}
                for id in (w[4] or ""):gmatch("[^,]+") do res.ids[#res.ids + 1] = dec(id) end
                res.resent = w[5] == "1"
            elseif w[3] == "fail" then
                local c = w[4] or "-"
                if c:sub(1, 1) == "n" then
                    res.code = tonumber(c:sub(2))
                elseif c:sub(1, 1) == "s" then
                    res.code = dec(c:sub(2))
                end
                res.message = dec(w[5] or "")
                res.resent = w[6] == "1"
            elseif w[3] == "bad" then
                res.what = (w[4] or "?") .. (w[5] and " " .. dec(w[5]) or "")
            end
            list[#list + 1] = res
        elseif w[1] == "start" then
            started = tonumber(w[2])
        elseif w[1] == "begin" then
            for i = tonumber(w[2]), tonumber(w[3]) do r.begun[i] = true end
            open[w[2]] = tonumber(w[4])
        elseif w[1] == "call" then
            open[w[2]] = nil
            r.longest = max(r.longest, tonumber(w[4]) / 1000)
        elseif w[1] == "extra" then
            r.extra = r.extra + tonumber(w[4])
        elseif w[1] == "sent" then
            r.sent = true
        elseif w[1] == "done" then
            r.done = true
        elseif w[1] == "stats" then
            r.stats = line:sub(7)
        elseif w[1] == "connect-failed" then
            r.connect_failed = dec(w[2] or "")
        end
    end
    if started and next(open) then
        for _, t0 in pairs(open) do
            r.longest = max(r.longest, (seconds or 0) - (t0 - started) / 1000)
        end
    end
    return r
end

-- The SMSC's record: the ids it answered, by message number; stray lines;
-- how many of them; how many were half a PDU node-smpp read as a whole one
-- (a link cut inside a submit_sm: no submit a real SMSC would take).
local function read_record(path, run)
    local by_i, strays, lines, truncated = {}, {}, 0, 0
    local prefix = "soak-" .. run .. "-"
    for _, line in ipairs(read_lines(path)) do
        lines = lines + 1
        local id, txt = line:match("^([^\t]*)\t([^\t]*)$")
        local i
        if not txt and line:match("^[^\t]*\t[^\t]*\ttruncated$") then
            truncated = truncated + 1
        elseif txt then
            txt = txt:gsub("\\(.)", { ["\\"] = "\\", t = "\t", r = "\r", n = "\n" })
            if txt:sub(1, #prefix) == prefix then i = tonumber(txt:sub(#prefix + 1):match("^(%d+)$")) end
        end
        if i then
            local ids = by_i[i] or {}
            by_i[i] = ids
            ids[#ids + 1] = id
        elseif txt or not line:match("\ttruncated$") then
            strays[#strays + 1] = line
        end
    end
    return by_i, strays, lines, truncated
end

local KEYS = { "accepted", "refused", "unsent", "uncertain", "resent", "lost", "hung", "unstarted", "unknown",
    "silent_dup", "silent_certain", "silent_phantom" }
local FAILING = { lost = true, hung = true, unknown = true, silent_dup = true, silent_certain = true,
    silent_phantom = true }

local function describe(res)
    if not res then return "no result" end
    if res.kind == "ok" then
        return format("accepted ids=%s%s", concat(res.ids, ","), res.resent and " resent" or "")
    elseif res.kind == "fail" then
        return format("failed code=%s (%s)%s", tostring(res.code), res.message, res.resent and " resent" or "")
    elseif res.kind == "none" then
        return "nil in the results"
    end
    return "bad result: " .. tostring(res.what)
end

-- Classifies the messages of one round: counts, and examples of problems.
local function join(round, rr, smsc, run)
    local n = {}
    for _, k in ipairs(KEYS) do n[k] = 0 end
    local examples = {}
    local function problem(kind, i, why)
        n[kind] = n[kind] + 1
        local list = examples[kind] or {}
        examples[kind] = list
        if #list < EXAMPLES then
            list[#list + 1] = format("%s: %s; the SMSC took it %d times%s", text_of(run, i), why,
                #(smsc[i] or {}), smsc[i] and smsc[i][1] and " (ids " .. concat(smsc[i], ",") .. ")" or "")
        end
    end
    for i = round.first, round.first + round.count - 1 do
        local list = rr.results[i]
        local took = smsc[i] and #smsc[i] or 0
        if not list then
            if round.status ~= "finished" and rr.begun[i] then
                problem("hung", i, "its call never returned")
            elseif round.status ~= "finished" then
                n.unstarted = n.unstarted + 1 -- never begun: the round was stopped before it
            else
                problem("lost", i, "no result")
            end
        elseif #list > 1 then
            problem("lost", i, format("%d results: %s / %s", #list, describe(list[1]), describe(list[2])))
        else
            local res = list[1]
            local resent_ok = false
            if res.kind == "ok" then
                n.accepted = n.accepted + 1
                if res.resent then
                    n.resent = n.resent + 1
                    resent_ok = true
                end
                if #res.ids == 0 then
                    problem("unknown", i, "accepted with no ids")
                elseif took == 0 then
                    problem("silent_phantom", i, "reported " .. describe(res))
                else
                    local known = {}
                    for _, id in ipairs(smsc[i]) do known[id] = true end
                    if #res.ids ~= 1 or not known[res.ids[1]] then
                        problem("silent_phantom", i, "reported " .. describe(res) .. ", ids the SMSC did not answer")
                    end
                end
            elseif res.kind == "fail" then
                local code = res.code
                resent_ok = res.resent -- said: it went twice, the SMSC may have it twice
                if type(code) == "number" and code > 0 and code % 1 == 0 then
                    n.refused = n.refused + 1
                    if took > 0 then problem("silent_certain", i, "reported refused: " .. describe(res)) end
                elseif code == "unsent" then
                    n.unsent = n.unsent + 1
                    if took > 0 then problem("silent_certain", i, "reported unsent: " .. describe(res)) end
                elseif UNCERTAIN[code] then
                    n.uncertain = n.uncertain + 1
                else
                    problem("unknown", i, "a code outside the contract: " .. describe(res))
                end
            else
                problem(res.kind == "none" and "lost" or "unknown", i, describe(res))
            end
            if took >= 2 and not resent_ok then
                problem("silent_dup", i, "reported " .. describe(res))
            end
        end
    end
    if rr.extra > 0 then n.lost = n.lost + rr.extra end
    return n, examples
end

local function usage(msg)
    io.stderr:write("soak: ", msg, "\nusage: lua5.4 spec/chaos/soak.lua [MESSAGES [SEED [SECONDS]]]",
        " [--rate N] [--quiet MIN-MAX] [--keep] [--verbose]\n")
    os.exit(2)
end

local function driver(args)
    local pos, rate, keep, verbose, quiet = {}, nil, false, false, "300-1500"
    local k = 1
    while k <= #args do
        local a = args[k]
        if a == "--rate" then
            rate = tonumber(args[k + 1]) or usage("--rate needs a number")
            k = k + 1
        elseif a == "--quiet" then
            quiet = tostring(args[k + 1]):match("^%d+%-%d+$") or usage("--quiet takes MIN-MAX (milliseconds)")
            k = k + 1
        elseif a == "--keep" then
            keep = true
        elseif a == "--verbose" then
            verbose = true
        elseif a:sub(1, 2) == "--" then
            usage("unknown option " .. a)
        else
            pos[#pos + 1] = tonumber(a) or usage("not a number: " .. a)
        end
        k = k + 1
    end
    local total = floor(pos[1] or 20000)
    local seed = floor(pos[2] or 1)
    local cap = pos[3] or max(60, ceil(total * 0.03))
    if total < #ROUNDS then usage("MESSAGES must be at least " .. #ROUNDS) end
    local setup = 4 -- seconds for starting and stopping node twice and the join
    local round_cap = floor((cap - setup) / #ROUNDS)
    if round_cap < 10 then usage("SECONDS is too small for four rounds") end
    local fault_window = floor(round_cap / 2)
    local per = floor(total / #ROUNDS)
    rate = rate or max(50, ceil(per / (round_cap * 0.3)))
    local life = ceil(cap) + 30 -- node goes away by itself even if this process dies

    local probe = io.open(INTEROP .. "/node_modules/smpp/package.json")
    if not probe or not os.execute("node --version >/dev/null 2>&1") then
        if probe then probe:close() end
        io.stderr:write("soak: needs node and node-smpp: `npm install --prefix spec/interop`\n")
        return 2
    end
    probe:close()
    local dir = io.popen("mktemp -d /tmp/lua-smpp-soak.XXXXXX"):read("l")
    assert(dir and dir ~= "", "soak: mktemp failed")
    local run = format("%d%c%d", seed, 116, os.time() % 100000) -- "<seed>t<time>": texts unique across runs
    local t_start = now_s()
    print(format("soak: run=%s messages=%d seed=%d seconds=%d round_seconds=%d fault_seconds=%d rate=%d dir=%s",
        run, total, seed, cap, round_cap, fault_window, rate, dir))
    io.stdout:flush()

    local smsc = start(format("env SMSC_RECORD=%s node %s %s 2>&1", q(dir .. "/record"),
        q(INTEROP .. "/smsc.js"), q(ACCOUNT .. ":" .. PASSWORD)), "listening on 127%.0%.0%.1:(%d+)", life)
    if not smsc.port then
        stop(smsc)
        io.stderr:write("soak: spec/interop/smsc.js did not start: ", smsc.first, "\n")
        return 2
    end
    local proxy_log = dir .. "/proxy.log"
    -- (its own --life: the pid is node's, for the signals that heal the
    -- network and resume the faults)
    local proxy = start(format("node %s 0 %d --seed %d --life %d --quiet %s --healed 2>%s",
        q(HERE .. "/proxy.js"), smsc.port, seed, life, quiet, q(proxy_log)), "listening on 127%.0%.0%.1:(%d+)")
    if not proxy.port then
        stop(proxy)
        stop(smsc)
        io.stderr:write("soak: spec/chaos/proxy.js did not start: ", proxy.first, "\n")
        return 2
    end

    local proxy_t0 = now_s()
    local rounds, first = {}, 1
    for r, spec in ipairs(ROUNDS) do
        local count = r < #ROUNDS and per or total - per * (#ROUNDS - 1)
        local round = { way = spec.way, resend = spec.resend, first = first, count = count,
            out = format("%s/round-%d.results", dir, r), log = format("%s/round-%d.log", dir, r) }
        first = first + count
        -- The faults run for the first half of the round, then the network
        -- heals: whatever the client holds must end in the time left. (The
        -- shell's `times`: the CPU the round used, a hung one spinning or asleep.)
        local cpu_file = format("%s/round-%d.cpu", dir, r)
        local cmd = format("kill -USR2 %d; (sleep %d; kill -USR1 %d) & w=$!;"
            .. " timeout -k 2 %d %s %s --round %s %s %d %d %d %s %d %s >%s 2>&1 </dev/null;"
            .. " rc=$?; kill $w 2>/dev/null; kill -USR1 %d; times >%s; exit $rc",
            proxy.pid, fault_window, proxy.pid, round_cap, q(LUA), q(HERE .. "/soak.lua"), spec.way,
            tostring(spec.resend), round.first, count, proxy.port, run, rate, q(round.out), q(round.log),
            proxy.pid, q(cpu_file))
        local t0 = now_s()
        local _, how, code = os.execute(cmd)
        local t1 = now_s()
        round.seconds, round.from, round["until"] = t1 - t0, t0 - proxy_t0, t1 - proxy_t0
        local cpu = read_lines(cpu_file)
        local um, us, sm, ss = (cpu[#cpu] or ""):match("^(%d+)m([%d.]+)s (%d+)m([%d.]+)s")
        round.cpu = um and tonumber(um) * 60 + tonumber(us) + tonumber(sm) * 60 + tonumber(ss) or 0
        if how == "exit" and code == 0 then
            round.status = "finished"
        elseif how == "exit" and (code == 124 or code == 137) then
            round.status = "HUNG"
        elseif how == "exit" and code == 2 then
            round.status = "NOCONNECT"
        else
            round.status = format("CRASHED(%s %s)", tostring(how), tostring(code))
        end
        rounds[r] = round
    end

    stop(proxy)
    local smsc_lines = stop(smsc)
    local proxy_lines = read_lines(proxy_log)
    local faults, proxy_counts = 0, ""
    for _, round in ipairs(rounds) do round.faults = {} end
    for _, line in ipairs(proxy_lines) do
        if line:match("^proxy: links=") then
            proxy_counts = line
        elseif line:match("^proxy: drop ") or line:match("^proxy: stall ") or line:match("^proxy: refuse ")
            or line:match("^proxy: cut %a+ %d") then
            faults = faults + 1
            local t = tonumber(line:match(" t=([%d.]+)s$"))
            for _, round in ipairs(rounds) do
                if t and t >= round.from and t <= round["until"] then
                    round.faults[#round.faults + 1] = line
                end
            end
        end
    end

    local by_i, strays, record_lines, truncated = read_record(dir .. "/record", run)
    local sum, failed = { messages = 0 }, false
    for _, key in ipairs(KEYS) do sum[key] = 0 end
    local finished = 0
    for _, round in ipairs(rounds) do
        local rr = read_round(round.out, round.seconds)
        if round.status == "HUNG" and rr.sent then round.status = "HUNG-IN-CLOSE" end
        local n, examples = join(round, rr, by_i, run)
        if round.status == "finished" then finished = finished + 1 else failed = true end
        local words = {}
        for _, key in ipairs(KEYS) do
            words[#words + 1] = key .. "=" .. n[key]
            sum[key] = sum[key] + n[key]
            if FAILING[key] and n[key] > 0 then failed = true end
        end
        sum.messages = sum.messages + round.count
        print(format("soak: way=%s resend=%s messages=%d status=%s seconds=%.1f cpu=%.1f faults=%d"
            .. " longest_call=%.1f %s", round.way, tostring(round.resend), round.count, round.status, round.seconds,
            round.cpu, #round.faults, rr.longest, concat(words, " ")))
        io.stdout:flush()
        if rr.connect_failed then
            io.stderr:write(format("soak:   %s resend=%s: could not connect: %s\n", round.way,
                tostring(round.resend), rr.connect_failed))
        end
        for _, key in ipairs(KEYS) do
            for _, ex in ipairs(examples[key] or {}) do
                io.stderr:write(format("soak:   %s resend=%s %s: %s\n", round.way, tostring(round.resend),
                    key, ex))
            end
        end
        if rr.stats then
            io.stderr:write(format("soak:   %s resend=%s client stats: %s\n", round.way, tostring(round.resend),
                rr.stats))
        end
        if round.status ~= "finished" then
            for _, line in ipairs(round.faults) do
                io.stderr:write(format("soak:   %s resend=%s fault: %s\n", round.way, tostring(round.resend), line))
            end
            for _, line in ipairs(read_lines(round.log)) do
                io.stderr:write("soak:   | ", line, "\n")
            end
        end
    end
    if #strays > 0 then failed = true end
    for s = 1, math.min(EXAMPLES, #strays) do
        io.stderr:write("soak:   stray at the SMSC: ", strays[s], "\n")
    end
    local words = {}
    for _, key in ipairs(KEYS) do words[#words + 1] = key .. "=" .. sum[key] end
    print(format("soak: total messages=%d rounds=%d finished=%d %s stray=%d smsc_accepted=%d smsc_truncated=%d"
        .. " faults=%d seconds=%.1f", sum.messages, #rounds, finished, concat(words, " "), #strays,
        record_lines - truncated, truncated, faults, now_s() - t_start))
    if proxy_counts ~= "" then print("soak: " .. proxy_counts) end
    for _, line in ipairs(smsc_lines) do
        if line:match("submits=") then print("soak: " .. line) end
    end
    if verbose then
        for _, line in ipairs(proxy_lines) do io.stderr:write(line, "\n") end
    end
    if keep or failed then
        print("soak: the record, the faults and the results are in " .. dir)
    end
    if not keep and not failed then os.execute("rm -rf " .. q(dir)) end
    return failed and 1 or 0
end

local args = { ... }
if args[1] == "--round" then
    os.exit(round_main(args[2], args[3] == "true", tonumber(args[4]), tonumber(args[5]), tonumber(args[6]),
        args[7], tonumber(args[8]), args[9]))
end
os.exit(driver(args))
