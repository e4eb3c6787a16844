-- Our client as a load generator for bench/client_bench.sh.
--
--   lua5.4 bench/client_load.lua PORT COUNT WINDOW [receipts] [tls CA_FILE] [way WAY] [track STORE]
--
-- binds as transceiver test/test to 127.0.0.1:PORT (with TLS: to localhost,
-- the certificate checked against CA_FILE), sends COUNT submit_sm of 13
-- octets with WINDOW outstanding, one WAY: "many" (client:send_many, the
-- default), "spawn" (WINDOW smpp.spawn coroutines calling client:send) or
-- "loop" (a top-level loop of client:send: one at a time); with "receipts"
-- every message asks for a receipt and the run ends when all have come
-- (each matched to its message); STORE is the tracker's: memory (the
-- default), sqlite:PATH or redis:PORT.
-- Prints one line:
--   client count=N ok=N receipts=N elapsed_ms=X msgs_per_s=R cpu_us_per_msg=C
-- and with "loop", the times from client:send to its return (microseconds):
--   rtt_us_p50=X rtt_us_p99=Y
-- elapsed from the first submit to the last response (or receipt); CPU is
-- this process's (os.clock) over the same span. Exits 1 on any failure.
local smpp = require "smpp"
local loop = require "smpp.loop"
local now_us = require("smpp.core").now_us

local port, count, window = tonumber(arg[1]), tonumber(arg[2] or 50000), tonumber(arg[3] or 100)
local receipts, ca, way, track = false, nil, "many", nil
local i = 4
while arg[i] do
    if arg[i] == "receipts" then receipts = true
    elseif arg[i] == "tls" then ca = arg[i + 1]; i = i + 1
    elseif arg[i] == "way" then way = arg[i + 1]; i = i + 1
    elseif arg[i] == "track" then
        local kind, where = arg[i + 1]:match("^(%a+):?(.*)$")
        if kind == "sqlite" then track = { sqlite = where }
        elseif kind == "redis" then track = { redis = { port = tonumber(where) } }
        end
        i = i + 1
    end
    i = i + 1
end
if not port then
    io.stderr:write("usage: client_load.lua PORT COUNT WINDOW [receipts] [tls CA_FILE]\n")
    os.exit(2)
end

local client, err = smpp.connect{ host = ca and "localhost" or "127.0.0.1", port = port,
    tls = ca and { ca = ca } or nil, system_id = "test", password = "test", window = window,
    response_timeout = 60, track = track }
if not client then
    io.stderr:write("client_load: ", err, "\n")
    os.exit(1)
end
local got = 0
-- a receipt counts when it was matched to the message it reports on
if receipts then client:on("receipt", function(r) if r.message then got = got + 1 end end) end

local list = {}
for k = 1, count do
    list[k] = { from = "12345", to = "4915112345678", text = "Hello, bench!", receipt = receipts or nil }
end
local t0, c0 = loop.now(), os.clock()
local results, rtt
if way == "many" then
    results = client:send_many(list)
elseif way == "spawn" then
    results = {}
    for w = 1, window do
        smpp.spawn(function()
            for k = w, count, window do
                local ids, serr, code = client:send(list[k])
                results[k] = ids or { nil, serr, code }
            end
        end)
    end
    smpp.run()
elseif way == "loop" then
    results, rtt = {}, {}
    for k = 1, count do
        local t = now_us()
        local ids, serr, code = client:send(list[k])
        rtt[k] = now_us() - t
        results[k] = ids or { nil, serr, code }
    end
else
    io.stderr:write("client_load: unknown way ", tostring(way), " (many, spawn, loop)\n")
    os.exit(2)
end
if receipts then
    client:run(0) -- take what is there
    local deadline = loop.now() + 60000
    while got < count and loop.now() < deadline do client:run(0.05) end
end
local ms, cpu = loop.now() - t0, os.clock() - c0
local ok = 0
for _, r in ipairs(results) do
    if type(r[1]) == "string" then ok = ok + 1 end
end
client:close()
local latency = ""
if rtt then
    table.sort(rtt)
    latency = (" rtt_us_p50=%d rtt_us_p99=%d"):format(rtt[count // 2 + 1], rtt[math.floor(count * 0.99) + 1])
end
print(("client count=%d ok=%d receipts=%d elapsed_ms=%.1f msgs_per_s=%d cpu_us_per_msg=%.2f%s"):format(
    count, ok, got, ms, math.floor(count / (ms / 1000)), cpu * 1e6 / count, latency))
os.exit(ok == count and (not receipts or got == count) and 0 or 1)
