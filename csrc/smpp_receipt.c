/* smpp_receipt: delivery receipt text (SMPP 3.4 appendix B and the variants
 * SMSCs send) parsed into spans of the input, the keys of message ids (hex,
 * decimal, case and leading zeros) and their comparison, and the receipt of
 * a submit made. */
#include "smpp_receipt.h"

#include <string.h>

#include "smpp_pdu.h"
#include "smpp_text.h"

/* The keys of a receipt. OTHER is a vendor key ("dlvrd_count:", "IMSI:"):
 * it ends the value before it and is otherwise skipped. */
enum {
    K_NONE = -1,
    K_ID,
    K_SUB,
    K_DLVR,
    K_SUBMIT_DATE,
    K_DONE_DATE,
    K_STAT,
    K_ERR,
    K_TEXT,
    K_OTHER
};

static int is_blank(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v' || c == 0;
}

static int is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static int is_alpha(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* What a key is made of: "MCCMNC", "p_nnc", "x-vendor.id". */
static int is_key_char(uint8_t c)
{
    return is_alpha(c) || is_digit(c) || c == '_' || c == '-' || c == '.';
}

static int hex_value(uint8_t c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static uint8_t lower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c + ('a' - 'A')) : c;
}

static size_t skip_blanks(const uint8_t *s, size_t n, size_t i)
{
    while (i < n && is_blank(s[i]))
        i++;
    return i;
}

/* The end of s[i..] when it starts with word w (lowercase) in any case, else 0. */
static size_t match_word(const uint8_t *s, size_t n, size_t i, const char *w)
{
    size_t k, len = strlen(w);
    if (n - i < len)
        return 0;
    for (k = 0; k < len; k++)
        if (lower(s[i + k]) != (uint8_t)w[k])
            return 0;
    return i + len;
}

/* The key starting at s[i] (a letter, at the start or after a blank): its
 * kind, and in *after the offset just past its ':'. K_NONE when s[i] does not
 * start a key. */
static int read_key(const uint8_t *s, size_t n, size_t i, size_t *after)
{
    static const struct {
        const char *name;
        int kind;
    } names[] = {{"id", K_ID},     {"sub", K_SUB}, {"dlvrd", K_DLVR}, {"dlvr", K_DLVR},
                 {"stat", K_STAT}, {"err", K_ERR}, {"text", K_TEXT}};
    /* "submit date", "submit_date", "submit-date", "submitdate", any case */
    static const struct {
        const char *first;
        int kind;
    } dated[] = {{"submit", K_SUBMIT_DATE}, {"done", K_DONE_DATE}};
    size_t j, k, len;

    if (i >= n || !is_alpha(s[i]))
        return K_NONE;
    for (k = 0; k < sizeof dated / sizeof dated[0]; k++) {
        j = match_word(s, n, i, dated[k].first);
        if (j == 0)
            continue;
        while (j < n && (s[j] == ' ' || s[j] == '\t' || s[j] == '_' || s[j] == '-'))
            j++;
        j = match_word(s, n, j, "date");
        if (j != 0 && j < n && s[j] == ':') {
            *after = j + 1;
            return dated[k].kind;
        }
    }
    for (j = i; j < n && is_key_char(s[j]); j++)
        ;
    if (j >= n || s[j] != ':')
        return K_NONE;
    *after = j + 1;
    len = j - i;
    for (k = 0; k < sizeof names / sizeof names[0]; k++)
        if (strlen(names[k].name) == len && match_word(s, n, i, names[k].name) == j)
            return names[k].kind;
    return K_OTHER;
}

/* The first key at or after offset i that follows a blank: its start (n when
 * none), kind in *kind and the offset past its ':' in *after. */
static size_t next_key(const uint8_t *s, size_t n, size_t i, int *kind, size_t *after)
{
    for (; i < n; i++) {
        if (i > 0 && is_blank(s[i - 1]) && !is_blank(s[i])) {
            *kind = read_key(s, n, i, after);
            if (*kind != K_NONE)
                return i;
        }
    }
    *kind = K_NONE;
    return n;
}

