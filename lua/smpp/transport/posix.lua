--- smpp.transport.posix: the built-in transport. Nonblocking TCP sockets of
-- the C core, waited on through smpp.loop, and a link that moves a session's
-- bytes over one: the engine decides, this file only carries octets.
--
-- A transport (this module, `smpp.transport.ngx`, or one of your own given to
-- `smpp.connect{ transport = ... }`) offers `connect`, `link`, `wait`, `cond`
-- and `tls_config`. A stream is a socket of the core (`smpp.core.Socket`) or a
-- TLS stream over one, with the same calls.
-- @module smpp.transport.posix
local core = require "smpp.core"
local loop = require "smpp.loop"

local format = string.format
local ipairs, pairs, setmetatable, type = ipairs, pairs, setmetatable, type

local _M = {}

local READ_CHUNK = core.read_chunk

-- Reading in batches from a peer that answers one PDU per write, as many
-- SMSCs do: while at least BATCH_OUTSTANDING requests wait for their
-- answers, poll tells of a link only once BATCH_OCTETS have come (the
-- kernel's SO_RCVLOWAT) or within BATCH_MS (poll's resolution: a
-- millisecond at most), so that one wake-up takes the answers of that
-- time and one write sends what they made room for. An answer then waits
-- at most that long to be read, while the window is busy anyway.
local BATCH_OUTSTANDING, BATCH_OCTETS, BATCH_MS = 16, 128, 1

local function connect_step(sock) return sock:connect_step() end

--- Connects to host:port (the name is resolved on every call).
-- @tparam string host a name or an address
-- @tparam number port the port
-- @tparam[opt] table opts
-- @param[opt] opts.tls TLS: true, a table of TLS options (as for `smpp.client.connect`) or a `tls_config`
-- @tparam[opt] string opts.server_name the name to check in the certificate; default host
-- @tparam[opt=10] number opts.timeout seconds to connect (and shake hands)
-- @return[1] a stream: a socket, or TLS over one
-- @return[2] nil
-- @treturn[2] string message
-- @treturn[2] string code: "net", "tls" or "timeout"
function _M.connect(host, port, opts)
    local timeout = opts and opts.timeout or 10
    local sock, err, code = core.tcp_connect(host, port)
    if not sock then
        return nil, err, code
    end
    local deadline = loop.now() + math.floor(timeout * 1000)
    local done, serr, scode = loop.ready(sock, "w", deadline, connect_step, sock)
    if done == nil then
        return nil, serr, scode
    elseif done == false then
        loop.forget(sock)
        sock:close()
        return nil, format("connect to %s:%d: timed out after %g s", host, port, timeout), "timeout"
    elseif opts and opts.tls then
        local stream, terr, tcode = _M.start_tls(sock, opts.server_name or host, opts.tls, deadline)
        if not stream then
            loop.forget(sock)
            sock:close()
        end
        return stream, terr, tcode
    end
    return sock
end

--- A listening socket: `smpp.core.tcp_listen`.
-- @tparam string host the address to listen on
-- @tparam number port the port (0: any free port; `sock:port()` tells)
-- @tparam[opt] number backlog the listen backlog
-- @treturn[1] smpp.core.Socket the socket
-- @return[2] nil
-- @treturn[2] string message
-- @treturn[2] string "net"
function _M.listen(host, port, backlog)
    return core.tcp_listen(host, port, backlog)
end

local function accept_step(listener) return listener:accept() end

--- Waits for the next connection on a listening socket.
-- @tparam smpp.core.Socket listener the listening socket
-- @tparam[opt] number deadline `smpp.loop.now` milliseconds
-- @treturn[1] smpp.core.Socket the connection
-- @return[2] nil
-- @treturn[2] string message
-- @treturn[2] string "net" or "timeout"
function _M.accept(listener, deadline)
    local sock, err, code = loop.ready(listener, "r", deadline, accept_step, listener)
    if sock == false then return nil, "accept: timed out", "timeout" end
    return sock, err, code
end

-- A TLS stream over a connected socket: the same read/write/pollfd as a
-- socket, with the ciphertext moved by this file and the TLS work in C.
local Tls = {}
Tls.__index = Tls

