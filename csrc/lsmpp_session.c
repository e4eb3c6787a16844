/* lsmpp_session: Lua binding of the session engine ("smpp.session" objects)
 * and of the monotonic clock the Lua layer tells it the time with. */
#include <string.h>
#include <time.h>

#include "lsmpp.h"
#include "smpp_receipt.h"
#include "smpp_session.h"

#define SESSION_MT "smpp.session"

/* The clock sessions and throttles are told the time with by default. */
static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
#define THROTTLE_MT "smpp.throttle"

/* throttle({ rate = per second, burst = 1, slack = ms } [, now]) -> a token bucket sessions can
 * share */
static int l_throttle(lua_State *L)
{
    lua_Number rate;
    lua_Integer burst, slack;
    smpp_throttle *t;
    int64_t now = (int64_t)luaL_optinteger(L, 2, monotonic_ms());
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "rate");
    rate = luaL_checknumber(L, -1);
    lua_getfield(L, 1, "burst");
    burst = luaL_optinteger(L, -1, 1);
    luaL_argcheck(L, rate >= 0, 1, "rate must not be negative");
    luaL_argcheck(L, burst >= 1 && burst <= 1000000, 1, "burst must be 1 to 1000000");
    lua_getfield(L, 1, "slack");
    slack = luaL_optinteger(L, -1, 0);
    luaL_argcheck(L, slack >= 0 && slack <= 1000, 1, "slack must be 0 to 1000 ms");
    t = lua_newuserdata(L, sizeof *t);
    smpp_throttle_init(t, (double)rate, (unsigned)burst, now);
    smpp_throttle_set_slack(t, (int64_t)slack);
    luaL_getmetatable(L, THROTTLE_MT);
    lua_setmetatable(L, -2);
    return 1;
}

/* throttle:delay(now) -> ms until a token; throttle:rate() -> the rate now */
static int l_throttle_delay(lua_State *L)
{
    smpp_throttle *t = luaL_checkudata(L, 1, THROTTLE_MT);
    lua_pushinteger(L, (lua_Integer)smpp_throttle_delay(t, (int64_t)luaL_checkinteger(L, 2)));
    return 1;
}

/* throttle:take(now) -> true when a token was taken */
static int l_throttle_take(lua_State *L)
{
    smpp_throttle *t = luaL_checkudata(L, 1, THROTTLE_MT);
    lua_pushboolean(L, smpp_throttle_take(t, (int64_t)luaL_checkinteger(L, 2)));
    return 1;
}

static int l_throttle_rate(lua_State *L)
{
    lua_pushnumber(L, smpp_throttle_rate(luaL_checkudata(L, 1, THROTTLE_MT)));
    return 1;
}

typedef struct lsession {
    smpp_session *s;
    int latin1; /* the account's alphabet for data_coding 0 is latin1 (else GSM 03.38) */
} lsession;

static lsession *check_lsession(lua_State *L)
{
    lsession *ls = luaL_checkudata(L, 1, SESSION_MT);
    if (ls->s == NULL)
        luaL_argerror(L, 1, "session already freed");
    return ls;
}

static smpp_session *check_session(lua_State *L)
{
    return check_lsession(L)->s;
}

/* Tags. A request's tag is any Lua value of the caller's (its record; nil:
 * none) and a part number (1 by default; 0: its response comes as a table,
 * never in the compact list), given back in every event of the request. The session keeps the value
 * in its uservalue table, under a reference that is the engine's tag (with the part in the high 32
 * bits), from the send until the event that ends the request: the engine owns the request, and the
 * binding only carries the caller's record with it. */
#define TAG_PART_SHIFT 32

/* The engine's tag of the value at arg (a reference into the session's
 * uservalue, at stack index 1) and the part at part_arg; 0 for nil. */
static uint64_t take_tag(lua_State *L, int arg, int part_arg)
{
    lua_Integer part = luaL_optinteger(L, part_arg, 1);
    int ref;
    if (lua_isnoneornil(L, arg))
        return 0;
    luaL_argcheck(L, part >= 0 && part <= 0xFFFF, part_arg, "part must be 0 to 65535");
    lua_getuservalue(L, 1);
    lua_pushvalue(L, arg);
    ref = luaL_ref(L, -2);
    lua_pop(L, 1);
    return (uint64_t)(unsigned)ref | (uint64_t)part << TAG_PART_SHIFT;
}

