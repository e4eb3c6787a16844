-- Messages per second through HTTP into examples/openresty (nginx, 2
-- workers, smpp.ngx) against bin/smpp-sim over TLS with no throttle.
--
--   lua5.4 bench/ngx_bench.lua [COUNT [CONCURRENCY]]   (defaults 3000, 50)
--   (LUA_PATH with lua/ and spec/, LUA_CPATH with the Lua 5.4 build;
--    build/luajit/smpp/core.so for nginx: make luajit-module)
--
-- Baseline in the same run: GET /stats, an HTTP request to the same nginx
-- that reads the shared dict and sends nothing. Prints
--   bench ngx http_stats reqs_per_s=N
--   bench ngx http_sms msgs_per_s=N
--   ratio ngx sms/stats=R
-- Exit status 1 when a request failed or the simulator did not count every
-- message exactly once.
local support = require "support"
local loop = require "smpp.loop"

local COUNT = tonumber(arg[1]) or 3000
local CONCURRENCY = tonumber(arg[2]) or 50

local certs = support.certificates()
local sim = support.start_sim(("--tls-port 0 --cert %s/server.pem --key %s/server.key --throttle 0 "
    .. "--max-binds 2 --account test:test"):format(certs, certs))
local nginx = support.start_nginx{ CA = certs .. "/ca.pem", SMSC_HOST = "127.0.0.1", SMSC_PORT = sim.tls_port,
    SMSC_NAME = "localhost", SYSTEM_ID = "test", PASSWORD = "test", THROTTLE = 0 }

local function finish(code, why)
    support.stop_nginx(nginx)
    local _, counts = support.stop_sim(sim)
    os.execute("rm -rf '" .. certs .. "' '" .. nginx.prefix .. "'")
    if why then io.stderr:write("bench/ngx_bench.lua: ", why, "\n") end
    return code, counts
end

if not support.eventually(15, function()
    local s = support.nginx_stats(nginx.port)
    return s and s.bound == 2
end) then
    os.exit(finish(1, "the binds did not come up"))
end

-- COUNT requests, CONCURRENCY at a time; the rate, or nil and the first failure.
local function load(method, path, body_of)
    local failure, next_i = nil, 1
    local t0 = loop.now()
    for _ = 1, CONCURRENCY do
        loop.spawn(function()
            while next_i <= COUNT and not failure do
                local i = next_i
                next_i = next_i + 1
                local status, body = support.http(nginx.port, method, path, body_of and body_of(i), 30)
                if status ~= 200 then
                    failure = ("%s %s #%d: %s %s"):format(method, path, i, tostring(status), body)
                end
            end
        end)
    end
    loop.run()
    if failure then return nil, failure end
    return COUNT / ((loop.now() - t0) / 1000)
end

local stats_rate, err = load("GET", "/stats")
if not stats_rate then os.exit(finish(1, err)) end
local sms_rate
sms_rate, err = load("POST", "/sms", function(i)
    return ("to=49151%06d&from=12345&text=Hello%%2C+bench%%21"):format(i)
end)
if not sms_rate then os.exit(finish(1, err)) end
local _, counts = finish(0)
print(("# %d requests each, %d at a time, 2 nginx workers, TLS to bin/smpp-sim"):format(COUNT, CONCURRENCY))
print(("bench ngx http_stats reqs_per_s=%d"):format(math.floor(stats_rate)))
print(("bench ngx http_sms msgs_per_s=%d"):format(math.floor(sms_rate)))
print(("ratio ngx sms/stats=%.3f"):format(sms_rate / stats_rate))
if not counts or counts.submits ~= COUNT then
    io.stderr:write("bench/ngx_bench.lua: the simulator counted ", tostring(counts and counts.submits),
        " submits, not ", COUNT, "\n")
    os.exit(1)
end
