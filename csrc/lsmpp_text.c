/* lsmpp_text: Lua binding of message text: alphabets, data_coding, GSM
 * packing and user data headers (used by lua/smpp/text.lua). */
#include <string.h>

#include "lsmpp.h"
#include "smpp_pdu.h"
#include "smpp_text.h"

static const char *const alphabet_names[SMPP_A_COUNT + 1] = {
    [SMPP_A_GSM7] = "gsm7",          [SMPP_A_ASCII] = "ascii",   [SMPP_A_LATIN1] = "latin1",
    [SMPP_A_UCS2] = "ucs2",          [SMPP_A_BINARY] = "binary", [SMPP_A_CYRILLIC] = "cyrillic",
    [SMPP_A_HEBREW] = "hebrew",      [SMPP_A_JIS] = "jis",       [SMPP_A_ISO2022JP] = "iso2022jp",
    [SMPP_A_KANJI] = "kanji",        [SMPP_A_KSC5601] = "ksc5601", [SMPP_A_COUNT] = NULL,
};

#define TEXT_BUF "smpp.text_buf"

/* The buffer the conversions write into, reused: an upvalue. */
static smpp_buf *text_buf(lua_State *L)
{
    smpp_buf *b = lua_touserdata(L, lua_upvalueindex(1));
    b->len = 0;
    return b;
}

static int push_buf(lua_State *L, const smpp_buf *b)
{
    lua_pushlstring(L, b->len ? (const char *)b->data : "", b->len);
    return 1;
}

static int text_error(lua_State *L, int rc, const uint8_t *s, size_t n, size_t bad,
                      const char *alphabet)
{
    if (rc == SMPP_ENOMEM)
        return luaL_error(L, "smpp.text: out of memory");
    uint32_t c;
    size_t len = bad < n ? smpp_utf8_next(s + bad, n - bad, &c) : 0;
    lua_pushnil(L);
    if (len == 0) {
        lua_pushfstring(L, "invalid UTF-8 at octet %d", (int)bad + 1);
    } else {
        lua_pushlstring(L, (const char *)s + bad, len);
        lua_pushfstring(L, "character '%s' at octet %d cannot be written in %s",
                        lua_tostring(L, -1), (int)bad + 1, alphabet);
        lua_remove(L, -2);
    }
    lua_pushliteral(L, "text");
    return 3;
}

/* text_encode(utf8, alphabet [, substitute]) -> octets, data_coding | nil, message, "text" */
static int l_text_encode(lua_State *L)
{
    size_t n, bad = 0;
    const uint8_t *s = (const uint8_t *)luaL_checklstring(L, 1, &n);
    int a = luaL_checkoption(L, 2, NULL, alphabet_names);
    int mode = lua_toboolean(L, 3) ? SMPP_GSM_SUBSTITUTE : SMPP_GSM_STRICT;
    smpp_buf *b = text_buf(L);
    int rc = smpp_text_encode((smpp_alphabet)a, s, n, mode, b, &bad);
    if (rc != SMPP_OK)
        return text_error(L, rc, s, n, bad, alphabet_names[a]);
    push_buf(L, b);
    lua_pushinteger(L, smpp_alphabet_dcs((smpp_alphabet)a));
    return 2;
}

/* text_decode(octets, data_coding, account_alphabet) -> utf8, alphabet, message_class */
static int l_text_decode(lua_State *L)
{
    size_t n;
    const uint8_t *s = (const uint8_t *)luaL_checklstring(L, 1, &n);
    lua_Integer dcs = luaL_checkinteger(L, 2);
    int account = luaL_checkoption(L, 3, "gsm7", alphabet_names);
    int msg_class;
    smpp_alphabet a;
    smpp_buf *b = text_buf(L);
    luaL_argcheck(L, dcs >= 0 && dcs <= 255, 2, "data_coding must be 0-255");
    luaL_argcheck(L, account == SMPP_A_GSM7 || account == SMPP_A_LATIN1, 3,
                  "the account charset is gsm7 or latin1");
    a = smpp_dcs_alphabet((uint8_t)dcs, (smpp_alphabet)account, &msg_class);
    if (smpp_text_decode(a, s, n, b) != SMPP_OK)
        return luaL_error(L, "smpp.text: out of memory");
    push_buf(L, b);
    lua_pushstring(L, alphabet_names[a]);
    if (msg_class < 0)
        lua_pushnil(L);
    else
        lua_pushinteger(L, msg_class);
    return 3;
}

