--- smpp: SMPP 3.4 for Lua. This module gathers the public API: what
-- most programs need is here, the rest in the modules it names.
-- @module smpp
local pdu = require "smpp.pdu"
local loop = require "smpp.loop"

local _M = {
    _VERSION = "0.1.0",
    pdu = pdu,
    text = require "smpp.text",
    receipt = require "smpp.receipt",
    server = require("smpp.server").new,
    connect = require("smpp.client").connect,
    listen = require("smpp.client.outbind").listen,
    spawn = loop.spawn,
    run = loop.run,
    sleep = loop.sleep,
    command = pdu.command,
    status = pdu.status,
    tlv = pdu.tlv,
}

--- The version of this library.
-- @field _VERSION

--- The PDU codec: `smpp.pdu`.
-- @field pdu

--- Message text: `smpp.text`.
-- @field text

--- Delivery receipts: `smpp.receipt`.
-- @field receipt

--- SMPP 3.4 command ids by name and names by id: `smpp.pdu.command`.
-- @field command

--- SMPP 3.4 command_status by code and codes by name: `smpp.pdu.status`.
-- @field status

--- SMPP 3.4 TLV tags by name and TLVs by tag: `smpp.pdu.tlv`.
-- @field tlv

--- Connects and binds a client: `smpp.client.connect`, where the options are.
-- @function connect
-- @tparam table opts the options of `smpp.client.connect`
-- @treturn[1] smpp.client.Client a bound client
-- @return[2] nil
-- @treturn[2] string message
-- @treturn[2] string|number code
-- @usage local client = assert(smpp.connect{ host = "smsc.example.com", system_id = "test", password = "secret" })

--- Waits for an SMSC's outbind and binds as a receiver on its connection:
-- `smpp.client.outbind.listen`, where the options are.
-- @function listen
-- @tparam table opts the options of `smpp.client.outbind.listen`
-- @treturn[1] smpp.client.Client a client bound as a receiver
-- @return[2] nil
-- @treturn[2] string message
-- @treturn[2] string|number code

--- Makes an SMSC simulator: `smpp.server.new`, where the options are.
-- @function server
-- @tparam[opt] table opts the options of `smpp.server.new`
-- @treturn smpp.server.Server the simulator, not yet listening (see `Server:start`)

--- Starts a coroutine that `run` drives: `smpp.loop.spawn`. Inside it, calls
-- that would block yield instead.
-- @function spawn
-- @tparam function fn what the coroutine runs
-- @param ... its arguments
-- @treturn thread the coroutine

--- Runs the spawned coroutines until all are done: `smpp.loop.run`.
-- @function run

--- Sleeps, yielding inside coroutines: `smpp.loop.sleep`.
-- @function sleep
-- @tparam number seconds how long

return _M
