-- Sends one message and waits for its delivery receipt.
--   SMPP_HOST=... SMPP_PORT=... SMPP_SYSTEM_ID=... SMPP_PASSWORD=... lua5.4 examples/send.lua
-- (defaults: the simulator, bin/smpp-sim --account test:test, on 127.0.0.1:2775)
local smpp = require "smpp"

local client = assert(smpp.connect{
    host = os.getenv("SMPP_HOST") or "127.0.0.1",
    port = tonumber(os.getenv("SMPP_PORT") or "2775"),
    system_id = os.getenv("SMPP_SYSTEM_ID") or "test",
    password = os.getenv("SMPP_PASSWORD") or "test",
    bind = "transceiver",
})

local ids, err, status = client:send{
    from = "12345", to = "447700900123",
    text = "Your code is 4711. Price: 5€",   -- "auto" picks GSM 03.38 here (€ is in its extension table)
    receipt = true, ref = "order-4711",      -- ref comes back with the receipt
}
if not ids then
    print("refused:", err, status)
    os.exit(1)
end
print("message id", ids[1])

local receipt = client:wait("receipt", 30)
if receipt then
    print(receipt)                          -- receipt id=... stat=DELIVRD ...
    print("for", receipt.message and receipt.message.ref, "final:", smpp.receipt.final(receipt.stat))
else
    print("no receipt within 30 s")
end
client:close()
