--- smpp.loop: waiting on sockets and time, the same call for every caller.
-- Inside a coroutine started by loop.spawn it yields to loop.run; inside
-- cqueues it yields to the cqueues controller; at top level (REPL, plain
-- scripts) it blocks in poll() until the socket is ready or the time is up.
-- A socket is anything with `pollfd()` (sockets, TLS streams, links).
-- Times are absolute milliseconds of `now`.
-- @module smpp.loop
local core = require "smpp.core"

local coroutine, error, ipairs, pairs, rawget, select, setmetatable, type =
    coroutine, error, ipairs, pairs, rawget, select, setmetatable, type
local cocreate, coresume, corunning, costatus, coyield =
    coroutine.create, coroutine.resume, coroutine.running, coroutine.status, coroutine.yield
local now_ms, poll = core.now_ms, core.poll
local unpack = table.unpack or unpack -- luacheck: ignore

local ok_cq, cqueues = pcall(require, "cqueues")
if not ok_cq then cqueues = nil end

local _M = { now = now_ms }

-- PUC Lua 5.1 cannot yield across pcall: there, pcall runs its function in a
-- coroutine of its own and passes the yields through, and running() names
-- the coroutine that called pcall, so that a coroutine keeps one identity.
-- Lua 5.2+ and LuaJIT yield across pcall: the built-ins serve.
if _VERSION == "Lua 5.1" and not rawget(_G, "jit") then
    local parent = setmetatable({}, { __mode = "k" }) -- pcall's coroutine -> its caller (false: main)
    local builtin = corunning
    corunning = function()
        local co = builtin()
        while co do
            local p = parent[co]
            if p == nil then return co end
            if p == false then return nil end
            co = p
        end
    end
    local function pass(co, ok, ...)
        if not ok then return false, ... end
        if costatus(co) == "dead" then return true, ... end
        return pass(co, coresume(co, coyield(...)))
    end
    _M.pcall = function(fn, ...)
        local co = cocreate(function(...) return fn(...) end) -- fn may be a C function
        parent[co] = builtin() or false
        return pass(co, coresume(co, ...))
    end
else
    _M.pcall = pcall
end

--- The running coroutine, as `coroutine.running` (the one that called
-- `loop.pcall` when inside it, on PUC Lua 5.1).
-- @function running
_M.running = corunning

--- `pcall` that lets its function yield (to `loop.run` or cqueues) on every
-- Lua, PUC Lua 5.1 included.
-- @function pcall

--- The time in milliseconds of a monotonic clock: `smpp.core.now_ms`.
-- @function now
-- @treturn number milliseconds

local EVENTS = { r = 1, w = 2, rw = 3 }

local owned = setmetatable({}, { __mode = "k" }) -- coroutines run by loop.run

-- The scheduler's state. A wait of a coroutine of loop.run is a record
-- { co, sock, events, deadline, cond, woken }: in `on_socket` while it waits
-- for a socket (the drivers of links: few), else in `sleepers` while it has
-- a deadline (senders waiting for their result: many), and in its cond's
-- set while it waits for a signal; woken (how it ended) moves it to
-- `runnable`, once, and takes it out of the others (`on_socket` lazily).
-- sleep_min is at most the earliest deadline of the sleepers: they are
-- looked at only once it has come.
local runnable, on_socket, sleepers, nwaiting, sleep_min = {}, {}, {}, 0, nil

