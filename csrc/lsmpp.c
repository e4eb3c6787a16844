/* lsmpp: the Lua binding of the C core (module "smpp.core"). The only file
 * that speaks the Lua C API; everything it calls is plain C. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsmpp.h"
#include "smpp_frame.h"
#include "smpp_pdu.h"
#include "smpp_receipt.h"

#define PDU_MT "smpp.pdu"
#define FRAMER_MT "smpp.framer"

/* Keys of the name table: fields are 1..SMPP_F_COUNT, TLVs follow, then the
 * keys that are not fields. */
enum {
    K_TLV0 = SMPP_F_COUNT + 1,
    K_COMMAND = K_TLV0 + SMPP_TLV_KNOWN_MAX,
    K_COMMAND_ID,
    K_COMMAND_LENGTH,
    K_COMMAND_STATUS,
    K_SEQUENCE_NUMBER,
    K_UNKNOWN_TLVS,
    K_TLV_ORDER,
    K_TAG,
    K_VALUE,
    K_DEST_FLAG,
    K_DL_NAME,
    K_ERROR_STATUS_CODE,
    K_FATAL,
    K_LAST
};

static const char *const extra_keys[] = {"command",        "command_id",  "command_length",
                                         "command_status", "sequence_number", "unknown_tlvs",
                                         "tlv_order",      "tag",         "value",
                                         "dest_flag",      "dl_name",     "error_status_code",
                                         "fatal"};

/* Shared state of encode/decode: one per module instance, an upvalue. */
typedef struct codec {
    smpp_pdu pdu;
    smpp_buf out;
    smpp_tlv *extra;
    size_t extra_cap;
    uint16_t *order;
    size_t order_cap;
    char numstr[SMPP_F_COUNT + SMPP_TLV_KNOWN_MAX][24]; /* integers given for strings */
    uint64_t slot_mask[32]; /* per command: the fields it takes */
    /* Field names by address: short Lua strings are interned, so a key of
     * the user's table is one of our anchored name strings exactly when its
     * address is. A miss falls back to the name table. */
    struct {
        const void *name;
        int key;
    } by_addr[512];
    smpp_pdu submit;  /* lsmpp_receipt_pdu: the submit reported on, */
    smpp_buf receipt; /* the receipt's text, */
    smpp_buf utf8;    /* and the room to make it in */
} codec;

#define BY_ADDR_MASK 511u

static unsigned addr_hash(const void *p)
{
    uintptr_t v = (uintptr_t)p;
    v ^= v >> 17;
    v *= 0x9E3779B1u;
    return (unsigned)(v >> 7) & BY_ADDR_MASK;
}

static int key_by_addr(const codec *c, const void *p)
{
    unsigned h = addr_hash(p);
    if (p == NULL)
        return 0;
    while (c->by_addr[h].name != NULL) {
        if (c->by_addr[h].name == p)
            return c->by_addr[h].key;
        h = (h + 1) & BY_ADDR_MASK;
    }
    return 0;
}

static void remember_addr(codec *c, const void *p, int key)
{
    unsigned h = addr_hash(p);
    if (p == NULL)
        return;
    while (c->by_addr[h].name != NULL && c->by_addr[h].name != p)
        h = (h + 1) & BY_ADDR_MASK;
    c->by_addr[h].name = p;
    c->by_addr[h].key = key;
}

/* Upvalues of the codec functions. */
#define UV_CODEC lua_upvalueindex(1)
#define UV_KEYS lua_upvalueindex(2)  /* array: key number -> name */
#define UV_NAMES lua_upvalueindex(3) /* map: name -> key number; command name -> index+1 */
#define UV_CMDS lua_upvalueindex(4)  /* map: command name -> smpp_commands index */
#define UV_PDU_MT lua_upvalueindex(5) /* metatable of decoded PDUs */
#define NUPVALUES LSMPP_NUPVALUES

static void push_key(lua_State *L, int key)
{
    lua_rawgeti(L, UV_KEYS, key);
}

/* ---- decode ---------------------------------------------------------------- */

static void set_int(lua_State *L, int t, int key, lua_Integer v)
{
    push_key(L, key);
    lua_pushinteger(L, v);
    lua_rawset(L, t);
}

static void set_str(lua_State *L, int t, int key, const uint8_t *p, size_t n)
{
    push_key(L, key);
    lua_pushlstring(L, (const char *)p, n);
    lua_rawset(L, t);
}

static void push_dests(lua_State *L, const smpp_pdu *pdu)
{
    uint32_t i, n = pdu->f[SMPP_F_DEST_ADDRESS].num;
    lua_createtable(L, (int)n, 0);
    for (i = 0; i < n; i++) {
        const smpp_dest *d = &pdu->dests[i];
        int t;
        lua_createtable(L, 0, 4);
        t = lua_gettop(L);
        set_int(L, t, K_DEST_FLAG, d->dest_flag);
        if (d->dest_flag == 1) {
            set_int(L, t, SMPP_F_DEST_ADDR_TON + 1, d->ton);
            set_int(L, t, SMPP_F_DEST_ADDR_NPI + 1, d->npi);
            set_str(L, t, SMPP_F_DESTINATION_ADDR + 1, d->addr, d->addr_len);
        } else {
            set_str(L, t, K_DL_NAME, d->addr, d->addr_len);
        }
        lua_rawseti(L, -2, (int)i + 1);
    }
}

