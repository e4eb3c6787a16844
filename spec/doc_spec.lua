-- The API reference (make doc: LDoc, config.ld) against the code: every
-- function, method and field the public modules export, every option their
-- functions read, every event of the client and every field of the objects
-- it hands out has an entry; the command_status table of doc-src/errors.md
-- is the C core's, and every string code the library returns is in it.
-- What LDoc found is read through its filter doc-src/ldoc_items.lua.
local core = require "smpp.core"

local format, concat = string.format, table.concat

local ROOT = debug.getinfo(1, "S").source:match("^@(.*)/spec/[^/]*$") or "."
if ROOT:sub(1, 1) ~= "/" then ROOT = os.getenv("PWD") .. (ROOT == "." and "" or "/" .. ROOT) end

-- The modules of lua/smpp that users do not require: the parts of smpp.client.
-- smpp.client's parts, and the tools' command line (bin/smpp and bin/smpp-sim:
-- documented by their --help and man pages)
local INTERNAL = { ["smpp.client.options"] = true, ["smpp.client.sessions"] = true,
    ["smpp.client.send"] = true, ["smpp.client.inbound"] = true, ["smpp.client.tracking"] = true,
    ["smpp.cli"] = true }

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function slurp(path)
    local f = assert(io.open(path, "rb"))
    local s = f:read("a")
    f:close()
    return s
end

