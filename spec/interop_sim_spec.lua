-- Interop of the simulator (bin/smpp-sim, lua/smpp/server.lua) with the client
-- of node-smpp (npm "smpp" 0.5.1, spec/interop/): node-smpp's smpp.connect
-- session, run by spec/interop/esme.js, as the ESME, bin/smpp-sim as the SMSC,
-- over TCP on 127.0.0.1.
--
-- Each test starts its own bin/smpp-sim (--port 0, the port read from its
-- "listening on" line), with the interpreter and the package.path /
-- package.cpath this spec runs with, runs esme.js scenarios against it (one
-- connection each, JSON lines out), stops it with SIGTERM and checks that it
-- exits 0 with counts that agree with what node-smpp saw. Every esme.js run
-- must also end cleanly: no PDU of the simulator that node-smpp did not ask
-- for, no deliver_sm left unclaimed, the connection not closed by the
-- simulator.
--
--  a. binds refused: wrong password 0x0E (ESME_RINVPASWD), unknown system_id
--     0x0F (ESME_RINVSYSID); the same connection binds once the password is
--     right;
--  b. submit_sm: a message_id without a receipt; with registered_delivery 1 a
--     deliver_sm receipt (esm_class 0x04, 3.4 appendix B text,
--     receipted_message_id and message_state TLVs), answered by node-smpp;
--  c. --mo-echo: a submit whose text starts with the prefix comes back as an
--     MO deliver_sm with the rest of the text (GSM and UCS-2);
--  d. bulk: 50 000 submit_sm, 100 outstanding at most, --throttle 0: 50 000
--     responses, all status 0, 50 000 distinct message_ids, in under 60 s
--     (the time and rate are printed on stderr);
--  e. a submit_sm before bind, and one on a bind_receiver, get 0x04
--     (ESME_RINVBNDSTS) (node-smpp sends either without complaint);
--  f. the default throttle (at most 10 submits in any second): a burst of 20
--     gets 10 accepted and 10 refused with 0x58 (ESME_RTHROTTLED).

local support = require "interop_support"

local format, concat = string.format, table.concat

-- ---- spec/interop and the node process (spec/interop_support.lua) ---------

local INTEROP = support.INTEROP
local q, exists, need_node = support.q, support.exists, support.need_node
-- esme.js's steps: arrays of objects of strings and integers, keys sorted;
-- strings go as their UTF-8.
local json_encode = support.json_encode

local slurp = require("support").slurp

-- esme.js's lines (objects, arrays, strings, numbers); a \u escape beyond
-- ASCII reads as "?".
local function json_decode(s) return support.json_decode(s, "esme.js", 128) end

-- ---- bin/smpp-sim as a subprocess ------------------------------------------

local function start_sim(options)
    need_node()
    return require("support").start_sim(options)
end
local stop_sim = require("support").stop_sim

-- Starts a simulator for the test, stopped at its end whatever happens.
local function simulator(options)
    local sim = start_sim(options)
    finally(function() stop_sim(sim) end)
    return sim
end

-- Stops sim and checks it ended well, with the counts given.
local function assert_stopped(sim, expected)
    local status, counts = stop_sim(sim)
    assert.are.equal(0, status, "smpp-sim exit status; stderr: " .. sim.stderr)
    assert.is_table(counts, "no counts line from smpp-sim: " .. concat(sim.lines, "\n"))
    for k, v in pairs(expected) do
        assert.are.equal(v, counts[k], "smpp-sim count " .. k .. ": " .. concat(sim.lines, "\n"))
    end
    return counts
end

