--- smpp.ngx: one SMPP account shared by every nginx worker.
--
-- A bind lives in a long-running ngx.timer (started by start() in
-- init_worker_by_lua*) in whichever worker holds one of the account's bind
-- slots: a slot is a lease in a lua_shared_dict (add with a TTL, renewed
-- while the bind lives, given back after the unbind), so however many
-- workers nginx runs, and through reloads, the SMSC never sees more than
-- `sessions` binds. Request handlers in any worker call send(): the message
-- goes onto a shared-dict list, a slot holder takes it, submits it and
-- leaves the result under the request's number, where send() finds it.
-- The account's rate is one GCRA bucket in the same dict, taken by every
-- slot holder, so the throttle holds across workers too (smpp.limits).
-- Receipts and MOs go to the handler modules named in start().
--
--   http { lua_shared_dict smpp 10m; lua_ssl_trusted_certificate ca.pem;
--          init_worker_by_lua_block { require("smpp.ngx").start{ shm = "smpp", ... } } }
--   location /sms { content_by_lua_block {
--       local ids, err, code = require("smpp.ngx").send{ to = ..., text = ... } } }
-- @module smpp.ngx
local core = require "smpp.core"
local smpp = require "smpp"
local limits = require "smpp.limits"
local track = require "smpp.track"

local ngx = ngx
local concat, floor, format, min = table.concat, math.floor, string.format, math.min
local error, ipairs, pairs, pcall, require, tonumber, tostring, type =
    error, ipairs, pairs, pcall, require, tonumber, tostring, type
local find, sub = string.find, string.sub
local now_ms = core.now_ms

local _M = {}

local RESULT_TTL = 120   -- seconds a result waits to be read
local TAKEN_GRACE = 120 -- seconds a taken message is waited for past the caller's timeout
local IDLE_MAX = 0.02    -- seconds a sender waits, at most, before looking at the queue again

local cfg -- this worker's start() options

-- Values through the shared dict (messages, results): smpp.track's encoding.
local encode, decode = track.encode, track.decode

local function log(level, ...)
    ngx.log(level, "smpp.ngx: ", ...)
end

-- ----------------------------------------------------------------------
-- Metrics in the shared dict, for `metrics()`: counters by one label
-- (x:NAME:LABEL; the labels of NAME listed in xl:NAME, added under a short
-- lock the first time), and the submit latency histogram (x:lat:LE).

local BUCKETS = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 }

local function count(c, name, label, n)
    local shm, p = c.dict, c.prefix
    local newval = shm:incr(p .. "x:" .. name .. ":" .. label, n or 1, 0)
    if newval == (n or 1) and shm:add(p .. "xk:" .. name .. ":" .. label, true) then -- a new label
        local lock = p .. "xlock:" .. name
        for _ = 1, 100 do
            if shm:add(lock, true, 0.05) then break end
            ngx.sleep(0.001)
        end
        local list = shm:get(p .. "xl:" .. name)
        shm:set(p .. "xl:" .. name, list and (list .. "\n" .. label) or label)
        shm:delete(lock)
    end
end

-- (one bucket a submit, the first that holds it: metrics() adds them up)
local function observe(c, seconds)
    local shm, p = c.dict, c.prefix
    for _, le in ipairs(BUCKETS) do
        if seconds <= le then
            shm:incr(p .. "x:lat:" .. le, 1, 0)
            break
        end
    end
    shm:incr(p .. "x:lat:count", 1, 0)
    shm:incr(p .. "x:lat:sum_us", floor(seconds * 1e6), 0)
end

-- ----------------------------------------------------------------------
-- The account's limits: bind slots and the rate (smpp.limits, shm backend).

-- Waits until n submits may go at the account's rate (n: parts of one message).
-- With redis (many hosts) unreachable: no submit (fail closed) until it is back.
-- (true when it had to wait)
local function take_tokens(lim, n)
    local waited = false
    while true do
        local wait, err = lim:take(n)
        if not wait then
            log(ngx.WARN, "limits: ", err, " (waiting)")
            wait = 1000
        end
        if wait <= 0 then return waited end
        waited = true
        ngx.sleep(wait / 1000)
    end
end

------------------------------------------------------------------------
-- The slot holder: one bind, senders taking the queue, handlers.

local function handler(spec)
    if spec == nil then return nil end
    if type(spec) == "function" then return spec end
    local mod = require(spec)
    if type(mod) == "table" and type(mod.handle) == "function" then return mod.handle end
    if type(mod) == "function" then return mod end
    error(format("smpp.ngx: module %s has no handle(event) function", spec))
