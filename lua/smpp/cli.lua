-- smpp.cli: the command line shared by bin/smpp and bin/smpp-sim. One
-- parser (short and long options, -abc, --name=value or --name value, --
-- to end them), the --help text made from the same table of options, the
-- exit codes, one-line errors instead of tracebacks, and JSON lines.
local format, concat, sort, huge = string.format, table.concat, table.sort, math.huge
local error, getmetatable, ipairs, pairs, pcall = error, getmetatable, ipairs, pairs, pcall
local rawget, setmetatable, tonumber, tostring, type = rawget, setmetatable, tonumber, tostring, type

local _M = {}

--- The exit codes of both tools.
_M.OK, _M.FAILED, _M.USAGE, _M.TIMEOUT, _M.INTERRUPTED = 0, 1, 2, 3, 130

local HELP_COLUMN, WIDTH = 27, 79

--- Puts a source tree's C module in front of package.cpath: root is the
--- directory above bin/ (the tools put its lua/ in front of package.path
--- themselves, to find this file). The module is the one make builds for
--- this Lua (build/lua5.4, build/luajit, ...), when it is there; a cpath
--- that names a build of the tree already (make check-asan's) is kept.
function _M.use_tree(root)
    if package.cpath:find(root .. "/build/", 1, true) then return end
    local lua = rawget(_G, "jit") and "luajit" or "lua" .. _VERSION:match("%d+%.%d+")
    local dir = root .. "/build/" .. lua
    local probe = io.open(dir .. "/smpp/core.so")
    if probe then
        probe:close()
        package.cpath = dir .. "/?.so;" .. package.cpath
    end
end

-- Errors the tools raise to end with a message and an exit code.
local Exit = {}

--- Ends the run: the message on stderr (with a hint at --help for a usage
--- error), and the exit code.
function _M.exit(code, message)
    error(setmetatable({ code = code, message = message }, Exit), 0)
end

function _M.usage(message)
    _M.exit(_M.USAGE, message)
end

-- The message of an error the library raised, without its file and line.
local function bare(err)
    return (tostring(err):gsub("^[^:\n]*:%d+: ", ""))
end
_M.bare = bare

--- Runs main() as a tool: an exit raised within ends with its code and one
--- line on stderr, Ctrl-C with 130, any other error with 1 and its message
--- (never a traceback). Returns the exit code.
function _M.run(tool, main)
    local ok, err = pcall(main)
    if ok then return _M.OK end
    local code, message = _M.FAILED
    if getmetatable(err) == Exit then
        code, message = err.code, err.message
    elseif type(err) == "string" and err:match("interrupted!$") then
        code, message = _M.INTERRUPTED, "interrupted"
    else
        message = bare(err)
    end
    if message then io.stderr:write(tool.name, ": ", message, "\n") end
    if code == _M.USAGE then
        io.stderr:write("Try '", tool.name, " --help' for more information.\n")
    end
    return code
end

-- Option tables: { short = "p", long = "port", value = "N", kind = "integer"
-- | "number" | nil (a string), choices = { ... }, many = true (each value
-- kept, in a list), help = "...", only = "send" (a command it belongs to) }.
-- A tool: { name, usage = { lines }, about, sections = { { title, options
-- | text } } }.

local function each_option(tool)
    local list = {}
    for _, section in ipairs(tool.sections) do
        for _, o in ipairs(section.options or {}) do list[#list + 1] = o end
    end
    return list
end

local function flag_name(o) return "--" .. o.long end

local function nearest(tool, name)
    local names = {}
    for _, o in ipairs(each_option(tool)) do names[#names + 1] = o.long end
    local near = require("smpp.client.options").nearest(name, names)
    return near and format(" (did you mean --%s?)", near) or ""
end

local function choice_list(choices)
    return concat(choices, ", ", 1, #choices - 1) .. " or " .. choices[#choices]
end

-- The value of option o given as text s, checked.
local function convert(o, s)
    if o.kind == "number" or o.kind == "integer" then
        local n = tonumber(s)
        if not n or n ~= n or n < 0 or (o.kind == "integer" and n % 1 ~= 0) then
            _M.usage(format("%s takes %s, not '%s'", flag_name(o),
                o.kind == "integer" and "a whole number" or "a number", s))
        end
        if o.positive and n <= 0 then
            _M.usage(format("%s takes a number above 0, not '%s'", flag_name(o), s))
        end
        return n
    elseif o.choices then
        for _, c in ipairs(o.choices) do
            if c == s then return s end
        end
        _M.usage(format("%s takes %s, not '%s'", flag_name(o), choice_list(o.choices), s))
    end
    return s
end

local function set(values, o, v)
    if o.many then
        local list = values[o.long] or {}
        list[#list + 1] = v
        values[o.long] = list
    else
        values[o.long] = v
    end
end

--- Parses argv from index first (default 1) by the tool's options: the
--- values by long name (true for a flag given), and the operands in order.
--- Raises a usage error for an unknown option or a missing or bad value.
function _M.parse(tool, argv, first)
    local by_long, by_short = {}, {}
    for _, o in ipairs(each_option(tool)) do
        by_long[o.long] = o
        if o.short then by_short[o.short] = o end
    end
    local values, operands = {}, {}
    local i, n = first or 1, #argv
    local function next_value(o)
        i = i + 1
        if i > n then _M.usage(flag_name(o) .. " needs a value (" .. o.value .. ")") end
        return argv[i]
    end
    while i <= n do
        local a = argv[i]
        if a == "--" then
            for k = i + 1, n do operands[#operands + 1] = argv[k] end
            break
        elseif a:sub(1, 2) == "--" then
            local name, given = a:match("^%-%-([^=]+)=(.*)$")
            name = name or a:sub(3)
            local o = by_long[name]
            if not o then _M.usage("unknown option --" .. name .. nearest(tool, name)) end
            if not o.value then
                if given then _M.usage(flag_name(o) .. " takes no value") end
                values[o.long] = true
            else
                set(values, o, convert(o, given or next_value(o)))
            end
        elseif a:sub(1, 1) == "-" and #a > 1 then
            -- -abc: flags a, b, c; -pVALUE or -p VALUE: an option's value
            local k = 2
            while k <= #a do
                local c = a:sub(k, k)
                local o = by_short[c]
                if not o then _M.usage("unknown option -" .. c) end
                if not o.value then
                    values[o.long] = true
                    k = k + 1
                else
                    local rest = a:sub(k + 1)
                    set(values, o, convert(o, rest ~= "" and rest or next_value(o)))
                    break
                end
            end
        else
            operands[#operands + 1] = a
        end
        i = i + 1
    end
    return values, operands
end

--- Raises a usage error for an option given that belongs to another command.
function _M.check_command(tool, values, command)
    for _, o in ipairs(each_option(tool)) do
        if values[o.long] ~= nil and o.only and o.only ~= command then
            _M.usage(format("%s is an option of '%s %s', not of '%s'", flag_name(o), tool.name, o.only, command))
        end
    end
end

-- The words of text in lines of at most WIDTH characters, the lines after
-- the first indented by indent (the first starts at that column too).
local function wrap(text, indent)
    local lines, line, room = {}, "", WIDTH - indent
    for word in text:gmatch("%S+") do
        if line ~= "" and #line + 1 + #word > room then
            lines[#lines + 1] = line
            line = word
        else
            line = line == "" and word or line .. " " .. word
        end
    end
    lines[#lines + 1] = line
    return concat(lines, "\n" .. (" "):rep(indent))
end

--- The --help text: usage lines, what the tool does, then each section's
--- options (or text) as GNU tools print them (help2man reads it so).
function _M.help(tool)
    local out = {}
    for k, line in ipairs(tool.usage) do
        out[#out + 1] = (k == 1 and "Usage: " or "  or:  ") .. tool.name .. " " .. line
    end
    out[#out + 1] = wrap(tool.about, 0)
    for _, section in ipairs(tool.sections) do
        out[#out + 1] = ""
        out[#out + 1] = section.title .. ":"
        if section.text then
            out[#out + 1] = section.text
        end
        for _, o in ipairs(section.options or {}) do
            local left = "  " .. (o.short and "-" .. o.short .. ", " or "    ") .. "--" .. o.long
                .. (o.value and "=" .. o.value or "")
            local help = o.help
            if o.choices and not help:find(o.choices[1], 1, true) then
                help = help .. ": " .. choice_list(o.choices)
            end
            if #left + 2 > HELP_COLUMN then
                out[#out + 1] = left
                left = ""
            end
            out[#out + 1] = left .. (" "):rep(HELP_COLUMN - #left) .. wrap(help, HELP_COLUMN)
        end
    end
    return concat(out, "\n")
end

--- The --version line, GNU style: "smpp (lua-smpp) 0.1.0".
function _M.version(tool)
    return format("%s (lua-smpp) %s", tool.name, require("smpp")._VERSION)
end

-- JSON ---------------------------------------------------------------------

local ESCAPES = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n",
    ["\r"] = "\\r", ["\t"] = "\\t" }

-- The length of the UTF-8 sequence at i of s, or nil when it is none.
local function utf8_at(s, i)
    local c = s:byte(i)
    local len = c >= 0xC2 and c <= 0xDF and 2 or c >= 0xE0 and c <= 0xEF and 3 or c >= 0xF0 and c <= 0xF4 and 4
    if not len then return nil end
    for k = i + 1, i + len - 1 do
        local b = s:byte(k)
        if not b or b < 0x80 or b > 0xBF then return nil end
    end
    return len
end

-- A JSON string of s: control characters escaped, and an octet that is
-- not part of a UTF-8 sequence written as the Latin-1 character it is.
local function json_string(s)
    s = s:gsub('[%c"\\]', function(c) return ESCAPES[c] or format("\\u%04x", c:byte()) end)
    if s:find("[\128-\255]") then
        local out, i = {}, 1
        while i <= #s do
            local c = s:byte(i)
            local len = c < 0x80 and 1 or utf8_at(s, i)
            out[#out + 1] = len and s:sub(i, i + len - 1) or format("\\u%04x", c)
            i = i + (len or 1)
        end
        s = concat(out)
    end
    return '"' .. s .. '"'
end

local function is_list(t)
    local n = 0
    for _ in pairs(t) do n = n + 1 end
    return n == #t and (n > 0 or getmetatable(t) == _M.LIST)
end

--- The metatable that makes an empty table a JSON list ([]) rather than {}.
_M.LIST = {}

--- One value as JSON: tables with keys 1..n as lists, others as objects
--- (string keys, sorted), strings, numbers, booleans.
function _M.json(v)
    local kind = type(v)
    if kind == "string" then
        return json_string(v)
    elseif kind == "number" then
        if v ~= v or v == huge or v == -huge then return "null" end
        return v % 1 == 0 and format("%d", v) or format("%.17g", v)
    elseif kind == "boolean" then
        return tostring(v)
    elseif kind == "table" then
        local out = {}
        if is_list(v) then
            for i, item in ipairs(v) do out[i] = _M.json(item) end
            return "[" .. concat(out, ",") .. "]"
        end
        local keys = {}
        for k in pairs(v) do keys[#keys + 1] = k end
        sort(keys)
        for i, k in ipairs(keys) do
            out[i] = json_string(k) .. ":" .. _M.json(v[k])
        end
        return "{" .. concat(out, ",") .. "}"
    end
    return "null"
end

return _M
