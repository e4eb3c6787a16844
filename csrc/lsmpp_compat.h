/* lsmpp_compat: the few Lua 5.3/5.4 API calls the binding uses that Lua 5.1 and
 * LuaJIT 2.1 spell differently, and the two that PUC Lua 5.1 lacks. */
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

/* LuaJIT 2.1 has the Lua 5.2 auxiliary library (luaL_newlib marks it);
 * PUC Lua 5.1 does not. */
#if LUA_VERSION_NUM == 501 && !defined(luaL_newlib)
static inline void luaL_setfuncs(lua_State *L, const luaL_Reg *l, int nup)
{
    int i;
    luaL_checkstack(L, nup, "too many upvalues");
    for (; l->name != NULL; l++) {
        for (i = 0; i < nup; i++)
            lua_pushvalue(L, -nup);
        lua_pushcclosure(L, l->func, nup);
        lua_setfield(L, -(nup + 2), l->name);
    }
    lua_pop(L, nup);
}

static inline void luaL_setmetatable(lua_State *L, const char *tname)
{
    luaL_getmetatable(L, tname);
    lua_setmetatable(L, -2);
}
#endif

#endif
