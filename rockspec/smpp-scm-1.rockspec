rockspec_format = "3.0"
package = "smpp"
version = "scm-1"
source = {
    url = "git+https://github.com/lua-smpp/lua-smpp.git",
}
description = {
    summary = "SMPP 3.4 client and test SMSC for Lua, with a C core",
    detailed = [[
An SMPP 3.4 library: a C core for the PDU codec, the session engine, TLS,
throttling and keepalive, and a thin idiomatic Lua layer. Works in plain Lua
scripts, the REPL, coroutines and OpenResty.
]],
    homepage = "https://github.com/lua-smpp/lua-smpp",
    license = "MIT",
    labels = { "smpp", "sms", "telecom", "openresty" },
}
dependencies = {
    "lua >= 5.1",
}
external_dependencies = {
    OPENSSL = { header = "openssl/ssl.h" },
}
build = {
    type = "builtin",
    -- the man pages land in the rock's directory: man "$(luarocks show --rock-dir smpp)/man/smpp.1"
    copy_directories = { "man", "examples" },
    install = { bin = { ["smpp-sim"] = "bin/smpp-sim", ["smpp"] = "bin/smpp" } },
    modules = {
        ["smpp"] = "lua/smpp/init.lua",
        ["smpp.pdu"] = "lua/smpp/pdu.lua",
        ["smpp.text"] = "lua/smpp/text.lua",
        ["smpp.joiner"] = "lua/smpp/joiner.lua",
        ["smpp.receipt"] = "lua/smpp/receipt.lua",
        ["smpp.loop"] = "lua/smpp/loop.lua",
        ["smpp.server"] = "lua/smpp/server.lua",
        ["smpp.cli"] = "lua/smpp/cli.lua",
        ["smpp.client"] = "lua/smpp/client/init.lua",
        ["smpp.client.options"] = "lua/smpp/client/options.lua",
        ["smpp.client.sessions"] = "lua/smpp/client/sessions.lua",
        ["smpp.client.send"] = "lua/smpp/client/send.lua",
        ["smpp.client.inbound"] = "lua/smpp/client/inbound.lua",
        ["smpp.client.tracking"] = "lua/smpp/client/tracking.lua",
        ["smpp.client.outbind"] = "lua/smpp/client/outbind.lua",
        ["smpp.track"] = "lua/smpp/track.lua",
        ["smpp.transport.posix"] = "lua/smpp/transport/posix.lua",
        ["smpp.transport.ngx"] = "lua/smpp/transport/ngx.lua",
        ["smpp.ngx"] = "lua/smpp/ngx.lua",
        ["smpp.limits"] = "lua/smpp/limits.lua",
        ["smpp.redis"] = "lua/smpp/redis.lua",
        ["smpp.core"] = {
            sources = {
                "csrc/smpp_buf.c", "csrc/smpp_defs.c", "csrc/smpp_pdu.c",
                "csrc/smpp_frame.c", "csrc/smpp_gsm.c", "csrc/smpp_text.c",
                "csrc/smpp_receipt.c", "csrc/smpp_session.c", "csrc/smpp_net.c",
                "csrc/smpp_throttle.c", "csrc/lsmpp.c", "csrc/lsmpp_text.c",
                "csrc/smpp_tls.c", "csrc/lsmpp_receipt.c", "csrc/lsmpp_session.c",
                "csrc/lsmpp_net.c", "csrc/lsmpp_tls.c",
            },
            defines = { "_POSIX_C_SOURCE=200809L" },
            incdirs = { "csrc", "$(OPENSSL_INCDIR)" },
            libdirs = { "$(OPENSSL_LIBDIR)" },
            libraries = { "ssl", "crypto" },
        },
    },
}