end

local function stopping(c, state)
    return state.stop or ngx.worker.exiting() or c.stopped
end

-- Submits one queued message and leaves its result for send().
local function submit(c, client, job, lim)
    local nl = find(job, "\n", 1, true)
    local id, payload = sub(job, 1, nl - 1), sub(job, nl + 1)
    local shm = c.dict
    -- the claim: either this bind takes the message or its sender has given
    -- up on it (an atomic add each: exactly one of them wins)
    if not shm:add(c.prefix .. "c:" .. id, "taken", RESULT_TTL) then return end
    local ok, m = pcall(decode, payload)
    local result
    if not ok then
        result = { false, "message damaged in the queue", "queue" }
    else
        local parts = 1
        if type(m.text) == "string" then
            local cok, info = pcall(smpp.text.count, m.text, { encoding = m.encoding or "auto",
                charset = c.options.charset, concat = m.concat })
            if cok and info then parts = info.parts end
        end
        if take_tokens(lim, parts) then count(c, "throttle_waits", "all") end
        local t0 = now_ms()
        local sok, ids, err, code = pcall(client.send, client, m)
        if not sok then
            result = { false, tostring(ids), "argument" }
            count(c, "submits", "argument")
        elseif ids then -- (the client's tracker has what a receipt needs: see start's track)
            result = { true, ids }
            shm:incr(c.prefix .. "n:sent", 1, 0)
            count(c, "submits", "ok")
            observe(c, (now_ms() - t0) / 1000)
        else
            result = { false, err, code }
            shm:incr(c.prefix .. "n:failed", 1, 0)
            count(c, "submits", type(code) == "number" and format("0x%02X", code) or tostring(code))
        end
    end
    shm:set(c.prefix .. "r:" .. id, encode(result), RESULT_TTL)
end

-- A sender light thread: takes messages off the queue while the bind is up.
local function sender(c, client, state, lim)
    local shm, q = c.dict, c.prefix .. "q"
    local pause = 0.001
    while not stopping(c, state) do
        local job = state.bound and shm:lpop(q)
        if job then
            pause = 0.001
            submit(c, client, job, lim)
        else
            ngx.sleep(pause)
            pause = min(pause * 2, IDLE_MAX)
        end
    end
end

-- Holds slot k: binds, sends, renews the lease; returns when the worker
-- exits, the lease is lost or the bind fails.
local function hold(c, k, me, lim)
    local opts = {}
    for key, v in pairs(c.options) do opts[key] = v end
    opts.sessions, opts.transport = 1, "ngx"
    local client, err, code = smpp.connect(opts)
    if not client then
        log(ngx.WARN, format("slot %d: bind failed: %s (%s)", k, tostring(err), tostring(code)))
        return false
    end
    log(ngx.INFO, format("slot %d: bound in worker %d", k, ngx.worker.pid()))
    count(c, "binds", "all")
    local shm = c.dict
    local bound_key = c.prefix .. "bound:" .. k
    shm:set(bound_key, me, c.lease)
    local on_receipt, on_message = c.on_receipt, c.on_message
    client:on("receipt", function(r) -- r.message: from the tracker, whichever worker (or host) sent it
        shm:incr(c.prefix .. "n:receipts", 1, 0)
        count(c, "receipts", (tostring(r.stat or "unknown"):upper():gsub("[^%w_]", "")))
        if on_receipt then on_receipt(r) end
    end)
    client:on("message", function(m)
        shm:incr(c.prefix .. "n:messages", 1, 0)
        if on_message then on_message(m) end
    end)
    local state = { bound = true }
    local threads = {}
    for i = 1, c.concurrency do
        threads[i] = ngx.thread.spawn(sender, c, client, state, lim)
    end
    local renew_at = now_ms() + c.lease * 1000 / 3
    while not stopping(c, state) do
        client:run(0.05)
        state.bound = client:stats().bound > 0
        if now_ms() >= renew_at then
            local renewed, rerr = lim:renew(k, me)
            if renewed == nil then
                log(ngx.WARN, format("slot %d: cannot renew the lease: %s", k, tostring(rerr)))
            elseif not renewed then
                log(ngx.WARN, format("slot %d: lease lost, unbinding", k))
                break
            end
            if state.bound then shm:set(bound_key, me, c.lease) else shm:delete(bound_key) end
            renew_at = now_ms() + c.lease * 1000 / 3
        end
    end
    state.stop = true
    for _, t in ipairs(threads) do ngx.thread.wait(t) end
    client:close(c.close_timeout)
    shm:delete(bound_key)
    log(ngx.INFO, format("slot %d: unbound in worker %d", k, ngx.worker.pid()))
    return true