static void push_unsuccess(lua_State *L, const smpp_pdu *pdu)
{
    uint32_t i, n = pdu->f[SMPP_F_UNSUCCESS_SME].num;
    lua_createtable(L, (int)n, 0);
    for (i = 0; i < n; i++) {
        const smpp_unsuccess *u = &pdu->unsuccess[i];
        int t;
        lua_createtable(L, 0, 4);
        t = lua_gettop(L);
        set_int(L, t, SMPP_F_DEST_ADDR_TON + 1, u->ton);
        set_int(L, t, SMPP_F_DEST_ADDR_NPI + 1, u->npi);
        set_str(L, t, SMPP_F_DESTINATION_ADDR + 1, u->addr, u->addr_len);
        set_int(L, t, K_ERROR_STATUS_CODE, u->error_status_code);
        lua_rawseti(L, -2, (int)i + 1);
    }
}

static void push_tlvs(lua_State *L, int t, const smpp_pdu *pdu)
{
    uint32_t pos = 0;
    smpp_tlv tlv;
    int named, nextra = 0, i;
    uint64_t bits = pdu->tlv_present;

    for (i = 0; bits != 0; i++, bits >>= 1) {
        const smpp_tlv_info *ti = &smpp_tlvs[i];
        const smpp_value *v = &pdu->tlv[i];
        if (!(bits & 1))
            continue;
        push_key(L, K_TLV0 + i);
        switch (ti->type) {
        case SMPP_T_INT8:
        case SMPP_T_INT16:
        case SMPP_T_INT32: lua_pushinteger(L, (lua_Integer)v->num); break;
        case SMPP_T_FLAG: /* true, or the SMPP 5.0 one-octet value */
            if (v->len == 0)
                lua_pushboolean(L, 1);
            else
                lua_pushinteger(L, (lua_Integer)v->num);
            break;
        default: lua_pushlstring(L, (const char *)v->ptr, v->len); break;
        }
        lua_rawset(L, t);
    }
    if (pdu->tlv_canonical && pdu->tlv_len == 0)
        return;
    /* Unknown and repeated TLVs, in order; and the order itself when it is
     * not the one the encoder would write. */
    while (smpp_pdu_tlv_next(pdu, &pos, &tlv, &named)) {
        if (named)
            continue;
        if (nextra == 0) {
            push_key(L, K_UNKNOWN_TLVS);
            lua_newtable(L);
        }
        lua_createtable(L, 0, 2);
        set_int(L, lua_gettop(L), K_TAG, tlv.tag);
        set_str(L, lua_gettop(L), K_VALUE, tlv.val, tlv.len);
        lua_rawseti(L, -2, ++nextra);
    }
    if (nextra > 0)
        lua_rawset(L, t);
    if (!pdu->tlv_canonical) {
        int n = 0;
        push_key(L, K_TLV_ORDER);
        lua_newtable(L);
        pos = 0;
        while (smpp_pdu_tlv_next(pdu, &pos, &tlv, &named)) {
            lua_pushinteger(L, tlv.tag);
            lua_rawseti(L, -2, ++n);
        }
        lua_rawset(L, t);
    }
}

void lsmpp_push_pdu(lua_State *L, const smpp_pdu *pdu)
{
    const smpp_command_info *cmd = pdu->cmd;
    int t, i;
    lua_createtable(L, 0, cmd->nslots + 3);
    t = lua_gettop(L);
    push_key(L, K_COMMAND);
    lua_pushstring(L, cmd->name);
    lua_rawset(L, t);
    set_int(L, t, K_COMMAND_STATUS, pdu->command_status);
    set_int(L, t, K_SEQUENCE_NUMBER, pdu->sequence_number);
    if (pdu->present >> SMPP_F_BODY & 1)
        set_str(L, t, SMPP_F_BODY + 1, pdu->f[SMPP_F_BODY].ptr, pdu->f[SMPP_F_BODY].len);
    for (i = 0; i < cmd->nslots; i++) {
        int field = cmd->slots[i].field;
        const smpp_value *v = &pdu->f[field];
        if (!(pdu->present >> field & 1))
            continue;
        push_key(L, field + 1);
        switch (smpp_fields[field].type) {
        case SMPP_T_INT8: lua_pushinteger(L, v->num); break;
        case SMPP_T_DESTS: push_dests(L, pdu); break;
        case SMPP_T_UNSUCCESS: push_unsuccess(L, pdu); break;
        default: lua_pushlstring(L, (const char *)v->ptr, v->len); break;
        }
        lua_rawset(L, t);
    }
    if (pdu->tlv_len > 0)
        push_tlvs(L, t, pdu);
    lua_pushvalue(L, UV_PDU_MT);
    lua_setmetatable(L, t);
}