-- Runs esme.js with these steps against sim; returns its lines (decoded), one
-- a step, after checking that it ended cleanly (see the top of the file).
local function esme(sim, steps)
    need_node()
    local errfile = os.tmpname()
    local p = assert(io.popen(format("node %s %d %s 2>%s; echo \"exit $?\"",
        q(INTEROP .. "/esme.js"), sim.port, q(json_encode(steps)), q(errfile))))
    local out = p:read("*a")
    p:close()
    local stderr = slurp(errfile)
    os.remove(errfile)
    local lines, status = {}, nil
    for line in out:gmatch("[^\n]+") do
        local code = line:match("^exit (%d+)$")
        if code then
            status = tonumber(code)
        else
            lines[#lines + 1] = json_decode(line)
        end
    end
    local last = lines[#lines]
    if status ~= 0 or not last or last.op ~= "end" then
        error(format("interop: esme.js failed (exit %s); stdout:\n%s\nstderr: %s\nsmpp-sim's stderr: %s",
            tostring(status), out, stderr, slurp(sim.errfile)), 0)
    end
    assert.are.equal(#steps + 1, #lines, "one line a step: " .. out)
    for i, step in ipairs(steps) do
        assert.are.equal(step.op, lines[i].op, "line " .. i .. ": " .. out)
    end
    assert.are.same({}, last.unexpected, "PDUs node-smpp did not ask for: " .. out)
    assert.are.equal(0, last.unclaimed_delivers, "deliver_sm left: " .. out)
    assert.is_false(last.closed_by_peer, "smpp-sim closed the connection: " .. out)
    lines[#lines] = nil
    return lines
end

local ESME_ROK, ESME_RINVBNDSTS, ESME_RINVPASWD, ESME_RINVSYSID, ESME_RTHROTTLED = 0, 0x04, 0x0E, 0x0F, 0x58

local function bind(command, system_id, password)
    return { op = "bind", command = command, system_id = system_id, password = password }
end

local function submit(from, to, message, extra)
    local s = { op = "submit", source_addr_ton = 1, source_addr_npi = 1, source_addr = from,
        dest_addr_ton = 1, dest_addr_npi = 1, destination_addr = to, short_message = message }
    for k, v in pairs(extra or {}) do s[k] = v end
    return s
end

-- ---- the tests -------------------------------------------------------------

describe("interop: node-smpp's client against bin/smpp-sim", function()
    it("finds node, node-smpp and esme.js, and starts and stops the simulator", function()
        need_node()
        assert.is_true(exists(INTEROP .. "/esme.js"), "spec/interop/esme.js is missing")
        local sim = simulator()
        assert.is_true(sim.port > 0)
        assert_stopped(sim, { connections = 0, binds = 0, submits = 0 })
    end)

    it("a: refuses a wrong password (0x0E) and an unknown system_id (0x0F)", function()
        local sim = simulator("--account acct:secret")
        local r = esme(sim, {
            bind("bind_transceiver", "acct", "wrong"),
            bind("bind_transmitter", "acct", ""),
            bind("bind_receiver", "nobody", "secret"),
            bind("bind_transceiver", "acct", "secret"), -- the same connection, now right
            { op = "unbind" },
        })
        assert.are.same({ op = "bind", command = "bind_transceiver_resp", command_status = ESME_RINVPASWD }, r[1])
        assert.are.same({ op = "bind", command = "bind_transmitter_resp", command_status = ESME_RINVPASWD }, r[2])
        assert.are.same({ op = "bind", command = "bind_receiver_resp", command_status = ESME_RINVSYSID }, r[3])
        assert.are.same({ op = "bind", command = "bind_transceiver_resp", command_status = ESME_ROK,
            system_id = "smpp-sim", sc_interface_version = 0x34 }, r[4])
        assert.are.same({ op = "unbind", command = "unbind_resp", command_status = ESME_ROK }, r[5])

        r = esme(sim, { bind("bind_transceiver", "test", "test") }) -- test:test is not there with --account
        assert.are.equal(ESME_RINVSYSID, r[1].command_status)
        assert_stopped(sim, { connections = 2, binds = 1, refused_binds = 4, submits = 0 })
    end)

    it("b: gives a message_id, and a delivery receipt for registered_delivery 1", function()
        local sim = simulator() -- test:test, throttle 10 a second: the waits keep under it
        local r = esme(sim, {
            bind("bind_transceiver", "test", "test"),
            submit("447700900123", "447700900456", "no receipt"),
            { op = "wait", ms = 300 },
            submit("447700900123", "447700900456", "receipt please", { registered_delivery = 1 }),
            { op = "deliver" },
            { op = "wait", ms = 300 },
            { op = "unbind" },
        })
        assert.are.equal(ESME_ROK, r[1].command_status)
        local plain, receipted = r[2], r[4]
        assert.are.equal("submit_sm_resp", plain.command)
        assert.are.equal(ESME_ROK, plain.command_status)
        assert.is_string(plain.message_id)
        assert.is_true(#plain.message_id > 0 and #plain.message_id <= 64)
        assert.are.same({ op = "wait", delivers = 0 }, r[3]) -- no receipt unasked
        assert.are.equal(ESME_ROK, receipted.command_status)
        assert.is_true(#receipted.message_id > 0)
        assert.are_not.equal(plain.message_id, receipted.message_id)

        local d = r[5]
        assert.are.equal(0x04, d.esm_class)
        assert.are.equal(0, d.data_coding)
        assert.are.equal(receipted.message_id, d.receipted_message_id)
        assert.are.equal(2, d.message_state) -- DELIVERED
        assert.are.equal("447700900456", d.source_addr) -- from the recipient
        assert.are.equal("447700900123", d.destination_addr)
        assert.is_true(d.answered) -- node-smpp wrote the deliver_sm_resp
        -- 3.4 appendix B
        local id, sub, dlvrd, submitted, done, stat, err, txt = d.short_message:match("^id:(%S+) sub:(%d%d%d)"
            .. " dlvrd:(%d%d%d) submit date:(%d+) done date:(%d+) stat:(%u+) err:(%d%d%d) text:(.*)$")
        assert.is_not_nil(id, "receipt text: " .. tostring(d.short_message))
        assert.are.equal(receipted.message_id, id)
        assert.are.equal("001", sub)
        assert.are.equal("001", dlvrd)
        assert.are.equal(10, #submitted) -- YYMMDDhhmm
        assert.are.equal(10, #done)
        assert.is_true(done >= submitted)
        assert.are.equal("DELIVRD", stat)
        assert.are.equal("000", err)
        assert.are.equal("receipt please", txt)
        assert.are.same({ op = "wait", delivers = 0 }, r[6]) -- one receipt, not more
        assert.are.equal(ESME_ROK, r[7].command_status)
        assert_stopped(sim, { connections = 1, binds = 1, submits = 2, throttled = 0, receipts = 1, mos = 0 })
    end)

    it("c: echoes a submit that starts with the --mo-echo prefix as an MO deliver_sm", function()
        local sim = simulator("--mo-echo 'ECHO ' --throttle 0")
        local r = esme(sim, {
            bind("bind_transceiver", "test", "test"),
            submit("447700900123", "12345", "ECHO hello"),
            { op = "deliver" },
            submit("447700900123", "12345", "hello, no echo"),
            { op = "wait", ms = 300 },
            submit("447700900123", "12345", "ECHO Привет"), -- node-smpp sends it as UCS-2
            { op = "deliver" },
            { op = "unbind" },
        })
        assert.are.equal(ESME_ROK, r[1].command_status)
        assert.are.equal(ESME_ROK, r[2].command_status)
        assert.is_true(#r[2].message_id > 0)
        local mo = r[3]
        assert.are.equal("hello", mo.short_message)
        assert.are.equal(0, mo.esm_class) -- an MO, not a receipt
        assert.are.equal(0, mo.data_coding)
        assert.are.equal("12345", mo.source_addr)
        assert.are.equal("447700900123", mo.destination_addr)
        assert.is_nil(mo.receipted_message_id)
        assert.is_nil(mo.message_state)
        assert.is_true(mo.answered)
        assert.are.equal(ESME_ROK, r[4].command_status)
        assert.are.same({ op = "wait", delivers = 0 }, r[5])
        assert.are.equal(ESME_ROK, r[6].command_status)
        assert.are.equal("Привет", r[7].short_message)
        assert.are.equal(8, r[7].data_coding)
        assert.is_true(r[7].answered)
        assert.are.equal(ESME_ROK, r[8].command_status)
        assert_stopped(sim, { connections = 1, binds = 1, submits = 3, receipts = 0, mos = 2 })
    end)

    it("d: answers 50 000 submit_sm, 100 outstanding, each with its own message_id", function()
        local count, window = 50000, 100
        local sim = simulator("--throttle 0")
        local r = esme(sim, {
            bind("bind_transceiver", "test", "test"),
            { op = "bulk", count = count, window = window, timeout_ms = 90000,
                source_addr_ton = 1, source_addr_npi = 1, source_addr = "447700900123",
                dest_addr_ton = 1, dest_addr_npi = 1, destination_addr = "447700900456",
                short_message = "bulk message" },
            { op = "unbind" },
        })
        assert.are.equal(ESME_ROK, r[1].command_status)
        local b = r[2]
        io.stderr:write(format("\ninterop_sim_spec: %d submit_sm (window %d) from node-smpp answered by "
            .. "smpp-sim in %d ms: %d a second\n", b.responses, window, b.elapsed_ms, b.rate))
        assert.are.equal(count, b.sent)
        assert.are.equal(count, b.responses)
        assert.are.same({ ["0"] = count }, b.statuses)
        assert.are.equal(count, b.distinct_ids)
        assert.are.equal(window, b.max_outstanding)
        assert.is_true(b.elapsed_ms < 60000, format("%d submits took %d ms (%d/s)", count, b.elapsed_ms, b.rate))
        assert.are.equal(ESME_ROK, r[3].command_status)
        assert_stopped(sim, { connections = 1, binds = 1, submits = count, throttled = 0, receipts = 0 })
    end)

    it("e: answers a submit_sm before bind, and one on a bind_receiver, with 0x04", function()
        local sim = simulator("--throttle 0")
        local r = esme(sim, {
            submit("447700900123", "447700900456", "too early"),
            bind("bind_receiver", "test", "test"),
            submit("447700900123", "447700900456", "a receiver does not submit"),
            { op = "unbind" },
        })
        assert.are.same({ op = "submit", command = "submit_sm_resp", command_status = ESME_RINVBNDSTS }, r[1])
        assert.are.equal(ESME_ROK, r[2].command_status)
        assert.are.same({ op = "submit", command = "submit_sm_resp", command_status = ESME_RINVBNDSTS }, r[3])
        assert.are.equal(ESME_ROK, r[4].command_status)
        assert_stopped(sim, { connections = 1, binds = 1, submits = 0, receipts = 0 })
    end)

    it("f: refuses with 0x58 what a burst puts beyond the default 10 submits in a second", function()
        local sim = simulator()
        local n = 20
        local r = esme(sim, {
            bind("bind_transmitter", "test", "test"),
            { op = "bulk", count = n, window = n, source_addr = "447700900123", destination_addr = "447700900456",
                short_message = "burst" },
            { op = "unbind" },
        })
        local b = r[2]
        assert.are.equal(n, b.responses)
        local ok, throttled = b.statuses["0"] or 0, b.statuses[tostring(ESME_RTHROTTLED)] or 0
        assert.are.equal(n, ok + throttled, "statuses other than 0 and 0x58")
        -- at most 10 in any second (a sliding window): 10 of a burst that lasts under a second
        assert.is_true(b.elapsed_ms < 1000, format("the burst took %d ms", b.elapsed_ms))
        assert.are.same({ 10, 10 }, { ok, throttled })
        assert.are.equal(ok, b.distinct_ids)
        assert_stopped(sim, { connections = 1, binds = 1, submits = ok, throttled = throttled })
    end)
end)
