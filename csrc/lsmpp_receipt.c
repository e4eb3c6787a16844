/* lsmpp_receipt: Lua binding of the delivery receipt parser and of the keys
 * and comparison of message ids (receipt_parse, receipt_id_key,
 * receipt_id_keys, receipt_same_id in smpp.core), and the receipt tables the
 * session makes for a client's compact list. */
#include <string.h>

#include "lsmpp.h"
#include "smpp_receipt.h"
#include "smpp_text.h"

#define RECEIPT_MT "smpp.receipt"

static void set_span(lua_State *L, const smpp_span *sp, const char *name)
{
    if (sp->ptr == NULL)
        return;
    lua_pushlstring(L, (const char *)sp->ptr, sp->len);
    lua_setfield(L, -2, name);
}

static void set_int(lua_State *L, int v, const char *name)
{
    lua_pushinteger(L, (lua_Integer)v);
    lua_setfield(L, -2, name);
}

/* An os.date("*t")-style table, so that os.time() takes it. */
static void set_date(lua_State *L, const smpp_receipt_date *d, const char *name)
{
    if (!d->present)
        return;
    lua_createtable(L, 0, 6);
    set_int(L, d->year, "year");
    set_int(L, d->month, "month");
    set_int(L, d->day, "day");
    set_int(L, d->hour, "hour");
    set_int(L, d->minute, "min");
    set_int(L, d->second, "sec");
    lua_setfield(L, -2, name);
}

/* Whether octets of alphabet a read the same as ASCII (a receipt's usual
 * text): then they need no decoding. */
static int reads_as_ascii(smpp_alphabet a, const uint8_t *s, size_t n)
{
    size_t i;
    if (a != SMPP_A_GSM7 && a != SMPP_A_ASCII && a != SMPP_A_LATIN1)
        return 0;
    for (i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (c < 0x20 || c > 0x7E)
            return 0;
        if (a == SMPP_A_GSM7 && (c > 0x7A || c == 0x24 || c == 0x40 || (c >= 0x5B && c <= 0x60)))
            return 0;
    }
    return 1;
}

/* The stat word in upper case, and its message_state number when it is one. */
static void set_stat(lua_State *L, const smpp_span *stat)
{
    luaL_Buffer b;
    size_t i;
    int state;
    if (stat->ptr == NULL)
        return;
    luaL_buffinit(L, &b);
    for (i = 0; i < stat->len; i++) {
        uint8_t c = stat->ptr[i];
        luaL_addchar(&b, (char)(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c));
    }
    luaL_pushresult(&b);
    lua_setfield(L, -2, "stat");
    state = smpp_receipt_state(stat->ptr, stat->len);
    if (state != 0)
        set_int(L, state, "state");
}

/* Pushes the receipt in text (octets in data_coding dcs, or already decoded
 * text when dcs < 0), with the TLVs receipted_message_id (id, when idlen > 0)
 * and message_state (state >= 0) winning over the text. Returns 1, or 0 with
 * nothing pushed when it is no receipt (the text none, and no TLV), or -1
 * when memory ran out. */
