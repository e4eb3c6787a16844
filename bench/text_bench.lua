-- Benchmark of message text: split (encode + cut into parts) of a long GSM
-- text and a long UCS-2 text, in characters per second, beside a baseline
-- measured in the same run: a plain-Lua GSM/UTF-16 encoder over the same text
-- (a table lookup per character), the least a pure-Lua library has to do.
--   lua5.4 bench/text_bench.lua [seconds]
-- prints "bench text <case> chars_per_s=N" and "ratio text/baseline <case>=R".
local smpp = require "smpp"
local split = smpp.text.split
local seconds = tonumber(arg and arg[1]) or 1
local clock = os.clock

local CHAR = "[%z\1-\127\194-\244][\128-\191]*"

local function nchars(s)
    local n = 0
    for _ in s:gmatch(CHAR) do n = n + 1 end
    return n
end

-- The baseline encoders: one table lookup per character.
local gsm_map = {}
local basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\27ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    .. "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
local code = 0
for ch in basic:gmatch(CHAR) do
    gsm_map[ch] = string.char(code)
    code = code + 1
end
for ch, c in pairs{ ["^"] = 0x14, ["{"] = 0x28, ["}"] = 0x29, ["\\"] = 0x2F, ["["] = 0x3C, ["~"] = 0x3D,
    ["]"] = 0x3E, ["|"] = 0x40, ["€"] = 0x65 } do
    gsm_map[ch] = "\27" .. string.char(c)
end

local function baseline_gsm(s)
    local out, n = {}, 0
    for ch in s:gmatch(CHAR) do
        n = n + 1
        out[n] = gsm_map[ch] or "?"
    end
    return table.concat(out)
end

local function baseline_ucs2(s)
    local out, n = {}, 0
    for ch in s:gmatch(CHAR) do
        local b1, b2, b3, b4 = ch:byte(1, 4)
        local c
        if b1 < 0x80 then c = b1
        elseif b1 < 0xE0 then c = (b1 - 0xC0) * 64 + (b2 - 0x80)
        elseif b1 < 0xF0 then c = ((b1 - 0xE0) * 64 + (b2 - 0x80)) * 64 + (b3 - 0x80)
        else c = (((b1 - 0xF0) * 64 + (b2 - 0x80)) * 64 + (b3 - 0x80)) * 64 + (b4 - 0x80) end
        n = n + 1
        if c >= 0x10000 then
            local v = c - 0x10000
            local hi, lo = 0xD800 + math.floor(v / 1024), 0xDC00 + v % 1024
            out[n] = string.char(math.floor(hi / 256), hi % 256, math.floor(lo / 256), lo % 256)
        else
            out[n] = string.char(math.floor(c / 256), c % 256)
        end
    end
    return table.concat(out)
end

local function rate(fn, s)
    local chars = nchars(s)
    collectgarbage()
    local n, t0 = 0, clock()
    local elapsed
    repeat
        for _ = 1, 20 do fn(s) end
        n = n + 20
        elapsed = clock() - t0
    until elapsed >= seconds
    return n * chars / elapsed
end

local cases = {
    { "gsm7", ("Hello [world], it costs 5€ @home ~ ok. "):rep(25), baseline_gsm },
    { "ucs2", ("Привет, мир! 😀 "):rep(60), baseline_ucs2 },
}
for _, c in ipairs(cases) do
    local name, s, baseline = c[1], c[2], c[3]
    local parts = assert(split(s))
    assert(#parts > 1 and parts[1].data_coding == (name == "ucs2" and 8 or 0), "split picked the wrong encoding")
    local ours = rate(split, s)
    local base = rate(baseline, s)
    print(("bench text %s_split chars_per_s=%.0f"):format(name, ours))
    print(("bench text %s_baseline chars_per_s=%.0f"):format(name, base))
    print(("ratio text/baseline %s_split=%.2f"):format(name, ours / base))
end
