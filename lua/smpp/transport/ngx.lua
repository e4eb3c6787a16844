--- smpp.transport.ngx: the transport inside nginx (OpenResty, or nginx with
-- the lua module). The session engine is carried by an ngx.socket.tcp
-- cosocket, so no call ever blocks a worker: a wait yields to nginx.
--
-- Per link, one reader light thread (receiveany of up to 64 KiB, fed to the
-- engine) and at most one writer at a time (whoever flushes; a flush while
-- another is writing leaves the bytes to that writer). Waiting is an
-- ngx.semaphore the readers post. A cosocket belongs to the request or timer
-- that made it: a client made in an ngx.timer lives in that timer (see
-- smpp.ngx for sending from any request handler).
--
-- TLS: sslhandshake with SNI and verification (on by default) against the
-- CAs nginx trusts for Lua sockets: lua_ssl_trusted_certificate and
-- lua_ssl_verify_depth in nginx.conf. nginx checks a certificate against a
-- host name only, never an address: connecting to an address with
-- verification on takes tls.server_name, the name to check.
--
-- The client picks it by itself when `ngx` is there; it offers what
-- `smpp.transport.posix` does.
-- @module smpp.transport.ngx
local core = require "smpp.core"
local semaphore = require "ngx.semaphore"

local ngx = ngx
local format, floor, max = string.format, math.floor, math.max
local ipairs, pcall, setmetatable, type = ipairs, pcall, setmetatable, type
local now_ms = core.now_ms

local _M = {}

local READ_CHUNK = 65536
local LONG_WAIT = 60 -- seconds a wait with no deadline sleeps before looking again

local function seconds_until(deadline)
    if not deadline then return LONG_WAIT end
    return max(0, (deadline - now_ms()) / 1000)
end

--- The TLS settings of the tls option; the trusted CAs are nginx's. A
-- certificate of our own (tls.cert) needs a newer lua module than this
-- transport relies on.
-- @param tls true, or a table: `{ verify = true, server_name }`
-- @treturn[1] table `{ verify, server_name }`
-- @return[2] nil
-- @treturn[2] string message (a client certificate was asked for)
-- @treturn[2] string "tls"
function _M.tls_config(tls)
    if type(tls) ~= "table" then tls = {} end
    if tls.cert or tls.key then
        return nil, "TLS client certificates are not supported inside nginx", "tls"
    end
    return { verify = tls.verify ~= false, server_name = tls.server_name }
end

local function is_address(host)
    return host:find("^%d+%.%d+%.%d+%.%d+$") ~= nil or host:find(":", 1, true) ~= nil
end

-- The name sent (SNI) and checked on the certificate: the server_name
-- given, else host when it is a name; none for an address unchecked.
local function tls_name(host, tls, server_name)
    local name = server_name or tls.server_name
    if name then return name end
    if not is_address(host) then return host end
    if tls.verify then
        return nil, format("TLS to the address %s inside nginx: nginx checks the certificate against a "
            .. "host name only; set tls.server_name to the name on the SMSC's certificate", host), "tls"
    end
    return nil
end

