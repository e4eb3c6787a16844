/* smpp_pdu: decoding and encoding of SMPP 3.4 PDUs (3.4 sections 3 to 5). */
#include "smpp_pdu.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static int fail(smpp_error *err, int code, uint32_t status, const char *fmt, ...)
{
    va_list ap;
    if (err != NULL) {
        err->status = status;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

#define DFAIL(status, ...) fail(err, SMPP_EDECODE, status, __VA_ARGS__)
#define EFAIL(...) fail(err, SMPP_EENCODE, SMPP_ESME_RSYSERR, __VA_ARGS__)

void smpp_pdu_init(smpp_pdu *pdu, const smpp_command_info *cmd, uint32_t sequence_number)
{
    pdu->command_length = 0;
    pdu->command_id = cmd != NULL ? cmd->id : 0;
    pdu->command_status = 0;
    pdu->sequence_number = sequence_number;
    pdu->cmd = cmd;
    pdu->present = 0;
    pdu->tlv_present = 0;
    pdu->tlv_data = NULL;
    pdu->tlv_len = 0;
    pdu->tlv_canonical = 1;
    pdu->extra = NULL;
    pdu->nextra = 0;
    pdu->order = NULL;
    pdu->norder = 0;
}

static int digits(const uint8_t *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static unsigned num2(const uint8_t *s)
{
    return (unsigned)(s[0] - '0') * 10 + (unsigned)(s[1] - '0');
}

int smpp_time_valid(const uint8_t *s, size_t len)
{
    unsigned mon, day, hour, min, sec, nn;
    if (len == 0)
        return 1;
    if (len != 16 || !digits(s, 15))
        return 0;
    mon = num2(s + 2);
    day = num2(s + 4);
    hour = num2(s + 6);
    min = num2(s + 8);
    sec = num2(s + 10);
    nn = num2(s + 13);
    if (s[15] == 'R') /* relative: YY years MM months DD days ..., nn must be 00 */
        return hour < 24 && min < 60 && sec < 60 && nn == 0;
    if (s[15] != '+' && s[15] != '-')
        return 0;
    /* nn: quarter hours from UTC, at most 48 (section 7.1.1) */
    return mon >= 1 && mon <= 12 && day >= 1 && day <= 31 && hour < 24 && min < 60 && sec < 60 &&
           nn <= 48;
}

/* ---- decoding ---------------------------------------------------------- */

typedef struct reader {
    const uint8_t *p, *end;
} reader;

/* A C-Octet String of at most max octets with its NUL. */
static int read_cstring(reader *r, const char *name, uint8_t max, uint8_t status,
                        const uint8_t **out, uint32_t *outlen, smpp_error *err)
{
    size_t avail = (size_t)(r->end - r->p);
    const uint8_t *nul = avail ? memchr(r->p, 0, avail) : NULL;
    size_t n;
    if (nul == NULL)
        return DFAIL(SMPP_ESME_RINVCMDLEN, "%s: no NUL terminator before the end of the PDU",
                     name);
    n = (size_t)(nul - r->p);
    if (n + 1 > max)
        return DFAIL(status, "%s: %zu octets, at most %u allowed", name, n, (unsigned)max - 1);
    *out = r->p;
    *outlen = (uint32_t)n;
    r->p = nul + 1;
    return SMPP_OK;
}

static int read_u8(reader *r, const char *name, uint32_t *out, smpp_error *err)
{
    if (r->p >= r->end)
        return DFAIL(SMPP_ESME_RINVCMDLEN, "%s: the PDU ends before this field", name);
    *out = *r->p++;
    return SMPP_OK;
}

static int decode_dests(smpp_pdu *pdu, reader *r, smpp_error *err)
{
    uint32_t n = 0, i, flag = 0;
    int rc;
    if ((rc = read_u8(r, "number_of_dests", &n, err)) != SMPP_OK)
        return rc;
    if (n == 0 || n > SMPP_MAX_DESTS)
        return DFAIL(SMPP_ESME_RINVNUMDESTS, "number_of_dests: %u, must be 1 to %d", n,
                     SMPP_MAX_DESTS);
    for (i = 0; i < n; i++) {
        smpp_dest *d = &pdu->dests[i];
        uint32_t ton = 0, npi = 0;
        if ((rc = read_u8(r, "dest_flag", &flag, err)) != SMPP_OK)
            return rc;
        d->dest_flag = (uint8_t)flag;
        if (flag == 1) {
            if ((rc = read_u8(r, "dest_addr_ton", &ton, err)) != SMPP_OK ||
                (rc = read_u8(r, "dest_addr_npi", &npi, err)) != SMPP_OK ||
                (rc = read_cstring(r, "destination_addr", 21, 0x0B, &d->addr, &d->addr_len,
                                   err)) != SMPP_OK)
                return rc;
        } else if (flag == 2) {
            if ((rc = read_cstring(r, "dl_name", 21, 0x34, &d->addr, &d->addr_len, err)) !=
                SMPP_OK)
                return rc;
        } else {
            return DFAIL(SMPP_ESME_RINVDESTFLAG, "dest_flag: %u in dest_address %u, must be 1 or 2",
                         flag, i + 1);
        }
        d->ton = (uint8_t)ton;
        d->npi = (uint8_t)npi;
    }
    pdu->f[SMPP_F_DEST_ADDRESS].num = n;
    return SMPP_OK;
}

static int decode_unsuccess(smpp_pdu *pdu, reader *r, smpp_error *err)
{
    uint32_t n = 0, i, ton = 0, npi = 0;
    int rc;
    if ((rc = read_u8(r, "no_unsuccess", &n, err)) != SMPP_OK)
        return rc;
    for (i = 0; i < n; i++) {
        smpp_unsuccess *u = &pdu->unsuccess[i];
        if ((rc = read_u8(r, "dest_addr_ton", &ton, err)) != SMPP_OK ||
            (rc = read_u8(r, "dest_addr_npi", &npi, err)) != SMPP_OK ||
            (rc = read_cstring(r, "destination_addr", 21, 0x0B, &u->addr, &u->addr_len, err)) !=
                SMPP_OK)
            return rc;
        if (r->end - r->p < 4)
            return DFAIL(SMPP_ESME_RINVCMDLEN, "error_status_code: the PDU ends before this field");
        u->ton = (uint8_t)ton;
        u->npi = (uint8_t)npi;
        u->error_status_code = get32(r->p);
        r->p += 4;
    }
    pdu->f[SMPP_F_UNSUCCESS_SME].num = n;
    return SMPP_OK;
}

static int decode_body(smpp_pdu *pdu, reader *r, smpp_error *err)
{
    const smpp_command_info *cmd = pdu->cmd;
    unsigned i;
    int rc;
    for (i = 0; i < cmd->nslots; i++) {
        const smpp_slot *slot = &cmd->slots[i];
        const smpp_field_info *fi = &smpp_fields[slot->field];
        smpp_value *v = &pdu->f[slot->field];
        uint8_t max = slot->max ? slot->max : fi->max;
        switch (fi->type) {
        case SMPP_T_INT8:
            rc = read_u8(r, fi->name, &v->num, err);
            break;
        case SMPP_T_CSTRING:
            rc = read_cstring(r, fi->name, max, fi->status, &v->ptr, &v->len, err);
            break;
        case SMPP_T_TIME:
            rc = read_cstring(r, fi->name, max, fi->status, &v->ptr, &v->len, err);
            if (rc == SMPP_OK && !smpp_time_valid(v->ptr, v->len))
                rc = DFAIL(fi->status, "%s: \"%.*s\" is not an SMPP time", fi->name, (int)v->len,
                           (const char *)v->ptr);
            break;
        case SMPP_T_SM: {
            uint32_t n = 0;
            if ((rc = read_u8(r, "sm_length", &n, err)) != SMPP_OK)
                break;
            if (n > (uint32_t)(r->end - r->p))
                return DFAIL(SMPP_ESME_RINVMSGLEN, "sm_length: %u runs past the end of the PDU",
                             n);
            if (n > SMPP_MAX_SM_LENGTH)
                return DFAIL(SMPP_ESME_RINVMSGLEN, "sm_length: %u, at most %d allowed", n,
                             SMPP_MAX_SM_LENGTH);
            v->ptr = r->p;
            v->len = n;
            r->p += n;
            break;
        }
        case SMPP_T_DESTS:
            rc = decode_dests(pdu, r, err);
            break;
        default: /* SMPP_T_UNSUCCESS */
            rc = decode_unsuccess(pdu, r, err);
            break;
        }
        if (rc != SMPP_OK)
            return rc;
        pdu->present |= (uint64_t)1 << slot->field;
    }
    return SMPP_OK;
}

static int tlv_length_ok(const smpp_tlv_info *ti, uint32_t len)
{
    switch (ti->type) {
    case SMPP_T_INT8: return len == 1;
    case SMPP_T_INT16: return len == 2;
    case SMPP_T_INT32: return len == 4;
    case SMPP_T_FLAG: return len <= 1; /* 3.4 has no value; 5.0 allows one octet */
    default: return len >= ti->min_len && (ti->max_len == 0 || len <= ti->max_len);
    }
}

static int decode_tlvs(smpp_pdu *pdu, reader *r, smpp_error *err)
{
    int last_named = -1, extra_seen = 0;
    pdu->tlv_data = r->p;
    pdu->tlv_len = (uint32_t)(r->end - r->p);
    while (r->p < r->end) {
        uint16_t tag;
        uint32_t len;
        int idx;
        if (r->end - r->p < 4)
            return DFAIL(SMPP_ESME_RINVOPTPARSTREAM,
                         "optional parameter: %d octets left, a TLV header takes 4",
                         (int)(r->end - r->p));
        tag = (uint16_t)(r->p[0] << 8 | r->p[1]);
        len = (uint32_t)(r->p[2] << 8 | r->p[3]);
        r->p += 4;
        if (len > (uint32_t)(r->end - r->p))
            return DFAIL(SMPP_ESME_RINVPARLEN,
                         "optional parameter 0x%04X: length %u runs past the end of the PDU", tag,
                         len);
        idx = smpp_tlv_index(tag);
        if (idx >= 0 && !(pdu->tlv_present & (uint64_t)1 << idx)) {
            const smpp_tlv_info *ti = &smpp_tlvs[idx];
            smpp_value *v = &pdu->tlv[idx];
            if (!tlv_length_ok(ti, len))
                return DFAIL(SMPP_ESME_RINVPARLEN, "%s: length %u is not allowed", ti->name, len);
            v->ptr = r->p;
            v->len = len;
            switch (ti->type) {
            case SMPP_T_INT8: v->num = r->p[0]; break;
            case SMPP_T_FLAG: v->num = len ? r->p[0] : 0; break;
            case SMPP_T_INT16: v->num = (uint32_t)(r->p[0] << 8 | r->p[1]); break;
            case SMPP_T_INT32: v->num = get32(r->p); break;
            case SMPP_T_CSTRING: {
                /* Some SMSCs leave out the NUL; the value ends at the first NUL,
                 * and without one it must still fit with the NUL added. */
                const uint8_t *nul = memchr(r->p, 0, len);
                if (nul != NULL)
                    v->len = (uint32_t)(nul - r->p);
                else if (len >= ti->max_len)
                    return DFAIL(SMPP_ESME_RINVPARLEN, "%s: %u octets without a NUL, at most %u",
                                 ti->name, len, (unsigned)ti->max_len - 1);
                break;
            }
            default: break;
            }
            pdu->tlv_present |= (uint64_t)1 << idx;
            if (extra_seen || idx < last_named)
                pdu->tlv_canonical = 0;
            last_named = idx;
        } else {
            extra_seen = 1;
        }
        r->p += len;
    }
    return SMPP_OK;
}

int smpp_pdu_decode(smpp_pdu *pdu, const uint8_t *buf, size_t len, size_t max_length,
                    smpp_error *err)
{
    reader r;
    int rc;
    uint32_t clen;

    smpp_pdu_init(pdu, NULL, 0);
    if (len < SMPP_HEADER_LEN)
        return DFAIL(SMPP_ESME_RINVCMDLEN, "PDU of %zu octets is shorter than the 16-octet header",
                     len);
    clen = get32(buf);
    pdu->command_length = clen;
    pdu->command_id = get32(buf + 4);
    pdu->command_status = get32(buf + 8);
    pdu->sequence_number = get32(buf + 12);
    if (clen < SMPP_HEADER_LEN)
        return DFAIL(SMPP_ESME_RINVCMDLEN, "command_length %u is under 16", clen);
    if (max_length && clen > max_length)
        return DFAIL(SMPP_ESME_RINVCMDLEN, "command_length %u is over the limit of %zu", clen,
                     max_length);
    if (clen != len)
        return DFAIL(SMPP_ESME_RINVCMDLEN, "command_length %u but %zu octets given", clen, len);
    pdu->cmd = smpp_command_by_id(pdu->command_id);
    if (pdu->cmd == NULL)
        return DFAIL(0x03, "command_id 0x%08X is not an SMPP 3.4 command", pdu->command_id);

    r.p = buf + SMPP_HEADER_LEN;
    r.end = buf + len;
    /* An error response may come with no body, or with one we cannot read:
     * it still answers its request, so it is accepted and the body kept. */
    if ((pdu->cmd->flags & SMPP_CMD_RESPONSE) && pdu->command_status != 0) {
        if (r.p == r.end)
            return SMPP_OK;
        rc = decode_body(pdu, &r, err);
        if (rc == SMPP_OK && r.p < r.end && (pdu->cmd->flags & SMPP_CMD_TLVS))
            rc = decode_tlvs(pdu, &r, err);
        if (rc != SMPP_OK || r.p < r.end) {
            smpp_pdu_init(pdu, pdu->cmd, pdu->sequence_number);
            pdu->command_length = clen;
            pdu->command_status = get32(buf + 8);
            pdu->present = (uint64_t)1 << SMPP_F_BODY;
            pdu->f[SMPP_F_BODY].ptr = buf + SMPP_HEADER_LEN;
            pdu->f[SMPP_F_BODY].len = clen - SMPP_HEADER_LEN;
        }
        return SMPP_OK;
    }
    if ((rc = decode_body(pdu, &r, err)) != SMPP_OK)
        return rc;
    if (r.p < r.end) {
        if (!(pdu->cmd->flags & SMPP_CMD_TLVS))
            return DFAIL(SMPP_ESME_RINVCMDLEN, "%s: %d octets after the last field",
                         pdu->cmd->name, (int)(r.end - r.p));
        if ((rc = decode_tlvs(pdu, &r, err)) != SMPP_OK)
            return rc;
    }
    return SMPP_OK;
}

int smpp_pdu_tlv_next(const smpp_pdu *pdu, uint32_t *pos, smpp_tlv *tlv, int *named)
{
    const uint8_t *p;
    int idx;
    if (*pos + 4 > pdu->tlv_len)
        return 0;
    p = pdu->tlv_data + *pos;
    tlv->tag = (uint16_t)(p[0] << 8 | p[1]);
    tlv->len = (uint16_t)(p[2] << 8 | p[3]);
    tlv->val = p + 4;
    idx = smpp_tlv_index(tlv->tag);
    *named = idx >= 0 && (pdu->tlv_present & (uint64_t)1 << idx) &&
             pdu->tlv[idx].ptr == tlv->val;
    *pos += 4u + tlv->len;
    return 1;
}

/* ---- encoding ---------------------------------------------------------- */

/* The writers take the fast path while the reused buffer has room. */
static int put_bytes(smpp_buf *out, const void *p, size_t n)
{
    if (out->cap - out->len >= n) {
        if (n > 0)
            memcpy(out->data + out->len, p, n);
        out->len += n;
        return SMPP_OK;
    }
    return smpp_buf_append(out, p, n);
}

static int put_u8(smpp_buf *out, uint32_t v)
{
    uint8_t b = (uint8_t)v;
    if (out->len < out->cap) {
        out->data[out->len++] = b;
        return SMPP_OK;
    }
    return smpp_buf_append(out, &b, 1);
}

static int put_cstring(smpp_buf *out, const uint8_t *s, uint32_t len)
{
    int rc = out->cap - out->len > len ? SMPP_OK : smpp_buf_reserve(out, (size_t)len + 1);
    if (rc != SMPP_OK)
        return rc;
    if (len > 0)
        memcpy(out->data + out->len, s, len);
    out->data[out->len + len] = 0;
    out->len += (size_t)len + 1;
    return SMPP_OK;
}

static int check_cstring(const char *name, const uint8_t *s, uint32_t len, unsigned max,
                         smpp_error *err)
{
    if (len + 1 > max)
        return EFAIL("%s: %u octets, at most %u allowed", name, len, max - 1);
    if (len > 0 && memchr(s, 0, len) != NULL)
        return EFAIL("%s: contains a NUL octet", name);
    return SMPP_OK;
}

static int encode_dests(const smpp_pdu *pdu, smpp_buf *out, smpp_error *err)
{
    uint32_t n = pdu->f[SMPP_F_DEST_ADDRESS].num, i;
    int rc;
    if (n == 0 || n > SMPP_MAX_DESTS)
        return EFAIL("dest_address: %u destinations, must be 1 to %d", n, SMPP_MAX_DESTS);
    if ((rc = put_u8(out, n)) != SMPP_OK)
        return rc;
    for (i = 0; i < n; i++) {
        const smpp_dest *d = &pdu->dests[i];
        const char *name = d->dest_flag == 2 ? "dest_address dl_name" : "dest_address destination_addr";
        if (d->dest_flag != 1 && d->dest_flag != 2)
            return EFAIL("dest_address %u: dest_flag %u, must be 1 or 2", i + 1, d->dest_flag);
        if ((rc = check_cstring(name, d->addr, d->addr_len, 21, err)) != SMPP_OK)
            return rc;
        if ((rc = put_u8(out, d->dest_flag)) != SMPP_OK)
            return rc;
        if (d->dest_flag == 1 &&
            ((rc = put_u8(out, d->ton)) != SMPP_OK || (rc = put_u8(out, d->npi)) != SMPP_OK))
            return rc;
        if ((rc = put_cstring(out, d->addr, d->addr_len)) != SMPP_OK)
            return rc;
    }
    return SMPP_OK;
}

static int encode_unsuccess(const smpp_pdu *pdu, smpp_buf *out, smpp_error *err)
{
    uint32_t n = pdu->f[SMPP_F_UNSUCCESS_SME].num, i;
    int rc;
    uint8_t code[4];
    if (n > 255)
        return EFAIL("unsuccess_sme: %u entries, at most 255", n);
    if ((rc = put_u8(out, n)) != SMPP_OK)
        return rc;
    for (i = 0; i < n; i++) {
        const smpp_unsuccess *u = &pdu->unsuccess[i];
        if ((rc = check_cstring("unsuccess_sme destination_addr", u->addr, u->addr_len, 21,
                                err)) != SMPP_OK)
            return rc;
        put32(code, u->error_status_code);
        if ((rc = put_u8(out, u->ton)) != SMPP_OK || (rc = put_u8(out, u->npi)) != SMPP_OK ||
            (rc = put_cstring(out, u->addr, u->addr_len)) != SMPP_OK ||
            (rc = put_bytes(out, code, 4)) != SMPP_OK)
            return rc;
    }
    return SMPP_OK;
}

static int encode_field(const smpp_pdu *pdu, const smpp_slot *slot, smpp_buf *out,
                        smpp_error *err)
{
    const smpp_field_info *fi = &smpp_fields[slot->field];
    int present = (pdu->present >> slot->field) & 1;
    const smpp_value *v = &pdu->f[slot->field];
    unsigned max = slot->max ? slot->max : fi->max;
    int rc;

    if (!present && slot->required)
        return EFAIL("%s: required in %s", fi->name, pdu->cmd->name);
    switch (fi->type) {
    case SMPP_T_INT8:
        if (!present)
            return put_u8(out, slot->field == SMPP_F_INTERFACE_VERSION ? SMPP_INTERFACE_VERSION : 0);
        if (v->num > 255)
            return EFAIL("%s: %u does not fit in one octet", fi->name, v->num);
        return put_u8(out, v->num);
    case SMPP_T_CSTRING:
    case SMPP_T_TIME:
        if (!present)
            return put_u8(out, 0);
        if ((rc = check_cstring(fi->name, v->ptr, v->len, max, err)) != SMPP_OK)
            return rc;
        if (fi->type == SMPP_T_TIME && !smpp_time_valid(v->ptr, v->len))
            return EFAIL("%s: \"%.*s\" is not an SMPP time (YYMMDDhhmmsstnnp)", fi->name,
                         (int)v->len, (const char *)v->ptr);
        return put_cstring(out, v->ptr, v->len);
    case SMPP_T_SM:
        if (!present)
            return put_u8(out, 0);
        if (v->len > SMPP_MAX_SM_LENGTH)
            return EFAIL("short_message: %u octets, at most %d (use message_payload)", v->len,
                         SMPP_MAX_SM_LENGTH);
        if ((rc = put_u8(out, v->len)) != SMPP_OK)
            return rc;
        return put_bytes(out, v->ptr, v->len);
    case SMPP_T_DESTS:
        return encode_dests(pdu, out, err);
    default: /* SMPP_T_UNSUCCESS */
        if (!present)
            return put_u8(out, 0);
        return encode_unsuccess(pdu, out, err);
    }
}

static int put_tlv_header(smpp_buf *out, uint16_t tag, uint32_t len)
{
    uint8_t h[4];
    h[0] = (uint8_t)(tag >> 8);
    h[1] = (uint8_t)tag;
    h[2] = (uint8_t)(len >> 8);
    h[3] = (uint8_t)len;
    return put_bytes(out, h, 4);
}

static int encode_named_tlv(const smpp_pdu *pdu, int idx, smpp_buf *out, smpp_error *err)
{
    const smpp_tlv_info *ti = &smpp_tlvs[idx];
    const smpp_value *v = &pdu->tlv[idx];
    uint8_t b[4];
    int rc;
    switch (ti->type) {
    case SMPP_T_INT8:
        if (v->num > 0xFF)
            return EFAIL("%s: %u does not fit in one octet", ti->name, v->num);
        b[0] = (uint8_t)v->num;
        return (rc = put_tlv_header(out, ti->tag, 1)) != SMPP_OK ? rc : put_bytes(out, b, 1);
    case SMPP_T_INT16:
        if (v->num > 0xFFFF)
            return EFAIL("%s: %u does not fit in two octets", ti->name, v->num);
        b[0] = (uint8_t)(v->num >> 8);
        b[1] = (uint8_t)v->num;
        return (rc = put_tlv_header(out, ti->tag, 2)) != SMPP_OK ? rc : put_bytes(out, b, 2);
    case SMPP_T_INT32:
        put32(b, v->num);
        return (rc = put_tlv_header(out, ti->tag, 4)) != SMPP_OK ? rc : put_bytes(out, b, 4);
    case SMPP_T_FLAG:
        if (v->len == 0)
            return put_tlv_header(out, ti->tag, 0);
        if (v->num > 0xFF)
            return EFAIL("%s: %u does not fit in one octet", ti->name, v->num);
        b[0] = (uint8_t)v->num;
        return (rc = put_tlv_header(out, ti->tag, 1)) != SMPP_OK ? rc : put_bytes(out, b, 1);
    case SMPP_T_CSTRING:
        if ((rc = check_cstring(ti->name, v->ptr, v->len, ti->max_len, err)) != SMPP_OK)
            return rc;
        return (rc = put_tlv_header(out, ti->tag, v->len + 1)) != SMPP_OK
                   ? rc
                   : put_cstring(out, v->ptr, v->len);
    default: /* SMPP_T_OCTETS */
        if (v->len < ti->min_len || v->len > (ti->max_len ? ti->max_len : 0xFFFFu))
            return EFAIL("%s: %u octets, must be %u to %u", ti->name, v->len, ti->min_len,
                         ti->max_len ? ti->max_len : 0xFFFFu);
        return (rc = put_tlv_header(out, ti->tag, v->len)) != SMPP_OK
                   ? rc
                   : put_bytes(out, v->ptr, v->len);
    }
}

static int encode_extra_tlv(const smpp_tlv *t, smpp_buf *out)
{
    int rc = put_tlv_header(out, t->tag, t->len);
    return rc != SMPP_OK ? rc : put_bytes(out, t->val, t->len);
}

static int encode_tlvs(const smpp_pdu *pdu, smpp_buf *out, smpp_error *err)
{
    uint64_t done = 0, left;
    size_t next_extra = 0, i;
    int rc;

    if ((pdu->tlv_present || pdu->nextra) && !(pdu->cmd->flags & SMPP_CMD_TLVS))
        return EFAIL("%s: takes no optional parameters", pdu->cmd->name);
    for (i = 0; i < pdu->norder; i++) {
        int idx = smpp_tlv_index(pdu->order[i]);
        if (idx >= 0 && (pdu->tlv_present >> idx & 1) && !(done >> idx & 1)) {
            if ((rc = encode_named_tlv(pdu, idx, out, err)) != SMPP_OK)
                return rc;
            done |= (uint64_t)1 << idx;
        } else if (next_extra < pdu->nextra && pdu->extra[next_extra].tag == pdu->order[i]) {
            if ((rc = encode_extra_tlv(&pdu->extra[next_extra++], out)) != SMPP_OK)
                return rc;
        } else {
            return EFAIL("tlv_order: tag 0x%04X at position %zu matches no value given",
                         pdu->order[i], i + 1);
        }
    }
    /* the rest in the table's order: each bit of those left, lowest first */
    for (left = pdu->tlv_present & ~done; left != 0; left &= left - 1) {
        int idx = 0;
        while (!(left >> idx & 1))
            idx++;
        if ((rc = encode_named_tlv(pdu, idx, out, err)) != SMPP_OK)
            return rc;
    }
    for (; next_extra < pdu->nextra; next_extra++)
        if ((rc = encode_extra_tlv(&pdu->extra[next_extra], out)) != SMPP_OK)
            return rc;
    return SMPP_OK;
}

static int encode_body(const smpp_pdu *pdu, smpp_buf *out, smpp_error *err)
{
    const smpp_command_info *cmd = pdu->cmd;
    unsigned i;
    int rc;

    if (pdu->present >> SMPP_F_BODY & 1) {
        if (!(cmd->flags & SMPP_CMD_RESPONSE) || pdu->command_status == 0)
            return EFAIL("body: only an error response carries a raw body");
        return put_bytes(out, pdu->f[SMPP_F_BODY].ptr, pdu->f[SMPP_F_BODY].len);
    }
    /* An error response with nothing in it goes without a body (3.4 section 3.3). */
    if ((cmd->flags & SMPP_CMD_RESPONSE) && pdu->command_status != 0 &&
        !(pdu->present & ~((uint64_t)1 << SMPP_F_BODY)) && !pdu->tlv_present && !pdu->nextra)
        return SMPP_OK;
    for (i = 0; i < cmd->nslots; i++)
        if ((rc = encode_field(pdu, &cmd->slots[i], out, err)) != SMPP_OK)
            return rc;
    return encode_tlvs(pdu, out, err);
}

int smpp_pdu_encode(const smpp_pdu *pdu, smpp_buf *out, smpp_error *err)
{
    size_t start = out->len, len;
    int rc;

    if (pdu->cmd == NULL)
        return EFAIL("command: unknown");
    if ((rc = smpp_buf_reserve(out, SMPP_HEADER_LEN)) != SMPP_OK)
        return rc;
    out->len += SMPP_HEADER_LEN;
    rc = encode_body(pdu, out, err);
    len = out->len - start;
    if (rc == SMPP_OK && len > 0xFFFFFFFFu)
        rc = EFAIL("command_length: %zu octets is too long", len);
    if (rc != SMPP_OK) {
        out->len = start;
        return rc == SMPP_ENOMEM ? fail(err, rc, SMPP_ESME_RSYSERR, "out of memory") : rc;
    }
    put32(out->data + start, (uint32_t)len);
    put32(out->data + start + 4, pdu->cmd->id);
    put32(out->data + start + 8, pdu->command_status);
    put32(out->data + start + 12, pdu->sequence_number);
    return SMPP_OK;
}
