-- smpp.client.send: the one pipeline of every request. A message becomes a
-- job (its parts' values, its deadline); jobs wait in the client's queue
-- for a bind, room in the window and the throttle, and each part enters a
-- session engine as a submit built in C (session:submit), tagged with its
-- job and part number. The engine then owns the request: one completion
-- path (event, accepted) turns what the engine says into the job's result,
-- exactly once. Nothing of a job is sent once its result is given.
--
-- Results: accepted (the ids, one per part; ids.resent when it was sent
-- again after an uncertain loss); refused (the SMSC's status: certain);
-- "unsent" (it never left this process: certain, safe to retry); or
-- uncertain: "timeout", "closed", "invalid" (the SMSC may have it).
local loop = require "smpp.loop"
local pdu_mod = require "smpp.pdu"
local text = require "smpp.text"
local tracking = require "smpp.client.tracking"
local options = require "smpp.client.options"
local sessions = require "smpp.client.sessions"

local format, floor, max = string.format, math.floor, math.max
local ipairs, pairs, type, pcall, error = ipairs, pairs, type, pcall, error
local now_ms = loop.now
local status_text = pdu_mod.status_text

local _M = {}

local UNREADABLE = "the response could not be read (the SMSC may have taken the request): "
local UNSENT = "not sent: the deadline came while it waited for a bind, room in the window or the throttle"

------------------------------------------------------------------------
-- Building: a message table into a job.

-- SMPP times: seconds from now (relative) or an epoch (absolute), or a string.
local function relative_time(seconds)
    seconds = floor(seconds)
    local days = floor(seconds / 86400)
    local years = floor(days / 365)
    days = days - years * 365
    local months = floor(days / 30)
    days = days - months * 30
    local rest = seconds % 86400
    return format("%02d%02d%02d%02d%02d%02d000R", years, months, days, floor(rest / 3600),
        floor(rest % 3600 / 60), rest % 60)
end

local function smpp_time(v, relative)
    if v == nil or type(v) == "string" then return v end
    if relative then return relative_time(v) end
    return os.date("!%y%m%d%H%M%S", floor(v)) .. "000+"
end
_M.smpp_time = smpp_time

-- The source_addr_ton and _npi of a sender: an international number, a
-- short code, or alphanumeric (a bounded memo).
local FROM_TON_NPI, NFROM = {}, 0
local function guess_ton_npi(from)
    local guess = FROM_TON_NPI[from]
    if not guess then
        guess = from:match("^%d+$") and { #from > 6 and 1 or 0, 1 } or { from:match("%a") and 5 or 0, 0 }
        if NFROM < 1000 then FROM_TON_NPI[from], NFROM = guess, NFROM + 1 end
    end
    return guess[1], guess[2]
end

-- The fields of a message beyond the common ones, for every part (nil: none).
local function extra_fields(m)
    if m.validity == nil and m.schedule == nil and m.service_type == nil and m.priority == nil
        and m.fields == nil then
        return nil
    end
    local x = {}
    if m.service_type ~= nil then x.service_type = m.service_type end
    if m.priority ~= nil then x.priority_flag = m.priority end
    if m.validity ~= nil then x.validity_period = smpp_time(m.validity, true) end
    if m.schedule ~= nil then x.schedule_delivery_time = smpp_time(m.schedule, false) end
    if m.fields then
        for k, v in pairs(m.fields) do x[k] = v end
    end
    return x
end

-- A part's own fields (SAR TLVs, message_payload) with the message's.
local function part_fields(part, common)
    if part.sar_msg_ref_num == nil and part.message_payload == nil then return common end
    local x = {}
    if common then
        for k, v in pairs(common) do x[k] = v end
    end
    if part.message_payload ~= nil then x.message_payload = part.message_payload end
    if part.sar_msg_ref_num ~= nil then
        x.sar_msg_ref_num, x.sar_total_segments, x.sar_segment_seqnum =
            part.sar_msg_ref_num, part.sar_total_segments, part.sar_segment_seqnum
    end
    return x
end

local function new_job(c, deadline)
    local n = c.next_job + 1
    c.next_job = n
    return { seq = n, deadline = deadline, next = 1, inflight = 0, ids = {}, n = 1, nok = 0 }
end

-- The job of a message (checked by options.message), or nil, message, code.
-- A job keeps what the message's submits need beside the message itself
-- (m): the addresses, and the octets when they are one part (parts, the
-- fields beyond the common ones: extras, set only when there are some). Its
-- constructor holds thirteen fields, so that what a job gains on its way
-- (done, batch and index, or a waiter) fits without growing it.
local function build(c, m, deadline)
    local from = m.from or c.opts.from or ""
    local common = extra_fields(m)
    if common then -- fields given as they are: the codec says now whether it can write them
        local probe = { command = "submit_sm", destination_addr = m.to }
        for k, v in pairs(common) do probe[k] = v end
        local ok, err = pcall(pdu_mod.encode, probe)
        if not ok then return nil, (tostring(err):gsub("^.-:%d+: ", "")), "argument" end
    end
    local n, sm, esm, dcs, parts = 1, m.data, m.esm_class or 0, m.data_coding or 4, nil
    if sm == nil then
        if m.encoding == nil and m.concat == nil and m.substitute == nil then
            -- the common message: one part, encoded in C
            local code
            sm, dcs, code = text.one_part(m.text, c.charset_opts)
            if sm == nil then return nil, dcs, code or "text" end
            esm = 0
        end
        if not sm then
            local so = c.split_opts -- one table for every message (split keeps nothing of it)
            so.encoding, so.charset, so.concat, so.to, so.substitute =
                m.encoding or "auto", c.opts.charset, m.concat, m.to, m.substitute
            local ok, list, err, code = pcall(text.split, m.text, so)
            if not ok then return nil, (tostring(list):gsub("^.-:%d+: ", "")), "argument" end
            if not list then return nil, err, code or "text" end
            for _, part in ipairs(list) do part.extras = part_fields(part, common) end
            n, parts = #list, list
        end
    end
    local seq = c.next_job + 1
    c.next_job = seq
    local job = { seq = seq, deadline = deadline, next = 1, inflight = 0, ids = {}, n = n, nok = 0, m = m,
        to = m.to, from = from, sm = sm, esm = esm, dcs = dcs }
    if parts then job.parts = parts end
    if common then job.extras = common end
    return job
end

--- A job for a request the client makes itself (bind, unbind; sent as
--- part 0, its response comes as a table): its event sets resp, or err and
--- code, and done.
function _M.internal()
    return { internal = true }
end

------------------------------------------------------------------------
-- Results: the one completion path.

-- The ids (of the parts accepted, on a failure) say resent when a part
-- went twice: the SMSC may have it twice.
local function result_of(job)
    local ids = job.ids
    if job.resent then ids.resent = true end
    if job.code == nil then return job.pdu and job.resp or ids end
    return { nil, job.err, job.code, (ids[1] or job.resent) and ids or job.resp, resent = job.resent or nil }
end

local function finish(c, job)
    job.done = true
    if job.waiter then sessions.wake_job(c, job) end
    local counters = c.counters
    if job.code == nil then
        counters.accepted, counters.parts = counters.accepted + 1, counters.parts + job.n
    else
        counters.failed = counters.failed + 1
        counters.failed_by_status[job.code] = (counters.failed_by_status[job.code] or 0) + 1
        if job.code == "unsent" then counters.unsent = counters.unsent + 1 end
    end
    local b = job.batch
    if b then
        b.results[job.index] = result_of(job)
        b.left = b.left - 1
    end
end

local function fail(c, job, err, code)
    if job.done then return end
    job.err, job.code = err, code
    finish(c, job)
end

-- A job past its deadline: what never left is "unsent"; what was on the
-- wire without an answer is uncertain.
local function settle(c, job)
    if job.done then return end
    if job.inflight > 0 or job.uncertain then
        fail(c, job, job.uncertain or "no response in time", job.uncertain_code or "timeout")
    else
        fail(c, job, UNSENT, "unsent")
    end
end

local function part_ok(c, job, i, id)
    if job.done then -- its call has ended: the SMSC took it after all
        c.counters.late = c.counters.late + 1
        return
    end
    job.inflight = job.inflight - 1
    job.ids[i] = id
    local m = job.m
    job.nok = job.nok + 1
    local whole = job.nok == job.n
    -- the result first: a caller in another coroutine has it while this one
    -- waits on the store (a caller driving the sockets itself, once the
    -- write is done or failed); the write is done before the next PDU is
    -- read, a receipt among them
    if whole then finish(c, job) end
    if m and m.receipt and id ~= "" then tracking.keep(c, job, id) end
    if whole and job.n > 1 and job.record then tracking.keep_all(c, job) end
end

local function part_failed(c, job, err, code)
    job.inflight = job.inflight - 1
    if job.done then return end
    fail(c, job, err, code) -- the first failure ends the message; the rest are not sent
end

-- Puts part i of job back to go again, before any new message, in the
-- order the messages were first sent.
local function requeue(c, job, i)
    local r = c.retry
    local at = #r + 1
    while at > 1 and (r[at - 2].seq > job.seq or (r[at - 2] == job and r[at - 1] > i)) do at = at - 2 end
    table.insert(r, at, i)
    table.insert(r, at, job)
    job.waiting = (job.waiting or 0) + 1
end

-- A part whose fate is not known (lost link, no answer, unreadable answer):
-- sent again once with resend = true, else the job's uncertain end.
local function uncertain(c, job, i, err, code)
    job.inflight = job.inflight - 1
    if job.done then return end
    job.uncertain, job.uncertain_code = err, code
    job.again = job.again or {}
    if c.opts.resend and not job.again[i] and not c.closing and now_ms() < job.deadline then
        job.again[i], job.resent = true, true
        c.counters.resent = c.counters.resent + 1
        return requeue(c, job, i)
    end
    fail(c, job, err, code)
end

--- Successful responses of a read, as triples (job, part, message_id).
function _M.accepted(c, list, n)
    for k = 1, 3 * n, 3 do part_ok(c, list[k], list[k + 1], list[k + 2]) end
end

--- An engine event of a request (ev.tag is its job).
function _M.event(c, _, ev)
    local job, i, t = ev.tag, ev.part, ev.type
    if job.internal then
        if t == "response" then
            job.resp = ev.pdu
            local st = ev.pdu.command_status
            if st ~= 0 then job.err, job.code = status_text(st), st end
        else
            job.err = ev.message or t
            job.code = t == "timeout" and "timeout" or "closed"
        end
        job.done = true
        return
    end
    if t == "response" then
        local p = ev.pdu
        local st = p.command_status
        if job.pdu then job.resp = p end
        if st == 0 then return part_ok(c, job, i, p.message_id or "") end
        return part_failed(c, job, status_text(st), st)
    elseif t == "expired" then
        return part_failed(c, job, status_text(ev.status) .. "; not sent again: the deadline came", ev.status)
    elseif t == "aborted" then
        if ev.unsent and not job.done then -- it never left: it goes when a session can take it
            job.inflight = job.inflight - 1
            return requeue(c, job, i)
        end
        return uncertain(c, job, i, "connection lost before the response: " .. (ev.message or "closed"), "closed")
    elseif t == "timeout" then
        c.counters.timeouts = c.counters.timeouts + 1
        return uncertain(c, job, i, format("no response to %s within %g s", ev.command or "the request",
            c.opts.response_timeout), "timeout")
    elseif t == "invalid" then
        return uncertain(c, job, i, UNREADABLE .. (ev.message or "?"), "invalid")
    end
end

------------------------------------------------------------------------
-- The queue: jobs wait there for a session; feed moves them on.

-- The current job of batch b (built as its turn comes, so that each message
-- has its own time to find room), or nil when the batch has no more.
local function batch_job(c, b)
    if b.job then return b.job end
    while b.next <= b.count and not b.abandoned do
        local idx = b.next
        b.next = idx + 1
        local m = b.list[idx]
        local err = options.message(m)
        local job, code
        if not err then job, err, code = build(c, m, b.progress + b.per) end
        if job then
            job.batch, job.index = b, idx
            b.job = job
            b.open[#b.open + 1] = job
            return job
        end
        b.results[idx] = { nil, err, code or "argument" }
        b.left = b.left - 1
    end
end

-- The next part to send: job, part, and where it waits ("retry", or the
-- queue's head source).
local function peek(c)
    local r = c.retry
    while r[1] do
        local job = r[1]
        if not job.done then return job, r[2], "retry" end
        table.remove(r, 1)
        table.remove(r, 1)
        job.waiting = job.waiting - 1
    end
    local q = c.queue
    while q.head <= q.tail do
        local src = q[q.head]
        local job = src
        if src.list then job = batch_job(c, src) end
        if job and not job.done and job.next <= job.n then return job, job.next, src end
        if src.list and job then
            src.job = nil -- its next message
        else
            q[q.head], q.head = nil, q.head + 1
        end
    end
end

-- Part i of job went into the engine: it leaves its place in the queue.
local function took(c, job, i, from)
    job.inflight = job.inflight + 1
    if from == "retry" then
        table.remove(c.retry, 1)
        table.remove(c.retry, 1)
        job.waiting = job.waiting - 1
        if job.waiting == 0 then job.waiting = nil end
        return
    end
    if i == 1 then c.counters.sent = c.counters.sent + 1 end -- its first part left
    job.next = i + 1
    if job.next <= job.n then return end
    local q = c.queue
    if from.list then -- a batch: its next message waits its turn behind the others
        from.job, from.progress = nil, now_ms()
        if q.tail > q.head then
            q[q.head], q.head = nil, q.head + 1
            q.tail = q.tail + 1
            q[q.tail] = from
        end
    else
        q[q.head], q.head = nil, q.head + 1
    end
end

local function submit(s, job, i, now)
    local engine = s.engine
    if job.pdu then return engine:send(job.pdu, now, job, 0, job.deadline) end -- (0: the response as a table)
    local m, from, sm, esm, dcs, extras = job.m, job.from, job.sm, job.esm, job.dcs, job.extras
    local parts = job.parts
    if parts then
        local part = parts[i]
        sm, esm, dcs, extras = part.short_message, part.esm_class, part.data_coding, part.extras
    end
    local ton, npi = m.from_ton, m.from_npi
    if ton == nil or npi == nil then
        local gton, gnpi = guess_ton_npi(from)
        ton, npi = ton or gton, npi or gnpi
    end
    return engine:submit(now, job, i, job.deadline, from, ton, npi, job.to, m.to_ton or 1, m.to_npi or 1,
        m.receipt and 1 or 0, esm, dcs, sm, extras)
end

--- Ends every job still waiting in the queue: none of it left (or, for a
--- part lost on the wire before, uncertain).
function _M.drop_queued(c, why)
    local r = c.retry
    for k = 1, #r, 2 do
        local job = r[k]
        if not job.done then
            if job.uncertain then fail(c, job, job.uncertain, job.uncertain_code) else fail(c, job, why, "unsent") end
        end
    end
    c.retry = {}
    local q = c.queue
    for k = q.head, q.tail do
        local src = q[k]
        if src.list then
            src.abandoned = why
            if src.job then fail(c, src.job, why, "unsent") end
        else
            fail(c, src, why, "unsent")
        end
        q[k] = nil
    end
    q.head, q.tail = 1, 0
end

--- Sends what waits as far as the sessions take it; returns when it next
--- needs the time (the throttle), or nil (a response or a bind wakes it).
local function hopeless(c)
    if c.retry[1] or c.queue.head <= c.queue.tail then
        _M.drop_queued(c, c.closing and "the client is closed" or "no session is bound and none will reconnect")
    end
end

function _M.feed(c)
    if c.closing then return hopeless(c) end
    local flush_every, fed = c.flush_every, 0
    while true do
        local job, i, from = peek(c)
        if not job then return nil end
        local now = now_ms()
        if now >= job.deadline then
            settle(c, job)
        else
            local s = sessions.pick(c)
            if not s then
                if not sessions.hope(c) then hopeless(c) end
                return nil
            end
            if c.limits and not job.pdu and not c.token then -- the account's rate, shared with others
                local wait = sessions.shared_wait(c)
                if wait > 0 then return now + wait end
                c.token = true
            end
            local ok, err, code = submit(s, job, i, now)
            if ok then
                c.token = nil
                took(c, job, i, from)
                fed = fed + 1
                -- half a window goes out at once: the SMSC starts on it
                -- while the rest is made (both sides busy, not taking turns)
                if fed % flush_every == 0 then s.link:flush(now) end
            elseif code == "throttled" then
                return now + max(1, s.engine:submit_delay(now))
            elseif code == "window" then
                return nil
            elseif code == "closed" then -- the link died under us: its end is among its events
                sessions.down(c, s, err)
            else -- it cannot be sent at all (a field the SMSC cannot take): it never left
                fail(c, job, err, code == "state" and "state" or "argument")
            end
        end
    end
end

-- Another coroutine drives the sockets, maybe asleep in poll: what waits
-- goes into the engines now, and the driver is woken to write it (once for
-- every sender that came meanwhile).
local function nudge(c)
    if c.driver == nil or c.driver == loop.running() then return end
    _M.feed(c)
    c.kick:signal()
end

local function can_send(c)
    if c.closing or c.closed then return nil, "the client is closed", "closed" end
    if not c.sends then return nil, "a receiver bind cannot send requests", "state" end
    return true
end

local function job_done(job) return job.done end

-- Waits for job's end (by its deadline); an error raised meanwhile (an
-- interrupt) ends the job where it stands: nothing more of it is sent.
local function wait_job(c, job)
    local ok, err = loop.pcall(sessions.await, c, job_done, job.deadline, job)
    if not ok then
        job.done = true
        error(err, 0)
    end
    settle(c, job)
    return result_of(job)
end

local function push(c, src)
    local q = c.queue
    q.tail = q.tail + 1
    q[q.tail] = src
    nudge(c)
end

--- One message (checked): ids, or a table { nil, message, code, ids }.
function _M.one(c, m)
    local ok, err, code = can_send(c)
    if not ok then return { nil, err, code } end
    local seconds = m.timeout or c.opts.response_timeout * 3
    local deadline = now_ms() + floor(seconds * 1000)
    local job, berr, bcode = build(c, m, deadline)
    if not job then return { nil, berr, bcode } end
    if m.once then
        local before = tracking.claim(c, m, deadline)
        if before then return before end
    end
    push(c, job)
    if not m.once then return wait_job(c, job) end
    return tracking.claimed(c, m, wait_job(c, job))
end

--- A request PDU (a table, checked by the codec: nil, message when it
--- cannot be written): the job's result.
function _M.request(c, p, seconds)
    local writable, why = pcall(pdu_mod.encode, p)
    if not writable then return nil, (tostring(why):gsub("^.-:%d+: ", "")) end
    if p.command ~= "enquire_link" and p.command ~= "unbind" then
        local ok, err, code = can_send(c)
        if not ok then return { nil, err, code } end
    end
    local job = new_job(c, now_ms() + floor(seconds * 1000))
    job.pdu = p
    push(c, job)
    return wait_job(c, job)
end

-- The earliest deadline among batch b's messages still open.
local function batch_deadline(b)
    local open = b.open
    while open[b.oh] and open[b.oh].done do
        open[b.oh] = nil
        b.oh = b.oh + 1
    end
    local d = open[b.oh] and open[b.oh].deadline
    if b.next <= b.count and not (b.job and not b.job.done) then
        local head = b.progress + b.per
        if not d or head < d then d = head end
    end
    return d
end

-- Ends what of batch b is past its deadline.
local function settle_batch(c, b)
    local now = now_ms()
    for k = b.oh, #b.open do
        local job = b.open[k]
        if job and not job.done and now >= job.deadline then settle(c, job) end
    end
    if b.job and b.job.done then b.job = nil end
    if (b.abandoned or now >= b.progress + b.per) and not b.job then
        -- the rest never found room in time: none of it left
        local why = b.abandoned or UNSENT
        b.abandoned = why
        while b.next <= b.count do
            local idx = b.next
            b.next = idx + 1
            local err = options.message(b.list[idx])
            b.results[idx] = { nil, err or why, err and "argument" or "unsent" }
            b.left = b.left - 1
            if not err then
                c.counters.failed, c.counters.unsent = c.counters.failed + 1, c.counters.unsent + 1
            end
        end
    end
end

--- Many messages through the window: one result per message, in order.
function _M.many(c, list, seconds)
    local n = #list
    local b = { list = list, count = n, next = 1, results = {}, left = n, open = {}, oh = 1,
        per = floor(seconds * 1000), progress = now_ms() }
    local ok, err, code = can_send(c)
    if not ok then
        for i = 1, n do b.results[i] = { nil, err, code } end
        return b.results
    end
    push(c, b)
    local done = function() return b.left == 0 end
    local pok, perr = loop.pcall(function()
        while b.left > 0 do
            settle_batch(c, b)
            if b.left == 0 then break end
            sessions.await(c, done, batch_deadline(b))
        end
    end)
    if not pok then
        b.abandoned = "interrupted"
        for _, job in ipairs(b.open) do job.done = true end
        error(perr, 0)
    end
    return b.results
end

return _M
