-- Many senders at once: inside smpp.spawn, calls that would block yield.
--   lua5.4 examples/coroutines.lua
local smpp = require "smpp"

smpp.spawn(function()
    local client = assert(smpp.connect{
        host = os.getenv("SMPP_HOST") or "127.0.0.1",
        port = tonumber(os.getenv("SMPP_PORT") or "2775"),
        system_id = os.getenv("SMPP_SYSTEM_ID") or "test",
        password = os.getenv("SMPP_PASSWORD") or "test",
        window = 20,
    })
    local done, sent = 0, 0
    for i = 1, 50 do
        smpp.spawn(function()
            local ids = client:send{ from = "12345", to = "44770090" .. (1000 + i), text = "Hello #" .. i }
            if ids then sent = sent + 1 end
            done = done + 1
            if done == 50 then
                print(("%d of 50 sent from 50 coroutines"):format(sent))
                client:close()
            end
        end)
    end
end)
smpp.run()   -- returns when every coroutine has finished