static size_t trim_end(const uint8_t *s, size_t start, size_t end)
{
    while (end > start && is_blank(s[end - 1]))
        end--;
    return end;
}

static int two(const uint8_t *p)
{
    return (p[0] - '0') * 10 + (p[1] - '0');
}

/* YYMMDDhhmm, YYMMDDhhmmss or YYYYMMDDhhmmss, a real date and time. */
static int parse_date(const uint8_t *p, size_t n, smpp_receipt_date *d)
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    smpp_receipt_date t;
    size_t i;

    for (i = 0; i < n; i++)
        if (!is_digit(p[i]))
            return -1;
    if (n == 14) {
        t.year = two(p) * 100 + two(p + 2);
        p += 4;
    } else if (n == 10 || n == 12) {
        t.year = 2000 + two(p);
        p += 2;
    } else {
        return -1;
    }
    t.month = two(p);
    t.day = two(p + 2);
    t.hour = two(p + 4);
    t.minute = two(p + 6);
    t.second = n == 10 ? 0 : two(p + 8);
    if (t.month < 1 || t.month > 12 || t.day < 1 || t.day > mdays[t.month - 1] || t.hour > 23 ||
        t.minute > 59 || t.second > 59)
        return -1;
    if (t.month == 2 && t.day == 29 &&
        (t.year % 4 != 0 || (t.year % 100 == 0 && t.year % 400 != 0)))
        return -1;
    t.present = 1;
    *d = t;
    return 0;
}

/* Whether the one-token value p[0..n) fits a field of this kind, for the
 * fields that may follow text (below). */
static int plausible(int kind, const uint8_t *p, size_t n)
{
    smpp_receipt_date d;
    size_t i;
    switch (kind) {
    case K_ID: return n > 0;
    case K_SUBMIT_DATE:
    case K_DONE_DATE: return parse_date(p, n, &d) == 0;
    case K_STAT:
        for (i = 0; i < n; i++)
            if (!is_alpha(p[i]))
                return 0;
        return n > 0;
    case K_SUB:
    case K_DLVR:
    case K_ERR:
        for (i = 0; i < n; i++)
            if (!is_digit(p[i]))
                return 0;
        return n > 0;
    default: return 0;
    }
}

/* Whether s[i..n), where a key starts, is nothing but receipt fields not seen
 * yet (seen: bit per kind), each a single plausible token: that is how a
 * receipt with text before other fields ends ("... text: stat:DELIVRD"). */
static int fields_to_end(const uint8_t *s, size_t n, size_t i, unsigned seen)
{
    size_t after, v, e;
    int kind;
    while (i < n) {
        kind = read_key(s, n, i, &after);
        if (kind == K_NONE || kind == K_OTHER || kind == K_TEXT || (seen & (1u << kind)))
            return 0;
        seen |= 1u << kind;
        v = skip_blanks(s, n, after);
        for (e = v; e < n && !is_blank(s[e]); e++)
            ;
        if (!plausible(kind, s + v, e - v))
            return 0;
        i = skip_blanks(s, n, e);
    }
    return 1;
}

static void set_span(smpp_span *sp, const uint8_t *s, size_t start, size_t end)
{
    sp->ptr = s + start;
    sp->len = end - start;
}