static int push_receipt(lua_State *L, const uint8_t *s, size_t n, int dcs, smpp_alphabet account,
                        const uint8_t *id, size_t idlen, int state)
{
    smpp_receipt r;
    smpp_buf decoded = {0};
    int msg_class, rc;

    if (dcs >= 0 && n > 0) {
        smpp_alphabet a = smpp_dcs_alphabet((uint8_t)dcs, account, &msg_class);
        if (!reads_as_ascii(a, s, n)) {
            if (smpp_text_decode(a, s, n, &decoded) != SMPP_OK) {
                smpp_buf_free(&decoded);
                return -1;
            }
            s = decoded.data;
            n = decoded.len;
        }
    }
    rc = s != NULL ? smpp_receipt_parse(s, n, &r) : -1;
    if (rc != 0) {
        if (idlen == 0 && state < 0) {
            smpp_buf_free(&decoded);
            return 0;
        }
        memset(&r, 0, sizeof r);
    }
    lua_createtable(L, 0, 11);
    set_span(L, &r.id, "id");
    set_span(L, &r.sub, "sub");
    set_span(L, &r.dlvr, "dlvr");
    set_date(L, &r.submit_date, "submit_date");
    set_date(L, &r.done_date, "done_date");
    set_span(L, &r.err, "err");
    set_span(L, &r.text, "text");
    set_stat(L, &r.stat);
    smpp_buf_free(&decoded);
    if (idlen > 0) {
        lua_pushlstring(L, (const char *)id, idlen);
        lua_setfield(L, -2, "id");
    }
    if (state >= 0) {
        const char *name = smpp_receipt_state_name(state);
        set_int(L, state, "state");
        if (name != NULL) {
            lua_pushstring(L, name);
            lua_setfield(L, -2, "stat");
        }
    }
    luaL_setmetatable(L, RECEIPT_MT);
    return 1;
}

static const smpp_value *tlv_of(const smpp_pdu *p, uint16_t tag)
{
    int k = smpp_tlv_index(tag);
    return k >= 0 && (p->tlv_present & ((uint64_t)1 << k)) ? &p->tlv[k] : NULL;
}

int lsmpp_push_receipt(lua_State *L, const smpp_pdu *p, int latin1)
{
    const smpp_value *sm = &p->f[SMPP_F_SHORT_MESSAGE];
    const smpp_value *id = NULL, *state = NULL;
    int kind = p->f[SMPP_F_ESM_CLASS].num & 0x3C, rc;

    if (kind != 0x04 && kind != 0x20) /* an SMSC receipt, an intermediate notification */
        return 0;
    if (p->tlv_len > 0) {
        if (sm->len == 0) {
            const smpp_value *payload = tlv_of(p, 0x0424);
            if (payload != NULL)
                sm = payload;
        }
        id = tlv_of(p, 0x001E);
        state = tlv_of(p, 0x0427);
    }
    rc = push_receipt(L, sm->ptr, sm->len, (int)p->f[SMPP_F_DATA_CODING].num,
                      latin1 ? SMPP_A_LATIN1 : SMPP_A_GSM7, id ? id->ptr : NULL, id ? id->len : 0,
                      state ? (int)state->num : -1);
    if (rc < 0)
        luaL_error(L, "smpp.receipt: out of memory");
    return rc;
}

/* receipt_parse(text [, data_coding, charset [, receipted_message_id,
 * message_state]]) -> receipt, or nil when it is none. With data_coding,
 * text is a PDU's octets, read in that coding (charset: the account's
 * alphabet for data_coding 0, "gsm7" or "latin1"). The receipt: { id, sub,
 * dlvr, submit_date, done_date, stat (upper case), state (message_state),
 * err, text } with the metatable smpp.receipt; absent fields are nil. */
static int l_receipt_parse(lua_State *L)
{
    static const char *const charsets[] = {"gsm7", "latin1", NULL};
    size_t n, idlen = 0;
    const uint8_t *s = (const uint8_t *)luaL_checklstring(L, 1, &n);
    const uint8_t *id = (const uint8_t *)luaL_optlstring(L, 4, NULL, &idlen);
    int dcs = -1, account = 0, state = -1;

    if (!lua_isnoneornil(L, 2)) {
        lua_Integer d = luaL_checkinteger(L, 2);
        luaL_argcheck(L, d >= 0 && d <= 255, 2, "data_coding must be 0-255");
        dcs = (int)d;
        account = luaL_checkoption(L, 3, "gsm7", charsets);
    }
    if (!lua_isnoneornil(L, 5)) {
        lua_Integer st = luaL_checkinteger(L, 5);
        luaL_argcheck(L, st >= 0 && st <= 255, 5, "message_state must be 0-255");
        state = (int)st;
    }
    switch (
        push_receipt(L, s, n, dcs, account == 0 ? SMPP_A_GSM7 : SMPP_A_LATIN1, id, idlen, state)) {
    case 1: return 1;
    case 0: lua_pushnil(L); return 1;
    default: return luaL_error(L, "smpp.receipt: out of memory");
    }
}