-- Runs LDoc in dir (its config.ld) through the filter: the modules it
-- found (name -> { items by name }) and the warnings it printed.
local function ldoc_items(dir)
    local out = os.tmpname()
    local cmd = format("cd %s && LUA_PATH=%s ldoc --filter ldoc_items.dump . >%s 2>&1", q(dir),
        q(ROOT .. "/doc-src/?.lua;;"), q(out))
    local ok = os.execute(cmd)
    local text = slurp(out)
    os.remove(out)
    local start = text:find("return {", 1, true)
    assert(ok and start, "ldoc failed:\n" .. text)
    local warnings = {}
    for line in text:sub(1, start - 1):gmatch("[^\n]+") do
        if not line:match("^reading configuration from") then warnings[#warnings + 1] = line end
    end
    local list = assert(load(text:sub(start), "=ldoc", "t", {}))()
    local modules = {}
    for _, m in ipairs(list) do -- (topics are not modules)
        local items = {}
        for _, item in ipairs(m.items) do items[item.name] = item end
        if m.kind ~= "topic" then modules[m.name] = { name = m.name, file = m.file, items = items } end
    end
    return modules, warnings
end

-- The files config.ld names.
local function config_files(dir)
    local env = { new_type = function() end }
    assert(loadfile(dir .. "/config.ld", "t", env))()
    return env.file
end

local function sorted_keys(t)
    local keys = {}
    for k in pairs(t) do keys[#keys + 1] = k end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    return keys
end

------------------------------------------------------------------------
-- The checks: each returns a list of what is missing, one line each.

-- Every function and field of a module table, and every method of its
-- classes (name -> method table), has an entry in the module's items.
local function check_exports(mod, exports, classes, problems)
    local items = mod and mod.items or {}
    local name = mod and mod.name or "?"
    for _, k in ipairs(sorted_keys(exports)) do
        local v = exports[k]
        local class = type(v) == "table" and rawget(v, "__index") == v
        if type(k) == "string" and not class and not items[k] then
            problems[#problems + 1] = format("%s.%s (a %s) has no entry", name, k, type(v))
        end
    end
    for _, cname in ipairs(sorted_keys(classes)) do
        for _, m in ipairs(sorted_keys(classes[cname])) do
            if type(classes[cname][m]) == "function" and not m:match("^__")
                and not items[cname .. ":" .. m] and not items[cname .. "." .. m] then
                problems[#problems + 1] = format("%s: %s:%s has no entry", name, cname, m)
            end
        end
    end
    return problems
end

-- Every item says what it is, and every parameter it lists what it is
-- (a table by its fields, when they are listed: opts.host, ...).
local function check_items(mod, problems)
    for _, iname in ipairs(sorted_keys(mod.items)) do
        local item = mod.items[iname]
        if item.summary == "" then problems[#problems + 1] = format("%s.%s has no summary", mod.name, iname) end
        local has_fields = {}
        for p in pairs(item.params) do
            local base = p:match("^([%w_]+)%.")
            if base then has_fields[base] = true end
        end
        for _, p in ipairs(sorted_keys(item.params)) do
            if item.params[p].text:match("^%s*$") and not has_fields[p] and item.kind ~= "field"
                and item.kind ~= "table" then
                problems[#problems + 1] = format("%s.%s: parameter %s is not described", mod.name, iname, p)
            end
        end
    end
    return problems
end

-- The keys call(proxy) reads of a table it is given: the options a
-- function takes. answers are the values the proxy gives for some keys.
local function keys_read(call, answers)
    local read = {}
    local proxy = setmetatable({}, { __index = function(_, k)
        read[k] = true
        return answers and answers[k]
    end })
    pcall(call, proxy)
    return read
end

-- Every option in names (a set or a list) is a documented parameter
-- `param.option` of the item, optional with its default (or said to be
-- required).
local function check_options(mod, iname, param, names, problems)
    local item = mod and mod.items[iname]
    if not item then
        problems[#problems + 1] = format("%s.%s has no entry", mod and mod.name or "?", iname)
        return problems
    end
    local list = names[1] and names or sorted_keys(names)
    for _, o in ipairs(list) do
        local p = item.params[param .. "." .. o]
        if not p then
            problems[#problems + 1] = format("%s.%s: option %s has no entry", mod.name, iname, o)
        elseif p.default == nil and not p.text:find("required", 1, true) then
            problems[#problems + 1] = format("%s.%s: option %s has no default (and is not required)", mod.name,
                iname, o)
        end
    end
    return problems
end

-- Every key of a live object is a field of the item that documents it.
local function check_fields(mod, iname, prefix, object, problems)
    local item = mod and mod.items[iname]
    if not item then
        problems[#problems + 1] = format("%s.%s has no entry", mod and mod.name or "?", iname)
        return problems
    end
    for _, k in ipairs(sorted_keys(object)) do
        if not item.params[prefix .. k] then
            problems[#problems + 1] = format("%s.%s: field %s has no entry", mod.name, iname, k)
        end
    end
    return problems
end

-- The rows of the command_status table of an errors topic, in order.
local function status_rows(text)
    local rows = {}
    local section = text:match("\n## command_status\n(.*)$") or ""
    for code, name, meaning in section:gmatch("\n| (0x%x+) | `([%w_]+)` | ([^|\n]-) |") do
        rows[#rows + 1] = { code = tonumber(code), name = name, text = meaning }
    end
    return rows
end

-- The topic's rows against the statuses of the core: the same codes, in the
-- same order, with the same names and texts.
local function check_statuses(text, statuses, problems)
    local rows, by_code, in_core, order = status_rows(text), {}, {}, {}
    for _, r in ipairs(rows) do by_code[r.code] = r end
    for _, s in ipairs(statuses) do
        in_core[s.code] = true
        local r = by_code[s.code]
        if not r then
            problems[#problems + 1] = format("command_status 0x%02X %s has no row", s.code, s.name)
        elseif r.name ~= s.name or r.text ~= s.text then
            problems[#problems + 1] = format("command_status 0x%02X: the row says %s (%s), the core %s (%s)",
                s.code, r.name, r.text, s.name, s.text)
        else
            order[#order + 1] = s.code
        end
    end
    local k = 0
    for _, r in ipairs(rows) do
        if not in_core[r.code] then
            problems[#problems + 1] = format("command_status 0x%02X %s is not the core's", r.code, r.name)
        elseif r.code == order[k + 1] then
            k = k + 1
        end
    end
    if k < #order then problems[#problems + 1] = "the command_status rows are not in the core's order" end
    if #rows ~= #statuses then
        problems[#problems + 1] = format("%d command_status rows, the core has %d", #rows, #statuses)
    end
    return problems
end

-- The string codes a source returns: the last string of `return nil, ..., "code"`,
-- of a result `{ nil, ..., "code" }` or of a job's fail(c, job, ..., "code")
-- (Lua); the code pushed after a message (C).
local function codes_in(source, set)
    for line in source:gmatch("[^\n]+") do
        if not line:match("^%s*%-%-") and not line:match("^%s*/?%*") then
            local code = line:match("return nil, .-, \"([%a_]+)\"%s*$")
                or line:match("return nil, .-, \"([%a_]+)\"%s+end%s*$")
                or line:match("{ ?nil, [^{}]-, \"([%a_]+)\" ?}")
                or line:match("{ ?false, [^{}]-, \"([%a_]+)\" ?}")
                or line:match("fail%(c, [%w_.]+, [^,]+, \"([%a_]+)\"%)")
                or line:match("lua_pushliteral%(L, \"([%a_]+)\"%);")
            if code then set[code] = true end
        end
    end
    return set
end

local function check_codes(text, codes, problems)
    for _, code in ipairs(sorted_keys(codes)) do
        if not text:find("| `\"" .. code .. "\"` |", 1, true) then
            problems[#problems + 1] = format("the string code %q has no row", code)
        end
    end
    return problems
end

------------------------------------------------------------------------
-- What the library exports.

-- nginx's API, enough for smpp.ngx and smpp.transport.ngx to load and for
-- start() and the coordinators to be made outside nginx.
local function with_fake_ngx(fn)
    local dict = setmetatable({}, { __index = function() return function() end end })
    rawset(_G, "ngx", { shared = { smpp = dict }, worker = { pid = function() return 1 end,
        exiting = function() return false end }, get_phase = function() return "init" end,
        thread = { spawn = function() end }, socket = {}, timer = {} })
    package.preload["ngx.semaphore"] = function() return { new = function() return {} end } end
    local ok, err = pcall(fn)
    rawset(_G, "ngx", nil)
    package.preload["ngx.semaphore"] = nil
    for _, name in ipairs({ "ngx.semaphore", "smpp.ngx", "smpp.transport.ngx" }) do package.loaded[name] = nil end
    assert(ok, err)
end

local function upvalue(fn, wanted)
    for i = 1, math.huge do
        local n, v = debug.getupvalue(fn, i)
        if not n then return nil end
        if n == wanted then return v end
    end
end

local function methods_of(object) return getmetatable(object).__index end

local function registry(name) return debug.getregistry()[name].__index end

-- The classes of each module whose objects its functions make: class name
-- -> method table.
local function classes_of(name, m)
    if name == "smpp.client" then return { Client = m.Client } end
    if name == "smpp.server" then return { Server = methods_of(m.new{ port = 0 }) } end
    if name == "smpp.joiner" then return { Joiner = methods_of(m.joiner()) } end
    if name == "smpp.loop" then return { Cond = methods_of(m.cond()) } end
    if name == "smpp.redis" then return { Conn = methods_of(assert(m.connect("127.0.0.1:1"))) } end
    if name == "smpp.track" then return { Tracker = methods_of(m.new()) } end
    if name == "smpp.transport.posix" then -- (a TLS stream's methods: those handshake gives its streams)
        local tls = upvalue(upvalue(m.start_tls, "handshake"), "Tls")
        return { Link = methods_of(m.link({}, core.session())), Tls = assert(tls, "the TLS stream's methods") }
    end
    if name == "smpp.transport.ngx" then
        return { Link = methods_of(m.link({}, core.session())), Cond = methods_of(m.cond()) }
    end
    if name == "smpp.limits" then -- both backends: one interface
        local union = {}
        for k, v in pairs(methods_of(m.new{ redis = "127.0.0.1:1", key = "k" })) do union[k] = v end
        with_fake_ngx(function()
            for k, v in pairs(methods_of(m.new{ shm = "smpp", key = "k" })) do union[k] = v end
        end)
        return { Coordinator = union }
    end
    if name == "smpp.core" then
        return { Session = registry("smpp.session"), Throttle = registry("smpp.throttle"),
            Framer = registry("smpp.framer"), Socket = registry("smpp.socket"),
            TlsConfig = registry("smpp.tls_config"), Tls = registry("smpp.tls") }
    end
    return {}
end

-- The module name of a file of config.ld.
local function module_of(file)
    if file == "doc-src/core.luadoc" then return "smpp.core" end
    return (file:gsub("^lua/", ""):gsub("/init%.lua$", ""):gsub("%.lua$", ""):gsub("/", "."))
end

-- The options each function reads: { module, item, param, keys }.
local function option_cases()
    local options = require "smpp.client.options"
    local cases = {
        { "smpp.client", "connect", "opts", upvalue(options.connect, "CONNECT") },
        { "smpp.client", "Client:send", "m", upvalue(options.message, "MESSAGE") },
        { "smpp.server", "new", "opts", keys_read(require("smpp.server").new) },
        { "smpp.text", "split", "opts", keys_read(function(o) require("smpp.text").split(("long "):rep(80), o) end) },
        { "smpp.text", "encode", "opts", keys_read(function(o) require("smpp.text").encode("x", "auto", o) end) },
        { "smpp.text", "decode", "opts", keys_read(function(o) require("smpp.text").decode("x", 0, o) end) },
        { "smpp.joiner", "joiner", "opts", keys_read(require("smpp.joiner").joiner) },
        { "smpp.receipt", "parse", "opts", keys_read(function(o)
            require("smpp.receipt").parse({ command = "deliver_sm", esm_class = 4, data_coding = 0,
                short_message = "id:1" }, o)
        end) },
        { "smpp.redis", "connect", "opts", keys_read(require("smpp.redis").connect) },
        { "smpp.limits", "new", "opts", keys_read(require("smpp.limits").new, { key = "k", redis = "127.0.0.1:1" }) },
        { "smpp.track", "new", "spec", keys_read(require("smpp.track").new) },
        { "smpp.pdu", "framer", "opts", keys_read(require("smpp.pdu").framer) },
        { "smpp.core", "session", "opts", keys_read(core.session) },
        { "smpp.core", "throttle", "opts", keys_read(core.throttle, { rate = 1 }) },
        { "smpp.transport.posix", "connect", "opts", keys_read(function(o)
            require("smpp.transport.posix").connect("127.0.0.1", 1, o)
        end, { timeout = 0.001 }) },
    }
    -- tls_config's own "server" is the library's, set by the transports
    local tls = keys_read(core.tls_config)
    cases[#cases + 1] = { "smpp.core", "tls_config", "opts", tls }
    local limits = keys_read(function(l) options.connect{ system_id = "a", limits = l } end, { redis = "x" })
    local reconnect = keys_read(function(r) options.connect{ system_id = "a", reconnect = r } end)
    with_fake_ngx(function()
        cases[#cases + 1] = { "smpp.ngx", "start", "opts", keys_read(require("smpp.ngx").start,
            { shm = "smpp", system_id = "a" }) }
    end)
    return cases, { limits = limits, reconnect = reconnect }
end

-- The modules of config.ld as loaded: name -> { exports, classes }.
local function public_modules(files)
    local out = {}
    for _, file in ipairs(files) do
        local name = module_of(file)
        local function load_it()
            local m = require(name)
            out[name] = { exports = m, classes = classes_of(name, m) }
        end
        if name == "smpp.ngx" or name == "smpp.transport.ngx" then with_fake_ngx(load_it) else load_it() end
    end
    return out
end

------------------------------------------------------------------------

local function report(problems)
    return #problems == 0 and "" or ("\n  " .. concat(problems, "\n  "))
end

describe("the API reference", function()
    local modules, warnings, files

    setup(function()
        modules, warnings = ldoc_items(ROOT)
        files = config_files(ROOT)
    end)

    it("builds with LDoc without a warning", function()
        assert.are.same({}, warnings)
        assert.is_true(#files > 10)
    end)

    it("covers every module of lua/smpp but the parts of smpp.client and smpp.cli", function()
        local listed, problems = {}, {}
        for _, f in ipairs(files) do listed[f] = true end
        local find = io.popen("cd " .. q(ROOT) .. " && find lua/smpp -name '*.lua' | sort")
        for file in find:lines() do
            if not listed[file] and not INTERNAL[module_of(file)] then
                problems[#problems + 1] = file .. " is neither in config.ld nor one of smpp.client's parts or smpp.cli"
            end
        end
        find:close()
        for _, f in ipairs(files) do
            if not modules[module_of(f)] then problems[#problems + 1] = f .. " gave LDoc no module " .. module_of(f) end
        end
        assert(#problems == 0, report(problems))
    end)

    it("has an entry for every function, method and field the public modules export", function()
        local problems = {}
        for name, m in pairs(public_modules(files)) do
            check_exports(modules[name], m.exports, m.classes, problems)
        end
        assert(#problems == 0, report(problems))
    end)

    it("describes every entry and every parameter", function()
        local problems = {}
        for _, mod in pairs(modules) do check_items(mod, problems) end
        assert(#problems == 0, report(problems))
    end)

    it("has an entry for every option the functions read, with its default", function()
        local cases, nested = option_cases()
        local problems = {}
        for _, case in ipairs(cases) do
            local mname, iname, param, keys = case[1], case[2], case[3], case[4]
            assert(keys and next(keys), mname .. "." .. iname .. ": no options found")
            if mname == "smpp.core" and iname == "tls_config" then keys.server = nil end
            check_options(modules[mname], iname, param, keys, problems)
        end
        -- the tables of smpp.connect's limits and reconnect: each key named in their entries
        local connect = modules["smpp.client"].items.connect
        for option, keys in pairs(nested) do
            assert(next(keys), option .. ": no keys found")
            for _, k in ipairs(sorted_keys(keys)) do
                if not connect.params["opts." .. option].text:find("%f[%w_]" .. k .. "%f[^%w_]") then
                    problems[#problems + 1] = format("smpp.client.connect: %s.%s is not named", option, k)
                end
            end
        end
        assert(#problems == 0, report(problems))
    end)

    it("has every event of the client, and every field of the objects it hands out", function()
        local problems = {}
        local client_doc = modules["smpp.client"]
        for _, event in ipairs(sorted_keys(require("smpp.client.options").EVENTS)) do
            local item = client_doc.items[event]
            if not item or item.kind ~= "event" then problems[#problems + 1] = "event " .. event .. " has no entry" end
        end
        -- the objects of a client against the simulator: a receipt, what it
        -- matched, an MO message, the bound event's table and the counters
        local smpp = require "smpp"
        local sim = smpp.server{ port = 0, accounts = { acct = "secret" } }
        local port = assert(sim:start())
        local got = {}
        smpp.spawn(function()
            local c = assert(smpp.connect{ port = port, system_id = "acct", password = "secret",
                on = { bound = function(info) got.bound = info end } })
            assert(c:send{ to = "447700900123", text = "hello", receipt = true, ref = "r1", meta = { n = 1 } })
            got.receipt = assert(c:wait("receipt", 5))
            sim:deliver{ account = "acct", text = "an MO" }
            got.message = assert(c:wait("message", 5))
            got.stats = c:stats()
            c:close()
            sim:stop()
        end)
        smpp.run()
        assert.is_table(got.receipt.message)
        check_fields(modules["smpp.receipt"], "Receipt", "", got.receipt, problems)
        check_fields(client_doc, "Sent", "", got.receipt.message, problems)
        check_fields(client_doc, "Message", "", got.message, problems)
        check_fields(client_doc, "Stats", "", got.stats, problems)
        check_fields(client_doc, "bound", "info.", got.bound, problems)
        assert(#problems == 0, report(problems))
    end)

    it("has every command_status of the core, with its name and text", function()
        local problems = check_statuses(slurp(ROOT .. "/doc-src/errors.md"), core.statuses, {})
        assert(#problems == 0, report(problems))
        assert.are.equal(#core.statuses, #status_rows(slurp(ROOT .. "/doc-src/errors.md")))
    end)

    it("has every string code the library returns", function()
        local codes = {}
        local find = io.popen("cd " .. q(ROOT) .. " && ls lua/smpp/*.lua lua/smpp/*/*.lua csrc/lsmpp*.c")
        for file in find:lines() do codes_in(slurp(ROOT .. "/" .. file), codes) end
        find:close()
        for _, known in ipairs({ "unsent", "timeout", "closed", "net", "tls", "text", "window" }) do
            assert(codes[known], known .. " not found in the sources")
        end
        local problems = check_codes(slurp(ROOT .. "/doc-src/errors.md"), codes, {})
        assert(#problems == 0, report(problems))
    end)

    describe("the checks", function()
        -- a module of its own, with a config.ld, in a fresh directory
        local function project(source)
            local dir = os.tmpname()
            os.remove(dir)
            assert(os.execute("mkdir -p " .. q(dir .. "/lua")))
            local f = assert(io.open(dir .. "/lua/docmod.lua", "w"))
            f:write(source)
            f:close()
            f = assert(io.open(dir .. "/config.ld", "w"))
            f:write('file = { "lua/docmod.lua" }\nformat = "plain"\n')
            f:close()
            return dir
        end
        local SOURCE = [[
--- A module of the checks.
-- @module docmod
local _M = {}

--- Documented.
-- @tparam number a a number
function _M.documented(a) return a end

function _M.forgotten(b) return b end

--- Takes options.
-- @tparam table opts the options
-- @tparam[opt=1] number opts.known a known one
function _M.configure(opts) return opts.known, opts.unknown end

return _M
]]

        it("name a function with no entry, and an option with none", function()
            local dir = project(SOURCE)
            local docs = ldoc_items(dir)
            local m = assert(load(SOURCE, "=docmod"))()
            local problems = check_exports(docs.docmod, m, {}, {})
            assert.are.same({ "docmod.forgotten (a function) has no entry" }, problems)
            problems = check_options(docs.docmod, "configure", "opts", keys_read(m.configure), {})
            assert.are.same({ "docmod.configure: option unknown has no entry" }, problems)
            os.execute("rm -rf " .. q(dir))
        end)

        it("name a method with no entry, an undescribed parameter and a field with no entry", function()
            local dir = project(SOURCE:gsub("%-%- @tparam number a a number", "-- @tparam number a"))
            local docs = ldoc_items(dir)
            local problems = check_exports(docs.docmod, {}, { Thing = { go = function() end } }, {})
            assert.are.same({ "docmod: Thing:go has no entry" }, problems)
            assert.are.same({ "docmod.documented: parameter a is not described" }, check_items(docs.docmod, {}))
            problems = check_fields(docs.docmod, "configure", "opts.", { known = 1, extra = 2 }, {})
            assert.are.same({ "docmod.configure: field extra has no entry" }, problems)
            os.execute("rm -rf " .. q(dir))
        end)

        it("name a status the table lacks or names wrongly, and a string code with no row", function()
            local text = slurp(ROOT .. "/doc-src/errors.md")
            local without = text:gsub("\n| 0x58 | [^\n]*", "")
            assert.are.same({ "command_status 0x58 ESME_RTHROTTLED has no row",
                format("%d command_status rows, the core has %d", #core.statuses - 1, #core.statuses) },
                check_statuses(without, core.statuses, {}))
            local renamed = text:gsub("`ESME_RTHROTTLED`", "`ESME_RSLOW`")
            assert.are.same({ "command_status 0x58: the row says ESME_RSLOW (throttling error), the core "
                .. "ESME_RTHROTTLED (throttling error)" }, check_statuses(renamed, core.statuses, {}))
            local codes = codes_in('    return nil, "no such thing", "vanished"\n', {})
            assert.are.same({ 'the string code "vanished" has no row' }, check_codes(text, codes, {}))
        end)
    end)
end)