/* nil, message, status, header: what a failed decode returns. */
static int push_decode_error(lua_State *L, const smpp_pdu *pdu, const smpp_error *err,
                             int have_header, int fatal)
{
    int t;
    lua_pushnil(L);
    lua_pushstring(L, err->msg);
    lua_pushinteger(L, err->status);
    if (!have_header)
        return 3;
    lua_createtable(L, 0, 4);
    t = lua_gettop(L);
    if (pdu->cmd != NULL) {
        push_key(L, K_COMMAND);
        lua_pushstring(L, pdu->cmd->name);
        lua_rawset(L, t);
    }
    set_int(L, t, K_COMMAND_ID, pdu->command_id);
    set_int(L, t, K_COMMAND_LENGTH, pdu->command_length);
    set_int(L, t, K_SEQUENCE_NUMBER, pdu->sequence_number);
    if (fatal) {
        push_key(L, K_FATAL);
        lua_pushboolean(L, 1);
        lua_rawset(L, t);
    }
    return 4;
}

static size_t opt_max_length(lua_State *L, int arg)
{
    lua_Integer n = luaL_optinteger(L, arg, SMPP_DEFAULT_MAX_LENGTH);
    luaL_argcheck(L, n >= SMPP_HEADER_LEN && n <= 0x7FFFFFFF, arg,
                  "max_length must be 16 to 2^31-1");
    return (size_t)n;
}

/* decode(bytes [, max_length]) -> pdu | nil, message, status, header */
static int l_decode(lua_State *L)
{
    codec *c = lua_touserdata(L, UV_CODEC);
    size_t len;
    const uint8_t *buf = (const uint8_t *)luaL_checklstring(L, 1, &len);
    size_t max_length = opt_max_length(L, 2);
    smpp_error err;
    if (smpp_pdu_decode(&c->pdu, buf, len, max_length, &err) != SMPP_OK)
        return push_decode_error(L, &c->pdu, &err, len >= SMPP_HEADER_LEN, 0);
    lsmpp_push_pdu(L, &c->pdu);
    return 1;
}

/* ---- encode ---------------------------------------------------------------- */

static int type_error(lua_State *L, const char *field, const char *want)
{
    return luaL_error(L, "smpp.pdu.encode: %s must be %s, got %s", field, want,
                      luaL_typename(L, -1));
}

static uint32_t get_uint(lua_State *L, const char *field, lua_Integer max)
{
    lua_Integer n;
    if (!lua_isinteger(L, -1))
        type_error(L, field, "an integer");
    n = lua_tointeger(L, -1);
    if (n < 0 || n > max) {
        char msg[64];
        snprintf(msg, sizeof msg, "%lld is out of range 0-%lld", (long long)n, (long long)max);
        luaL_error(L, "smpp.pdu.encode: %s: %s", field, msg);
    }
    return (uint32_t)n;
}

/* A string value (integers are accepted and written in decimal). */
static const uint8_t *get_str(lua_State *L, codec *c, int slot, const char *field,
                              uint32_t *len)
{
    size_t n;
    const char *s;
    if (lua_type(L, -1) == LUA_TSTRING) {
        s = lua_tolstring(L, -1, &n);
    } else if (lua_isinteger(L, -1)) {
        n = (size_t)snprintf(c->numstr[slot], sizeof c->numstr[slot], "%lld",
                             (long long)lua_tointeger(L, -1));
        s = c->numstr[slot];
    } else {
        type_error(L, field, "a string");
        return NULL;
    }
    if (n > 0xFFFF)
        luaL_error(L, "smpp.pdu.encode: %s: %d octets is too long", field, (int)n);
    *len = (uint32_t)n;
    return (const uint8_t *)s;
}

static const uint8_t *get_sub_str(lua_State *L, int t, int key, const char *field, uint32_t *len)
{
    size_t n;
    const char *s;
    push_key(L, key);
    lua_rawget(L, t);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        *len = 0;
        return (const uint8_t *)"";
    }
    if (lua_type(L, -1) != LUA_TSTRING)
        type_error(L, field, "a string");
    s = lua_tolstring(L, -1, &n);
    lua_pop(L, 1); /* still referenced by the table */
    *len = n > 0xFFFF ? 0xFFFF : (uint32_t)n;
    return (const uint8_t *)s;
}

static uint32_t get_sub_uint(lua_State *L, int t, int key, const char *field, lua_Integer max,
                             lua_Integer dflt)
{
    uint32_t v;
    push_key(L, key);
    lua_rawget(L, t);
    v = lua_isnil(L, -1) ? (uint32_t)dflt : get_uint(L, field, max);
    lua_pop(L, 1);
    return v;
}