--- Connects to host:port (names go through nginx's resolver directive).
-- @tparam string host a name or an address
-- @tparam number port the port
-- @tparam[opt] table opts
-- @param[opt] opts.tls TLS: true, or a table of `tls_config`
-- @tparam[opt] string opts.server_name the name to send (SNI) and check; default host when it is a name
-- @tparam[opt=10] number opts.timeout seconds for the connect and for each later send
-- @treturn[1] table the stream
-- @return[2] nil
-- @treturn[2] string message
-- @treturn[2] string code: "net", "tls" or "timeout"
function _M.connect(host, port, opts)
    opts = opts or {}
    local tls, name = opts.tls, nil
    if tls then
        if type(tls) ~= "table" or tls.verify == nil then
            local cerr, ccode
            tls, cerr, ccode = _M.tls_config(tls)
            if not tls then return nil, cerr, ccode end
        end
        local nerr, ncode
        name, nerr, ncode = tls_name(host, tls, opts.server_name)
        if nerr then return nil, nerr, ncode end
    end
    local ms = floor((opts.timeout or 10) * 1000)
    local sock, err = ngx.socket.tcp()
    if not sock then
        return nil, "cosocket: " .. tostring(err), "net"
    end
    sock:settimeouts(ms, ms, LONG_WAIT * 1000)
    local ok
    ok, err = sock:connect(host, port)
    if not ok then
        return nil, format("connect to %s:%d: %s", host, port, err), err == "timeout" and "timeout" or "net"
    end
    if tls then
        -- lua-resty-core raises ("assertion failed!") when a handshake done
        -- at once fails its verification afterwards: nginx logs the reason
        local hok, session, herr = pcall(sock.sslhandshake, sock, nil, name, tls.verify)
        if not hok then
            session, herr = nil, "failed (nginx's error log has the reason)"
        end
        if not session then
            sock:close()
            return nil, format("TLS handshake with %s:%d (%s): %s", host, port, name or "no name", herr),
                herr == "timeout" and "timeout" or "tls"
        end
    end
    return { sock = sock, tls = tls and true or nil }
end

local Link = {}
Link.__index = Link

local function wake(link)
    local sem = link.notify
    if sem and sem:count() < 1 then sem:post(1) end
end

-- The reader light thread: everything that arrives goes into the engine.
local function reader(link)
    local sock, session = link.sock, link.session
    while not link.closed do
        local data, err = sock:receiveany(READ_CHUNK)
        if data then
            if link.tap then link.tap("in", data) end
            session:feed(data, now_ms())
            link.got = true
            wake(link)
        elseif err ~= "timeout" then
            if not link.closed then
                link.lost = err == "closed" and "the peer closed the connection" or err
                wake(link)
            end
            break
        end
    end
    sock:close() -- (closed while this thread read it: see Link:close)
end

--- A link: a session carried over the stream; its reader starts now, in
-- the light thread or timer that calls this.
-- @tparam table stream a stream of `connect`
-- @tparam smpp.core.Session session the engine
-- @treturn Link the link
function _M.link(stream, session)
    local link = setmetatable({ sock = stream.sock, stream = stream, session = session, got = false }, Link)
    link.reader = ngx.thread.spawn(reader, link)
    return link
end

--- Sends what the session has to send (a flush while another is writing
-- leaves the bytes to that writer).
-- @treturn[1] boolean true
-- @return[2] nil
-- @treturn[2] string message
-- @treturn[2] string code: "timeout" or "net"
function Link:flush()
    if self.writing or self.closed then return true end -- the writer in progress takes it
    local session, sock = self.session, self.sock
    self.writing = true
    while true do
        local out = session:output()
        if #out == 0 then break end
        local n, err = sock:send(out)
        if not n then
            self.writing = false
            session:close(err)
            return nil, "write: " .. err, err == "timeout" and "timeout" or "net"
        end
        session:sent(#out)
        if self.tap then self.tap("out", out) end
    end
    self.writing = false
    return true
end

--- What the reader brought since the last call.
-- @treturn boolean whether anything came
-- @treturn string|nil why the link is gone (told once), or nil
function Link:drain()
    local got, lost = self.got, self.lost
    self.got = false
    if lost then
        if self.lost_told then lost = nil end
        self.lost_told = true
    end
    return got, lost
end

--- Whether the reader has brought something not yet taken.
-- @treturn boolean
function Link:buffered()
    return self.got or (self.lost ~= nil and not self.lost_told)
end

--- Takes what the reader brought into the session's events (as the posix
-- transport's `Link:pump`).
-- @tparam[opt] table responses the table of compact responses
-- @tparam[opt] table requests the table of compact requests
-- @treturn {table,...} the events
-- @treturn number the compact responses
-- @treturn number the compact requests
-- @treturn boolean whether anything came
function Link:pump(responses, requests)
    local session = self.session
    local got, lost = self:drain()
    local events, nresp, nreq = session:events(now_ms(), responses, requests)
    if lost and session:state() ~= "closed" then
        session:close(lost)
        for _, ev in ipairs(session:events(now_ms())) do events[#events + 1] = ev end
    end
    return events, nresp, nreq, got
end

--- One turn of a link alone (as the posix transport's `Link:step`): send,
-- wait for data, the session's next deadline or deadline, and pump.
-- @tparam[opt] number deadline `smpp.core.now_ms` milliseconds
-- @treturn {table,...} the events
function Link:step(deadline)
    local session = self.session
    local ok = self:flush(deadline)
    if ok and not self:buffered() then
        local wake_at = session:deadline()
        if deadline and (not wake_at or deadline < wake_at) then wake_at = deadline end
        _M.wait({ self }, wake_at)
    end
    local events = self:pump()
    self:flush(deadline)
    return events
end

--- What to wait for: always "r" (the reader light thread reads).
-- @treturn string
function Link.events()
    return "r"
end

--- Closes the cosocket; the reader ends.
function Link:close()
    if self.closed then return end
    self.closed = true
    -- a cosocket that a light thread reads cannot be closed ("socket busy
    -- reading"), and an SMSC counts the bind until the connection closes:
    -- the reader is stopped first (the thread that made the link can), else
    -- it closes the socket itself when its read returns
    if self.reader and ngx.thread.kill(self.reader) then self.reader = nil end
    self.sock:close()
    wake(self)
end

--- Waits until a reader of links has brought something, until deadline,
-- or until kick is signaled (with no links: for the time or the kick alone).
-- @tparam {Link,...} links the links
-- @tparam[opt] number deadline `smpp.core.now_ms` milliseconds
-- @tparam[opt] Cond kick a condition of this module
-- @treturn string "ready" or "timeout"
function _M.wait(links, deadline, kick)
    if #links == 0 then
        if kick then return kick:wait(deadline) end
        ngx.sleep(seconds_until(deadline))
        return "timeout"
    end
    for _, l in ipairs(links) do
        if l:buffered() then return "ready" end
    end
    local sem = kick and kick.sem or links[1].notify or semaphore.new(0)
    for _, l in ipairs(links) do l.notify = sem end
    local ok = sem:wait(seconds_until(deadline))
    return ok and "ready" or "timeout"
end

-- A condition for the light threads of one timer or request.
local Cond = {}
Cond.__index = Cond

--- A condition for the light threads of one timer or request (an ngx.semaphore).
-- @treturn Cond
function _M.cond()
    return setmetatable({ sem = semaphore.new(0) }, Cond)
end

--- Waits for `Cond:signal` or the deadline.
-- @tparam[opt] number deadline `smpp.core.now_ms` milliseconds
-- @treturn string "ready" or "timeout"
function Cond:wait(deadline)
    local ok = self.sem:wait(seconds_until(deadline))
    return ok and "ready" or "timeout"
end

--- Wakes the light threads waiting on the condition.
function Cond:signal()
    local waiting = -self.sem:count()
    if waiting > 0 then self.sem:post(waiting) end
end

--- Sleeps without blocking the worker.
-- @tparam number seconds how long
function _M.sleep(seconds)
    ngx.sleep(seconds)
end

return _M
