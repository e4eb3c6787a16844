std = "max"
max_line_length = 120
files["spec"] = { std = "+busted" }
exclude_files = { "spec/interop/node_modules" }
-- code that runs inside nginx (the lua module's ngx API)
files["lua/smpp/ngx.lua"] = { std = "max+ngx_lua" }
files["lua/smpp/transport/ngx.lua"] = { std = "max+ngx_lua" }
files["examples/openresty"] = { std = "max+ngx_lua" }
files["lua/smpp/redis.lua"] = { std = "max+ngx_lua" }
files["lua/smpp/limits.lua"] = { std = "max+ngx_lua" }
