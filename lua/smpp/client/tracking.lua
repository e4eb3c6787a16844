-- smpp.client.tracking: the client's side of smpp.track. What was sent is
-- written after the SMSC took it (a submit never waits for the store; a
-- write that fails is counted and tried again at the next write and the
-- next receipt), each receipt is looked up and settles its message's
-- outcome, and sends with once = true claim their ref first.
local loop = require "smpp.loop"
local track = require "smpp.track"

local format, min, remove = string.format, math.min, table.remove
local ipairs, type, tostring = ipairs, type, tostring
local now_ms = loop.now

local _M = {}

--- The client's tracker, made when first needed.
function _M.tracker(c)
    local t = c.tracker
    if not t then
        t = track.new(c.opts.track)
        c.tracker = t
    end
    return t
end

local RETRY_MAX = 10000 -- writes kept to try again while the store fails (the oldest go first)

local function put(c, t, id, record)
    local ok, err = t:put(id, record)
    if ok then return true end
    c.counters.track_errors = c.counters.track_errors + 1
    local list = c.track_retry
    if #list >= RETRY_MAX then remove(list, 1) end
    list[#list + 1] = { id, record }
    if c.log then c.log("warn", "tracker: %s (message id %s kept to write again)", tostring(err), id) end
end

-- Writes again what the store refused before (until it fails again).
local function retry_puts(c)
    local list = c.track_retry
    if not list[1] then return end
    local t = _M.tracker(c)
    c.track_retry = {}
    for k, e in ipairs(list) do
        if not t:put(e[1], e[2]) then
            for j = k, #list do c.track_retry[#c.track_retry + 1] = list[j] end
            return
        end
    end
end

--- Part id of job was accepted: its message's record under that id (a
--- receipt may come at once).
function _M.keep(c, job, id)
    local t = _M.tracker(c)
    local record = job.record
    if not record then
        local m = job.m
        record = { key = t:message_key(), to = job.to, from = job.from, ref = m.ref, meta = m.meta, text = m.text,
            parts = job.n, submitted = os.time() }
        job.record = record
    end
    retry_puts(c)
    record.ids = job.ids
    put(c, t, id, record)
end

--- The message is whole: its parts' records again, each with every id
--- (a store that keeps the record itself has them already).
function _M.keep_all(c, job)
    local t = _M.tracker(c)
    if t.store.raw then return end
    for _, id in ipairs(job.ids) do
        if id ~= "" then put(c, t, id, job.record) end
    end
end

--- A receipt r: r.message, r.outcome and r.done when the store knows its
--- id, r.lookup_error when the store failed. With a store of its own
--- (track = ...), any receipt may be of a message another process sent; in
--- memory, only once this one asked for receipts. Returns whether the
--- message is done with it.
function _M.match(c, r)
    if not (c.tracker or c.opts.track) then return false end
    local t = _M.tracker(c)
    retry_puts(c)
    local record, err = t:find(r.id)
    local done = false
    if record then
        r.message = record
        local outcome, x = t:settle(record, r.id, r.stat)
        if outcome then
            r.outcome, r.done, done = outcome, x, x
        else
            err = x
        end
    end
    if err then
        r.lookup_error = err
        c.counters.track_errors = c.counters.track_errors + 1
    end
    return done
end

--- once = true: the claim on m.ref, before the message goes. nil when it
--- may go; else its result (the ids of the send that went before, again =
--- true, or an error). A claim held by another send is waited for, up to
--- the message's deadline.
function _M.claim(c, m, deadline)
    local t = _M.tracker(c)
    while true do
        local got, err = t:claim(m.ref)
        if got == "claimed" then return nil end
        if got == nil then return { nil, "once: the tracker's store failed: " .. tostring(err), "track" } end
        if type(got) == "table" then
            got.again = true
            return got
        end
        if now_ms() >= deadline then
            return { nil, format("once: a send with ref %s is under way, or its result was never known",
                tostring(m.ref)), "once" }
        end
        c.T.cond():wait(min(deadline, now_ms() + 50))
    end
end

--- After a claimed send: its ids for the next send of the ref, or the claim
--- given up when nothing of it can have reached the SMSC (an uncertain
--- result keeps the claim: at most once). Returns r.
function _M.claimed(c, m, r)
    local t = _M.tracker(c)
    if r[1] ~= nil then
        if not t:claimed(m.ref, r) then c.counters.track_errors = c.counters.track_errors + 1 end
    elseif r[3] == "unsent" or (type(r[3]) == "number" and not r[4] and not r.resent) then
        t:release(m.ref)
    end
    return r
end

return _M
