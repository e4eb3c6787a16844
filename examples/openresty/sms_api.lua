-- The HTTP side of examples/openresty/nginx.conf: any worker sends through
-- smpp.ngx, whichever worker holds the binds. Bad input is answered 4xx
-- with {"error": "..."}, never a 500.
local smpp_ngx = require "smpp.ngx"
local json = require "dkjson" -- pure Lua (Debian's lua-dkjson); OpenResty's cjson.safe does as well

local _M = {}

local ENCODINGS = { auto = true, gsm7 = true, latin1 = true, ucs2 = true }

local function reply(status, body)
    ngx.status = status
    ngx.header["Content-Type"] = "application/json"
    ngx.say(json.encode(body))
end

local function fail(status, message) return reply(status, { error = message }) end

local function method_is(allowed)
    if ngx.req.get_method() == allowed then return true end
    ngx.header["Allow"] = allowed
    fail(405, "use " .. allowed)
end

-- The message of a POST: a JSON object, or form fields.
local function read_message()
    ngx.req.read_body()
    local ctype = ngx.var.content_type or ""
    local body = ngx.req.get_body_data() or ""
    -- JSON by its type, or by its look: curl -d '{...}' labels it a form
    if ctype:find("^application/json") or body:find("^%s*{") then
        local m, _, err = json.decode(body)
        if type(m) ~= "table" then return nil, "the body is not a JSON object" .. (err and ": " .. err or "") end
        return m
    elseif ctype:find("^application/x%-www%-form%-urlencoded") then
        local m, err = ngx.req.get_post_args()
        if not m then return nil, "unreadable form: " .. err end
        m.receipt = m.receipt == "1" or m.receipt == "true"
        m.timeout = tonumber(m.timeout) or m.timeout
        return m
    end
    return nil, "send JSON (Content-Type: application/json) or form fields", 415
end

-- What is wrong with the message, if anything.
local function problem(m)
    if type(m.to) ~= "string" or m.to == "" then return "to must be a non-empty string (the destination)" end
    if type(m.text) ~= "string" or m.text == "" then return "text must be a non-empty string" end
    if m.from ~= nil and type(m.from) ~= "string" then return "from must be a string" end
    if m.ref ~= nil and type(m.ref) ~= "string" then return "ref must be a string" end
    if m.receipt ~= nil and type(m.receipt) ~= "boolean" then return "receipt must be true or false" end
    if m.encoding ~= nil and not ENCODINGS[m.encoding] then
        return "encoding must be auto, gsm7, latin1 or ucs2"
    end
    if m.timeout ~= nil and (type(m.timeout) ~= "number" or m.timeout <= 0) then
        return "timeout must be a positive number of seconds"
    end
end

--- POST /sms: { to, text, from, receipt, ref, encoding, timeout } as JSON
--- or form fields (receipt=1) -> {"ids": [...]}
function _M.post()
    if not method_is("POST") then return end
    local m, err, status = read_message()
    if not m then return fail(status or 400, err) end
    err = problem(m)
    if err then return fail(400, err) end
    local ids, code
    ids, err, code = smpp_ngx.send{ to = m.to, text = m.text, from = m.from, receipt = m.receipt,
        ref = m.ref, encoding = m.encoding, timeout = m.timeout or 10 }
    if ids then
        local list = {} -- (ids also says ids.resent when the message went twice)
        for i, id in ipairs(ids) do list[i] = id end
        return reply(200, { ids = list, resent = ids.resent })
    end
    -- "text": not writable in the encoding asked; "argument": a field the codec refused
    status = (code == "text" or code == "argument") and 400 or code == "timeout" and 504 or 502
    reply(status, { error = err, code = code })
end

--- GET /stats
function _M.stats()
    if not method_is("GET") then return end
    local s = smpp_ngx.stats()
    s.receipt_refs = ngx.shared.smpp_receipts:get("refs") or 0
    reply(200, s)
end

--- GET /metrics: the account's metrics for Prometheus
function _M.metrics()
    if not method_is("GET") then return end
    ngx.header["Content-Type"] = "text/plain; version=0.0.4"
    ngx.print(smpp_ngx.metrics())
end

--- GET /receipts?ref=R -> {"ref": R, "stat": "DELIVRD"}
function _M.receipt()
    if not method_is("GET") then return end
    local ref = ngx.req.get_uri_args().ref
    if type(ref) ~= "string" or ref == "" then return fail(400, "ref must be the ref the message was sent with") end
    local stat = ngx.shared.smpp_receipts:get("ref:" .. ref)
    if not stat then return fail(404, "no receipt for this ref") end
    reply(200, { ref = ref, stat = stat })
end

return _M