static void get_dests(lua_State *L, smpp_pdu *pdu)
{
    int n, i, list = lua_gettop(L);
    if (!lua_istable(L, -1))
        type_error(L, "dest_address", "a list");
    n = (int)lua_rawlen(L, list);
    if (n > SMPP_MAX_DESTS)
        luaL_error(L, "smpp.pdu.encode: dest_address: %d destinations, at most %d", n,
                   SMPP_MAX_DESTS);
    for (i = 0; i < n; i++) {
        smpp_dest *d = &pdu->dests[i];
        int t;
        lua_rawgeti(L, list, i + 1);
        if (!lua_istable(L, -1))
            type_error(L, "dest_address entry", "a table");
        t = lua_gettop(L);
        push_key(L, K_DL_NAME);
        lua_rawget(L, t);
        d->dest_flag = lua_isnil(L, -1) ? 1 : 2;
        lua_pop(L, 1);
        d->dest_flag = (uint8_t)get_sub_uint(L, t, K_DEST_FLAG, "dest_flag", 255, d->dest_flag);
        d->ton = (uint8_t)get_sub_uint(L, t, SMPP_F_DEST_ADDR_TON + 1, "dest_addr_ton", 255, 0);
        d->npi = (uint8_t)get_sub_uint(L, t, SMPP_F_DEST_ADDR_NPI + 1, "dest_addr_npi", 255, 0);
        d->addr = get_sub_str(L, t, d->dest_flag == 2 ? K_DL_NAME : SMPP_F_DESTINATION_ADDR + 1,
                              d->dest_flag == 2 ? "dl_name" : "destination_addr", &d->addr_len);
        lua_pop(L, 1);
    }
    pdu->f[SMPP_F_DEST_ADDRESS].num = (uint32_t)n;
}

static void get_unsuccess(lua_State *L, smpp_pdu *pdu)
{
    int n, i, list = lua_gettop(L);
    if (!lua_istable(L, -1))
        type_error(L, "unsuccess_sme", "a list");
    n = (int)lua_rawlen(L, list);
    if (n > 255)
        luaL_error(L, "smpp.pdu.encode: unsuccess_sme: %d entries, at most 255", n);
    for (i = 0; i < n; i++) {
        smpp_unsuccess *u = &pdu->unsuccess[i];
        int t;
        lua_rawgeti(L, list, i + 1);
        if (!lua_istable(L, -1))
            type_error(L, "unsuccess_sme entry", "a table");
        t = lua_gettop(L);
        u->ton = (uint8_t)get_sub_uint(L, t, SMPP_F_DEST_ADDR_TON + 1, "dest_addr_ton", 255, 0);
        u->npi = (uint8_t)get_sub_uint(L, t, SMPP_F_DEST_ADDR_NPI + 1, "dest_addr_npi", 255, 0);
        u->addr = get_sub_str(L, t, SMPP_F_DESTINATION_ADDR + 1, "destination_addr", &u->addr_len);
        u->error_status_code =
            get_sub_uint(L, t, K_ERROR_STATUS_CODE, "error_status_code", 0xFFFFFFFF, 0);
        lua_pop(L, 1);
    }
    pdu->f[SMPP_F_UNSUCCESS_SME].num = (uint32_t)n;
}

static void *grow(lua_State *L, void *p, size_t *cap, size_t want, size_t size)
{
    size_t n = *cap ? *cap : 8;
    if (want <= *cap)
        return p;
    while (n < want)
        n *= 2;
    p = realloc(p, n * size);
    if (p == NULL)
        luaL_error(L, "smpp.pdu.encode: out of memory");
    *cap = n;
    return p;
}

static void get_extra_tlvs(lua_State *L, codec *c)
{
    int n, i, list = lua_gettop(L);
    if (!lua_istable(L, -1))
        type_error(L, "unknown_tlvs", "a list");
    n = (int)lua_rawlen(L, list);
    c->extra = grow(L, c->extra, &c->extra_cap, (size_t)n, sizeof *c->extra);
    for (i = 0; i < n; i++) {
        smpp_tlv *x = &c->extra[i];
        uint32_t len;
        int t;
        lua_rawgeti(L, list, i + 1);
        if (!lua_istable(L, -1))
            type_error(L, "unknown_tlvs entry", "a table");
        t = lua_gettop(L);
        x->tag = (uint16_t)get_sub_uint(L, t, K_TAG, "unknown_tlvs tag", 0xFFFF, -1);
        push_key(L, K_TAG);
        lua_rawget(L, t);
        if (lua_isnil(L, -1))
            luaL_error(L, "smpp.pdu.encode: unknown_tlvs entry %d has no tag", i + 1);
        lua_pop(L, 1);
        x->val = get_sub_str(L, t, K_VALUE, "unknown_tlvs value", &len);
        x->len = (uint16_t)len;
        lua_pop(L, 1);
    }
    c->pdu.extra = c->extra;
    c->pdu.nextra = (size_t)n;
}

