-- Helpers shared by the specs, written to run on Lua 5.4 and LuaJIT alike.
local _M = {}

--- The big-endian 4-octet encodings of the given integers, concatenated
--- (string.pack(">I4...") without needing Lua 5.3).
function _M.u32(...)
    local out = {}
    for i = 1, select("#", ...) do
        local n = select(i, ...)
        out[i] = string.char(math.floor(n / 16777216) % 256, math.floor(n / 65536) % 256,
            math.floor(n / 256) % 256, n % 256)
    end
    return table.concat(out)
end

--- A tiny SMSC over smpp.core sessions: accepts one connection, binds it,
--- answers submits with ids, and returns when the ESME unbinds.
function _M.tiny_smsc(listener, stats, tls)
    local core = require "smpp.core"
    local loop = require "smpp.loop"
    local posix = require "smpp.transport.posix"
    local sock, err = posix.accept_tls(listener, tls, loop.now() + 5000)
    if not sock then
        stats.error = err
        return
    end
    local link = posix.link(sock, core.session{ role = "smsc", enquire_link = 0 })
    local deadline = loop.now() + 10000
    while loop.now() < deadline do
        for _, ev in ipairs(link:step(deadline)) do
            if ev.type == "request" then
                local p = ev.pdu
                if p.command:match("^bind_") then
                    link.session:respond({ command = p.command .. "_resp", sequence_number = p.sequence_number,
                        system_id = "smsc" }, loop.now())
                elseif p.command == "submit_sm" then
                    stats.submits = stats.submits + 1
                    link.session:respond({ command = "submit_sm_resp", sequence_number = p.sequence_number,
                        message_id = ("id%d"):format(stats.submits) }, loop.now())
                end
            elseif ev.type == "closed" then
                link:flush(loop.now() + 1000)
                link:close()
                stats.closed = ev.message
                return
            end
        end
    end
    error("smsc: not closed in time")
end

--- Makes a CA and certificates with the openssl command in a fresh directory:
--- ca.pem, server.pem/server.key for the names given (default localhost and
--- 127.0.0.1), other-ca.pem (a CA nobody trusts).
function _M.certificates(names)
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir))
    local san = names or "DNS:localhost,IP:127.0.0.1"
    local script = ([[
set -e
cd %s
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=test-ca 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout other-ca.key -out other-ca.pem -days 2 -subj /CN=other-ca 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=smsc 2>/dev/null
printf 'subjectAltName=%s
' > ext.cnf
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 \
    -extfile ext.cnf 2>/dev/null
]]):format(dir, san)
    assert(os.execute("sh -c '" .. script:gsub("'", "'\\''") .. "'"))
    return dir
end

return _M
