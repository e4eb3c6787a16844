-- smpp: SMPP 3.4 for Lua. This module gathers the public API.
local pdu = require "smpp.pdu"
local loop = require "smpp.loop"

local _M = {
    _VERSION = "0.1.0",
    pdu = pdu,
    text = require "smpp.text",
    receipt = require "smpp.receipt",
    server = require("smpp.server").new,
    connect = require("smpp.client").connect,
    spawn = loop.spawn,
    run = loop.run,
    sleep = loop.sleep,
    command = pdu.command,
    status = pdu.status,
    tlv = pdu.tlv,
}

return _M