/* The caller's deadline at arg (an absolute time like now), or -1 for none. */
static int64_t opt_until(lua_State *L, int arg)
{
    return lua_isnoneornil(L, arg) ? -1 : (int64_t)luaL_checkinteger(L, arg);
}

/* A tag taken for a request that did not go: its reference let go. */
static void drop_tag(lua_State *L, uint64_t tag)
{
    if (tag == 0)
        return;
    lua_getuservalue(L, 1);
    luaL_unref(L, -1, (int)(tag & 0xFFFFFFFFu));
    lua_pop(L, 1);
}

/* Pushes the value and the part of an event's tag (uservalue at index uv);
 * when the event ends the request, the reference is let go. */
static void push_tag(lua_State *L, int uv, uint64_t tag, int ends)
{
    int ref = (int)(tag & 0xFFFFFFFFu);
    lua_rawgeti(L, uv, ref);
    lua_pushinteger(L, (lua_Integer)(tag >> TAG_PART_SHIFT));
    if (ends)
        luaL_unref(L, uv, ref);
}

static int64_t check_now(lua_State *L, int arg)
{
    return (int64_t)luaL_checkinteger(L, arg);
}

static lua_Integer opt_ms(lua_State *L, int t, const char *name, lua_Integer dflt)
{
    lua_Integer v;
    lua_getfield(L, t, name);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return dflt;
    }
    if (!lua_isnumber(L, -1))
        luaL_error(L, "smpp.session: %s must be a number of seconds", name);
    v = (lua_Integer)(lua_tonumber(L, -1) * 1000);
    lua_pop(L, 1);
    return v;
}

/* session{ role = "esme"|"smsc", window, response_timeout, enquire_link (seconds),
 *          max_length, sequence, max_resends, throttle, charset = "gsm7"|"latin1" }
 * (charset: the account's alphabet for data_coding 0, for the receipts of
 * events' compact list) */
static int l_session(lua_State *L)
{
    static const char *const roles[] = {"esme", "smsc", NULL};
    static const char *const charsets[] = {"gsm7", "latin1", NULL};
    smpp_session_config cfg;
    lsession *ls;
    lua_Integer window, max_length;
    int latin1 = 0;
    int64_t now = (int64_t)luaL_optinteger(L, 2, monotonic_ms());

    memset(&cfg, 0, sizeof cfg);
    if (!lua_isnoneornil(L, 1)) {
        luaL_checktype(L, 1, LUA_TTABLE);
        lua_getfield(L, 1, "role");
        cfg.role = (smpp_role)luaL_checkoption(L, -1, "esme", roles);
        lua_pop(L, 1);
        lua_getfield(L, 1, "window");
        window = luaL_optinteger(L, -1, 10);
        luaL_argcheck(L, window >= 1 && window <= 100000, 1, "window must be 1 to 100000");
        cfg.window = (unsigned)window;
        lua_pop(L, 1);
        lua_getfield(L, 1, "max_length");
        max_length = luaL_optinteger(L, -1, SMPP_DEFAULT_MAX_LENGTH);
        luaL_argcheck(L, max_length >= 16 && max_length <= 0x7FFFFFFF, 1,
                      "max_length must be 16 to 2^31-1");
        cfg.max_length = (size_t)max_length;
        lua_pop(L, 1);
        lua_getfield(L, 1, "sequence");
        cfg.first_sequence = (uint32_t)luaL_optinteger(L, -1, 1);
        luaL_argcheck(L, cfg.first_sequence >= 1 && cfg.first_sequence <= 0x7FFFFFFF, 1,
                      "sequence must be 1 to 0x7FFFFFFF");
        lua_pop(L, 1);
        cfg.response_timeout_ms = opt_ms(L, 1, "response_timeout", 10000);
        luaL_argcheck(L, cfg.response_timeout_ms > 0, 1, "response_timeout must be positive");
        cfg.enquire_link_ms = opt_ms(L, 1, "enquire_link", 20000);
        if (cfg.enquire_link_ms <= 0)
            cfg.enquire_link_ms = -1; /* off */
        lua_getfield(L, 1, "max_resends");
        cfg.max_resends = (unsigned)luaL_optinteger(L, -1, 10);
        lua_pop(L, 1);
        lua_getfield(L, 1, "throttle");
        if (!lua_isnil(L, -1))
            cfg.throttle = luaL_checkudata(L, -1, THROTTLE_MT);
        lua_pop(L, 1);
        lua_getfield(L, 1, "charset");
        latin1 = luaL_checkoption(L, -1, "gsm7", charsets);
        lua_pop(L, 1);
    }
    ls = lua_newuserdata(L, sizeof *ls);
    ls->s = NULL;
    ls->latin1 = latin1;
    luaL_getmetatable(L, SESSION_MT);
    lua_setmetatable(L, -2);
    lua_createtable(L, 0, 1); /* the session holds on to its throttle, and the tags */
    if (cfg.throttle != NULL) {
        lua_getfield(L, 1, "throttle");
        lua_setfield(L, -2, "throttle");
    }
    lua_setuservalue(L, -2);
    ls->s = smpp_session_new(&cfg, now);
    if (ls->s == NULL)
        return luaL_error(L, "smpp.session: out of memory");
    return 1;
}

