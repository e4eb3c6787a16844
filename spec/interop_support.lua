-- Helpers shared by the interop specs (interop_codec_spec.lua,
-- interop_text_spec.lua, interop_sim_spec.lua): spec/interop and its node
-- process, hex, and the JSON spoken with codec.js and esme.js. Runs on Lua
-- 5.4 and LuaJIT alike.
local format, concat = string.format, table.concat

local _M = {}

-- ---- spec/interop and the node process -------------------------------------

local here = debug.getinfo(1, "S").source:match("^@(.*)[/\\]") or "."
local INTEROP = here .. "/interop"
local INSTALL = "run `npm install --prefix spec/interop` (needs npm and the npm registry)"

--- The spec directory, and spec/interop (node-smpp's package and scripts).
_M.here = here
_M.INTEROP = INTEROP

--- s quoted as one word for the shell.
local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

--- Whether a file can be opened.
local function exists(path)
    local f = io.open(path)
    if f then f:close() end
    return f ~= nil
end

--- Whether os.execute's results say the command exited 0 (Lua 5.1 and 5.2+).
local function succeeded(ok, _, code)
    if type(ok) == "number" then return ok == 0 end
    return ok == true and (code == nil or code == 0)
end

local ready, missing -- node-smpp found / why not (asked once)

--- Raises (a message saying what to install) unless node is on PATH and
--- node-smpp is in spec/interop/node_modules; tries `npm install` once.
local function need_node()
    if ready then return end
    if not missing and not succeeded(os.execute("node --version >/dev/null 2>&1")) then
        missing = "interop: `node` is not on PATH; install Node.js, then " .. INSTALL
    end
    if not missing and not exists(INTEROP .. "/node_modules/smpp/package.json") then
        -- One attempt to install the pinned node-smpp (spec/interop/package.json).
        os.execute("npm install --prefix " .. q(INTEROP) ..
            " --no-audit --no-fund --loglevel=error >/dev/null 2>&1")
        if not exists(INTEROP .. "/node_modules/smpp/package.json") then
            missing = "interop: node-smpp is not installed in spec/interop/node_modules; " .. INSTALL
        end
    end
    if missing then error(missing, 0) end
    ready = true
end

-- ---- hex ---------------------------------------------------------------------

--- The octets of s as lower-case hex.
local function hex(s)
    return (s:gsub(".", function(c) return format("%02x", c:byte()) end))
end

--- The octets a hex string stands for.
local function unhex(h)
    return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end))
end

-- ---- JSON --------------------------------------------------------------------

--- A JSON reader for the scripts' answers (objects, arrays, strings, numbers).
--- from names the script in error messages (default "codec.js"); a \u escape
--- below limit (default 256) becomes that octet, any other one "?".
local function json_decode(s, from, limit)
    from, limit = from or "codec.js", limit or 256
    local pos = 1
    local function fail(what)
        error(format("interop: bad JSON from %s (%s at %d): %s", from, what, pos, s), 0)
    end
    local function skip() pos = s:find("[^ \t\r\n]", pos) or #s + 1 end
    local value
    local escapes = { b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }
    local function str()
        local out = {}
        pos = pos + 1
        while true do
            local j = s:find('["\\]', pos)
            if not j then fail("unterminated string") end
            out[#out + 1] = s:sub(pos, j - 1)
            if s:sub(j, j) == '"' then
                pos = j + 1
                return concat(out)
            end
            local e = s:sub(j + 1, j + 1)
            if e == "u" then
                local cp = tonumber(s:sub(j + 2, j + 5), 16) or fail("bad \\u escape")
                out[#out + 1] = cp < limit and string.char(cp) or "?"
                pos = j + 6
            else
                out[#out + 1] = escapes[e] or e
                pos = j + 2
            end
        end
    end
    local function list(close, item)
        pos = pos + 1
        skip()
        if s:sub(pos, pos) == close then pos = pos + 1; return end
        while true do
            item()
            skip()
            local c = s:sub(pos, pos)
            pos = pos + 1
            if c == close then return end
            if c ~= "," then fail("expected , or " .. close) end
        end
    end
    function value()
        skip()
        local c = s:sub(pos, pos)
        if c == "{" then
            local t = {}
            list("}", function()
                skip()
                if s:sub(pos, pos) ~= '"' then fail("expected a key") end
                local k = str()
                skip()
                if s:sub(pos, pos) ~= ":" then fail("expected :") end
                pos = pos + 1
                t[k] = value()
            end)
            return t
        elseif c == "[" then
            local t = {}
            list("]", function() t[#t + 1] = value() end)
            return t
        elseif c == '"' then
            return str()
        end
        for _, lit in ipairs({ "true", "false", "null" }) do
            if s:sub(pos, pos + #lit - 1) == lit then
                pos = pos + #lit
                if lit == "null" then return nil end
                return lit == "true"
            end
        end
        local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
        if not num then fail("unexpected character") end
        pos = pos + #num
        return tonumber(num)
    end
    local v = value()
    skip()
    if pos <= #s then fail("trailing characters") end
    return v
end

--- JSON for the scripts: strings (as their octets, control characters, '"'
--- and '\' escaped), integers, booleans, arrays (tables with [1]) and objects.
--- The keys of the outer object are sorted by key_order if given (a
--- table.sort comparator: codec.js's TLV order), else as table.sort does;
--- the keys of nested objects always the latter way.
local function json_encode(v, key_order)
    local t = type(v)
    if t == "string" then
        return '"' .. v:gsub('[%c"\\]', function(c) return format("\\u%04x", c:byte()) end) .. '"'
    elseif t == "number" then
        return format("%d", v)
    elseif t == "boolean" then
        return tostring(v)
    end
    local parts = {}
    if v[1] ~= nil then
        for i, e in ipairs(v) do parts[i] = json_encode(e) end
        return "[" .. concat(parts, ",") .. "]"
    end
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    table.sort(keys, key_order)
    for i, k in ipairs(keys) do parts[i] = json_encode(k) .. ":" .. json_encode(v[k]) end
    return "{" .. concat(parts, ",") .. "}"
end

_M.q = q
_M.exists = exists
_M.succeeded = succeeded
_M.need_node = need_node
_M.hex = hex
_M.unhex = unhex
_M.json_decode = json_decode
_M.json_encode = json_encode

return _M