--- Sends what TLS has ready (a TLS stream's call).
-- @treturn[1] boolean true when nothing is left, false when the socket is full
-- @return[2] nil
-- @treturn[2] string message
-- @treturn[2] string code
function Tls:push()
    while true do
        local out = self.tls:output()
        if #out == 0 then
            return true
        end
        local n, err, code = self.sock:write(out)
        if not n then
            return nil, err, code
        end
        self.tls:consume(n)
        if n == 0 then
            return false
        end
    end
end

--- Takes what the socket has into TLS (a TLS stream's call).
-- @treturn[1] boolean true
-- @return[2] nil
-- @treturn[2] string message
-- @treturn[2] string code
function Tls:pull()
    while true do
        local data, err, code = self.sock:read()
        if data then
            self.tls:feed(data)
            if #data < READ_CHUNK then return true end -- that was all there was
        elseif data == false then
            return true
        elseif code == "closed" then
            self.tls:eof()
            return true
        else
            return nil, err, code
        end
    end
end

--- Reads plaintext, as `smpp.core.Socket:read` does.
-- @treturn[1] string what came
-- @treturn[2] boolean false: nothing now (wait for "r")
-- @return[3] nil
-- @treturn[3] string message ("closed" when the peer closed)
-- @treturn[3] string code: "closed", "net" or "tls"
function Tls:read()
    -- what TLS holds already first: the socket is asked only when that is none
    local data, rerr, rcode = self.tls:read()
    if data == false then
        local ok, err, code = self:pull()
        if not ok then
            return nil, err, code
        end
        data, rerr, rcode = self.tls:read()
    end
    self:push() -- TLS may have something to say (alerts, tickets)
    return data, rerr, rcode
end

--- Writes plaintext: all of it is taken (what the socket cannot take now
-- waits in TLS; `events` is then "w").
-- @tparam string data the plaintext
-- @treturn[1] number its length
-- @return[2] nil
-- @treturn[2] string message
-- @treturn[2] string code
function Tls:write(data)
    if #data > 0 then
        local ok, err, code = self.tls:write(data)
        if not ok then
            return nil, err, code
        end
    end
    local ok, err, code = self:push()
    if ok == nil then
        return nil, err, code
    end
    self.events = ok and "r" or "w"
    return #data
end

--- Whether ciphertext waits to be written.
-- @treturn boolean
function Tls:pending()
    return #self.tls:output() > 0
end

--- As `smpp.core.Socket:lowat`, on the socket under TLS.
-- @tparam number n octets
-- @treturn boolean whether the system took it
function Tls:lowat(n) return self.sock:lowat(n) end
--- The socket's descriptor.
-- @treturn number
function Tls:pollfd() return self.sock:pollfd() end
--- What to wait for: "r", or "w" while ciphertext waits.
-- @treturn string
function Tls:events() return self.events end
--- A stream has no timeout of its own.
-- @return nil
function Tls.timeout() return nil end

--- Sends close_notify and closes the socket.
function Tls:close()
    self.tls:close()
    self:push()
    self.sock:close()
end

-- Runs the handshake on a connected socket until deadline.
local function handshake(sock, tls, deadline)
    local stream = setmetatable({ sock = sock, tls = tls, events = "r" }, Tls)
    while true do
        local done, err, code = tls:handshake()
        local pushed, perr, pcode = stream:push()
        if pushed == nil then
            return nil, perr, pcode
        end
        if done then
            return stream
        elseif done == nil then
            return nil, err, code
        end
        if loop.wait(sock, pushed and "r" or "w", deadline) == "timeout" then
            return nil, "TLS handshake: timed out", "timeout"
        end
        local ok, rerr, rcode = stream:pull()
        if not ok then
            return nil, rerr, rcode
        end
    end
end

--- A TLS configuration from the tls option: `smpp.core.tls_config`.
-- @function tls_config
-- @param tls true (verify against the system store), a table of TLS options,
--   or a config made with `smpp.core.tls_config` (given back as it is)
-- @tparam[opt] boolean server the server's side
-- @treturn[1] smpp.core.TlsConfig the configuration
-- @return[2] nil
-- @treturn[2] string message
-- @treturn[2] string "tls"
local function tls_config(tls, server)
    if type(tls) == "userdata" then
        return tls
    end
    local opts = type(tls) == "table" and tls or {}
    local copy = {}
    for k, v in pairs(opts) do copy[k] = v end
    copy.server = server
    return core.tls_config(copy)
end
_M.tls_config = tls_config

--- Starts TLS on a connected socket and shakes hands.
-- @tparam smpp.core.Socket sock the connected socket
-- @tparam string host the name the client checks in the certificate (nil on the server)
-- @param tls true, a table of TLS options, or a `tls_config`
-- @tparam[opt] number deadline `smpp.loop.now` milliseconds
-- @tparam[opt] boolean server the server's side
-- @return[1] the TLS stream
-- @return[2] nil
-- @treturn[2] string message
-- @treturn[2] string "tls" or "timeout"
function _M.start_tls(sock, host, tls, deadline, server)
    local cfg, err, code = tls_config(tls, server)
    if not cfg then
        return nil, err, code
    end
    local conn, cerr, ccode = cfg:connection(not server and host or nil)
    if not conn then
        return nil, cerr, ccode
    end
    return handshake(sock, conn, deadline)
end

local Link = {}
Link.__index = Link

--- A link: a session carried over a stream. `link.session` and `link.sock`
-- are what it was made of. Setting `link.tap = function(direction, octets)`
-- shows it every octet that goes "out" to the stream and comes "in" from it
-- (the PDU trace).
-- @param sock the stream
-- @tparam smpp.core.Session session the engine (`smpp.core.session`)
-- @treturn Link the link
function _M.link(sock, session)
    return setmetatable({ sock = sock, session = session, lowat = 1 }, Link)
end

-- Writes what the session has to send: true when all of it is out, false
-- while the socket is full, or nil, message, code.
local function write_step(self)
    local session, sock = self.session, self.sock
    while true do
        local out = session:output()
        if #out == 0 and not (sock.pending and sock:pending()) then
            return true
        end
        local n, err, code = sock:write(out)
        if not n then
            session:close(err)
            return nil, err, code
        end
        session:sent(n)
        if self.tap and n > 0 then self.tap("out", out:sub(1, n)) end
        if n == 0 then return false end
    end
end

--- Writes out what the session has to send, waiting while the socket is full.
-- @tparam[opt] number deadline `smpp.loop.now` milliseconds
-- @treturn[1] boolean true
-- @return[2] nil
-- @treturn[2] string message
-- @treturn[2] string code: "timeout", "net", "tls", "closed"
function Link:flush(deadline)
    local sock = self.sock
    if self.session:pending() == 0 and not (sock.pending and sock:pending()) then return true end
    local ok, err, code = loop.ready(sock, "w", deadline, write_step, self)
    if ok == false then return nil, "write: timed out", "timeout" end
    return ok, err, code
end

--- Reads all the stream has now into the session.
-- @treturn boolean whether anything came
-- @treturn string|nil why the link is gone, or nil
function Link:drain()
    local got, lost = false, nil
    local plain = self.sock.tls == nil
    while true do
        local data, err, code = self.sock:read()
        if data then
            if self.tap then self.tap("in", data) end
            self.session:feed(data, loop.now())
            got = true
            -- a short read of a plain socket took all there was: asking
            -- again would only hear "again" (poll tells when more comes)
            if plain and #data < READ_CHUNK then
                return got, nil
            end
        else
            if data == nil then -- gone: why, and its code ("closed", "net", "tls") kept
                lost = err == "closed" and "the peer closed the connection" or err
                self.lost_code = code
            end
            return got, lost
        end
    end
end

--- Takes what the stream has (without waiting) into the session. A
-- stream that has ended closes the session: what arrived before the end
-- comes first, then the session's end.
-- @tparam[opt] table responses the table of compact responses, as for `smpp.core.Session:events`
-- @tparam[opt] table requests the table of compact requests, as for `smpp.core.Session:events`
-- @tparam[opt] boolean drained the caller has just called `Link:drain`
-- @tparam[opt] string lost what that drain said of the link's end
-- @treturn {table,...} the session's events, maybe none
-- @treturn number the compact responses
-- @treturn number the compact requests
-- @treturn boolean whether anything came
function Link:pump(responses, requests, drained, lost)
    local session = self.session
    local got = drained or false
    if not drained then got, lost = self:drain() end
    local events, nresp, nreq = session:events(loop.now(), responses, requests)
    if lost and session:state() ~= "closed" then
        session:close(lost)
        for _, ev in ipairs(session:events(loop.now())) do
            events[#events + 1] = ev
        end
    end
    return events, nresp, nreq, got
end

--- One turn of a link alone: send what is pending, wait until the stream
-- has data, the session needs the time (keepalive, timeouts) or deadline,
-- and pump (the client's loop turns many links the same way).
-- @tparam[opt] number deadline `smpp.loop.now` milliseconds
-- @tparam[opt] table responses as for `Link:pump`
-- @tparam[opt] table requests as for `Link:pump`
-- @treturn {table,...} the session's events
-- @treturn number the compact responses
-- @treturn number the compact requests
function Link:step(deadline, responses, requests)
    local session, sock = self.session, self.sock
    local ok, err = self:flush(deadline)
    if not ok and err ~= "write: timed out" then
        return session:events(loop.now(), responses, requests)
    end
    -- TLS may hold data read along with the handshake: look before waiting.
    local got, lost = self:drain()
    local events, nresp, nreq
    if not got and not lost then
        local wake = session:deadline()
        if deadline and (not wake or deadline < wake) then wake = deadline end
        if wake == nil or wake > loop.now() then
            loop.wait(sock, "r", wake)
        end
        events, nresp, nreq = self:pump(responses, requests)
    else -- read already: only the events
        events, nresp, nreq = self:pump(responses, requests, true, lost)
    end
    self:flush(deadline)
    return events, nresp, nreq
end

-- The cqueues protocol, so any scheduler can wait on a link: the stream's
-- descriptor, "w" while output waits, and the session's next deadline.

--- The stream's descriptor (the cqueues protocol, as `events` and `timeout`).
-- @treturn number
function Link:pollfd()
    return self.sock:pollfd()
end

--- What to wait for: "rw" while output waits, else "r".
-- @treturn string
function Link:events()
    local pending = self.session:pending() > 0 or (self.sock.pending and self.sock:pending())
    return pending and "rw" or "r"
end

--- Seconds until the session needs the time (keepalive, timeouts), or nil.
-- @treturn number|nil
function Link:timeout()
    local d = self.session:deadline()
    if d == nil then
        return nil
    end
    local left = (d - loop.now()) / 1000
    return left > 0 and left or 0
end

--- Closes the stream (the session is left as it is).
function Link:close()
    loop.forget(self.sock)
    self.sock:close()
end

--- Whether the link may hold data already read from the socket, which
-- poll would not tell of (TLS records decrypted along with earlier ones).
-- @treturn boolean
function Link:buffered()
    return self.sock.tls ~= nil
end

-- Whether link l waits for a batch of answers (see BATCH_OUTSTANDING).
local function batching(l)
    local want = l.session:outstanding() >= BATCH_OUTSTANDING and BATCH_OCTETS or 1
    if want ~= l.lowat and l.sock:lowat(want) then l.lowat = want end
    return l.lowat > 1
end

--- Waits until one of links has something to read (or room to write what
-- it holds), until deadline, or until kick is signaled; with no links, for
-- the time (or the kick) alone.
-- @tparam {Link,...} links the links
-- @tparam[opt] number deadline `smpp.loop.now` milliseconds
-- @tparam[opt] smpp.loop.Cond kick a condition
-- @treturn string "ready", "timeout" or "signaled" (the kick alone)
function _M.wait(links, deadline, kick)
    if #links == 0 then
        return loop.wait(nil, nil, deadline, kick)
    end
    local socks, events = links.socks, links.events
    if not socks then -- (kept with the list: a client waits on the same links many times)
        socks, events = {}, {}
        links.socks, links.events = socks, events
    end
    local batch = false
    for i, l in ipairs(links) do
        socks[i], events[i] = l.sock, l:events()
        if batching(l) then batch = true end
    end
    if batch then
        local soon = loop.now() + BATCH_MS
        if not deadline or deadline > soon then deadline = soon end
    end
    return loop.wait(socks, events, deadline, kick)
end

--- A condition coroutines wait on: `smpp.loop.cond`.
-- @function cond
-- @treturn smpp.loop.Cond
_M.cond = loop.cond

--- Accepts a connection and, when tls is given, runs the server side of
-- the handshake.
-- @tparam smpp.core.Socket listener the listening socket
-- @param[opt] tls server TLS options (`{ cert, key, ... }`) or a `tls_config`
-- @tparam[opt] number deadline `smpp.loop.now` milliseconds
-- @return[1] the stream
-- @return[2] nil
-- @treturn[2] string message
-- @treturn[2] string code: "net", "tls" or "timeout"
function _M.accept_tls(listener, tls, deadline)
    local sock, err, code = _M.accept(listener, deadline)
    if not sock or not tls then
        return sock, err, code
    end
    local stream, terr, tcode = _M.start_tls(sock, nil, tls, deadline, true)
    if not stream then
        loop.forget(sock)
        sock:close()
    end
    return stream, terr, tcode
end

return _M