static void get_order(lua_State *L, codec *c)
{
    int n, i, list = lua_gettop(L);
    if (!lua_istable(L, -1))
        type_error(L, "tlv_order", "a list of tags");
    n = (int)lua_rawlen(L, list);
    c->order = grow(L, c->order, &c->order_cap, (size_t)n, sizeof *c->order);
    for (i = 0; i < n; i++) {
        lua_rawgeti(L, list, i + 1);
        c->order[i] = (uint16_t)get_uint(L, "tlv_order entry", 0xFFFF);
        lua_pop(L, 1);
    }
    c->pdu.order = c->order;
    c->pdu.norder = (size_t)n;
}

static void get_tlv(lua_State *L, codec *c, int idx)
{
    const smpp_tlv_info *ti = &smpp_tlvs[idx];
    smpp_value *v = &c->pdu.tlv[idx];
    switch (ti->type) {
    case SMPP_T_INT8: v->num = get_uint(L, ti->name, 0xFF); break;
    case SMPP_T_INT16: v->num = get_uint(L, ti->name, 0xFFFF); break;
    case SMPP_T_INT32: v->num = get_uint(L, ti->name, 0xFFFFFFFF); break;
    case SMPP_T_FLAG:
        if (lua_isboolean(L, -1)) {
            if (!lua_toboolean(L, -1))
                return; /* false: left out */
            v->len = 0;
        } else if (lua_isinteger(L, -1)) {
            v->num = get_uint(L, ti->name, 0xFF);
            v->len = 1;
        } else {
            type_error(L, ti->name, "true or an integer");
        }
        break;
    default: v->ptr = get_str(L, c, SMPP_F_COUNT + idx, ti->name, &v->len); break;
    }
    c->pdu.tlv_present |= (uint64_t)1 << idx;
}

static void get_field(lua_State *L, codec *c, int field)
{
    smpp_value *v = &c->pdu.f[field];
    const char *name = smpp_fields[field].name;
    switch (smpp_fields[field].type) {
    case SMPP_T_INT8: v->num = get_uint(L, name, 0xFF); break;
    case SMPP_T_DESTS: get_dests(L, &c->pdu); break;
    case SMPP_T_UNSUCCESS: get_unsuccess(L, &c->pdu); break;
    case SMPP_T_SM:
    case SMPP_T_OCTETS:
        if (lua_type(L, -1) != LUA_TSTRING)
            type_error(L, name, "a string");
        /* fall through */
    default: v->ptr = get_str(L, c, field, name, &v->len); break;
    }
    c->pdu.present |= (uint64_t)1 << field;
}

static const smpp_command_info *get_command(lua_State *L, int t)
{
    const smpp_command_info *cmd = NULL;
    push_key(L, K_COMMAND);
    lua_rawget(L, t);
    if (lua_type(L, -1) == LUA_TSTRING) {
        lua_rawget(L, UV_CMDS);
        if (lua_isinteger(L, -1))
            cmd = &smpp_commands[lua_tointeger(L, -1)];
    } else if (lua_isinteger(L, -1)) {
        cmd = smpp_command_by_id((uint32_t)lua_tointeger(L, -1));
    }
    if (cmd == NULL) {
        push_key(L, K_COMMAND);
        lua_rawget(L, t);
        luaL_error(L, "smpp.pdu.encode: command: %s is not an SMPP 3.4 command",
                   lua_isnil(L, -1) ? "(missing)" : lua_tostring(L, -1));
    }
    lua_pop(L, 1);
    return cmd;
}

const smpp_command_info *lsmpp_check_command(lua_State *L, int arg)
{
    const smpp_command_info *cmd = NULL;
    luaL_checktype(L, arg, LUA_TSTRING);
    lua_pushvalue(L, arg);
    lua_rawget(L, UV_CMDS);
    if (lua_isinteger(L, -1))
        cmd = &smpp_commands[lua_tointeger(L, -1)];
    lua_pop(L, 1);
    if (cmd == NULL)
        luaL_argerror(L, arg,
                      lua_pushfstring(L, "%s is not an SMPP 3.4 command", lua_tostring(L, arg)));
    return cmd;
}

smpp_pdu *lsmpp_scratch_pdu(lua_State *L, uint32_t command_id)
{
    codec *c = lua_touserdata(L, UV_CODEC);
    smpp_pdu_init(&c->pdu, smpp_command_by_id(command_id), 0);
    return &c->pdu;
}

