/* lsmpp_tls: Lua binding of TLS over memory BIOs ("smpp.tls_config" and
 * "smpp.tls" objects): the transport moves the ciphertext, this only turns
 * it into plaintext and back. */
#include <string.h>

#include "lsmpp.h"
#include "smpp_tls.h"

#define CONFIG_MT "smpp.tls_config"
#define TLS_MT "smpp.tls"
#define READ_CHUNK 65536

typedef struct lconfig {
    smpp_tls_config *c;
} lconfig;

typedef struct ltls {
    smpp_tls *t;
} ltls;

static int tls_fail(lua_State *L, const char *msg)
{
    lua_pushnil(L);
    lua_pushstring(L, msg);
    lua_pushliteral(L, "tls");
    return 3;
}

static const char *opt_string(lua_State *L, int t, const char *name)
{
    const char *s;
    lua_getfield(L, t, name);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return NULL;
    }
    if (lua_type(L, -1) != LUA_TSTRING)
        luaL_error(L, "smpp.tls: %s must be a string", name);
    s = lua_tostring(L, -1);
    lua_pop(L, 1); /* still referenced by the options table */
    return s;
}

/* tls_config{ server, verify = true|false|"peer", ca, ca_dir, cert, key,
 *             min_version, max_version, ciphers, keylog } -> config | nil, message, "tls" */
static int l_tls_config(lua_State *L)
{
    smpp_tls_options o;
    char err[512];
    lconfig *lc;
    memset(&o, 0, sizeof o);
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "server");
    o.server = lua_toboolean(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, 1, "verify");
    if (lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "peer") == 0)
        o.verify = SMPP_TLS_VERIFY_PEER;
    else if (lua_isboolean(L, -1) && !lua_toboolean(L, -1))
        o.verify = SMPP_TLS_VERIFY_NONE;
    else if (!lua_isnil(L, -1) && !lua_isboolean(L, -1))
        return luaL_error(L, "smpp.tls: verify must be true, false or \"peer\"");
    lua_pop(L, 1);
    o.ca_file = opt_string(L, 1, "ca");
    o.ca_dir = opt_string(L, 1, "ca_dir");
    o.cert_file = opt_string(L, 1, "cert");
    o.key_file = opt_string(L, 1, "key");
    o.min_version = opt_string(L, 1, "min_version");
    o.max_version = opt_string(L, 1, "max_version");
    o.ciphers = opt_string(L, 1, "ciphers");
    o.keylog_file = opt_string(L, 1, "keylog");
    lc = lua_newuserdata(L, sizeof *lc);
    lc->c = NULL;
    luaL_getmetatable(L, CONFIG_MT);
    lua_setmetatable(L, -2);
    lc->c = smpp_tls_config_new(&o, err, sizeof err);
    if (lc->c == NULL)
        return tls_fail(L, err);
    return 1;
}

static int l_config_gc(lua_State *L)
{
    lconfig *lc = luaL_checkudata(L, 1, CONFIG_MT);
    smpp_tls_config_free(lc->c); /* connections keep their own reference */
    lc->c = NULL;
    return 0;
}

/* config:connection([host]) -> tls | nil, message, "tls" */
static int l_connection(lua_State *L)
{
    lconfig *lc = luaL_checkudata(L, 1, CONFIG_MT);
    const char *host = luaL_optstring(L, 2, NULL);
    char err[512];
    ltls *lt = lua_newuserdata(L, sizeof *lt);
    lt->t = NULL;
    luaL_getmetatable(L, TLS_MT);
    lua_setmetatable(L, -2);
    lt->t = smpp_tls_new(lc->c, host, err, sizeof err);
    if (lt->t == NULL)
        return tls_fail(L, err);
    return 1;
}

static smpp_tls *check_tls(lua_State *L)
{
    ltls *lt = luaL_checkudata(L, 1, TLS_MT);
    if (lt->t == NULL)
        luaL_argerror(L, 1, "TLS connection freed");
    return lt->t;
}