--- Starts fn(...) in a coroutine that `run` drives; calls that would
-- block yield in it instead.
-- @tparam function fn what the coroutine runs
-- @param ... its arguments
-- @treturn thread the coroutine
-- @raise when fn is not a function
function _M.spawn(fn, ...)
    if type(fn) ~= "function" then
        error("spawn: fn must be a function", 2)
    end
    local args, n = { ... }, select("#", ...)
    local co = cocreate(function() return fn(unpack(args, 1, n)) end)
    owned[co] = true
    runnable[#runnable + 1] = { co = co }
    return co
end

-- The sockets and events of a wait: one socket, or a list of them with one
-- events string for all or a list of events strings.
local function each(sock, events, fn)
    if sock == nil then
        return
    elseif type(sock) == "table" and not sock.pollfd then
        for i, s in ipairs(sock) do
            fn(s, type(events) == "table" and events[i] or events)
        end
    else
        fn(sock, events)
    end
end

-- Adds the descriptors and events of a wait (one socket, or a list of them
-- with one events string for all or a list) to the poll lists after n, and
-- who waits for each; returns the new n.
local function gather(sock, events, fds, evs, who, w, n)
    if sock == nil then return n end
    if type(sock) == "table" and not sock.pollfd then
        for i, s in ipairs(sock) do
            n = n + 1
            fds[n], evs[n] = s:pollfd(), EVENTS[type(events) == "table" and events[i] or events]
            if who then who[n] = w end
        end
        return n
    end
    n = n + 1
    fds[n], evs[n] = sock:pollfd(), EVENTS[events]
    if who then who[n] = w end
    return n
end

-- Blocks in poll(): the top-level way. A signal ends a poll early with
-- nothing ready; then Lua code runs (so the standalone interpreter's Ctrl-C
-- hook raises "interrupted!" here) and, if nothing was raised, polls again
-- for the time that is left: "timeout" only once the deadline has passed.
-- (Its lists are kept: at top level one wait runs at a time.)
local bfds, bevs, bready = {}, {}, {}
local function block(sock, events, deadline)
    local fds, evs = bfds, bevs
    local n = gather(sock, events, fds, evs, nil, nil, 0)
    for k = n + 1, #fds do fds[k], evs[k] = nil, nil end
    if n == 0 and not deadline then
        return "timeout"
    end
    while true do
        local timeout = deadline and deadline - now_ms() or -1
        if deadline and timeout < 0 then timeout = 0 end
        if n > 0 then
            local _, ready = poll(fds, evs, timeout, bready)
            if ready > 0 then return "ready" end
        elseif timeout > 0 then
            poll(fds, evs, timeout, bready)
        end
        if deadline and now_ms() >= deadline then return "timeout" end
    end
end

local function in_loop()
    local co, main = corunning()
    return co and not main and owned[co]
end

--- Waits until a socket is ready, a deadline, or a signal: yielding inside
-- `spawn` coroutines and cqueues, blocking at top level.
-- @param sock a socket (with `pollfd()`), a list of them, or nil to wait for time alone
-- @tparam string|{string,...} events "r", "w" or "rw": one for all, or one per socket
-- @tparam[opt] number deadline `now()` milliseconds; nil: no limit
-- @tparam[opt] Cond cond a condition another coroutine may signal
-- @treturn string "ready", "timeout" or "signaled"
function _M.wait(sock, events, deadline, cond)
    if in_loop() then
        return coyield(sock, events, deadline, cond)
    end
    if cqueues and cqueues.running and cqueues.running() then
        local timeout = deadline and (deadline - now_ms()) / 1000 or nil
        if timeout and timeout < 0 then timeout = 0 end
        local polled = {}
        each(sock, events, function(s, e)
            polled[#polled + 1] = { pollfd = function() return s:pollfd() end,
                events = function() return e end, timeout = function() return timeout end }
        end)
        if cond and cond.cq then polled[#polled + 1] = cond.cq end
        if #polled > 0 then
            polled[#polled + 1] = timeout
            local first = cqueues.poll(unpack(polled))
            if first == timeout then return "timeout" end
            return cond and first == cond.cq and "signaled" or "ready"
        end
        cqueues.sleep(timeout or 0)
        return "timeout"
    end
    return block(sock, events, deadline)
end

--- The one wait-until-ready loop (cqueues' timed_poll): calls step(x)
-- until it answers, waiting for sock to be ready for events between tries.
-- @param sock the socket to wait on
-- @tparam string events "r", "w" or "rw"
-- @tparam[opt] number deadline `now()` milliseconds
-- @tparam function step returns false while it cannot go on yet, or its answer
--   (up to three values, nil first included)
-- @param x step's argument
-- @return[1] step's answer
-- @treturn[2] boolean false at deadline
-- @treturn[2] string "timeout"
function _M.ready(sock, events, deadline, step, x)
    while true do
        local a, b, c = step(x)
        if a ~= false then return a, b, c end
        if _M.wait(sock, events, deadline) == "timeout" then return false, "timeout" end
    end
end

-- Conditions: a coroutine waits until another one signals, or a deadline.
local Cond = {}
Cond.__index = Cond

--- A condition variable for coroutines of `run` or cqueues; at top
-- level (one thread, nobody else to signal) its wait returns at once.
-- @treturn Cond the condition
function _M.cond()
    local cq = cqueues and cqueues.running and cqueues.running() and require("cqueues.condition").new()
    return setmetatable({ cq = cq, waiting = {} }, Cond)
end

--- Waits for `Cond:signal` or a deadline (a condition made by `cond`).
-- @tparam[opt] number deadline `now()` milliseconds; nil: no limit
-- @treturn string "signaled" or "timeout" ("ready" at once at top level)
function Cond:wait(deadline)
    if in_loop() then
        return coyield(nil, nil, deadline, self)
    end
    if self.cq and cqueues.running() then
        local timeout = deadline and math.max(0, (deadline - now_ms()) / 1000) or nil
        return cqueues.poll(self.cq, timeout) == self.cq and "signaled" or "timeout"
    end
    return "ready"
end

-- Ends the wait w (once): its coroutine runs next, resumed with how.
local function wake(w, how)
    if w.woken then return end
    w.woken = how
    if w.cond then w.cond.waiting[w] = nil end
    sleepers[w] = nil
    nwaiting = nwaiting - 1
    runnable[#runnable + 1] = w
end

--- Wakes every coroutine waiting on the condition (their wait returns
-- "signaled").
function Cond:signal()
    for w in pairs(self.waiting) do wake(w, "signaled") end
    if self.cq then self.cq:signal() end
end

--- Tells the scheduler a socket is about to be closed (cqueues keeps file
-- descriptors registered and must drop them first).
-- @param sock the socket
function _M.forget(sock)
    if cqueues and cqueues.running and cqueues.running() and sock:pollfd() >= 0 then
        cqueues.cancel(sock:pollfd())
    end
end

--- Sleeps, yielding where it can.
-- @tparam number seconds how long
function _M.sleep(seconds)
    _M.wait(nil, nil, now_ms() + math.floor(seconds * 1000))
end

local function resume(w)
    local co = w.co
    local ok, sock, events, deadline, cond = coresume(co, w.woken)
    if not ok then
        error(sock, 0)
    end
    if costatus(co) == "dead" then return end
    local nw = { co = co, sock = sock, events = events, deadline = deadline, cond = cond }
    nwaiting = nwaiting + 1
    if cond then cond.waiting[nw] = true end
    if sock ~= nil then
        on_socket[#on_socket + 1] = nw
    elseif deadline then
        sleepers[nw] = true
        if not sleep_min or deadline < sleep_min then sleep_min = deadline end
    end
end

--- Runs the spawned coroutines until all are done. An error in one of them
-- is raised here. The coroutines woken (by their socket, their deadline
-- or a signal) run first; poll waits only when none can run.
-- @raise the error of a coroutine
function _M.run()
    local fds, evs, who, got = {}, {}, {}, {}
    while true do
        while #runnable > 0 do
            local list = runnable
            runnable = {}
            for _, w in ipairs(list) do resume(w) end
        end
        if nwaiting == 0 then
            return
        end
        local n, keep, first = 0, 0, sleep_min
        for _, w in ipairs(on_socket) do
            if not w.woken then
                keep = keep + 1
                on_socket[keep] = w
                n = gather(w.sock, w.events, fds, evs, who, w, n)
                if w.deadline and (not first or w.deadline < first) then first = w.deadline end
            end
        end
        for k = keep + 1, #on_socket do on_socket[k] = nil end
        for k = n + 1, #fds do fds[k], evs[k], who[k] = nil, nil, nil end
        local timeout = first and first - now_ms() or -1
        if first and timeout < 0 then timeout = 0 end
        poll(fds, evs, timeout, got)
        for i = 1, n do
            if got[i] ~= 0 then wake(who[i], "ready") end
        end
        local now = now_ms()
        for _, w in ipairs(on_socket) do
            if not w.woken and w.deadline and w.deadline <= now then wake(w, "timeout") end
        end
        if sleep_min and sleep_min <= now then
            sleep_min = nil
            for w in pairs(sleepers) do
                if w.deadline <= now then
                    wake(w, "timeout")
                elseif not sleep_min or w.deadline < sleep_min then
                    sleep_min = w.deadline
                end
            end
        end
    end
end

return _M
