/* lsmpp_compat: the few Lua 5.4 API calls the binding uses that Lua 5.1 and
 * LuaJIT 2.1 spell differently. */
#ifndef LSMPP_COMPAT_H
#define LSMPP_COMPAT_H

#include <lauxlib.h>
#include <lua.h>

#if LUA_VERSION_NUM == 501
#define lua_rawlen(L, i) lua_objlen(L, (i))
#define lua_setuservalue(L, i) lua_setfenv(L, (i))
#define lua_getuservalue(L, i) lua_getfenv(L, (i))
static inline int lua_isinteger(lua_State *L, int i)
{
    lua_Number n;
    if (lua_type(L, i) != LUA_TNUMBER)
        return 0;
    n = lua_tonumber(L, i);
    return n == (lua_Number)(lua_Integer)n;
}
#endif

#endif
