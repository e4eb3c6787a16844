-- A receiver bind: prints MO messages and delivery receipts as they come.
--   lua5.4 examples/receive.lua [SECONDS]     (default: until Ctrl-C)
local smpp = require "smpp"

local client = assert(smpp.connect{
    host = os.getenv("SMPP_HOST") or "127.0.0.1",
    port = tonumber(os.getenv("SMPP_PORT") or "2775"),
    system_id = os.getenv("SMPP_SYSTEM_ID") or "test",
    password = os.getenv("SMPP_PASSWORD") or "test",
    bind = "receiver",
})

client:on("message", function(msg)
    -- msg.text is UTF-8 whatever the alphabet; long messages arrive joined
    print(("MO from %s to %s: %s"):format(msg.from, msg.to, msg.text))
end)
client:on("receipt", function(r)
    print(("receipt for %s: %s"):format(r.id, r.stat))
end)
-- a handler that raises makes the SMSC deliver again later (ESME_RX_T_APPN)

local seconds = tonumber(arg[1])
client:run(seconds)   -- nil: until the client is closed
print(("%d messages, %d receipts"):format(client:stats().messages, client:stats().receipts))
client:close()
