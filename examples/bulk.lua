-- Thousands of messages through the window, without coroutines.
--   lua5.4 examples/bulk.lua [COUNT]          (default 2000)
local smpp = require "smpp"

local client = assert(smpp.connect{
    host = os.getenv("SMPP_HOST") or "127.0.0.1",
    port = tonumber(os.getenv("SMPP_PORT") or "2775"),
    system_id = os.getenv("SMPP_SYSTEM_ID") or "test",
    password = os.getenv("SMPP_PASSWORD") or "test",
    window = 50,                                        -- requests in flight per bind
    throttle = tonumber(os.getenv("SMPP_THROTTLE") or "0"), -- the account's submits per second (0: none)
})

local count = tonumber(arg[1]) or 2000
local list = {}
for i = 1, count do
    list[i] = { from = "12345", to = ("4477009%05d"):format(i), text = "Bulk message " .. i }
end

local results = client:send_many(list)     -- results[i]: the ids, or { nil, err, status }
local ok, failed = 0, 0
for _, r in ipairs(results) do
    if type(r[1]) == "string" then ok = ok + 1 else failed = failed + 1 end
end
print(("%d sent, %d failed"):format(ok, failed))
print(client)
client:close()
os.exit(failed == 0 and 0 or 1)