int smpp_receipt_parse(const uint8_t *s, size_t n, smpp_receipt *r)
{
    unsigned seen = 0;
    size_t i, after = 0, v, end;
    int kind;

    memset(r, 0, sizeof *r);
    if (s == NULL)
        return -1;
    i = skip_blanks(s, n, 0);
    kind = read_key(s, n, i, &after);
    while (kind != K_NONE) {
        int next;
        size_t next_after = 0;
        v = skip_blanks(s, n, after);
        i = next_key(s, n, v, &next, &next_after);
        /* text runs to the end, unless only fields not seen yet follow it */
        while (kind == K_TEXT && next != K_NONE && !fields_to_end(s, n, i, seen))
            i = next_key(s, n, i + 1, &next, &next_after);
        end = trim_end(s, v, i);
        if (kind != K_OTHER && !(seen & (1u << kind))) {
            seen |= 1u << kind;
            switch (kind) {
            case K_ID: set_span(&r->id, s, v, end); break;
            case K_SUB: set_span(&r->sub, s, v, end); break;
            case K_DLVR: set_span(&r->dlvr, s, v, end); break;
            case K_STAT: set_span(&r->stat, s, v, end); break;
            case K_ERR: set_span(&r->err, s, v, end); break;
            case K_TEXT: set_span(&r->text, s, v, end); break;
            case K_SUBMIT_DATE: parse_date(s + v, end - v, &r->submit_date); break;
            default: parse_date(s + v, end - v, &r->done_date); break;
            }
        }
        kind = next;
        after = next_after;
    }
    return r->id.len > 0 || r->stat.len > 0 ? 0 : -1;
}

/* s without its leading zeros, but "0" for an id of zeros only. */
static void strip_zeros(const uint8_t **s, size_t *n)
{
    while (*n > 1 && (*s)[0] == '0') {
        (*s)++;
        (*n)--;
    }
}

/* Whether x and y have the same key. */
static int same_key(const uint8_t *x, size_t xn, const uint8_t *y, size_t yn)
{
    size_t i;
    strip_zeros(&x, &xn);
    strip_zeros(&y, &yn);
    if (xn != yn)
        return 0;
    for (i = 0; i < xn; i++)
        if (lower(x[i]) != lower(y[i]))
            return 0;
    return 1;
}

/* The value of s[0..n) (no leading zeros) in hex, of 1-16 digits. */
static int read_hex(const uint8_t *s, size_t n, uint64_t *v)
{
    uint64_t x = 0;
    size_t i;
    if (n == 0 || n > 16)
        return 0;
    for (i = 0; i < n; i++) {
        int d = hex_value(s[i]);
        if (d < 0)
            return 0;
        x = x << 4 | (uint64_t)d;
    }
    *v = x;
    return 1;
}

/* The value of s[0..n) (no leading zeros) in decimal, when below 2^64. */
static int read_dec(const uint8_t *s, size_t n, uint64_t *v)
{
    uint64_t x = 0;
    size_t i;
    if (n == 0 || n > 20)
        return 0;
    for (i = 0; i < n; i++) {
        uint64_t d = (uint64_t)(s[i] - '0');
        if (!is_digit(s[i]) || x > (UINT64_MAX - d) / 10)
            return 0;
        x = x * 10 + d;
    }
    *v = x;
    return 1;
}

