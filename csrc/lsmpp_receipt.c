/* lsmpp_receipt: Lua binding of the delivery receipt parser and the message
 * id comparison (receipt_parse, receipt_id_equal in smpp.core). */
#include "lsmpp.h"
#include "smpp_receipt.h"
#include "smpp_text.h"

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

/* Whether GSM 03.38 octets read the same as ASCII (a receipt's usual text):
 * then they need no decoding. */
static int gsm_as_ascii(const uint8_t *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (c < 0x20 || c > 0x7A || c == 0x24 || c == 0x40 || (c >= 0x5B && c <= 0x60))
            return 0;
    }
    return 1;
}

/* receipt_parse(text [, data_coding, charset]) -> { id, sub, dlvr, submit_date,
 * done_date, stat, err, text } (absent fields nil), or nil when text is not a
 * receipt. With data_coding, text is a PDU's octets, read in that coding
 * (charset: the account's alphabet for data_coding 0, "gsm7" or "latin1"). */
static int l_receipt_parse(lua_State *L)
{
    static const char *const charsets[] = {"gsm7", "latin1", NULL};
    size_t n;
    const uint8_t *s = (const uint8_t *)luaL_checklstring(L, 1, &n);
    smpp_receipt r;
    smpp_buf decoded = {0};
    int rc;

    if (!lua_isnoneornil(L, 2)) {
        lua_Integer dcs = luaL_checkinteger(L, 2);
        int account = luaL_checkoption(L, 3, "gsm7", charsets);
        int msg_class;
        smpp_alphabet a;
        luaL_argcheck(L, dcs >= 0 && dcs <= 255, 2, "data_coding must be 0-255");
        a = smpp_dcs_alphabet((uint8_t)dcs, account == 0 ? SMPP_A_GSM7 : SMPP_A_LATIN1, &msg_class);
        if (!(a == SMPP_A_GSM7 && gsm_as_ascii(s, n))) {
            if (smpp_text_decode(a, s, n, &decoded) != SMPP_OK) {
                smpp_buf_free(&decoded);
                return luaL_error(L, "smpp.receipt: out of memory");
            }
            s = decoded.data;
            n = decoded.len;
        }
    }
    rc = smpp_receipt_parse(s, n, &r);
    if (rc != 0) {
        smpp_buf_free(&decoded);
        lua_pushnil(L);
        return 1;
    }
    lua_createtable(L, 0, 11); /* room for what smpp.receipt adds (state) */
    set_span(L, &r.id, "id");
    set_span(L, &r.sub, "sub");
    set_span(L, &r.dlvr, "dlvr");
    set_date(L, &r.submit_date, "submit_date");
    set_date(L, &r.done_date, "done_date");
    set_span(L, &r.stat, "stat");
    set_span(L, &r.err, "err");
    set_span(L, &r.text, "text");
    smpp_buf_free(&decoded);
    return 1;
}

/* receipt_id_equal(a, b) -> boolean */
static int l_receipt_id_equal(lua_State *L)
{
    size_t alen, blen;
    const char *a = luaL_checklstring(L, 1, &alen);
    const char *b = luaL_checklstring(L, 2, &blen);
    lua_pushboolean(L, smpp_receipt_id_equal((const uint8_t *)a, alen, (const uint8_t *)b, blen));
    return 1;
}

void lsmpp_open_receipt(lua_State *L)
{
    lua_pushcfunction(L, l_receipt_parse);
    lua_setfield(L, -2, "receipt_parse");
    lua_pushcfunction(L, l_receipt_id_equal);
    lua_setfield(L, -2, "receipt_id_equal");
}
