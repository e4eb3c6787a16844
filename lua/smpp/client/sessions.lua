-- smpp.client.sessions: the binds of a client and the loop that drives them.
-- Each session is a session engine of the C core carried by a link of the
-- transport; this file connects and binds them, reconnects them with
-- back-off, holds the account's bind slots (smpp.limits), and turns the
-- sockets: whoever waits drives them (await), one at a time, while the
-- other waiters sleep on a condition until woken or their deadline.
local core = require "smpp.core"
local loop = require "smpp.loop"
local pdu_mod = require "smpp.pdu"
local limits_mod = require "smpp.limits"

local format, floor, max, min, random = string.format, math.floor, math.max, math.min, math.random
local ipairs, next, pairs, error = ipairs, next, pairs, error
local corunning = loop.running
local now_ms = loop.now

local _M = {}

local SENDS = { transmitter = true, transceiver = true }
_M.SENDS = SENDS

local send, inbound -- the modules the loop hands events to (set by use)

--- Wires the sending and inbound modules in (smpp.client does).
function _M.use(send_mod, inbound_mod)
    send, inbound = send_mod, inbound_mod
end

function _M.name(c, s)
    return format("%s#%d %s", c.opts.system_id, s.index, s.kind)
end
local session_name = _M.name

------------------------------------------------------------------------
-- The PDU trace: every PDU on the wire, both ways, as the octets went.

