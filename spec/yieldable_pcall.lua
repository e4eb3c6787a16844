-- Busted helper for PUC Lua 5.1, whose pcall and xpcall cannot be yielded
-- across: the specs' pcall and xpcall become smpp.loop.pcall, as an
-- application on 5.1 that waits inside pcall would use it.
local loop = require "smpp.loop"
if loop.pcall ~= pcall then
    local unpack = table.unpack or unpack -- luacheck: ignore
    _G.pcall = loop.pcall
    _G.xpcall = function(fn, handler, ...)
        local r = { loop.pcall(fn, ...) }
        if r[1] then return unpack(r, 1, table.maxn(r)) end
        return false, handler(r[2])
    end
end
