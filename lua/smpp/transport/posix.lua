-- smpp.transport.posix: the built-in transport. Nonblocking TCP sockets of
-- the C core, waited on through smpp.loop, and a link that moves a session's
-- bytes over one: the engine decides, this file only carries octets.
local core = require "smpp.core"
local loop = require "smpp.loop"

local format = string.format
local ipairs, setmetatable = ipairs, setmetatable

local _M = {}

--- Connects to host:port (the name is resolved on every call); waits at most
--- opts.timeout seconds (default 10). Returns a socket or nil, message, code.
function _M.connect(host, port, opts)
    local timeout = opts and opts.timeout or 10
    local sock, err, code = core.tcp_connect(host, port)
    if not sock then
        return nil, err, code
    end
    local deadline = loop.now() + math.floor(timeout * 1000)
    while true do
        local done, serr, scode = sock:connect_step()
        if done then
            return sock
        elseif done == nil then
            return nil, serr, scode
        end
        if loop.wait(sock, "w", deadline) == "timeout" then
            loop.forget(sock)
            sock:close()
            return nil, format("connect to %s:%d: timed out after %g s", host, port, timeout), "timeout"
        end
    end
end

--- A listening socket on host:port (port 0: any free port; sock:port() tells).
function _M.listen(host, port, backlog)
    return core.tcp_listen(host, port, backlog)
end

--- Waits for the next connection on a listening socket, until deadline.
function _M.accept(listener, deadline)
    while true do
        local sock, err, code = listener:accept()
        if sock then
            return sock
        elseif sock == nil then
            return nil, err, code
        end
        if loop.wait(listener, "r", deadline) == "timeout" then
            return nil, "accept: timed out", "timeout"
        end
    end
end

local Link = {}
Link.__index = Link

--- A link: session (smpp.core.session) carried over sock.
function _M.link(sock, session)
    return setmetatable({ sock = sock, session = session }, Link)
end

--- Writes out what the session has to send, waiting while the socket is
--- full, until deadline. Returns true, or nil, message, code.
function Link:flush(deadline)
    local session, sock = self.session, self.sock
    while true do
        local out = session:output()
        if #out == 0 then
            return true
        end
        local n, err, code = sock:write(out)
        if not n then
            session:close(err)
            return nil, err, code
        end
        session:sent(n)
        if n == 0 and loop.wait(sock, "w", deadline) == "timeout" then
            return nil, "write: timed out", "timeout"
        end
    end
end

--- One turn: send what is pending, wait until the socket has data, the
--- session needs the time (keepalive, timeouts) or deadline, read, and
--- return the session's events (a list, maybe empty).
function Link:step(deadline)
    local session, sock = self.session, self.sock
    local ok, err = self:flush(deadline)
    if not ok and err ~= "write: timed out" then
        return session:events(loop.now())
    end
    local wake = session:deadline()
    if deadline and (not wake or deadline < wake) then wake = deadline end
    if wake == nil or wake > loop.now() then
        loop.wait(sock, "r", wake)
    end
    local lost
    while true do
        local data, rerr = sock:read()
        if data then
            session:feed(data, loop.now())
        else
            if data == nil then
                lost = rerr == "closed" and "the peer closed the connection" or rerr
            end
            break
        end
    end
    -- What arrived before the end still counts: take its events first.
    local events = session:events(loop.now())
    if lost then
        session:close(lost)
        for _, ev in ipairs(session:events(loop.now())) do
            events[#events + 1] = ev
        end
    end
    self:flush(deadline)
    return events
end

function Link:close()
    loop.forget(self.sock)
    self.sock:close()
end

return _M