smpp_pdu *lsmpp_receipt_pdu(lua_State *L, const uint8_t *submit, size_t n,
                            const smpp_receipt_info *info)
{
    codec *c = lua_touserdata(L, UV_CODEC);
    smpp_error err;
    uint32_t id;
    int rc;
    if (smpp_pdu_decode(&c->submit, submit, n, n, &err) != SMPP_OK)
        luaL_error(L, "smpp.session: the submit: %s", err.msg);
    id = c->submit.command_id;
    if (id != SMPP_SUBMIT_SM && id != SMPP_DATA_SM && id != SMPP_SUBMIT_MULTI)
        luaL_error(L, "smpp.session: the submit: a %s, not a submit", c->submit.cmd->name);
    rc = smpp_receipt_for(&c->submit, info, &c->pdu, &c->receipt, &c->utf8);
    if (rc == SMPP_ENOMEM)
        luaL_error(L, "smpp.session: out of memory");
    return rc == 0 ? &c->pdu : NULL; /* else its text cannot be made */
}

smpp_pdu *lsmpp_check_pdu(lua_State *L, int t)
{
    codec *c = lua_touserdata(L, UV_CODEC);
    luaL_checktype(L, t, LUA_TTABLE);
    smpp_pdu_init(&c->pdu, get_command(L, t), 0);
    lsmpp_read_fields(L, t);
    return &c->pdu;
}

void lsmpp_read_fields(lua_State *L, int t)
{
    codec *c = lua_touserdata(L, UV_CODEC);
    const smpp_command_info *cmd = c->pdu.cmd;

    luaL_checktype(L, t, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_Integer key;
        if (lua_type(L, -2) != LUA_TSTRING)
            luaL_error(L, "smpp.pdu.encode: field names are strings, got a %s key",
                       luaL_typename(L, -2));
        key = key_by_addr(c, lua_topointer(L, -2));
        if (key == 0) {
            lua_pushvalue(L, -2);
            lua_rawget(L, UV_NAMES);
            key = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : 0;
            lua_pop(L, 1);
        }
        if (key >= 1 && key <= SMPP_F_COUNT) {
            int field = (int)key - 1;
            if (c->slot_mask[cmd->index] >> field & 1)
                get_field(L, c, field);
            else if (field == SMPP_F_MESSAGE_STATE) /* the TLV of the same name */
                get_tlv(L, c, smpp_tlv_index(0x0427));
            else
                luaL_error(L, "smpp.pdu.encode: %s is not a field of %s", lua_tostring(L, -2),
                           cmd->name);
        } else if (key >= K_TLV0 && key < K_COMMAND) {
            get_tlv(L, c, (int)(key - K_TLV0));
        } else if (key == K_COMMAND_STATUS) {
            c->pdu.command_status = get_uint(L, "command_status", 0xFFFFFFFF);
        } else if (key == K_SEQUENCE_NUMBER) {
            c->pdu.sequence_number = get_uint(L, "sequence_number", 0xFFFFFFFF);
        } else if (key == K_UNKNOWN_TLVS) {
            get_extra_tlvs(L, c);
        } else if (key == K_TLV_ORDER) {
            get_order(L, c);
        } else if (key != K_COMMAND && key != K_COMMAND_ID && key != K_COMMAND_LENGTH) {
            luaL_error(L, "smpp.pdu.encode: unknown field %s", lua_tostring(L, -2));
        }
        lua_pop(L, 1);
    }
}

/* encode(table) -> bytes. Bad values raise an error naming the field. */
static int l_encode(lua_State *L)
{
    codec *c = lua_touserdata(L, UV_CODEC);
    smpp_error err;
    int rc;

    lua_settop(L, 1);
    lsmpp_check_pdu(L, 1);
    c->out.len = 0;
    rc = smpp_pdu_encode(&c->pdu, &c->out, &err);
    if (rc == SMPP_ENOMEM)
        return luaL_error(L, "smpp.pdu.encode: out of memory");
    if (rc != SMPP_OK)
        return luaL_error(L, "smpp.pdu.encode: %s", err.msg);
    lua_pushlstring(L, (const char *)c->out.data, c->out.len);
    return 1;
}

static int l_codec_gc(lua_State *L)
{
    codec *c = lua_touserdata(L, 1);
    smpp_buf_free(&c->out);
    smpp_buf_free(&c->receipt);
    smpp_buf_free(&c->utf8);
    free(c->extra);
    free(c->order);
    c->extra = NULL;
    c->order = NULL;
    return 0;
}

/* ---- framer ---------------------------------------------------------------- */

static smpp_framer *check_framer(lua_State *L)
{
    return luaL_checkudata(L, 1, FRAMER_MT);
}

/* framer([max_length]) */
static int l_framer(lua_State *L)
{
    size_t max_length = opt_max_length(L, 1);
    smpp_framer *f = lua_newuserdata(L, sizeof *f);
    smpp_framer_init(f, max_length);
    luaL_getmetatable(L, FRAMER_MT);
    lua_setmetatable(L, -2);
    return 1;
}