static int fail(lua_State *L, smpp_session *s, int rc)
{
    lua_pushnil(L);
    lua_pushstring(L, smpp_session_error(s));
    switch (rc) {
    case SMPP_ESTATE: lua_pushliteral(L, "state"); break;
    case SMPP_EWINDOW: lua_pushliteral(L, "window"); break;
    case SMPP_ECLOSED: lua_pushliteral(L, "closed"); break;
    case SMPP_ETHROTTLED: lua_pushliteral(L, "throttled"); break;
    default: return luaL_error(L, "smpp.session: %s", smpp_session_error(s));
    }
    return 3;
}

/* Sends pdu tagged: its id and sequence_number, or what fail gives (the
 * tag let go). */
static int send_pdu(lua_State *L, smpp_session *s, smpp_pdu *pdu, int64_t now, uint64_t tag,
                    int64_t until)
{
    uint64_t id = 0;
    int rc = smpp_session_send_tagged(s, pdu, now, tag, until, &id);
    if (rc != SMPP_OK) {
        drop_tag(L, tag);
        return fail(L, s, rc);
    }
    lua_pushinteger(L, (lua_Integer)id);
    lua_pushinteger(L, (lua_Integer)pdu->sequence_number);
    return 2;
}

/* session:send(pdu, now [, tag [, part [, until]]])
 *   -> id, sequence_number | nil, message, "state"|"window"|"closed"|"throttled"
 * tag (any value) and part come back in the request's events; until: the
 * caller's deadline (see smpp_session_send_tagged). */
static int l_send(lua_State *L)
{
    smpp_session *s = check_session(L);
    int64_t now = check_now(L, 3);
    int64_t until = opt_until(L, 6);
    smpp_pdu *pdu = lsmpp_check_pdu(L, 2);
    return send_pdu(L, s, pdu, now, take_tag(L, 4, 5), until);
}

static void put_int8(lua_State *L, smpp_pdu *pdu, int field, int arg)
{
    lua_Integer v = luaL_checkinteger(L, arg);
    luaL_argcheck(L, v >= 0 && v <= 0xFF, arg, "out of range 0-255");
    pdu->f[field].num = (uint32_t)v;
    pdu->present |= (uint64_t)1 << field;
}

static void put_str(lua_State *L, smpp_pdu *pdu, int field, int arg)
{
    size_t n;
    const char *v = luaL_checklstring(L, arg, &n);
    luaL_argcheck(L, n <= 0xFFFF, arg, "too long");
    pdu->f[field].ptr = (const uint8_t *)v;
    pdu->f[field].len = (uint32_t)n;
    pdu->present |= (uint64_t)1 << field;
}

/* session:submit(now, tag, part, until, source_addr, source_addr_ton,
 *                source_addr_npi, destination_addr, dest_addr_ton, dest_addr_npi,
 *                registered_delivery, esm_class, data_coding, short_message [, fields])
 *   -> id, sequence_number | nil, message, "state"|"window"|"closed"|"throttled"
 * The submit_sm of a message part, built here from its values (the others
 * empty or 0) and, when given, a table of further fields and TLVs by their
 * SMPP names (service_type, validity_period, sar_msg_ref_num, ...: as
 * smpp.pdu.encode takes them; they win over the values). Every message
 * goes this way; its events carry tag and part. */