static int l_feed(lua_State *L)
{
    smpp_tls *t = check_tls(L);
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    if (smpp_tls_feed(t, s, n) != 0)
        return tls_fail(L, smpp_tls_error(t));
    lua_pushboolean(L, 1);
    return 1;
}

static int l_eof(lua_State *L)
{
    smpp_tls_eof(check_tls(L));
    return 0;
}

/* tls:handshake() -> true | false (needs more input) | nil, message, "tls" */
static int l_handshake(lua_State *L)
{
    smpp_tls *t = check_tls(L);
    int rc = smpp_tls_handshake(t);
    if (rc == SMPP_OK) {
        lua_pushboolean(L, 1);
        return 1;
    }
    if (rc == SMPP_EAGAIN) {
        lua_pushboolean(L, 0);
        return 1;
    }
    return tls_fail(L, smpp_tls_error(t));
}

/* tls:read() -> plaintext | false (none now) | nil, "closed" | nil, message, "tls" */
static int l_read(lua_State *L)
{
    smpp_tls *t = check_tls(L);
    char *buf = lua_touserdata(L, lua_upvalueindex(1));
    size_t got = 0;
    int rc = smpp_tls_read(t, buf, READ_CHUNK, &got);
    if (rc == SMPP_OK && got > 0) {
        lua_pushlstring(L, buf, got);
        return 1;
    }
    if (rc == SMPP_OK) {
        lua_pushnil(L);
        lua_pushliteral(L, "closed");
        lua_pushliteral(L, "closed");
        return 3;
    }
    if (rc == SMPP_EAGAIN) {
        lua_pushboolean(L, 0);
        return 1;
    }
    return tls_fail(L, smpp_tls_error(t));
}

/* tls:write(plaintext) -> true | nil, message, "tls" */
static int l_write(lua_State *L)
{
    smpp_tls *t = check_tls(L);
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    if (smpp_tls_write(t, s, n) != SMPP_OK)
        return tls_fail(L, smpp_tls_error(t));
    lua_pushboolean(L, 1);
    return 1;
}

/* tls:output() -> the ciphertext waiting to be sent */
static int l_output(lua_State *L)
{
    const uint8_t *p;
    size_t n = smpp_tls_output(check_tls(L), &p);
    lua_pushlstring(L, n ? (const char *)p : "", n);
    return 1;
}

static int l_consume(lua_State *L)
{
    smpp_tls *t = check_tls(L);
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_argcheck(L, n >= 0, 2, "must not be negative");
    smpp_tls_consume(t, (size_t)n);
    return 0;
}

static int l_close(lua_State *L)
{
    smpp_tls_close(check_tls(L));
    return 0;
}

static int l_version(lua_State *L)
{
    lua_pushstring(L, smpp_tls_version(check_tls(L)));
    return 1;
}

static int l_cipher(lua_State *L)
{
    lua_pushstring(L, smpp_tls_cipher(check_tls(L)));
    return 1;
}

static int l_tls_gc(lua_State *L)
{
    ltls *lt = luaL_checkudata(L, 1, TLS_MT);
    smpp_tls_free(lt->t);
    lt->t = NULL;
    return 0;
}

void lsmpp_open_tls(lua_State *L)
{
    static const luaL_Reg tls_methods[] = {
        {"feed", l_feed},     {"eof", l_eof},         {"handshake", l_handshake},
        {"read", l_read},     {"write", l_write},     {"output", l_output},
        {"consume", l_consume}, {"close", l_close},   {"version", l_version},
        {"cipher", l_cipher}, {NULL, NULL}};
    luaL_newmetatable(L, CONFIG_MT);
    lua_newtable(L);
    lua_pushcfunction(L, l_connection);
    lua_setfield(L, -2, "connection");
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_config_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    luaL_newmetatable(L, TLS_MT);
    lua_newtable(L);
    lua_newuserdata(L, READ_CHUNK);
    luaL_setfuncs(L, tls_methods, 1);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_tls_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    lua_pushcfunction(L, l_tls_config);
    lua_setfield(L, -2, "tls_config");
}
