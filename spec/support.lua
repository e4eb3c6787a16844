-- Helpers shared by the specs, written to run on Lua 5.4 and LuaJIT alike.
local _M = {}

--- The big-endian 4-octet encodings of the given integers, concatenated
--- (string.pack(">I4...") without needing Lua 5.3).
function _M.u32(...)
    local out = {}
    for i = 1, select("#", ...) do
        local n = select(i, ...)
        out[i] = string.char(math.floor(n / 16777216) % 256, math.floor(n / 65536) % 256,
            math.floor(n / 256) % 256, n % 256)
    end
    return table.concat(out)
end

return _M