static int l_submit(lua_State *L)
{
    smpp_session *s = check_session(L);
    int64_t now = check_now(L, 2);
    int64_t until = opt_until(L, 5);
    smpp_pdu *pdu = lsmpp_scratch_pdu(L, SMPP_SUBMIT_SM);
    put_str(L, pdu, SMPP_F_SOURCE_ADDR, 6);
    put_int8(L, pdu, SMPP_F_SOURCE_ADDR_TON, 7);
    put_int8(L, pdu, SMPP_F_SOURCE_ADDR_NPI, 8);
    put_str(L, pdu, SMPP_F_DESTINATION_ADDR, 9);
    put_int8(L, pdu, SMPP_F_DEST_ADDR_TON, 10);
    put_int8(L, pdu, SMPP_F_DEST_ADDR_NPI, 11);
    put_int8(L, pdu, SMPP_F_REGISTERED_DELIVERY, 12);
    put_int8(L, pdu, SMPP_F_ESM_CLASS, 13);
    put_int8(L, pdu, SMPP_F_DATA_CODING, 14);
    put_str(L, pdu, SMPP_F_SHORT_MESSAGE, 15);
    if (!lua_isnoneornil(L, 16))
        lsmpp_read_fields(L, 16);
    return send_pdu(L, s, pdu, now, take_tag(L, 3, 4), until);
}

/* session:receipt(now, tag, submit, message_id, stat, err, submit_date, done_date)
 *   -> id | nil, message, "state"|"window"|"closed"|"encode"
 * Sends the delivery receipt of a submit (its octets as they came, say from
 * events' compact requests): a deliver_sm from its destination to its
 * source with the receipt text of 3.4 appendix B and the TLVs (see
 * smpp_receipt_for; dates "YYMMDDhhmm"), made without a table. "encode":
 * no deliver_sm can carry it (a data_sm's address longer than a
 * deliver_sm's, an id that makes the text too long, or one not UTF-8);
 * nothing was sent. */
static int l_receipt(lua_State *L)
{
    smpp_session *s = check_session(L);
    int64_t now = check_now(L, 2);
    uint64_t tag, id = 0;
    size_t n;
    const uint8_t *submit = (const uint8_t *)luaL_checklstring(L, 4, &n);
    smpp_receipt_info info;
    smpp_pdu *pdu;
    int rc = SMPP_EENCODE;
    info.id = luaL_checkstring(L, 5);
    info.stat = luaL_checkstring(L, 6);
    info.err = luaL_checkstring(L, 7);
    info.submit_date = luaL_checkstring(L, 8);
    info.done_date = luaL_checkstring(L, 9);
    pdu = lsmpp_receipt_pdu(L, submit, n, &info);
    tag = take_tag(L, 3, 10);
    if (pdu != NULL)
        rc = smpp_session_send_tagged(s, pdu, now, tag, -1, &id);
    if (rc != SMPP_OK)
        drop_tag(L, tag);
    if (rc == SMPP_EENCODE) {
        lua_pushnil(L);
        lua_pushstring(L, pdu != NULL ? smpp_session_error(s)
                                      : "the receipt's text would be over 254 octets, or "
                                        "its id, stat or err is not UTF-8");
        lua_pushliteral(L, "encode");
        return 3;
    }
    if (rc != SMPP_OK)
        return fail(L, s, rc);
    lua_pushinteger(L, (lua_Integer)id);
    return 1;
}

/* session:respond(pdu, now) -> true | nil, message, code */
static int l_respond(lua_State *L)
{
    smpp_session *s = check_session(L);
    int64_t now = check_now(L, 3);
    smpp_pdu *pdu = lsmpp_check_pdu(L, 2);
    int rc = smpp_session_respond(s, pdu, now);
    if (rc != SMPP_OK)
        return fail(L, s, rc);
    lua_pushboolean(L, 1);
    return 1;
}

/* session:answer(now, sequence_number, response_command, command_status [, message_id])
 *   -> true | nil, message, code: a response with at most a message_id, without a table. */
