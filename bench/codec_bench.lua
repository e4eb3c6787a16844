-- Measures the Lua API of lua-smpp on the two submit_sm PDUs of
-- bench/libsmpp34_bench.c: round trips per second of
--   smpp.pdu.decode(smpp.pdu.encode(t))
-- where t is a Lua table prepared once (Lua table in, bytes, Lua table out).
--
-- Run from the repository root (bench/run.sh sets the paths):
--   LUA_PATH="lua/?.lua;lua/?/init.lua;;" LUA_CPATH="build/lua5.4/?.so;;" \
--     lua5.4 bench/codec_bench.lua [seconds_per_case]      (default 1.0)
-- Output (one line per case):
--   bench lua submit_sm_72 roundtrips_per_s=123456
--
-- The table gives every mandatory field explicitly (as a libsmpp34
-- submit_sm_t always has them), so it has the same keys as the decoded
-- table. Before timing, the encoded bytes are checked against the reference
-- bytes of libsmpp34_bench.c's ref_encode(), and the decoded table against t.
-- Time is wall time from a monotonic clock, like the C benches, when
-- luasystem is installed (Debian lua-system, a dependency of lua-busted):
-- system.monotime(); otherwise CPU time, os.clock(). Either way it includes the
-- garbage collector's work. The clock is read every CHECK_EVERY round trips,
-- and garbage is collected before each case. The first line of output names
-- the clock: "# lua clock=system.monotime" or "# lua clock=os.clock".
local smpp = require "smpp"

local clock, clock_name = os.clock, "os.clock"
do
    local ok, system = pcall(require, "system")
    if ok and type(system) == "table" and type(system.monotime) == "function" then
        clock, clock_name = system.monotime, "system.monotime"
    end
end

local CHECK_EVERY = 1000

local seconds = 1.0
if arg and arg[1] then
    seconds = tonumber(arg[1])
    if not seconds or seconds ~= seconds or seconds <= 0 then
        io.stderr:write("usage: codec_bench.lua [seconds_per_case > 0]\n")
        os.exit(2)
    end
end

-- The reference bytes, from libsmpp34_bench.c's ref_encode().
local REF_72 = table.concat{
    "0000004800000004000000000000000700010131323334350001013434373730",
    "30393030313233000000000000010000001648656c6c6f2066726f6d206c7561",
    "2d736d7070203031",
}
local REF_231 = table.concat{
    "000000e700000004000000000000000700010131323334350001013434373730",
    "3039303031323300000000000001000000a054686520717569636b2062726f77",
    "6e20666f78206a756d7073206f76657220746865206c617a7920646f672e2054",
    "686520717569636b2062726f776e20666f78206a756d7073206f766572207468",
    "65206c617a7920646f672e2054686520717569636b2062726f776e20666f7820",
    "6a756d7073206f76657220746865206c617a7920646f672e2054686520717569",
    "636b2062726f776e20666f78206a756d70730204000212340381000b01010134",
    "34373730303930",
}

local function unhex(h)
    return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end))
end

local function tohex(s)
    return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

local FOX = "The quick brown fox jumps over the lazy dog. "

local function submit_sm(short_message, with_tlvs)
    local t = {
        command = "submit_sm",
        command_status = 0,
        sequence_number = 7,
        service_type = "",
        source_addr_ton = 1,
        source_addr_npi = 1,
        source_addr = "12345",
        dest_addr_ton = 1,
        dest_addr_npi = 1,
        destination_addr = "447700900123",
        esm_class = 0,
        protocol_id = 0,
        priority_flag = 0,
        schedule_delivery_time = "",
        validity_period = "",
        registered_delivery = 1,
        replace_if_present_flag = 0,
        data_coding = 0,
        sm_default_msg_id = 0,
        short_message = short_message,
    }
    if with_tlvs then
        t.user_message_reference = 0x1234
        t.callback_num = "\1\1\1" .. "44770090"
    end
    return t
end

local cases = {
    { name = "submit_sm_72", ref = unhex(REF_72), len = 72,
      t = submit_sm("Hello from lua-smpp 01", false) },
    { name = "submit_sm_231", ref = unhex(REF_231), len = 231,
      t = submit_sm((FOX:rep(4)):sub(1, 160), true) },
}

local function die(name, what)
    io.stderr:write("codec_bench.lua: ", name, ": ", what, "\n")
    os.exit(1)
end

-- One checked round trip, outside of the timed loop.
local function verify(c)
    if #c.ref ~= c.len then
        die(c.name, "internal error: reference PDU has the wrong length")
    end
    local ok, b = pcall(smpp.pdu.encode, c.t)
    if not ok then
        die(c.name, "encode failed: " .. tostring(b))
    end
    if b ~= c.ref then
        die(c.name, "encoded bytes differ from the libsmpp34 reference PDU\n  got      "
            .. tohex(b) .. "\n  expected " .. tohex(c.ref))
    end
    local p, err = smpp.pdu.decode(b)
    if not p then
        die(c.name, "decode failed: " .. tostring(err))
    end
    for k, v in pairs(c.t) do
        if p[k] ~= v then
            die(c.name, ("decoded %s is %s, expected %s"):format(k, tostring(p[k]), tostring(v)))
        end
    end
    for k, v in pairs(p) do
        if c.t[k] == nil then
            die(c.name, ("decoded table has an unexpected %s = %s"):format(k, tostring(v)))
        end
    end
    if smpp.pdu.encode(p) ~= c.ref then
        die(c.name, "re-encode of the decoded table differs")
    end
end

local function run_case(c)
    local encode, decode = smpp.pdu.encode, smpp.pdu.decode
    local t = c.t
    local n, p = 0, nil
    verify(c)
    collectgarbage("collect")
    collectgarbage("collect")
    local t0 = clock()
    local elapsed
    repeat
        for _ = 1, CHECK_EVERY do
            p = decode(encode(t))
            if not p then
                die(c.name, "decode failed in loop")
            end
        end
        n = n + CHECK_EVERY
        elapsed = clock() - t0
    until elapsed >= seconds
    if p.sequence_number ~= 7 or p.short_message ~= t.short_message then
        die(c.name, "last decoded table differs")
    end
    io.write(("bench lua %s roundtrips_per_s=%.0f\n"):format(c.name, n / elapsed))
    io.stdout:flush()
end

io.write("# lua clock=", clock_name, "\n")
for _, c in ipairs(cases) do
    run_case(c)
end