/* receipt_same_id(a, b) -> boolean (smpp_receipt_same_id) */
static int l_receipt_same_id(lua_State *L)
{
    size_t alen, blen;
    const char *a = luaL_checklstring(L, 1, &alen);
    const char *b = luaL_checklstring(L, 2, &blen);
    lua_pushboolean(L, smpp_receipt_same_id((const uint8_t *)a, alen, (const uint8_t *)b, blen));
    return 1;
}

/* Room for the keys of an id of n octets: on the C stack for the ids SMSCs
 * give (at most 64 octets), else a userdata left on the Lua stack. */
#define ID_ROOM 256

static uint8_t *id_room(lua_State *L, size_t n, uint8_t *small)
{
    if (n <= ID_ROOM - SMPP_RECEIPT_ID_KEYS_ROOM(0))
        return small;
    return (uint8_t *)lua_newuserdata(L, SMPP_RECEIPT_ID_KEYS_ROOM(n));
}

/* Pushes key k of the id at index 1: that string itself when they are equal. */
static void push_key(lua_State *L, const smpp_span *k, const char *id, size_t n)
{
    if (k->len == n && memcmp(k->ptr, id, n) == 0)
        lua_pushvalue(L, 1);
    else
        lua_pushlstring(L, (const char *)k->ptr, k->len);
}

/* receipt_id_key(id) -> the key of the id (smpp_receipt_id_key): lower case,
 * no leading zeros, "0" for an id of zeros. The same string when it is that
 * already. */
static int l_receipt_id_key(lua_State *L)
{
    uint8_t small[ID_ROOM];
    size_t n;
    const char *id = luaL_checklstring(L, 1, &n);
    smpp_span k;
    k.ptr = id_room(L, n, small);
    k.len = smpp_receipt_id_key((const uint8_t *)id, n, (uint8_t *)k.ptr);
    push_key(L, &k, id, n);
    return 1;
}

/* receipt_id_keys(id) -> key, [form, [form]]: the keys of the id
 * (smpp_receipt_id_keys), its key first, then its decimal and hex forms. */
static int l_receipt_id_keys(lua_State *L)
{
    uint8_t small[ID_ROOM];
    smpp_span keys[SMPP_RECEIPT_ID_KEYS];
    size_t n;
    const char *id = luaL_checklstring(L, 1, &n);
    int count, k, top;
    count = smpp_receipt_id_keys((const uint8_t *)id, n, id_room(L, n, small), keys);
    top = lua_gettop(L);
    for (k = 0; k < count; k++)
        push_key(L, &keys[k], id, n);
    return lua_gettop(L) - top;
}

void lsmpp_open_receipt(lua_State *L)
{
    int k;
    lua_pushcfunction(L, l_receipt_id_key);
    lua_setfield(L, -2, "receipt_id_key");
    lua_pushcfunction(L, l_receipt_id_keys);
    lua_setfield(L, -2, "receipt_id_keys");
    lua_pushcfunction(L, l_receipt_parse);
    lua_setfield(L, -2, "receipt_parse");
    lua_pushcfunction(L, l_receipt_same_id);
    lua_setfield(L, -2, "receipt_same_id");
    /* the receipts' metatable: smpp.receipt gives it its __tostring */
    luaL_newmetatable(L, RECEIPT_MT);
    lua_pushliteral(L, RECEIPT_MT); /* (Lua 5.1 and LuaJIT do not set it) */
    lua_setfield(L, -2, "__name");
    lua_setfield(L, -2, "receipt_meta");
    lua_newtable(L);
    for (k = 1; smpp_receipt_state_name(k) != NULL; k++) {
        lua_pushstring(L, smpp_receipt_state_name(k));
        lua_rawseti(L, -2, k);
    }
    lua_setfield(L, -2, "receipt_states");
}
