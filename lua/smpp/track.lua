--- smpp.track: what was sent, found again by the message id a delivery
-- receipt names. The id is stored under its canonical form and looked up
-- under every form the same id may come back in (hex or decimal, leading
-- zeros, case: the one rule of smpp.receipt.id_keys, in C). The memory
-- store keeps the newest `max` messages (default 100 000).
-- @module smpp.track
local receipt = require "smpp.receipt"

local ipairs, setmetatable = ipairs, setmetatable
local id_keys = receipt.id_keys

local _M = {}

local Memory = {}
Memory.__index = Memory

--- A tracker in this process' memory.
-- @tparam[opt] table opts
-- @tparam[opt=100000] number opts.max the newest messages kept
-- @treturn Memory the tracker
function _M.memory(opts)
    return setmetatable({ max = opts and opts.max or 100000, by_key = {}, order = {}, first = 1, n = 0 }, Memory)
end

--- A tracker made by `memory`.
-- @type Memory

--- Keeps what was sent under its message id.
-- @tparam string id the message id
-- @param record what was sent
function Memory:put(id, record)
    local key = id_keys(id)[1]
    local n = self.n + 1
    self.n, self.order[n], self.by_key[key] = n, key, record
    if n - self.first >= self.max then
        local first = self.first
        self.by_key[self.order[first]] = nil
        self.order[first] = nil
        self.first = first + 1
    end
end

--- What was sent as a message id, in any of the forms of `smpp.receipt.id_keys`.
-- @tparam[opt] string id the message id (nil: nil)
-- @return the record, or nil
function Memory:find(id)
    if not id then return nil end
    local by_key = self.by_key
    for _, key in ipairs(id_keys(id)) do
        local record = by_key[key]
        if record then return record end
    end
end

return _M
