-- Long MO messages through the client: the parts an SMSC delivers are joined
-- into one message for the handler, never lost (a handler that raises gets
-- the message again when the SMSC delivers its last part again), never
-- spliced wrong (a part delivered again after its message was handled is only
-- answered), never stuck (a message missing a part comes partial after
-- join_timeout). The SMSC is written here over smpp.core: it binds the
-- client, sends deliver_sm parts and notes the status of each answer.
local smpp = require "smpp"
local core = require "smpp.core"
local loop = require "smpp.loop"
local posix = require "smpp.transport.posix"

local text = smpp.text

local FROM, TO = "447700900123", "12345"
local ESME_RX_T_APPN = 0x64

-- The deliver_sm of each part of a text (opts as for text.split).
local function parts_of(s, opts)
    local list = assert(text.split(s, opts))
    assert(#list > 1, "a long text")
    for _, p in ipairs(list) do
        p.command = "deliver_sm"
        p.source_addr, p.destination_addr = FROM, TO
    end
    return list
end

-- The SMSC ---------------------------------------------------------------

local Smsc = {}
Smsc.__index = Smsc

local function new_smsc()
    local listener = assert(core.tcp_listen("127.0.0.1", 0))
    return setmetatable({ listener = listener, port = listener:port(), answers = {}, sent = {},
        labels = {} }, Smsc)
end

-- One turn of the link (until deadline at most): binds, notes answers.
function Smsc:step(deadline)
    local session = self.link.session
    for _, ev in ipairs(self.link:step(deadline)) do
        local p = ev.pdu
        if ev.type == "request" and p.command:match("^bind_") then
            session:respond({ command = p.command .. "_resp", sequence_number = p.sequence_number,
                system_id = "smsc" }, loop.now())
            self.bound = true
        elseif ev.type == "response" and self.sent[ev.id] then
            self.answers[self.sent[ev.id]] = p.command_status
        elseif (ev.type == "timeout" or ev.type == "aborted") and self.sent[ev.id] then
            self.answers[self.sent[ev.id]] = ev.type
        elseif ev.type == "closed" then
            self.closed = ev.message or "closed"
        end
    end
end

-- Steps until ready() is true, the link closes or seconds pass; ready()'s value.
function Smsc:wait_for(ready, seconds)
    local deadline = loop.now() + math.floor((seconds or 5) * 1000)
    while not ready() and not self.closed and not self.abandoned and loop.now() < deadline do
        self:step(math.min(deadline, loop.now() + 50))
    end
    return ready()
end

-- Sends a deliver_sm (label: what the spec calls it, "A3"); its answer
-- comes in answers[index], which it returns.
function Smsc:deliver(pdu, label)
    local copy = {}
    for k, v in pairs(pdu) do copy[k] = v end
    local id = assert(self.link.session:send(copy, loop.now()))
    local index = #self.labels + 1
    self.labels[index], self.sent[id] = label, index
    return index
end

-- Sends the parts given ({ pdu, label } ...) and waits for all their answers:
-- their statuses, in the order sent.
function Smsc:deliver_all(list, seconds)
    local indexes = {}
    for i, item in ipairs(list) do indexes[i] = self:deliver(item[1], item[2]) end
    self:wait_for(function()
        for _, k in ipairs(indexes) do
            if self.answers[k] == nil then return false end
        end
        return true
    end, seconds)
    local statuses = {}
    for i, k in ipairs(indexes) do statuses[i] = self.answers[k] or "no answer" end
    return statuses
end

-- Keeps the link going for seconds (the client may still be at work).
function Smsc:idle(seconds)
    self:wait_for(function() return false end, seconds)
end

-- Accepts the client, binds it, runs script(smsc), then waits for the
-- client to unbind. Errors are kept in self.failure.
function Smsc:serve(script)
    local ok, err = xpcall(function()
        local sock = assert(posix.accept(self.listener, loop.now() + 5000))
        self.link = posix.link(sock, core.session{ role = "smsc", enquire_link = 0 })
        assert(self:wait_for(function() return self.bound end, 5), "smsc: the client did not bind")
        -- the client's handlers are set once smpp.connect has returned
        assert(self:wait_for(function() return self.client_ready end, 5), "smsc: the client is not ready")
        script(self)
    end, debug.traceback)
    if not ok then self.failure = err end
    self.done = true
    if self.link then
        self:wait_for(function() return false end, 5) -- until the client unbinds and closes
        self.link:flush(loop.now() + 1000)
        self.link:close()
    end
    self.listener:close()
end

-- Runs script(smsc) against a client made with options (beside host, port,
-- system_id, password) and prepared by setup(client), which runs until the
-- script ends. Returns the smsc; a failure on either side fails the test.
local function against_smsc(options, setup, script)
    local smsc = new_smsc()
    local failure
    smpp.spawn(function() smsc:serve(script) end)
    smpp.spawn(function()
        local ok, err = xpcall(function()
            local opts = { host = "127.0.0.1", port = smsc.port, system_id = "x", password = "y" }
            for k, v in pairs(options) do opts[k] = v end
            local c = assert(smpp.connect(opts))
            local set_up, serr = pcall(setup, c)
            smsc.client_ready = true
            local deadline = loop.now() + 30000
            while not smsc.done and loop.now() < deadline do
                local before = loop.now()
                c:run(0.05)
                if loop.now() - before < 10 then loop.sleep(0.05) end -- a client that does not wait
            end
            c:close()
            assert(set_up, serr)
        end, debug.traceback)
        if not ok then
            failure = err
            smsc.abandoned = true -- the SMSC waits no more
        end
    end)
    smpp.run()
    if failure then error(failure, 0) end
    if smsc.failure then error(smsc.failure, 0) end
    return smsc
end

-- A handler that notes the messages it is given (failing the calls named in
-- fail: { [1] = true } raises the first time).
local function noting(got, fail)
    return function(m)
        got[#got + 1] = { text = m.text, from = m.from, to = m.to, parts = m.parts, partial = m.partial,
            missing = m.missing }
        if fail and fail[#got] then error("the database is down") end
    end
end

local LONG_A = ("Alpha: the first long message, in three parts. "):rep(8) -- 376 septets: 3 parts
local LONG_B = ("Bravo! Another text with the same reference... "):rep(8)

describe("long MO messages through the client", function()
    it("(a) joins 3 parts that come out of order into one message, every part answered 0", function()
        local got = {}
        local smsc = against_smsc({}, function(c) c:on("message", noting(got)) end, function(s)
            local p = parts_of(LONG_A, { ref = 17 })
            assert.are.equal(3, #p)
            local statuses = s:deliver_all({ { p[3], "A3" }, { p[1], "A1" }, { p[2], "A2" } })
            assert.are.same({ 0, 0, 0 }, statuses)
            s:idle(0.3) -- nothing more comes
        end)
        assert.are.equal(1, #got)
        assert.are.same({ LONG_A, FROM, TO, 3 }, { got[1].text, got[1].from, got[1].to, got[1].parts })
        assert.is_falsy(got[1].partial)
        assert.is_nil(got[1].missing)
        assert.are.equal(3, #smsc.answers)
    end)

    it("(b) answers the last part 0x64 when the handler raises, and gives the whole message again "
        .. "when the SMSC delivers that part again", function()
        local got = {}
        against_smsc({}, function(c) c:on("message", noting(got, { true })) end, function(s)
            local p = parts_of(LONG_A, { ref = 18 })
            assert.are.same({ 0, 0, ESME_RX_T_APPN }, s:deliver_all({ { p[1], "A1" }, { p[2], "A2" },
                { p[3], "A3" } }))
            -- as an SMSC does after a temporary error: the same PDU once more
            assert.are.same({ 0 }, s:deliver_all({ { p[3], "A3 again" } }))
            s:idle(0.3)
        end)
        assert.are.equal(2, #got)
        assert.are.equal(LONG_A, got[1].text)
        assert.are.equal(LONG_A, got[2].text)
        assert.is_falsy(got[2].partial)
    end)

    it("(c) answers a part of a handled message that comes again, holds nothing of it, and joins the "
        .. "next message with the same reference from its own parts", function()
        local got = {}
        against_smsc({}, function(c) c:on("message", noting(got)) end, function(s)
            local a = parts_of(LONG_A, { ref = 19 })
            local b = parts_of(LONG_B, { ref = 19 })
            assert.are.equal(#a, #b)
            assert.are.same({ 0, 0, 0 }, s:deliver_all({ { a[1], "A1" }, { a[2], "A2" }, { a[3], "A3" } }))
            -- the answer to A2 was lost: the SMSC delivers it again
            assert.are.same({ 0 }, s:deliver_all({ { a[2], "A2 again" } }))
            s:idle(0.2)
            -- a new message from the same sender reusing the reference
            assert.are.same({ 0, 0, 0 }, s:deliver_all({ { b[1], "B1" }, { b[2], "B2" }, { b[3], "B3" } }))
            s:idle(0.3)
        end)
        local texts = {}
        for i, m in ipairs(got) do texts[i] = m.text end
        assert.are.same({ LONG_A, LONG_B }, texts)
    end)

    it("(d) gives a message whose part 2 never comes to the handler once, partial, after join_timeout",
        function()
            local got = {}
            local p = parts_of(LONG_A, { ref = 20 })
            local held_at, given_at
            against_smsc({ join_timeout = 1 }, function(c)
                local note = noting(got)
                c:on("message", function(m)
                    given_at = given_at or loop.now()
                    note(m)
                end)
            end, function(s)
                assert.are.same({ 0, 0 }, s:deliver_all({ { p[1], "A1" }, { p[3], "A3" } }))
                held_at = loop.now()
                s:wait_for(function() return #got > 0 end, 4)
                s:idle(1.5) -- and only once
            end)
            assert.are.equal(1, #got, "one partial message")
            local m = got[1]
            assert.is_true(m.partial)
            assert.are.same({ 2 }, m.missing)
            assert.are.equal(3, m.parts)
            assert.are.equal(FROM, m.from)
            local septets = 153 -- the GSM text of a part: its characters here
            assert.are.equal(LONG_A:sub(1, septets) .. LONG_A:sub(2 * septets + 1), m.text)
            local after = (given_at - held_at) / 1000
            assert.is_true(after <= 2.5, ("came %.2f s after the parts"):format(after))
        end)

    it("(e) takes the handlers from smpp.connect{ on = { message = fn } }", function()
        local got = {}
        against_smsc({ on = { message = noting(got) } }, function() end, function(s)
            local p = parts_of(LONG_B, { ref = 21 })
            assert.are.same({ 0, 0, 0 }, s:deliver_all({ { p[2], "B2" }, { p[3], "B3" }, { p[1], "B1" } }))
            assert.are.same({ 0 }, s:deliver_all({ { { command = "deliver_sm", source_addr = FROM,
                destination_addr = TO, short_message = "and a short one", data_coding = 0 }, "S" } }))
            s:idle(0.3)
        end)
        assert.are.equal(2, #got)
        assert.are.equal(LONG_B, got[1].text)
        assert.are.equal(3, got[1].parts)
        assert.are.equal("and a short one", got[2].text)
    end)
end)
