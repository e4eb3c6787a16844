-- The chaos soak, short: spec/chaos/soak.lua with 2000 messages and a fixed
-- seed through spec/chaos/proxy.js (links dropped, stalled, cut inside a
-- PDU, connections refused) to node-smpp's SMSC recording what it took.
-- Every round must finish, and the join of what the client reported with
-- what the SMSC accepted must find no message lost, none hung, none with a
-- result outside the contract, and nothing silent (a duplicate, a certain
-- failure the SMSC has, an acceptance it has not). About 80 s at most.
local support = require "interop_support"

local format, concat = string.format, table.concat
local q = support.q

local MESSAGES, SEED, SECONDS = 2000, 7, 80
local FAILING = { "lost", "hung", "unknown", "silent_dup", "silent_certain", "silent_phantom" }

-- The words key=value of a line.
local function fields(line)
    local t = {}
    for k, v in line:gmatch("([%w_]+)=(%S+)") do t[k] = tonumber(v) or v end
    return t
end

describe("chaos soak (proxy faults, joined with what the SMSC accepted)", function()
    it("gives every message exactly one true result, and every round finishes", function()
        support.need_node()
        -- the same modules as this run (package.path and cpath), for the soak's processes
        local cmd = format("LUA_PATH=%s LUA_CPATH=%s lua5.4 %s %d %d %d 2>&1", q(package.path), q(package.cpath),
            q(support.here .. "/chaos/soak.lua"), MESSAGES, SEED, SECONDS)
        local p = assert(io.popen(cmd, "r"))
        local out, rounds, total = {}, {}, nil
        for line in p:lines() do
            out[#out + 1] = line
            if line:match("^soak: way=") then
                rounds[#rounds + 1] = fields(line)
            elseif line:match("^soak: total ") then
                total = fields(line)
            end
        end
        local ok = p:close()
        local problems = {}
        if #rounds ~= 4 then problems[#problems + 1] = format("%d rounds reported, 4 expected", #rounds) end
        for _, r in ipairs(rounds) do
            local name = format("%s resend=%s", tostring(r.way), tostring(r.resend))
            if r.status ~= "finished" then
                problems[#problems + 1] = format("%s: %s after %ss", name, tostring(r.status), tostring(r.seconds))
            end
            for _, k in ipairs(FAILING) do
                if r[k] ~= 0 then problems[#problems + 1] = format("%s: %s=%s", name, k, tostring(r[k])) end
            end
        end
        if not total then
            problems[#problems + 1] = "no total line"
        elseif total.stray ~= 0 then
            problems[#problems + 1] = format("stray=%s (texts the SMSC took that were never sent)",
                tostring(total.stray))
        end
        if not ok and #problems == 0 then problems[#problems + 1] = "the soak exited non-zero" end
        assert(#problems == 0, concat(problems, "\n") .. "\n--- the soak said:\n" .. concat(out, "\n"))
    end)
end)
