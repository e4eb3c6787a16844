-- The end-to-end demo (make demo): starts the simulator with TLS on
-- loopback, with a throwaway certificate made on the spot and trusted by the
-- client; sends an MT asking for a receipt; prints the message id, the
-- receipt and the MO the simulator sends back; stops everything.
local smpp = require "smpp"

local function sh_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
local function step(fmt, ...) io.stdout:write(("==> " .. fmt .. "\n"):format(...)) io.stdout:flush() end

-- 1. a throwaway certificate for localhost, good for a day
local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p " .. sh_quote(dir)))
local function cleanup() os.execute("rm -rf " .. sh_quote(dir)) end
local made = os.execute(("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
    .. "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout %s/key.pem -out %s/cert.pem 2>/dev/null")
    :format(sh_quote(dir), sh_quote(dir)))
if not made then
    cleanup()
    error("openssl could not make a certificate (is the openssl package installed?)")
end
step("made a throwaway certificate for localhost in %s", dir)

-- 2. the simulator, in a process of its own (the same interpreter and module paths)
local here = arg[0]:match("^(.*)/[^/]*$") or "."
local lua = arg[-1] or "lua5.4"
local cmd = ("LUA_PATH=%s LUA_CPATH=%s %s %s/../bin/smpp-sim --port 0 --tls-port 0 --cert %s/cert.pem "
    .. "--key %s/key.pem --account demo:demo --receipt-delay 300 --mo-echo 'echo ' </dev/null & echo \"pid $!\"")
    :format(sh_quote(package.path), sh_quote(package.cpath), sh_quote(lua), sh_quote(here), sh_quote(dir),
        sh_quote(dir))
local sim = assert(io.popen(cmd, "r"))
local pid = tonumber((sim:read("l") or ""):match("^pid (%d+)"))
local line = sim:read("l") or ""
local tls_port = tonumber(line:match("TLS on port (%d+)"))
local function stop()
    if pid then os.execute("kill -TERM " .. pid .. " 2>/dev/null") end
    for rest in sim:lines() do step("%s", rest) end
    sim:close()
    cleanup()
end
if not tls_port then
    stop()
    error("the simulator did not start: " .. line)
end
step("%s", line)

-- 3. the client: TLS, certificate and host name checked against our throwaway CA
local ok, failure = pcall(function()
    local client = assert(smpp.connect{ host = "localhost", port = tls_port,
        tls = { ca = dir .. "/cert.pem" }, system_id = "demo", password = "demo",
        bind = "transceiver", throttle = 10 })
    step("bound: %s", tostring(client))

    local ids = assert(client:send{ from = "12345", to = "447700900123",
        text = "echo Hello from lua-smpp €", receipt = true, ref = "demo-1" })
    step("submit_sm accepted, message id %s", ids[1])

    local receipt = assert(client:wait("receipt", 10))
    step("delivery receipt: %s", tostring(receipt))
    step("  matched to what we sent: ref=%s, final=%s", tostring(receipt.message and receipt.message.ref),
        tostring(smpp.receipt.final(receipt.stat)))

    local mo = assert(client:wait("message", 10))
    step("MO message: %s", tostring(mo))

    client:close()
    step("unbound and closed")
end)
stop()
if not ok then
    io.stderr:write("demo failed: ", tostring(failure), "\n")
    os.exit(1)
end
step("demo done")