/* text_alphabet(data_coding, account) -> alphabet name, message_class */
static int l_text_alphabet(lua_State *L)
{
    lua_Integer dcs = luaL_checkinteger(L, 1);
    int account = luaL_checkoption(L, 2, "gsm7", alphabet_names);
    int msg_class;
    luaL_argcheck(L, dcs >= 0 && dcs <= 255, 1, "data_coding must be 0-255");
    lua_pushstring(L, alphabet_names[smpp_dcs_alphabet((uint8_t)dcs, (smpp_alphabet)account,
                                                       &msg_class)]);
    if (msg_class < 0)
        lua_pushnil(L);
    else
        lua_pushinteger(L, msg_class);
    return 2;
}

/* text_best(utf8, latin1_ok) -> alphabet name */
static int l_text_best(lua_State *L)
{
    size_t n;
    const uint8_t *s = (const uint8_t *)luaL_checklstring(L, 1, &n);
    lua_pushstring(L, alphabet_names[smpp_text_best(s, n, lua_toboolean(L, 2))]);
    return 1;
}

/* gsm_pack(septets [, fill_bits]) -> octets */
static int l_gsm_pack(lua_State *L)
{
    size_t n;
    const uint8_t *s = (const uint8_t *)luaL_checklstring(L, 1, &n);
    lua_Integer fill = luaL_optinteger(L, 2, 0);
    smpp_buf *b = text_buf(L);
    luaL_argcheck(L, fill >= 0 && fill <= 6, 2, "fill bits must be 0-6");
    if (smpp_buf_reserve(b, ((size_t)fill + 7 * n + 7) / 8) != SMPP_OK)
        return luaL_error(L, "smpp.text: out of memory");
    b->len = smpp_gsm_pack(s, n, (unsigned)fill, b->data);
    return push_buf(L, b);
}

/* gsm_unpack(octets [, fill_bits [, max_septets]]) -> septets */
static int l_gsm_unpack(lua_State *L)
{
    size_t n;
    const uint8_t *s = (const uint8_t *)luaL_checklstring(L, 1, &n);
    lua_Integer fill = luaL_optinteger(L, 2, 0);
    lua_Integer max = luaL_optinteger(L, 3, (lua_Integer)(n * 8 / 7));
    smpp_buf *b = text_buf(L);
    luaL_argcheck(L, fill >= 0 && fill <= 6, 2, "fill bits must be 0-6");
    luaL_argcheck(L, max >= 0, 3, "max_septets must not be negative");
    if (smpp_buf_reserve(b, (size_t)max + 1) != SMPP_OK)
        return luaL_error(L, "smpp.text: out of memory");
    b->len = smpp_gsm_unpack(s, n, (unsigned)fill, b->data, (size_t)max);
    return push_buf(L, b);
}

/* udh_parse(short_message) -> { length, ref, ref_bits, total, seq, src_port, dst_port } | nil */
static int l_udh_parse(lua_State *L)
{
    size_t n;
    const uint8_t *s = (const uint8_t *)luaL_checklstring(L, 1, &n);
    smpp_udh u;
    if (smpp_udh_parse(s, n, &u) != 0) {
        lua_pushnil(L);
        lua_pushliteral(L, "malformed user data header");
        return 2;
    }
    lua_createtable(L, 0, 7);
    lua_pushinteger(L, (lua_Integer)u.length);
    lua_setfield(L, -2, "length");
    if (u.concat) {
        lua_pushinteger(L, u.ref);
        lua_setfield(L, -2, "ref");
        lua_pushinteger(L, u.ref_bits);
        lua_setfield(L, -2, "ref_bits");
        lua_pushinteger(L, u.total);
        lua_setfield(L, -2, "total");
        lua_pushinteger(L, u.seq);
        lua_setfield(L, -2, "seq");
    }
    if (u.ports) {
        lua_pushinteger(L, u.src_port);
        lua_setfield(L, -2, "src_port");
        lua_pushinteger(L, u.dst_port);
        lua_setfield(L, -2, "dst_port");
    }
    return 1;
}

static int l_text_buf_gc(lua_State *L)
{
    smpp_buf_free(lua_touserdata(L, 1));
    return 0;
}

void lsmpp_open_text(lua_State *L)
{
    static const luaL_Reg fns[] = {{"text_encode", l_text_encode},
                                   {"text_decode", l_text_decode},
                                   {"text_alphabet", l_text_alphabet},
                                   {"text_best", l_text_best},
                                   {"gsm_pack", l_gsm_pack},
                                   {"gsm_unpack", l_gsm_unpack},
                                   {"udh_parse", l_udh_parse},
                                   {NULL, NULL}};
    smpp_buf *b = lua_newuserdata(L, sizeof *b);
    smpp_buf_init(b);
    luaL_newmetatable(L, TEXT_BUF);
    lua_pushcfunction(L, l_text_buf_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    luaL_setfuncs(L, fns, 1);
}