static int l_answer(lua_State *L)
{
    smpp_session *s = check_session(L);
    int64_t now = check_now(L, 2);
    lua_Integer seq = luaL_checkinteger(L, 3);
    const smpp_command_info *cmd = lsmpp_check_command(L, 4);
    lua_Integer status = luaL_checkinteger(L, 5);
    smpp_pdu *pdu;
    int rc;
    luaL_argcheck(L, seq >= 0 && seq <= 0xFFFFFFFF, 3, "out of range");
    luaL_argcheck(L, status >= 0 && status <= 0xFFFFFFFF, 5, "out of range");
    pdu = lsmpp_scratch_pdu(L, cmd->id);
    pdu->sequence_number = (uint32_t)seq;
    pdu->command_status = (uint32_t)status;
    if (!lua_isnoneornil(L, 6))
        put_str(L, pdu, SMPP_F_MESSAGE_ID, 6);
    rc = smpp_session_respond(s, pdu, now);
    if (rc != SMPP_OK)
        return fail(L, s, rc);
    lua_pushboolean(L, 1);
    return 1;
}

/* session:feed(bytes, now) */
static int l_feed(lua_State *L)
{
    smpp_session *s = check_session(L);
    size_t n;
    const char *data = luaL_checklstring(L, 2, &n);
    if (smpp_session_feed(s, (const uint8_t *)data, n, check_now(L, 3)) != SMPP_OK)
        return luaL_error(L, "smpp.session: out of memory");
    return 0;
}

static const char *const event_names[] = {"response", "request", "timeout", "aborted", "unexpected",
                                          "invalid",  "state",   "closed",  "expired"};

/* Whether the event ends its request (its tag is let go then). */
static int ends_request(const smpp_event *ev)
{
    return ev->type == SMPP_EV_RESPONSE || ev->type == SMPP_EV_TIMEOUT ||
           ev->type == SMPP_EV_ABORTED || ev->type == SMPP_EV_INVALID ||
           ev->type == SMPP_EV_EXPIRED;
}

/* Pushes the values of an event that goes into a compact list (see
 * l_events; lists[k]: whether list k + 1 was given), *width of them, and
 * returns which list (1 responses, 2 requests), or 0. */
static int push_compact(lua_State *L, const lsession *ls, const smpp_event *ev, const int *lists,
                        int *width)
{
    const smpp_pdu *p = ev->pdu;
    *width = 2;
    if (ev->type == SMPP_EV_RESPONSE) {
        if (!lists[0] || ev->tag >> TAG_PART_SHIFT == 0 || p->command_status != 0 ||
            p->command_id != (ev->command_id | SMPP_RESP_BIT))
            return 0;
        push_tag(L, 5, ev->tag, 1);
        *width = 3;
        if (p->present & ((uint64_t)1 << SMPP_F_MESSAGE_ID))
            lua_pushlstring(L, (const char *)p->f[SMPP_F_MESSAGE_ID].ptr,
                            p->f[SMPP_F_MESSAGE_ID].len);
        else
            lua_pushliteral(L, "");
        return 1;
    }
    if (ev->type != SMPP_EV_REQUEST || !lists[1])
        return 0;
    if (smpp_session_role(ls->s) == SMPP_ROLE_SMSC) {
        if (p->command_id != SMPP_SUBMIT_SM || p->tlv_len != 0)
            return 0;
        lua_pushinteger(L, (lua_Integer)p->sequence_number);
        lua_pushlstring(L, (const char *)p->f[SMPP_F_DESTINATION_ADDR].ptr,
                        p->f[SMPP_F_DESTINATION_ADDR].len);
        if (p->f[SMPP_F_REGISTERED_DELIVERY].num & 3)
            lua_pushlstring(L, (const char *)ev->raw, ev->raw_len);
        else
            lua_pushboolean(L, 0);
        *width = 3;
        return 2;
    }
    if (p->command_id != SMPP_DELIVER_SM)
        return 0;
    lua_pushinteger(L, (lua_Integer)p->sequence_number);
    if (!lsmpp_push_receipt(L, p, ls->latin1)) {
        lua_pop(L, 1);
        return 0;
    }
    return 2;
}

