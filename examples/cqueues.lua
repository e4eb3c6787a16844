-- Inside a cqueues controller: every call that would block yields to
-- cqueues, so the client shares one thread with your other cqueues work.
--   lua5.4 examples/cqueues.lua [COUNT]      (default 5; SMPP_HOST... as in send.lua)
local cqueues = require "cqueues"
local smpp = require "smpp"

local count = tonumber(arg[1]) or 5
local cq = cqueues.new()
local sent, receipts = 0, 0

cq:wrap(function()
    local client = assert(smpp.connect{
        host = os.getenv("SMPP_HOST") or "127.0.0.1",
        port = tonumber(os.getenv("SMPP_PORT") or "2775"),
        system_id = os.getenv("SMPP_SYSTEM_ID") or "test",
        password = os.getenv("SMPP_PASSWORD") or "test",
    })
    -- each message from a cqueues coroutine of its own: they share the window
    for i = 1, count do
        cq:wrap(function()
            local ids, err = client:send{ from = "12345", to = "44770090" .. (1000 + i),
                text = "Hello #" .. i, receipt = true, ref = "cq-" .. i }
            if ids then sent = sent + 1 end
            print(("cq-%d: %s"):format(i, ids and "message id " .. ids[1] or "failed: " .. err))
        end)
    end
    -- meanwhile this one waits for the receipts, whichever comes first
    for _ = 1, count do
        local r = client:wait("receipt", 30)
        if not r then break end
        receipts = receipts + 1
        print(("receipt for %s: %s"):format(r.message and r.message.ref or r.id, r.stat))
    end
    client:close()
end)

assert(cq:loop())   -- until every coroutine of the controller is done
print(("%d sent, %d receipts"):format(sent, receipts))
os.exit(sent == count and receipts == count and 0 or 1)
