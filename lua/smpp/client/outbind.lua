--- smpp.client.outbind: the ESME's side of outbind (SMPP 3.4 2.2.1). The
-- ESME listens; the SMSC connects and sends outbind; the ESME binds as a
-- receiver on that connection. What results is a client like any other,
-- except that it does not reconnect: only the SMSC can call again.
-- @module smpp.client.outbind
local core = require "smpp.core"
local loop = require "smpp.loop"
local client = require "smpp.client"

local format, floor = string.format, math.floor
local error, pairs, type = error, pairs, type

local _M = {}

-- What listen takes besides the options of smpp.connect.
local OWN = { host = true, port = true, timeout = true, tls = true, outbind = true, transport = true }

-- Waits on a new connection for its outbind: the PDU, or nil, message, code.
local function read_outbind(T, stream, deadline)
    local link = T.link(stream, core.session{ role = "esme", enquire_link = 0 })
    while loop.now() < deadline do
        for _, ev in pairs(link:step(deadline)) do
            if ev.type == "request" and ev.pdu.command == "outbind" then return ev.pdu end
            if ev.type == "request" then
                return nil, format("the peer sent %s, not outbind", ev.pdu.command), "closed"
            elseif ev.type == "closed" then
                return nil, "the peer closed the connection before its outbind", "closed"
            elseif ev.type == "invalid" then
                return nil, "not SMPP: " .. (ev.message or "?"), "invalid"
            end
        end
    end
    return nil, "no outbind in time", "timeout"
end

--- Listens for an SMSC's outbind (SMPP 3.4 2.2.1) and binds as a receiver
-- on the connection it makes: smpp.listen. Returns when an SMSC has called
-- and the bind is made; a call that is not a good outbind is closed and the
-- wait goes on.
-- @tparam table opts the options: those of `smpp.connect` (`system_id`,
--   `password`, `on`, `charset`, ...: the bind that answers the outbind), and
-- @tparam[opt="127.0.0.1"] string opts.host the address to listen on
-- @tparam number opts.port the port to listen on (0: any free one)
-- @tparam[opt] number opts.timeout seconds to wait for the call; default for ever
-- @tparam[opt] table opts.tls TLS for the SMSC's connection, this side's
--   `{ cert = ..., key = ... }` (and `ca`, `verify` for the SMSC's certificate)
-- @tparam[opt] table opts.outbind what the SMSC's outbind must carry:
--   `{ system_id = ..., password = ... }` (either may be left out: any)
-- @treturn[1] smpp.client.Client a client bound as a receiver
-- @return[2] nil
-- @treturn[2] string message
-- @treturn[2] string|number code: "timeout" (no good call in time), "net"
--   (the port cannot be listened on), "tls", or the bind's command_status
-- @raise on a bad or unknown option
-- @usage local rx = assert(smpp.listen{ port = 2776, system_id = "acct", password = "secret",
--     on = { receipt = function(r) print(r) end } })
-- rx:run()
function _M.listen(opts)
    if type(opts) ~= "table" then error("smpp.listen: options must be a table", 2) end
    if type(opts.port) ~= "number" then error("smpp.listen: port must be a number", 2) end
    local expect = opts.outbind or {}
    if type(expect) ~= "table" then error("smpp.listen: outbind must be a table", 2) end
    local connect_opts = { bind = "receiver", reconnect = false }
    for k, v in pairs(opts) do
        if not OWN[k] then connect_opts[k] = v end
    end
    if connect_opts.bind ~= "receiver" then error("smpp.listen: an outbind is answered by a receiver bind", 2) end
    local T = opts.transport or require "smpp.transport.posix"
    local listener, err, code = T.listen(opts.host or "127.0.0.1", opts.port)
    if not listener then return nil, err, code end
    -- the client names its link by the address the SMSC called
    connect_opts.host, connect_opts.port = opts.host or "127.0.0.1", listener:port()
    local deadline = opts.timeout and loop.now() + floor(opts.timeout * 1000)
    while true do
        local stream
        stream, err, code = T.accept_tls(listener, opts.tls, deadline)
        if not stream then
            if code ~= "tls" then
                listener:close()
                return nil, code == "timeout" and "no SMSC called in time" or err, code
            end
        else
            local p
            p, err = read_outbind(T, stream, deadline or loop.now() + 30000)
            if p and (expect.system_id and p.system_id ~= expect.system_id
                or expect.password and p.password ~= expect.password) then
                p, err = nil, format("outbind from %q refused: not the system_id and password expected", p.system_id)
            end
            if p then
                listener:close()
                -- the bind goes over this connection: the client's one connect
                local once = stream
                connect_opts.transport = setmetatable({ connect = function()
                    local s = once
                    once = nil
                    if s then return s end
                    return nil, "an outbind connection cannot be made again: the SMSC calls", "closed"
                end }, { __index = T })
                return client.connect(connect_opts)
            end
            stream:close()
        end
        if type(opts.logger) == "function" then opts.logger("warn", "outbind: " .. err) end
    end
end

return _M