/* framer:feed(bytes) -> true | nil, message */
static int l_framer_feed(lua_State *L)
{
    smpp_framer *f = check_framer(L);
    size_t len;
    const char *s = luaL_checklstring(L, 2, &len);
    int rc = smpp_framer_feed(f, (const uint8_t *)s, len);
    if (rc == SMPP_ENOMEM)
        return luaL_error(L, "smpp framer: out of memory");
    if (rc != SMPP_OK) {
        lua_pushnil(L);
        lua_pushfstring(L, "stream already failed: %s", f->err.msg);
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* Shared by next() and next_bytes(): returns the number of values pushed on
 * a framing error or nothing to hand out, else 0 with *pdu and *len set. */
static int framer_take(lua_State *L, smpp_framer *f, const uint8_t **pdu, size_t *len)
{
    int rc = smpp_framer_next(f, pdu, len);
    if (rc == 1)
        return 0;
    if (rc == 0) {
        lua_pushnil(L);
        return 1;
    }
    {
        codec *c = lua_touserdata(L, UV_CODEC);
        const uint8_t *p = f->in.data + f->pos;
        size_t avail = f->in.len - f->pos;
        smpp_pdu_init(&c->pdu, NULL, 0);
        c->pdu.command_length = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
                                (uint32_t)p[2] << 8 | p[3];
        if (avail >= 8)
            c->pdu.command_id = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 |
                                (uint32_t)p[6] << 8 | p[7];
        if (avail >= 16)
            c->pdu.sequence_number = (uint32_t)p[12] << 24 | (uint32_t)p[13] << 16 |
                                     (uint32_t)p[14] << 8 | p[15];
        c->pdu.cmd = smpp_command_by_id(c->pdu.command_id);
        return push_decode_error(L, &c->pdu, &f->err, 1, 1);
    }
}

/* framer:next() -> pdu | nil (need more) | nil, message, status, header */
static int l_framer_next(lua_State *L)
{
    codec *c = lua_touserdata(L, UV_CODEC);
    smpp_framer *f = check_framer(L);
    const uint8_t *p;
    size_t len;
    smpp_error err;
    int n = framer_take(L, f, &p, &len);
    if (n > 0)
        return n;
    if (smpp_pdu_decode(&c->pdu, p, len, f->max_length, &err) != SMPP_OK)
        return push_decode_error(L, &c->pdu, &err, 1, 0);
    lsmpp_push_pdu(L, &c->pdu);
    return 1;
}

/* framer:next_bytes() -> the next whole PDU undecoded, same failures as next() */
static int l_framer_next_bytes(lua_State *L)
{
    smpp_framer *f = check_framer(L);
    const uint8_t *p;
    size_t len;
    int n = framer_take(L, f, &p, &len);
    if (n > 0)
        return n;
    lua_pushlstring(L, (const char *)p, len);
    return 1;
}

static int l_framer_buffered(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)smpp_framer_buffered(check_framer(L)));
    return 1;
}

static int l_framer_gc(lua_State *L)
{
    smpp_framer_free(check_framer(L));
    return 0;
}

/* ---- tables for the Lua layer ---------------------------------------------- */

static void push_constants(lua_State *L)
{
    size_t i;
    lua_createtable(L, (int)smpp_ncommands, 0);
    for (i = 0; i < smpp_ncommands; i++) {
        lua_createtable(L, 0, 2);
        lua_pushinteger(L, smpp_commands[i].id);
        lua_setfield(L, -2, "id");
        lua_pushstring(L, smpp_commands[i].name);
        lua_setfield(L, -2, "name");
        lua_rawseti(L, -2, (int)i + 1);
    }
    lua_setfield(L, -2, "commands");

    lua_createtable(L, (int)smpp_nstatuses, 0);
    for (i = 0; i < smpp_nstatuses; i++) {
        lua_createtable(L, 0, 3);
        lua_pushinteger(L, smpp_statuses[i].status);
        lua_setfield(L, -2, "code");
        lua_pushstring(L, smpp_statuses[i].name);
        lua_setfield(L, -2, "name");
        lua_pushstring(L, smpp_statuses[i].text);
        lua_setfield(L, -2, "text");
        lua_rawseti(L, -2, (int)i + 1);
    }
    lua_setfield(L, -2, "statuses");

    lua_createtable(L, (int)smpp_ntlvs, 0);
    for (i = 0; i < smpp_ntlvs; i++) {
        static const char *const types[] = {"int8",  "int16",    "int32", "cstring", "time",
                                            "octets", "sm",      "dests", "unsuccess", "flag"};
        lua_createtable(L, 0, 3);
        lua_pushinteger(L, smpp_tlvs[i].tag);
        lua_setfield(L, -2, "tag");
        lua_pushstring(L, smpp_tlvs[i].name);
        lua_setfield(L, -2, "name");
        lua_pushstring(L, types[smpp_tlvs[i].type]);
        lua_setfield(L, -2, "type");
        lua_rawseti(L, -2, (int)i + 1);
    }
    lua_setfield(L, -2, "tlvs");
}