/* v in base 10 or 16 (lower case, no leading zeros) into out; its length. */
static size_t write_num(uint64_t v, unsigned base, uint8_t *out)
{
    static const char digits[] = "0123456789abcdef";
    uint8_t tmp[20];
    size_t n = 0, i;
    do {
        tmp[n++] = (uint8_t)digits[v % base];
        v /= base;
    } while (v != 0);
    for (i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/* The forms of s[0..n) (no leading zeros) as a number: the decimal of its
 * value in hex, the hex of its value in decimal, those it has, written to
 * out (36 octets) with spans in num. Returns how many (0-2), not told apart
 * from each other or from the id's key. */
static int number_forms(const uint8_t *s, size_t n, uint8_t *out, smpp_span num[2])
{
    uint64_t v;
    size_t used = 0;
    int k = 0;
    if (read_hex(s, n, &v)) {
        num[k].ptr = out;
        num[k++].len = used = write_num(v, 10, out);
    }
    if (read_dec(s, n, &v)) {
        num[k].ptr = out + used;
        num[k++].len = write_num(v, 16, out + used);
    }
    return k;
}

size_t smpp_receipt_id_key(const uint8_t *id, size_t n, uint8_t *out)
{
    size_t i;
    if (n == 0)
        return 0;
    strip_zeros(&id, &n);
    for (i = 0; i < n; i++)
        out[i] = lower(id[i]);
    return n;
}

int smpp_receipt_id_keys(const uint8_t *id, size_t n, uint8_t *out,
                         smpp_span keys[SMPP_RECEIPT_ID_KEYS])
{
    smpp_span num[2];
    size_t len = smpp_receipt_id_key(id, n, out);
    int count = 1, m, k, j;

    keys[0].ptr = out;
    keys[0].len = len;
    m = number_forms(out, len, out + len, num);
    for (k = 0; k < m; k++) {
        for (j = 0; j < count; j++)
            if (keys[j].len == num[k].len && memcmp(keys[j].ptr, num[k].ptr, num[k].len) == 0)
                break;
        if (j == count)
            keys[count++] = num[k];
    }
    return count;
}

/* The key of a is among the keys of b. (Both ways round or neither: when
 * a's key is the decimal of b read as hex, a reads as decimal, and the hex
 * of that is b's key; the same the other way.) */
int smpp_receipt_same_id(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    uint8_t room[36];
    smpp_span num[2];
    int m, k;

    if ((a == NULL && alen > 0) || (b == NULL && blen > 0))
        return 0;
    if (same_key(a, alen, b, blen))
        return 1;
    strip_zeros(&b, &blen);
    m = number_forms(b, blen, room, num);
    for (k = 0; k < m; k++)
        if (same_key(a, alen, num[k].ptr, num[k].len))
            return 1;
    return 0;
}

static const char *const state_names[] = {"ENROUTE", "DELIVRD", "EXPIRED", "DELETED",
                                          "UNDELIV", "ACCEPTD", "UNKNOWN", "REJECTD"};
#define NSTATES ((int)(sizeof state_names / sizeof state_names[0]))

const char *smpp_receipt_state_name(int state)
{
    return state >= 1 && state <= NSTATES ? state_names[state - 1] : NULL;
}

int smpp_receipt_state(const uint8_t *word, size_t len)
{
    int k;
    size_t i;
    for (k = 0; k < NSTATES; k++) {
        const char *name = state_names[k];
        for (i = 0; i < len && name[i] != '\0' && lower(word[i]) == lower((uint8_t)name[i]); i++)
            ;
        if (i == len && name[i] == '\0')
            return k + 1;
    }
    return 0;
}

/* A field of a decoded PDU: empty (0) when it is not there. */
static const smpp_value *field(const smpp_pdu *p, int f)
{
    static const smpp_value none = {NULL, 0, 0};
    return (p->present & ((uint64_t)1 << f)) ? &p->f[f] : &none;
}

static void put(smpp_pdu *p, int field, const void *v, size_t len)
{
    p->f[field].ptr = (const uint8_t *)v;
    p->f[field].len = (uint32_t)len;
    p->present |= (uint64_t)1 << field;
}

static void put_num(smpp_pdu *p, int field, uint32_t v)
{
    p->f[field].num = v;
    p->present |= (uint64_t)1 << field;
}

static void put_tlv(smpp_pdu *p, uint16_t tag, const void *v, size_t len, uint32_t num)
{
    int k = smpp_tlv_index(tag);
    p->tlv[k].ptr = (const uint8_t *)v;
    p->tlv[k].len = (uint32_t)len;
    p->tlv[k].num = num;
    p->tlv_present |= (uint64_t)1 << k;
}

/* The submit's message as UTF-8 (appended to out): short_message, or
 * message_payload when that is empty, without its UDH, read in its
 * data_coding (0: GSM 03.38). */
static int message_text(const smpp_pdu *submit, smpp_buf *out)
{
    const smpp_value *sm = field(submit, SMPP_F_SHORT_MESSAGE);
    const uint8_t *s = sm->ptr;
    size_t n = sm->len;
    int cls, k;
    if (n == 0 && (k = smpp_tlv_index(0x0424)) >= 0 && (submit->tlv_present & ((uint64_t)1 << k))) {
        s = submit->tlv[k].ptr;
        n = submit->tlv[k].len;
    }
    if ((field(submit, SMPP_F_ESM_CLASS)->num & 0x40) && n > 0) {
        size_t udh = (size_t)s[0] + 1;
        s += udh < n ? udh : n;
        n -= udh < n ? udh : n;
    }
    return smpp_text_decode(
        smpp_dcs_alphabet((uint8_t)field(submit, SMPP_F_DATA_CODING)->num, SMPP_A_GSM7, &cls), s, n,
        out);
}

int smpp_receipt_for(const smpp_pdu *submit, const smpp_receipt_info *info, smpp_pdu *deliver,
                     smpp_buf *text, smpp_buf *utf8)
{
    static const char *const parts[] = {"id:", " sub:001 dlvrd:", " submit date:", " done date:",
                                        " stat:", " err:", " text:"};
    const char *values[6];
    size_t start, end, chars;
    int rc = 0, k, state;

    values[0] = info->id;
    values[1] = strcmp(info->stat, "DELIVRD") == 0 ? "001" : "000";
    values[2] = info->submit_date;
    values[3] = info->done_date;
    values[4] = info->stat;
    values[5] = info->err;
    /* the receipt as UTF-8, then the message's first 20 characters */
    utf8->len = 0;
    for (k = 0; k < 7 && rc == 0; k++) {
        rc = smpp_buf_append(utf8, parts[k], strlen(parts[k]));
        if (rc == 0 && k < 6)
            rc = smpp_buf_append(utf8, values[k], strlen(values[k]));
    }
    start = utf8->len;
    if (rc == 0)
        rc = message_text(submit, utf8);
    for (end = start, chars = 0; rc == 0 && end < utf8->len && chars < 20; chars++) {
        uint32_t cp;
        size_t len = smpp_utf8_next(utf8->data + end, utf8->len - end, &cp);
        end += len > 0 ? len : 1;
    }
    text->len = 0;
    if (rc == 0)
        rc = smpp_text_encode(SMPP_A_GSM7, utf8->data, end, SMPP_GSM_SUBSTITUTE, text, NULL);
    if (rc != 0)
        return rc == SMPP_ENOMEM ? SMPP_ENOMEM : SMPP_EENCODE;
    if (text->len > 254)
        return SMPP_EENCODE;

    smpp_pdu_init(deliver, smpp_command_by_id(SMPP_DELIVER_SM), 0);
    put(deliver, SMPP_F_SOURCE_ADDR, field(submit, SMPP_F_DESTINATION_ADDR)->ptr,
        field(submit, SMPP_F_DESTINATION_ADDR)->len);
    put_num(deliver, SMPP_F_SOURCE_ADDR_TON, field(submit, SMPP_F_DEST_ADDR_TON)->num);
    put_num(deliver, SMPP_F_SOURCE_ADDR_NPI, field(submit, SMPP_F_DEST_ADDR_NPI)->num);
    put(deliver, SMPP_F_DESTINATION_ADDR, field(submit, SMPP_F_SOURCE_ADDR)->ptr,
        field(submit, SMPP_F_SOURCE_ADDR)->len);
    put_num(deliver, SMPP_F_DEST_ADDR_TON, field(submit, SMPP_F_SOURCE_ADDR_TON)->num);
    put_num(deliver, SMPP_F_DEST_ADDR_NPI, field(submit, SMPP_F_SOURCE_ADDR_NPI)->num);
    put_num(deliver, SMPP_F_ESM_CLASS, 0x04);
    put_num(deliver, SMPP_F_DATA_CODING, 0);
    put(deliver, SMPP_F_SHORT_MESSAGE, text->data, text->len);
    put_tlv(deliver, 0x001E, info->id, strlen(info->id), 0);
    state = smpp_receipt_state((const uint8_t *)info->stat, strlen(info->stat));
    put_tlv(deliver, 0x0427, NULL, 0, state != 0 ? (uint32_t)state : 7); /* UNKNOWN */
    return 0;
}