/* session:events(now [, responses [, requests]])
 *   -> list of { type, id, tag, part, command, pdu, message, status, unsent },
 *      nresponses, nrequests
 * The events of the hot path can skip their tables: given tables, their
 * essentials go there from index 1 (the counts say how many entries), up to
 * the first event that needs a table, so that whatever is in the lists came
 * before every event of the returned list:
 *   responses: a successful response to a request tagged with a part
 *              number above 0: tag, part, message_id (or "")
 *   requests, SMSC: a submit_sm without TLVs: sequence_number,
 *              destination_addr, and when it asks for a receipt its octets
 *              (for session:receipt), else false
 *   requests, ESME: a deliver_sm carrying a delivery receipt (esm_class),
 *              readable as one: sequence_number, receipt (as smpp.receipt.parse
 *              makes it of the PDU, read with the session's charset) */
static int l_events(lua_State *L)
{
    lsession *ls = check_lsession(L);
    smpp_session *s = ls->s;
    int64_t now = check_now(L, 2);
    int lists[2], counts[2] = {0, 0}, filled[2] = {0, 0};
    smpp_event ev;
    int n = 0, k;
    for (k = 0; k < 2; k++) {
        lists[k] = !lua_isnoneornil(L, 3 + k);
        if (lists[k])
            luaL_checktype(L, 3 + k, LUA_TTABLE);
    }
    lua_settop(L, 4);
    lua_getuservalue(L, 1); /* 5: the tags */
    lua_newtable(L);
    while (smpp_session_next_event(s, now, &ev)) {
        const smpp_command_info *cmd;
        if (ev.pdu != NULL && n == 0 && (lists[0] || lists[1])) {
            int width, which = push_compact(L, ls, &ev, lists, &width);
            if (which != 0) {
                int *f = &filled[which - 1];
                for (k = width; k >= 1; k--)
                    lua_rawseti(L, 2 + which, *f + k);
                *f += width;
                counts[which - 1]++;
                continue;
            }
        }
        cmd = smpp_command_by_id(ev.command_id);
        lua_createtable(L, 0, 5);
        lua_pushstring(L, event_names[ev.type]);
        lua_setfield(L, -2, "type");
        if (ev.id != 0) {
            lua_pushinteger(L, (lua_Integer)ev.id);
            lua_setfield(L, -2, "id");
        }
        if (ev.tag != 0) {
            push_tag(L, 5, ev.tag, ends_request(&ev));
            lua_setfield(L, -3, "part");
            lua_setfield(L, -2, "tag");
        }
        if (ev.type == SMPP_EV_EXPIRED) {
            lua_pushinteger(L, (lua_Integer)ev.status);
            lua_setfield(L, -2, "status");
        }
        if (ev.type == SMPP_EV_ABORTED && ev.unsent) {
            lua_pushboolean(L, 1);
            lua_setfield(L, -2, "unsent");
        }
        if (cmd != NULL) {
            lua_pushstring(L, cmd->name);
            lua_setfield(L, -2, "command");
        }
        if (ev.pdu != NULL) {
            lsmpp_push_pdu(L, ev.pdu);
            lua_setfield(L, -2, "pdu");
        }
        if (ev.message != NULL) {
            lua_pushstring(L, ev.message);
            lua_setfield(L, -2, "message");
        }
        lua_rawseti(L, -2, ++n);
    }
    lua_pushinteger(L, counts[0]);
    lua_pushinteger(L, counts[1]);
    return 3;
}

/* session:output() -> the bytes to send (possibly empty) */
static int l_output(lua_State *L)
{
    const uint8_t *p;
    size_t n = smpp_session_output(check_session(L), &p);
    lua_pushlstring(L, n ? (const char *)p : "", n);
    return 1;
}

/* session:pending() -> how many octets of output wait to be sent */
static int l_pending(lua_State *L)
{
    const uint8_t *p;
    lua_pushinteger(L, (lua_Integer)smpp_session_output(check_session(L), &p));
    return 1;
}

/* session:sent(n): n octets of the output went out */
static int l_sent(lua_State *L)
{
    smpp_session *s = check_session(L);
    const uint8_t *p;
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_argcheck(L, n >= 0 && (size_t)n <= smpp_session_output(s, &p), 2,
                  "more octets than the output holds");
    smpp_session_sent(s, (size_t)n);
    return 0;
}