static void build_key_tables(lua_State *L)
{
    size_t i;
    lua_createtable(L, K_LAST, 0); /* keys */
    lua_createtable(L, 0, K_LAST); /* names */
    for (i = 0; i < SMPP_F_COUNT; i++) {
        lua_pushstring(L, smpp_fields[i].name);
        lua_pushvalue(L, -1);
        lua_rawseti(L, -4, (int)i + 1);
        lua_pushinteger(L, (lua_Integer)i + 1);
        lua_rawset(L, -3);
    }
    for (i = 0; i < smpp_ntlvs; i++) {
        lua_pushstring(L, smpp_tlvs[i].name);
        lua_pushvalue(L, -1);
        lua_rawseti(L, -4, K_TLV0 + (int)i);
        lua_rawget(L, -2);
        /* message_state is both a query_sm_resp field and a TLV: the field
         * keeps the name, encode sends it to the TLV in other commands. */
        if (lua_isnil(L, -1)) {
            lua_pushstring(L, smpp_tlvs[i].name);
            lua_pushinteger(L, K_TLV0 + (lua_Integer)i);
            lua_rawset(L, -4);
        }
        lua_pop(L, 1);
    }
    for (i = 0; i < sizeof extra_keys / sizeof extra_keys[0]; i++) {
        lua_pushstring(L, extra_keys[i]);
        lua_pushvalue(L, -1);
        lua_rawseti(L, -4, K_COMMAND + (int)i);
        lua_pushinteger(L, K_COMMAND + (lua_Integer)i);
        lua_rawset(L, -3);
    }
}

void lsmpp_push_upvalues(lua_State *L, int top)
{
    int i;
    for (i = 1; i <= NUPVALUES; i++)
        lua_pushvalue(L, top + i);
}

int luaopen_smpp_core(lua_State *L)
{
    static const luaL_Reg codec_fns[] = {{"encode", l_encode},
                                         {"decode", l_decode},
                                         {"framer", l_framer},
                                         {NULL, NULL}};
    static const luaL_Reg framer_methods[] = {{"feed", l_framer_feed},
                                              {"next", l_framer_next},
                                              {"next_bytes", l_framer_next_bytes},
                                              {"buffered", l_framer_buffered},
                                              {NULL, NULL}};
    static const luaL_Reg framer_meta[] = {{"__gc", l_framer_gc}, {NULL, NULL}};
    codec *c;
    size_t i;
    int top;

    luaL_newmetatable(L, PDU_MT);
    lua_pop(L, 1);

    lua_newtable(L); /* the module */
    top = lua_gettop(L);

    c = lua_newuserdata(L, sizeof *c);
    memset(c, 0, sizeof *c);
    smpp_buf_init(&c->out);
    for (i = 0; i < smpp_ncommands; i++) {
        unsigned j;
        for (j = 0; j < smpp_commands[i].nslots; j++)
            c->slot_mask[i] |= (uint64_t)1 << smpp_commands[i].slots[j].field;
        if (smpp_commands[i].flags & SMPP_CMD_RESPONSE) /* the raw body of an error response */
            c->slot_mask[i] |= (uint64_t)1 << SMPP_F_BODY;
    }
    lua_newtable(L);
    lua_pushcfunction(L, l_codec_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);

    build_key_tables(L);
    lua_createtable(L, 0, (int)smpp_ncommands); /* command name -> index */
    for (i = 0; i < smpp_ncommands; i++) {
        lua_pushinteger(L, (lua_Integer)i);
        lua_setfield(L, -2, smpp_commands[i].name);
    }
    lua_pushnil(L);
    while (lua_next(L, top + 3)) {
        remember_addr(c, lua_topointer(L, -2), (int)lua_tointeger(L, -1));
        lua_pop(L, 1);
    }
    luaL_getmetatable(L, PDU_MT);
    /* stack: module, codec, keys, names, cmds, pdu metatable: every
     * function below gets the last five as upvalues. */
    lua_pushvalue(L, top);
    lsmpp_push_upvalues(L, top);
    luaL_setfuncs(L, codec_fns, NUPVALUES);
    lua_pop(L, 1);

    luaL_newmetatable(L, FRAMER_MT);
    lua_newtable(L);
    lsmpp_push_upvalues(L, top);
    luaL_setfuncs(L, framer_methods, NUPVALUES);
    lua_setfield(L, -2, "__index");
    lsmpp_push_upvalues(L, top);
    luaL_setfuncs(L, framer_meta, NUPVALUES);
    lua_settop(L, top + NUPVALUES);
    lsmpp_open_session(L, top);
    lua_settop(L, top);

    push_constants(L);
    luaL_getmetatable(L, PDU_MT);
    lua_setfield(L, -2, "pdu_metatable");
    lua_pushinteger(L, SMPP_DEFAULT_MAX_LENGTH);
    lua_setfield(L, -2, "DEFAULT_MAX_LENGTH");
    lua_settop(L, top);
    lsmpp_open_text(L);
    lsmpp_open_receipt(L);
    lua_settop(L, top);
    lsmpp_open_net(L);
    lua_settop(L, top);
    lsmpp_open_tls(L);
    lua_settop(L, top);
    return 1;
}
