-- The HTTP side of examples/openresty/nginx.conf: any worker sends through
-- smpp.ngx, whichever worker holds the binds.
local smpp_ngx = require "smpp.ngx"

local _M = {}

local function json_string(s)
    return '"' .. tostring(s):gsub('[%c"\\]', function(ch)
        return string.format("\\u%04x", ch:byte())
    end) .. '"'
end

local function reply(status, body)
    ngx.status = status
    ngx.header["Content-Type"] = "application/json"
    ngx.say(body)
end

--- POST /sms: to, text, from, receipt=1, ref, timeout (form fields) -> {"ids": [...]}
function _M.post()
    ngx.req.read_body()
    local args = ngx.req.get_post_args()
    if type(args.to) ~= "string" or type(args.text) ~= "string" then
        return reply(400, '{"error":"to and text are required"}')
    end
    local ids, err, code = smpp_ngx.send{ to = args.to, text = args.text, from = args.from,
        receipt = args.receipt == "1", ref = args.ref, timeout = tonumber(args.timeout) or 10 }
    if not ids then
        return reply(code == "timeout" and 504 or 502,
            string.format('{"error":%s,"code":%s}', json_string(err), json_string(code)))
    end
    local quoted = {}
    for i, id in ipairs(ids) do quoted[i] = json_string(id) end
    reply(200, '{"ids":[' .. table.concat(quoted, ",") .. ']}')
end

--- GET /stats
function _M.stats()
    local s = smpp_ngx.stats()
    local slots = {}
    for k, pid in ipairs(s.slots) do slots[k] = pid and tostring(pid) or "null" end
    reply(200, string.format('{"queued":%d,"sent":%d,"failed":%d,"receipts":%d,"messages":%d,'
        .. '"receipt_refs":%d,"bound":%d,"slots":[%s]}', s.queued, s.sent, s.failed, s.receipts, s.messages,
        ngx.shared.smpp_receipts:get("refs") or 0, s.bound, table.concat(slots, ",")))
end

--- GET /receipts?ref=R -> {"ref": R, "stat": "DELIVRD"}
function _M.receipt()
    local ref = ngx.var.arg_ref
    local stat = ref and ngx.shared.smpp_receipts:get("ref:" .. ref)
    if not stat then return reply(404, '{"error":"no receipt for this ref"}') end
    reply(200, string.format('{"ref":%s,"stat":%s}', json_string(ref), json_string(stat)))
end

return _M