local function tracer(c, s)
    local framers = { ["in"] = core.framer(), out = core.framer() }
    return function(direction, octets)
        local f = framers[direction]
        f:feed(octets)
        while true do
            local p = f:next_bytes()
            if not p then break end
            local decoded = pdu_mod.decode(p)
            if decoded and decoded.password and decoded.password ~= "" then
                decoded.password = ("*"):rep(#decoded.password)
                p = pdu_mod.encode(decoded) -- the hex dump does not show it either
            end
            local shown = decoded and pdu_mod.tostring(decoded) or ("unreadable PDU of " .. #p .. " octets")
            c.log("trace", "%s %s %s\n%s", session_name(c, s), direction == "out" and "->" or "<-", shown,
                pdu_mod.hexdump(p))
        end
    end
end

------------------------------------------------------------------------
-- Binds

-- The session is gone: its requests end through their events (aborted),
-- its slot is given back and a reconnect is planned.
function _M.down(c, s, why)
    local engine = s.engine
    if engine and engine:state() ~= "closed" then
        engine:close(why)
        for _, ev in ipairs(engine:events(now_ms())) do _M.dispatch(c, s, ev) end
    end
    if s.link then
        s.link:close()
        s.link = nil
        c.kick:signal() -- a driver asleep on this link's socket looks again
    end
    c.link_changes = c.link_changes + 1
    local was_bound = s.bound
    if engine then c.counters.throttled = c.counters.throttled + engine:refusals() end
    s.bound, s.engine = false, nil
    if s.slot then -- given back: a standby elsewhere may take it
        c.limits:release(s.slot, c.me)
        s.slot = nil
    end
    if was_bound then
        c.counters.disconnects = c.counters.disconnects + 1
        if c.log then
            c.log(c.closing and "info" or "warn", "%s: %s: %s", session_name(c, s),
                c.closing and "closed" or "link lost", why)
        end
        inbound.emit(c, "close", why, s.index)
    end
    local rc = c.opts.reconnect
    if rc and not c.closing then
        s.failures = s.failures + 1
        -- a link that was up is tried again at once; then with back-off
        local base = was_bound and 0 or min(rc.max, rc.min * 2 ^ (s.failures - 1))
        s.retry_at = now_ms() + floor(base * 1000 * (0.5 + random()))
        if rc.tries and s.failures > rc.tries then s.retry_at = nil end
    else
        s.retry_at = nil
    end
end

-- A free bind slot of the account, claimed: its number, or nil, message,
-- "standby" (all held elsewhere) or "limits" (the coordinator is unreachable).
-- Slots spread over the processes of an account: a process that holds one
-- takes a further one only once it has held its first for the grace (half
-- the lease) and no other process has wanted one meanwhile, so that the
-- death of one process leaves the others bound.
local function claim_slot(c)
    local mine, held = {}, 0
    for _, s in ipairs(c.sessions) do
        if s.slot then mine[s.slot], held = true, held + 1 end
    end
    local grace = c.opts.limits.lease / 2
    if held > 0 then
        local other, err = c.limits:wanted(c.me)
        if other == nil then return nil, "limits: " .. err, "limits" end
        if other or now_ms() - (c.slot_since or 0) < grace * 1000 then
            return nil, "a further bind slot is left to the other processes of the account", "standby"
        end
    end
    for k = 1, c.opts.slots do
        if not mine[k] then
            local ok, err = c.limits:claim(k, c.me)
            if ok == nil then return nil, "limits: " .. err, "limits" end
            if ok then
                if held == 0 then c.slot_since = now_ms() end
                return k
            end
        end
    end
    if held == 0 then c.limits:want(c.me, grace) end
    return nil, format("all %d bind slots of the account are held", c.opts.slots), "standby"
end

-- Connects and binds session s, giving up at deadline; true or nil, message, code.
function _M.bind(c, s, deadline)
    local o = c.opts
    if c.limits and not s.slot then
        local k, kerr, kcode = claim_slot(c)
        if not k then return nil, kerr, kcode end
        s.slot = k
    end
    local seconds = max(0.001, (deadline - now_ms()) / 1000)
    local stream, err, code = c.T.connect(o.host, o.port, { tls = o.tls_config or o.tls, timeout = seconds,
        server_name = type(o.tls) == "table" and o.tls.server_name or nil })
    if not stream then
        return nil, err, code
    end
    local engine = core.session{ role = "esme", window = o.window, response_timeout = o.response_timeout,
        enquire_link = o.enquire_link, throttle = c.bucket, max_resends = o.max_resends, charset = o.charset }
    local link = c.T.link(stream, engine)
    s.engine, s.link = engine, link
    c.link_changes = c.link_changes + 1
    if c.log and o.trace then s.link.tap = tracer(c, s) end
    local job = send.internal()
    local ok, ierr, icode = engine:send({ command = "bind_" .. s.kind, system_id = o.system_id,
        password = o.password, system_type = o.system_type, interface_version = 0x34, addr_ton = o.addr_ton,
        addr_npi = o.addr_npi, address_range = o.address_range }, now_ms(), job, 0)
    if not ok then
        _M.down(c, s, ierr)
        return nil, ierr, icode
    end
    -- the answer comes through the client's own loop, like any other
    if not _M.await(c, function() return job.done or s.engine ~= engine end, deadline) then
        _M.down(c, s, "bind timed out")
        return nil, format("bind_%s: no answer within %g s%s", s.kind, o.timeout,
            not o.tls and " (if the port is a TLS port, set tls = true)" or ""), "timeout"
    end
    if not job.resp or job.code then
        local why, why_code = format("bind_%s refused: %s", s.kind, job.err), job.code
        if not job.resp then -- no answer: the link ended first (a TLS alert, a port that is not SMPP's)
            why_code = link.lost_code == "tls" and "tls" or "closed"
            why = format("bind_%s: no answer, the link ended: %s%s", s.kind, job.err or "closed",
                why_code ~= "tls" and not o.tls and " (if the port is a TLS port, set tls = true)" or "")
        end
        if s.engine == engine then
            s.link:close()
            s.link, s.engine = nil, nil
            c.link_changes = c.link_changes + 1
        end
        return nil, why, why_code
    end
    s.bound, s.failures = true, 0
    s.peer = job.resp.system_id
    c.counters.binds = c.counters.binds + 1
    if c.log then c.log("info", "%s: bound to %s:%d (%s)", session_name(c, s), o.host, o.port, s.peer or "") end
    inbound.emit(c, "bound", { session = s.index, bind = s.kind, system_id = s.peer })
    return true
end

-- Renews the leases of the slots held; a slot found held by another ends
-- its bind (the account's bind limit comes first).
local function renew_slots(c)
    local now = now_ms()
    if now < (c.renew_at or 0) then return end
    c.renew_at = now + floor(c.opts.limits.lease * 1000 / 3)
    for _, s in ipairs(c.sessions) do
        if s.slot then
            local ok, err = c.limits:renew(s.slot, c.me)
            if ok == false then
                if c.log then c.log("warn", "%s: bind slot %d lost to another process", session_name(c, s), s.slot) end
                s.slot = nil
                if s.link then _M.down(c, s, "bind slot lost to another process") end
            elseif ok == nil and c.log and not c.limits_down then
                c.log("warn", "limits: cannot renew slot %d: %s", s.slot, err)
            end
        end
    end
end

-- Milliseconds until the next submit may go at the account's rate shared
-- with other processes (0: now). When the coordinator cannot be reached,
-- fail closed: this process sends at most its share of the rate (the slots
-- it holds out of all of them).
function _M.shared_wait(c)
    local now = now_ms()
    if not c.limits_down or now >= c.limits_retry_at then
        local wait, err = c.limits:take(1)
        if wait then
            if c.limits_down and c.log then c.log("info", "limits: coordinator back") end
            c.limits_down = nil
            return wait
        end
        if not c.limits_down and c.log then
            c.log("warn", "limits: %s; sending at this process's share of the rate", err)
        end
        c.limits_down, c.limits_retry_at = err, now + 1000
    end
    local held = 0
    for _, s in ipairs(c.sessions) do
        if s.slot and s.bound then held = held + 1 end
    end
    local share = c.opts.throttle * held / c.opts.slots
    if share <= 0 then return 100 end
    if c.share_rate ~= share then
        c.share_rate, c.share_bucket = share, core.throttle{ rate = share * limits_mod.HEADROOM }
    end
    if c.share_bucket:take(now) then return 0 end
    return max(1, c.share_bucket:delay(now))
end

-- Reconnects the sessions that are due (giving up at deadline).
local function maintain(c, deadline)
    if c.closing then return end
    if c.limits then renew_slots(c) end
    for _, s in ipairs(c.sessions) do
        if not s.link and s.retry_at and now_ms() >= s.retry_at then
            local until_ms = now_ms() + floor(c.opts.timeout * 1000)
            local cut = deadline and deadline < until_ms
            local ok, err, code = _M.bind(c, s, cut and deadline or until_ms)
            if ok then
                c.counters.reconnects = c.counters.reconnects + 1
            else
                if c.log then c.log("warn", "%s: reconnect failed: %s", session_name(c, s), err) end
                local failures = s.failures
                _M.down(c, s, err)
                if code == 0x0E or code == 0x0F then s.retry_at = nil end -- the account is refused: stop
                if code == "standby" or code == "limits" then -- look for a free slot again soon
                    s.retry_at = now_ms() + floor(c.opts.limits.lease * 1000 / 4)
                elseif cut and code == "timeout" and s.retry_at then
                    -- cut short by the caller's deadline: not the SMSC's fault
                    s.failures, s.retry_at = failures, now_ms()
                end
            end
        end
    end
end

------------------------------------------------------------------------
-- Events

--- Hands one engine event of session s to whom it concerns.
function _M.dispatch(c, s, ev)
    if ev.tag ~= nil then return send.event(c, s, ev) end
    local t = ev.type
    if t == "request" then
        inbound.request(c, s, ev.pdu)
    elseif t == "closed" then
        _M.down(c, s, ev.message or "closed")
    elseif c.log and (t == "invalid" or t == "unexpected") then
        c.log("warn", "%s: %s %s", session_name(c, s), t, ev.message or (ev.pdu and pdu_mod.tostring(ev.pdu)) or "")
    end
end

-- Reads what session s has, hands its events on and writes what they
-- caused; whether anything came.
local function pump(c, s)
    if not s.link then return false end
    -- (receipts in a list of their own each time: a receipt handler may
    -- send, and so pump again; the responses are all taken before that)
    local responses, receipts = c.sink, c.lean_receipts and {} or nil
    local evs, n, nr, got = s.link:pump(responses, receipts)
    if n > 0 then send.accepted(c, responses, n) end
    for k = 1, 2 * nr, 2 do inbound.receipt(c, s, receipts[k], receipts[k + 1]) end
    for _, ev in ipairs(evs) do _M.dispatch(c, s, ev) end
    -- what waits takes the room the answers made, and leaves with the
    -- answers to the SMSC's requests in one write
    if n > 0 or evs[1] then send.feed(c) end
    if s.link then s.link:flush(now_ms()) end
    if c.close_requested and c.in_handler == 0 then -- close() called in a handler
        c:close(c.close_requested)
    end
    return got or #evs > 0 or n > 0 or nr > 0
end

-- The links up and their sessions (made again when a link comes or goes).
local function live(c)
    local l = c.live
    if l and l.n == c.link_changes then return l.links, l.who end
    local links, who = {}, {}
    for _, s in ipairs(c.sessions) do
        if s.link then
            links[#links + 1], who[#who + 1] = s.link, s
        end
    end
    c.live = { links = links, who = who, n = c.link_changes }
    return links, who
end

--- A session that may take a request now, or nil: bound, able to transmit;
--- of several, the least busy with room in its window (one alone: its
--- engine refuses a request past its window).
function _M.pick(c)
    local list = c.sessions
    if list[2] == nil then -- one bind: its engine says when its window is full
        local s = list[1]
        return s.bound and SENDS[s.kind] and s.engine and s or nil
    end
    local best, best_n
    for _, s in ipairs(list) do
        if s.bound and SENDS[s.kind] and s.engine then
            local n = s.engine:outstanding()
            if n < c.opts.window and (not best or n < best_n) then best, best_n = s, n end
        end
    end
    return best
end

--- Whether some sending session is bound or will be again.
function _M.hope(c)
    if c.closing then return false end
    for _, s in ipairs(c.sessions) do
        if SENDS[s.kind] and (s.link or s.retry_at) then return true end
    end
    return false
end

-- One turn: reconnect what is due, read what has come, send what waits,
-- then sleep until something happens or the first thing that needs the
-- time (deadline, a session's timers, a reconnect, the throttle, a
-- long message's expiry) and read again.
local function turn(c, deadline)
    maintain(c, deadline)
    local now = now_ms()
    local _, who = live(c)
    if now - c.turned_at > 50 then -- idle a while (a REPL): a dead link shows now
        for _, s in ipairs(who) do pump(c, s) end
    end
    local wake = send.feed(c)
    wake = inbound.expire(c, wake)
    if deadline and (not wake or deadline < wake) then wake = deadline end
    local links
    links, who = live(c)
    local early = false
    for _, s in ipairs(who) do
        if s.link then -- (a handler run by an earlier pump may have closed it)
            local d = s.engine:deadline()
            if d and (not wake or d < wake) then wake = d end
            if not s.link:flush(now_ms()) then early = true end -- a write error: its events tell
            -- a link may hold data already read (TLS records decrypted along
            -- with earlier ones, a reader that got ahead): take that first
            if s.link and s.link:buffered() and pump(c, s) then early = true end
        end
    end
    for _, s in ipairs(c.sessions) do
        if not s.link and s.retry_at and (not wake or s.retry_at < wake) then wake = s.retry_at end
    end
    if not early and (wake == nil or wake > now_ms()) then
        -- woken by a sender alone: what it queued is written next turn,
        -- and the links are read once they have something
        if c.T.wait(links, wake or (#links == 0 and now_ms() + 1000 or nil), c.kick) == "signaled" then
            c.turned_at = now_ms()
            return
        end
    end
    for _, s in ipairs(who) do pump(c, s) end
    c.turned_at = now_ms()
end

-- Wakes the waiters whose wait is over (the waiters of a job are woken
-- by its end: see wake_job); when the driver leaves, one more, to drive in
-- its place.
local function wake_waiters(c, leaving)
    local spare
    for w in pairs(c.waiting) do
        if w.done() then
            c.waiting[w] = nil
            w.cond:signal()
        else
            spare = w
        end
    end
    if leaving then
        spare = spare or next(c.job_waiting)
        if spare then
            c.waiting[spare], c.job_waiting[spare] = nil, nil
            spare.cond:signal()
        end
    end
end

--- The job has ended: the coroutine waiting for it runs next.
function _M.wake_job(c, job)
    local w = job.waiter
    if w then
        job.waiter = nil
        c.job_waiting[w] = nil
        w.cond:signal()
    end
end

--- Waits until done(job) is true (true) or deadline (false): whoever waits
--- drives the sockets; when another coroutine already does, sleeps until
--- the driver sees done() true (or, given a job, until it ends), the driver
--- leaves, or deadline.
function _M.await(c, done, deadline, job)
    local me = corunning()
    while not done(job) do
        if deadline and now_ms() >= deadline then
            return false
        end
        local driver = c.driver
        if driver == nil or driver == me then -- a handler may send: it drives too
            c.driver = me
            local ok, err = loop.pcall(turn, c, deadline)
            c.driver = driver
            if next(c.waiting) or (driver == nil and next(c.job_waiting)) then
                wake_waiters(c, driver == nil and (not ok or done(job)))
            end
            if not ok then error(err, 0) end
        else
            local w = c.waiters[me]
            if not w then
                w = { cond = c.T.cond() }
                c.waiters[me] = w
            end
            if job then
                job.waiter = w
                c.job_waiting[w] = true
            else
                w.done = done
                c.waiting[w] = true
            end
            w.cond:wait(deadline)
            c.waiting[w], c.job_waiting[w] = nil, nil
            if job then job.waiter = nil end
        end
    end
    if c.driver == nil and (next(c.waiting) or next(c.job_waiting)) then wake_waiters(c, true) end
    return true
end

return _M
