-- An LDoc filter (`ldoc --filter ldoc_items.dump .`, with doc-src/ on
-- LUA_PATH): prints what LDoc found in the sources as a Lua table, for
-- spec/doc_spec.lua to compare with what the modules export. Runs in
-- LDoc's own Lua (5.1).
local format = string.format

local _M = {}

local function q(v)
    return format("%q", tostring(v))
end

-- One item: kind, name, summary, its parameters (subparameters as
-- "opts.host") with their defaults, and how many return values it names.
local function item_source(item)
    local out = { "{ kind = ", q(item.type), ", name = ", q(item.name), ", summary = ", q(item.summary or ""),
        ", params = {" }
    local names = item.params and item.params.map or {}
    for name, text in pairs(names) do
        local default = item.default_of_param and item:default_of_param(name)
        out[#out + 1] = format(" [%s] = { text = %s%s },", q(name), q(text or ""),
            default ~= nil and (", default = " .. q(default)) or "")
    end
    out[#out + 1] = " }, returns = " .. tostring(item.ret and #item.ret or 0) .. " }"
    return table.concat(out)
end

function _M.dump(module_list)
    local out = { "return {" }
    for mod in module_list:iter() do
        out[#out + 1] = format("{ name = %s, kind = %s, file = %s, items = {", q(mod.name), q(mod.type),
            q(mod.file))
        for item in mod.items:iter() do
            out[#out + 1] = "  " .. item_source(item) .. ","
        end
        out[#out + 1] = "} },"
    end
    out[#out + 1] = "}"
    io.write(table.concat(out, "\n"), "\n")
end

return _M
