-- Receipts and MOs of examples/openresty/nginx.conf: called in the worker
-- holding the bind, before the deliver_sm is answered (raising here makes
-- the SMSC deliver it again). Kept in a shared dict for GET /receipts.
local _M = {}

function _M.handle(event)
    local dict = ngx.shared.smpp_receipts
    if event.stat then -- a delivery receipt; event.message is what was sent
        local ref = event.message and event.message.ref
        ngx.log(ngx.INFO, "receipt ", event.id, " ", event.stat, " ref ", tostring(ref))
        if ref and dict:add("ref:" .. ref, event.stat) then dict:incr("refs", 1, 0) end
    else -- an MO message
        ngx.log(ngx.INFO, "message from ", event.from, " to ", event.to, ": ", event.text or "")
        dict:incr("mos", 1, 0)
    end
end

return _M