/* session:deadline() -> the time the session next needs, or nil */
static int l_deadline(lua_State *L)
{
    int64_t d = smpp_session_deadline(check_session(L));
    if (d < 0)
        lua_pushnil(L);
    else
        lua_pushinteger(L, (lua_Integer)d);
    return 1;
}

/* session:submit_delay(now) -> ms until a submit may be sent */
static int l_submit_delay(lua_State *L)
{
    smpp_session *s = check_session(L);
    lua_pushinteger(L, (lua_Integer)smpp_session_submit_delay(s, check_now(L, 2)));
    return 1;
}

/* session:last_rx() -> when the peer last sent anything */
static int l_last_rx(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)smpp_session_last_rx(check_session(L)));
    return 1;
}

static int l_state(lua_State *L)
{
    lua_pushstring(L, smpp_state_name(smpp_session_state(check_session(L))));
    return 1;
}

static int l_outstanding(lua_State *L)
{
    lua_pushinteger(L, smpp_session_outstanding(check_session(L)));
    return 1;
}

/* session:refusals() -> how many submits were answered 0x58 or 0x14 */
static int l_refusals(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)smpp_session_refusals(check_session(L)));
    return 1;
}

/* session:close(reason): the link is gone */
static int l_close(lua_State *L)
{
    smpp_session_close(check_session(L), luaL_optstring(L, 2, "closed"));
    return 0;
}

static int l_session_gc(lua_State *L)
{
    lsession *ls = luaL_checkudata(L, 1, SESSION_MT);
    smpp_session_free(ls->s);
    ls->s = NULL;
    return 0;
}

static int l_session_tostring(lua_State *L)
{
    smpp_session *s = check_session(L);
    lua_pushfstring(L, "smpp.session (%s, %d outstanding)", smpp_state_name(smpp_session_state(s)),
                    (int)smpp_session_outstanding(s));
    return 1;
}

/* now_ms() -> milliseconds of the monotonic clock */
static int l_now_ms(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)monotonic_ms());
    return 1;
}

/* now_us() -> microseconds of the same clock (for measuring latency) */
static int l_now_us(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushinteger(L, (lua_Integer)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
    return 1;
}

void lsmpp_open_session(lua_State *L, int top)
{
    static const luaL_Reg methods[] = {{"send", l_send},
                                       {"respond", l_respond},
                                       {"submit", l_submit},
                                       {"receipt", l_receipt},
                                       {"answer", l_answer},
                                       {"feed", l_feed},
                                       {"events", l_events},
                                       {"output", l_output},
                                       {"pending", l_pending},
                                       {"sent", l_sent},
                                       {"deadline", l_deadline},
                                       {"state", l_state},
                                       {"outstanding", l_outstanding},
                                       {"refusals", l_refusals},
                                       {"close", l_close},
                                       {"submit_delay", l_submit_delay},
                                       {"last_rx", l_last_rx},
                                       {NULL, NULL}};
    static const luaL_Reg meta[] = {
        {"__gc", l_session_gc}, {"__tostring", l_session_tostring}, {NULL, NULL}};
    static const luaL_Reg fns[] = {{"session", l_session},
                                   {"throttle", l_throttle},
                                   {"now_ms", l_now_ms},
                                   {"now_us", l_now_us},
                                   {NULL, NULL}};
    static const luaL_Reg throttle_methods[] = {{"delay", l_throttle_delay},
                                                {"take", l_throttle_take},
                                                {"rate", l_throttle_rate},
                                                {NULL, NULL}};

    luaL_newmetatable(L, SESSION_MT);
    lua_newtable(L);
    lsmpp_push_upvalues(L, top);
    luaL_setfuncs(L, methods, LSMPP_NUPVALUES);
    lua_setfield(L, -2, "__index");
    luaL_setfuncs(L, meta, 0);
    lua_pop(L, 1);
    luaL_newmetatable(L, THROTTLE_MT);
    lua_newtable(L);
    luaL_setfuncs(L, throttle_methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    lua_pushvalue(L, top);
    luaL_setfuncs(L, fns, 0);
    lua_pop(L, 1);
}