end

-- The timer of slot k in this worker: waits for the slot, holds it, and
-- gives it back, until the worker exits.
local function slot_loop(premature, c, k)
    if premature then return end
    local me = c.me
    local lim = c.new_limits() -- (a redis connection belongs to this timer)
    local backoff = c.poll
    while not ngx.worker.exiting() and not c.stopped do
        if lim:claim(k, me) then
            local ok, bound = pcall(hold, c, k, me, lim)
            if not ok then log(ngx.ERR, format("slot %d: %s", k, tostring(bound))) end
            lim:release(k, me)
            if ok and bound then
                backoff = c.poll
            else
                backoff = min(backoff * 2, c.max_backoff)
            end
            ngx.sleep(backoff * (0.5 + math.random()))
        else
            ngx.sleep(c.poll)
        end
    end
end

------------------------------------------------------------------------
-- The public face

local function bad(fn, msg) error(format("smpp.ngx.%s: %s", fn, msg), 3) end

--- Starts this worker's part: call it in init_worker_by_lua* of every
-- worker. A timer per bind slot waits for the slot, binds while it holds it,
-- and takes messages off the shared queue. Any other option is an option of
-- `smpp.client.connect` (host, port, tls, system_id, password, bind, window, ...),
-- given to each bind (`transport` "ngx", one session each).
-- @tparam table opts the options:
-- @tparam string opts.shm the lua_shared_dict (queue, results, bind slots, throttle), required
-- @tparam string opts.system_id the account, required
-- @tparam[opt=1] number opts.sessions the account's bind slots: binds across all workers
-- @tparam[opt=10] number opts.throttle the account's submits per second across all workers
-- @tparam[opt=10] number opts.lease seconds a slot is held without renewal (a dead
--   worker's slot frees after it)
-- @tparam[opt=10] number opts.concurrency messages a bind submits at once
-- @tparam[opt=0.1] number opts.poll seconds between looks at a slot held elsewhere
-- @tparam[opt=2] number opts.close_timeout seconds a bind that stops (a reload, a quit) waits for
--   what is on the wire before it unbinds and gives its slot back
-- @tparam[opt] string opts.key prefix of the shared keys; default "smpp:" and the system_id
-- @param[opt] opts.track where what was sent is kept for its receipts (`smpp.track`):
--   by default this shared dict (every worker of this nginx), for 72 hours; `{ redis =
--   "host:port" }` for receipts that come to another host, or `{ shm = "dict", ttl = s }`
-- @tparam[opt] table opts.limits `{ redis = "host:port" }`: the slots and the rate held in
--   Redis, for an account shared by many nginx hosts
-- @tparam[opt] string|function opts.on_receipt a module name with `handle(event)`, or a
--   function, given each `smpp.receipt.Receipt` (its `message`: what was sent, an
--   `smpp.client.Sent`, from whichever worker sent it; its `outcome` and `done`)
-- @tparam[opt] string|function opts.on_message as on_receipt, given each `smpp.client.Message`
-- @treturn[1] boolean true
-- @return[2] nil
-- @treturn[2] string message (a timer could not start)
-- @raise on a bad option, or no lua_shared_dict of that name
function _M.start(opts)
    if type(opts) ~= "table" then bad("start", "options must be a table") end
    if type(opts.shm) ~= "string" then bad("start", "shm must name a lua_shared_dict") end
    local dict = ngx.shared[opts.shm]
    if not dict then bad("start", format("no lua_shared_dict %q in nginx.conf", opts.shm)) end
    if type(opts.system_id) ~= "string" or opts.system_id == "" then bad("start", "system_id is required") end
    local sessions = opts.sessions or 1
    if type(sessions) ~= "number" or sessions < 1 or sessions % 1 ~= 0 then
        bad("start", "sessions must be a positive integer")
    end
    local rate = opts.throttle or 10
    if type(rate) ~= "number" or rate < 0 then bad("start", "throttle must be a number >= 0") end
    local options = {}
    for k, v in pairs(opts) do options[k] = v end
    for _, k in ipairs({ "shm", "sessions", "lease", "concurrency", "on_receipt", "on_message", "poll",
        "close_timeout", "key", "limits" }) do
        options[k] = nil
    end
    -- the account's rate is the shared bucket's; each bind keeps the same
    -- rate as its own upper bound (and for its back-off after 0x58)
    options.throttle = rate
    local key = opts.key or ("smpp:" .. opts.system_id:gsub("-", ""))
    options.track = opts.track or { shm = opts.shm, prefix = key .. ":" }
    -- the account's slots and rate: in the shared dict (one nginx), or in
    -- redis (limits = { redis = "host:port" }: many nginx hosts)
    local redis = type(opts.limits) == "table" and opts.limits.redis
    local lease = opts.lease or 10
    local lspec = { shm = not redis and opts.shm or nil, redis = redis or nil, key = key, rate = rate, lease = lease }
    local shared = not redis and limits.new(lspec)
    local c = {
        dict = dict, options = options, sessions = sessions,
        new_limits = function() return shared or limits.new(lspec) end,
        me = redis and limits.holder_id(ngx.worker.pid()) or tostring(ngx.worker.pid()),
        prefix = key .. ":", lease = lease, concurrency = opts.concurrency or 10, poll = opts.poll or 0.1,
        max_backoff = 10, close_timeout = opts.close_timeout or 2,
        on_receipt = handler(opts.on_receipt), on_message = handler(opts.on_message),
    }
    cfg = c
    if ngx.get_phase() == "init_worker" or ngx.get_phase() == "timer" or ngx.get_phase() == "content" then
        for k = 1, sessions do
            local ok, err = ngx.timer.at(0, slot_loop, c, k)
            if not ok then return nil, "smpp.ngx.start: " .. tostring(err) end
        end
    end
    return true
end

--- Stops this worker's binds (they unbind and give their slots back).
function _M.stop()
    if cfg then cfg.stopped = true end
end

--- Sends a message from any request handler of any worker: it goes on the
-- shared queue and a slot holder submits it. A message taken by a bind is
-- always waited for to the end (its response or failure).
-- @tparam table m a message as for `smpp.client.Client:send` (to, from, text or data,
--   receipt, ref, ...)
-- @tparam[opt=10] number m.timeout seconds for a bind to take the message
-- @treturn[1] table the message ids
-- @return[2] nil
-- @treturn[2] string message
-- @treturn[2] number|string code: as for `Client:send`, or "timeout" (no bind took
--   it in time, and then none will), "queue" (the shared dict is full, or the message
--   was damaged in it), "unknown" (the worker that took it went away), "argument"
-- @raise when `start` was not called in this worker, or on a bad message
function _M.send(m)
    local c = cfg
    if not c then bad("send", "smpp.ngx.start was not called in this worker") end
    if type(m) ~= "table" then bad("send", "the message must be a table") end
    if type(m.to) ~= "string" or m.to == "" then bad("send", "to must be a non-empty string") end
    if (m.text == nil) == (m.data == nil) then bad("send", "give text or data (one of them)") end
    local timeout = m.timeout or 10
    if type(timeout) ~= "number" or timeout <= 0 then bad("send", "timeout must be a positive number") end
    local shm, prefix = c.dict, c.prefix
    local id = shm:incr(prefix .. "seq", 1, 0)
    local job = id .. "\n" .. encode(m)
    local ok, err = shm:rpush(prefix .. "q", job)
    if not ok then return nil, "smpp.ngx: cannot queue the message: " .. tostring(err), "queue" end
    local key = prefix .. "r:" .. id
    local deadline = now_ms() + timeout * 1000
    local pause = 0.001
    while true do
        local r = shm:get(key)
        if r then
            shm:delete(key)
            shm:delete(prefix .. "c:" .. id)
            r = decode(r)
            if r[1] then return r[2] end
            return nil, r[2], r[3]
        end
        if now_ms() >= deadline + TAKEN_GRACE * 1000 then -- taken by a worker that died since
            return nil, "smpp.ngx: the bind that took the message went away; its fate is unknown", "unknown"
        end
        if now_ms() >= deadline and shm:add(prefix .. "c:" .. id, "given up", RESULT_TTL) then
            return nil, format("smpp.ngx: no bind took the message within %g s", timeout), "timeout"
        end
        -- (past the deadline with the message taken: its result comes soon)
        ngx.sleep(pause)
        pause = min(pause * 2, IDLE_MAX)
    end
end

--- Counters of the account across workers.
-- @treturn table `{ queued, sent, failed, receipts, messages, slots, bound }`:
--   slots, per slot the pid of the worker holding it (with `limits`, the holder's
--   name), or false; bound, how many slots have their bind up
-- @raise when `start` was not called in this worker
function _M.stats()
    local c = cfg
    if not c then bad("stats", "smpp.ngx.start was not called in this worker") end
    local shm, p = c.dict, c.prefix
    local out = { queued = shm:llen(p .. "q"), slots = {}, bound = 0 }
    local lim = c.new_limits()
    for _, k in ipairs({ "sent", "failed", "receipts", "messages" }) do
        out[k] = shm:get(p .. "n:" .. k) or 0
    end
    for k = 1, c.sessions do
        local holder = lim:holder(k)
        out.slots[k] = type(holder) == "string" and (tonumber(holder:match("(%d+)$")) or holder) or false
        if shm:get(p .. "bound:" .. k) then out.bound = out.bound + 1 end
    end
    if lim.close then lim:close() end
    return out
end

local METRICS = {
    { "submits", "smpp_submits_total", "counter", "status",
        "Messages submitted, by result: ok, an SMPP status (0x..), or an error code" },
    { "receipts", "smpp_receipts_total", "counter", "stat", "Delivery receipts received, by stat" },
}

--- The account's metrics across workers, in the Prometheus text format
-- (version 0.0.4): `smpp_submits_total{status}`, `smpp_receipts_total{stat}`,
-- `smpp_binds_total` (binds made, reconnects among them), `smpp_bound` (slots
-- bound now), `smpp_throttle_waits_total` (submits that waited for the rate),
-- `smpp_queue_depth`, `smpp_mo_messages_total` and the histogram
-- `smpp_submit_seconds` (a bind's submit to its response).
-- @treturn string the exposition, for `Content-Type: text/plain; version=0.0.4`
-- @raise when `start` was not called in this worker
function _M.metrics()
    local c = cfg
    if not c then bad("metrics", "smpp.ngx.start was not called in this worker") end
    local shm, p = c.dict, c.prefix
    local out = {}
    local function add(fmt, ...) out[#out + 1] = format(fmt, ...) end
    for _, m in ipairs(METRICS) do
        local name, metric, kind, label, help = m[1], m[2], m[3], m[4], m[5]
        add("# HELP %s %s", metric, help)
        add("# TYPE %s %s", metric, kind)
        for value in (shm:get(p .. "xl:" .. name) or ""):gmatch("[^\n]+") do
            add('%s{%s="%s"} %d', metric, label, value, shm:get(p .. "x:" .. name .. ":" .. value) or 0)
        end
    end
    add("# HELP smpp_binds_total Binds made (the first of each slot and every reconnect)")
    add("# TYPE smpp_binds_total counter")
    add("smpp_binds_total %d", shm:get(p .. "x:binds:all") or 0)
    add("# HELP smpp_throttle_waits_total Submits that waited for the account's rate")
    add("# TYPE smpp_throttle_waits_total counter")
    add("smpp_throttle_waits_total %d", shm:get(p .. "x:throttle_waits:all") or 0)
    local st = _M.stats()
    add("# HELP smpp_bound Bind slots whose bind is up")
    add("# TYPE smpp_bound gauge")
    add("smpp_bound %d", st.bound)
    add("# HELP smpp_queue_depth Messages waiting for a bind")
    add("# TYPE smpp_queue_depth gauge")
    add("smpp_queue_depth %d", st.queued)
    add("# HELP smpp_mo_messages_total MO messages received")
    add("# TYPE smpp_mo_messages_total counter")
    add("smpp_mo_messages_total %d", st.messages)
    add("# HELP smpp_submit_seconds A bind's submit of a message to its response")
    add("# TYPE smpp_submit_seconds histogram")
    local below = 0
    for _, le in ipairs(BUCKETS) do
        below = below + (shm:get(p .. "x:lat:" .. le) or 0)
        add('smpp_submit_seconds_bucket{le="%s"} %d', tostring(le), below)
    end
    local n = shm:get(p .. "x:lat:count") or 0
    add('smpp_submit_seconds_bucket{le="+Inf"} %d', n)
    add("smpp_submit_seconds_sum %.6f", (shm:get(p .. "x:lat:sum_us") or 0) / 1e6)
    add("smpp_submit_seconds_count %d", n)
    return concat(out, "\n") .. "\n"
end

return _M
