/* lsmpp_receipt: Lua binding of the delivery receipt parser and the message
 * id comparison (receipt_parse, receipt_id_equal in smpp.core). */
#include "lsmpp.h"
#include "smpp_receipt.h"

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

/* receipt_parse(text) -> { id, sub, dlvr, submit_date, done_date, stat, err,
 * text } (absent fields nil), or nil when text is not a receipt. */
static int l_receipt_parse(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    smpp_receipt r;

    if (smpp_receipt_parse((const uint8_t *)s, n, &r) != 0) {
        lua_pushnil(L);
        return 1;
    }
    lua_createtable(L, 0, 8);
    set_span(L, &r.id, "id");
    set_span(L, &r.sub, "sub");
    set_span(L, &r.dlvr, "dlvr");
    set_date(L, &r.submit_date, "submit_date");
    set_date(L, &r.done_date, "done_date");
    set_span(L, &r.stat, "stat");
    set_span(L, &r.err, "err");
    set_span(L, &r.text, "text");
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
