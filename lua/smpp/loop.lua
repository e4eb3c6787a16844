-- smpp.loop: waiting on sockets and time, the same call for every caller.
-- Inside a coroutine started by loop.spawn it yields to loop.run; inside
-- cqueues it yields to the cqueues controller; at top level (REPL, plain
-- scripts) it blocks in poll() until the socket is ready or the time is up.
local core = require "smpp.core"

local coroutine, error, ipairs, select, type = coroutine, error, ipairs, select, type
local cocreate, coresume, corunning, costatus, coyield =
    coroutine.create, coroutine.resume, coroutine.running, coroutine.status, coroutine.yield
local now_ms, poll = core.now_ms, core.poll
local unpack = table.unpack or unpack -- luacheck: ignore

local ok_cq, cqueues = pcall(require, "cqueues")
if not ok_cq then cqueues = nil end

local _M = { now = now_ms }

local EVENTS = { r = 1, w = 2, rw = 3 }

local owned = setmetatable({}, { __mode = "k" }) -- coroutines run by loop.run
local ready, waiting = {}, {}

--- Starts fn(...) in a coroutine that loop.run drives.
function _M.spawn(fn, ...)
    if type(fn) ~= "function" then
        error("spawn: fn must be a function", 2)
    end
    local args, n = { ... }, select("#", ...)
    local co = cocreate(function() return fn(unpack(args, 1, n)) end)
    owned[co] = true
    ready[#ready + 1] = co
    return co
end

-- Blocks in poll() on one socket: the top-level way.
local function block(sock, events, deadline)
    local timeout = deadline and deadline - now_ms() or -1
    if timeout < 0 and deadline then timeout = 0 end
    if not sock then
        if timeout > 0 then poll({}, {}, timeout) end
        return "timeout"
    end
    local r = poll({ sock:pollfd() }, { EVENTS[events] }, timeout)
    return r[1] ~= 0 and "ready" or "timeout"
end

--- Waits until sock is ready for events ("r", "w", "rw") or until deadline
--- (absolute, loop.now() milliseconds; nil: no limit). sock may be nil to
--- wait for time alone. Returns "ready" or "timeout".
function _M.wait(sock, events, deadline)
    local co, main = corunning()
    if co and not main and owned[co] then
        return coyield(sock, events, deadline)
    end
    if cqueues and cqueues.running and cqueues.running() then
        local timeout = deadline and (deadline - now_ms()) / 1000 or nil
        if timeout and timeout < 0 then timeout = 0 end
        if sock then
            local polled = { pollfd = function() return sock:pollfd() end,
                events = function() return events end, timeout = function() return timeout end }
            return cqueues.poll(polled, timeout) == polled and "ready" or "timeout"
        end
        cqueues.sleep(timeout or 0)
        return "timeout"
    end
    return block(sock, events, deadline)
end

--- Tells the scheduler a socket is about to be closed (cqueues keeps file
--- descriptors registered and must drop them first).
function _M.forget(sock)
    if cqueues and cqueues.running and cqueues.running() and sock:pollfd() >= 0 then
        cqueues.cancel(sock:pollfd())
    end
end

--- Sleeps for seconds, yielding where it can.
function _M.sleep(seconds)
    _M.wait(nil, nil, now_ms() + math.floor(seconds * 1000))
end

local function resume(co, ...)
    local ok, sock, events, deadline = coresume(co, ...)
    if not ok then
        error(sock, 0)
    end
    if costatus(co) ~= "dead" then
        waiting[#waiting + 1] = { co = co, sock = sock, events = events, deadline = deadline }
    end
end

--- Runs the spawned coroutines until all are done. An error in one of them
--- is raised here.
function _M.run()
    while true do
        while #ready > 0 do
            local list = ready
            ready = {}
            for _, co in ipairs(list) do resume(co) end
        end
        if #waiting == 0 then
            return
        end
        local fds, evs, who, first = {}, {}, {}, nil
        for _, w in ipairs(waiting) do
            if w.sock then
                fds[#fds + 1], evs[#evs + 1], who[#who + 1] = w.sock:pollfd(), EVENTS[w.events], w
            end
            if w.deadline and (not first or w.deadline < first) then first = w.deadline end
        end
        local timeout = first and first - now_ms() or -1
        if first and timeout < 0 then timeout = 0 end
        local got = poll(fds, evs, timeout)
        local now, still = now_ms(), {}
        local woken = {}
        for i, w in ipairs(who) do
            if got[i] ~= 0 then woken[w] = "ready" end
        end
        for _, w in ipairs(waiting) do
            if not woken[w] and w.deadline and w.deadline <= now then woken[w] = "timeout" end
        end
        local wake = {}
        for _, w in ipairs(waiting) do
            if woken[w] then wake[#wake + 1] = w else still[#still + 1] = w end
        end
        waiting = still
        for _, w in ipairs(wake) do resume(w.co, woken[w]) end
    end
end

return _M
