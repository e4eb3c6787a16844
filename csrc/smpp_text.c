/* smpp_text: UTF-8 to and from the SMPP alphabets, data_coding groups, and
 * user data headers. GSM 03.38 is in smpp_gsm.c; the national character
 * sets go through iconv. */
#include "smpp_text.h"

#include <errno.h>
#include <iconv.h>
#include <string.h>

#include "smpp_pdu.h"

smpp_alphabet smpp_dcs_alphabet(uint8_t dcs, smpp_alphabet account, int *msg_class)
{
    *msg_class = -1;
    if (dcs <= 0x0F) { /* SMPP 3.4 section 5.2.19 */
        switch (dcs) {
        case 0x00: return account;
        case 0x01: return SMPP_A_ASCII;
        case 0x03: return SMPP_A_LATIN1;
        case 0x05: return SMPP_A_JIS;
        case 0x06: return SMPP_A_CYRILLIC;
        case 0x07: return SMPP_A_HEBREW;
        case 0x08: return SMPP_A_UCS2;
        case 0x0A: return SMPP_A_ISO2022JP;
        case 0x0D: return SMPP_A_KANJI;
        case 0x0E: return SMPP_A_KSC5601;
        default: return SMPP_A_BINARY; /* 2, 4, pictograms and reserved values */
        }
    }
    if (dcs <= 0x7F) { /* 23.038 section 4: general data coding, 00xx and 01xx */
        if (dcs & 0x10)
            *msg_class = dcs & 0x03;
        if (dcs & 0x20) /* compressed */
            return SMPP_A_BINARY;
        switch ((dcs >> 2) & 0x03) {
        case 0: return SMPP_A_GSM7;
        case 2: return SMPP_A_UCS2;
        default: return SMPP_A_BINARY;
        }
    }
    if (dcs >= 0xC0 && dcs <= 0xDF) /* message waiting, discard or store */
        return SMPP_A_GSM7;
    if (dcs >= 0xE0 && dcs <= 0xEF) /* message waiting, store, UCS-2 */
        return SMPP_A_UCS2;
    if (dcs >= 0xF0) { /* data coding / message class */
        *msg_class = dcs & 0x03;
        return (dcs & 0x04) ? SMPP_A_BINARY : SMPP_A_GSM7;
    }
    return SMPP_A_BINARY; /* 0x80-0xBF are reserved */
}

uint8_t smpp_alphabet_dcs(smpp_alphabet a)
{
    static const uint8_t dcs[SMPP_A_COUNT] = {
        [SMPP_A_GSM7] = 0x00,   [SMPP_A_ASCII] = 0x01,   [SMPP_A_LATIN1] = 0x03,
        [SMPP_A_UCS2] = 0x08,   [SMPP_A_BINARY] = 0x04,  [SMPP_A_CYRILLIC] = 0x06,
        [SMPP_A_HEBREW] = 0x07, [SMPP_A_JIS] = 0x05,     [SMPP_A_ISO2022JP] = 0x0A,
        [SMPP_A_KANJI] = 0x0D,  [SMPP_A_KSC5601] = 0x0E,
    };
    return dcs[a];
}

size_t smpp_utf8_next(const uint8_t *s, size_t n, uint32_t *cp)
{
    uint32_t c = s[0], min;
    size_t len, i;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        c &= 0x1F;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        c &= 0x0F;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        c &= 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = c << 6 | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

static int put_utf8(smpp_buf *out, uint32_t c)
{
    uint8_t b[4];
    size_t n;
    if (c < 0x80) {
        b[0] = (uint8_t)c;
        n = 1;
    } else if (c < 0x800) {
        b[0] = (uint8_t)(0xC0 | c >> 6);
        b[1] = (uint8_t)(0x80 | (c & 0x3F));
        n = 2;
    } else if (c < 0x10000) {
        b[0] = (uint8_t)(0xE0 | c >> 12);
        b[1] = (uint8_t)(0x80 | (c >> 6 & 0x3F));
        b[2] = (uint8_t)(0x80 | (c & 0x3F));
        n = 3;
    } else {
        b[0] = (uint8_t)(0xF0 | c >> 18);
        b[1] = (uint8_t)(0x80 | (c >> 12 & 0x3F));
        b[2] = (uint8_t)(0x80 | (c >> 6 & 0x3F));
        b[3] = (uint8_t)(0x80 | (c & 0x3F));
        n = 4;
    }
    return smpp_buf_append(out, b, n);
}

#define REPLACEMENT 0xFFFDu

/* UTF-8 to octets of one code point each, up to max (ASCII 0x7F, Latin-1 0xFF). */
static int encode_narrow(const uint8_t *s, size_t n, uint32_t max, int mode, smpp_buf *out,
                         size_t *bad)
{
    size_t i = 0, len;
    uint32_t c;
    int rc = smpp_buf_reserve(out, n);
    if (rc != SMPP_OK)
        return rc;
    while (i < n) {
        len = smpp_utf8_next(s + i, n - i, &c);
        if (len == 0 || (c > max && mode == SMPP_GSM_STRICT)) {
            *bad = i;
            return SMPP_ETEXT;
        }
        out->data[out->len++] = (uint8_t)(c > max ? '?' : c);
        i += len;
    }
    return SMPP_OK;
}

static int encode_ucs2(const uint8_t *s, size_t n, smpp_buf *out, size_t *bad)
{
    size_t i = 0, len;
    uint32_t c;
    uint8_t *p;
    int rc = smpp_buf_reserve(out, 2 * n); /* never more than 2 octets per octet of UTF-8 */
    if (rc != SMPP_OK)
        return rc;
    p = out->data + out->len;
    while (i < n) {
        len = smpp_utf8_next(s + i, n - i, &c);
        if (len == 0) {
            *bad = i;
            return SMPP_ETEXT;
        }
        if (c >= 0x10000) { /* a surrogate pair, UTF-16 */
            uint32_t v = c - 0x10000, hi = 0xD800 | v >> 10, lo = 0xDC00 | (v & 0x3FF);
            *p++ = (uint8_t)(hi >> 8);
            *p++ = (uint8_t)hi;
            *p++ = (uint8_t)(lo >> 8);
            *p++ = (uint8_t)lo;
        } else {
            *p++ = (uint8_t)(c >> 8);
            *p++ = (uint8_t)c;
        }
        i += len;
    }
    out->len = (size_t)(p - out->data);
    return SMPP_OK;
}

static int decode_ucs2(const uint8_t *s, size_t n, smpp_buf *out)
{
    size_t i;
    int rc = SMPP_OK;
    for (i = 0; i + 1 < n && rc == SMPP_OK; i += 2) {
        uint32_t c = (uint32_t)s[i] << 8 | s[i + 1];
        if (c >= 0xD800 && c <= 0xDBFF && i + 3 < n) {
            uint32_t lo = (uint32_t)s[i + 2] << 8 | s[i + 3];
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
                c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
                i += 2;
            }
        }
        if (c >= 0xD800 && c <= 0xDFFF) /* an unpaired surrogate */
            c = REPLACEMENT;
        rc = put_utf8(out, c);
    }
    if (rc == SMPP_OK && i < n) /* an odd octet at the end */
        rc = put_utf8(out, REPLACEMENT);
    return rc;
}

static const char *iconv_name(smpp_alphabet a)
{
    switch (a) {
    case SMPP_A_CYRILLIC: return "ISO-8859-5";
    case SMPP_A_HEBREW: return "ISO-8859-8";
    case SMPP_A_JIS: return "SHIFT_JIS";
    case SMPP_A_ISO2022JP: return "ISO-2022-JP";
    case SMPP_A_KANJI: return "EUC-JP";
    default: return "EUC-KR";
    }
}

/* Converts with iconv; to_utf8 decides the direction. Decoding replaces what
 * cannot be read with U+FFFD; encoding fails (strict) or writes '?'. */
static int convert(smpp_alphabet a, int to_utf8, const uint8_t *s, size_t n, int mode,
                   smpp_buf *out, size_t *bad)
{
    iconv_t cd = to_utf8 ? iconv_open("UTF-8", iconv_name(a)) : iconv_open(iconv_name(a), "UTF-8");
    char *in = (char *)(uintptr_t)s;
    size_t left = n;
    int rc = SMPP_OK;

    if (cd == (iconv_t)-1)
        return SMPP_ETEXT;
    if (!to_utf8) { /* iconv takes some invalid UTF-8: check it first */
        size_t i = 0, len;
        uint32_t c;
        for (; i < n; i += len)
            if ((len = smpp_utf8_next(s + i, n - i, &c)) == 0) {
                *bad = i;
                iconv_close(cd);
                return SMPP_ETEXT;
            }
    }
    while (left > 0 && rc == SMPP_OK) {
        char *o;
        size_t room, r;
        if ((rc = smpp_buf_reserve(out, 4 * left + 16)) != SMPP_OK)
            break;
        o = (char *)out->data + out->len;
        room = out->cap - out->len;
        r = iconv(cd, &in, &left, &o, &room);
        out->len = (size_t)((uint8_t *)o - out->data);
        if (r != (size_t)-1)
            break;
        if (errno == E2BIG)
            continue;
        if (to_utf8) { /* skip one unreadable octet */
            rc = put_utf8(out, REPLACEMENT);
            in++;
            left--;
        } else if (mode == SMPP_GSM_STRICT) {
            *bad = (size_t)((const uint8_t *)in - s);
            rc = SMPP_ETEXT;
        } else { /* skip one code point, write '?' */
            uint32_t c;
            size_t len = smpp_utf8_next((const uint8_t *)in, left, &c);
            rc = smpp_buf_append(out, "?", 1);
            in += len;
            left -= len;
        }
    }
    if (rc == SMPP_OK) { /* the shift back to the initial state (ISO-2022-JP) */
        char *o;
        size_t room;
        if ((rc = smpp_buf_reserve(out, 16)) == SMPP_OK) {
            o = (char *)out->data + out->len;
            room = out->cap - out->len;
            iconv(cd, NULL, NULL, &o, &room);
            out->len = (size_t)((uint8_t *)o - out->data);
        }
    }
    iconv_close(cd);
    return rc;
}

int smpp_text_encode(smpp_alphabet a, const uint8_t *s, size_t n, int mode, smpp_buf *out,
                     size_t *bad)
{
    switch (a) {
    case SMPP_A_GSM7: return smpp_gsm_from_utf8(s, n, mode, out, bad);
    case SMPP_A_ASCII: return encode_narrow(s, n, 0x7F, mode, out, bad);
    case SMPP_A_LATIN1: return encode_narrow(s, n, 0xFF, mode, out, bad);
    case SMPP_A_UCS2: return encode_ucs2(s, n, out, bad);
    case SMPP_A_BINARY: return smpp_buf_append(out, s, n);
    default: return convert(a, 0, s, n, mode, out, bad);
    }
}

int smpp_text_decode(smpp_alphabet a, const uint8_t *s, size_t n, smpp_buf *out)
{
    size_t i, bad;
    int rc = SMPP_OK;
    switch (a) {
    case SMPP_A_GSM7: return smpp_gsm_to_utf8(s, n, out);
    case SMPP_A_UCS2: return decode_ucs2(s, n, out);
    case SMPP_A_ASCII:
    case SMPP_A_LATIN1:
    case SMPP_A_BINARY:
        for (i = 0; i < n && rc == SMPP_OK;) {
            size_t run = i; /* octets below 0x80 are their own UTF-8: copied a run at once */
            while (run < n && s[run] < 0x80)
                run++;
            if (run > i) {
                rc = smpp_buf_append(out, s + i, run - i);
                i = run;
                continue;
            }
            rc = put_utf8(out, a == SMPP_A_ASCII ? REPLACEMENT : s[i]);
            i++;
        }
        return rc;
    default:
        rc = convert(a, 1, s, n, SMPP_GSM_SUBSTITUTE, out, &bad);
        return rc == SMPP_ETEXT ? smpp_text_decode(SMPP_A_BINARY, s, n, out) : rc;
    }
}

smpp_alphabet smpp_text_best(const uint8_t *s, size_t n, int latin1_ok)
{
    size_t septets, bad, i, len;
    uint32_t c;
    if (smpp_gsm_count(s, n, SMPP_GSM_STRICT, &septets, &bad) == SMPP_OK)
        return SMPP_A_GSM7;
    if (!latin1_ok)
        return SMPP_A_UCS2;
    for (i = 0; i < n; i += len) {
        len = smpp_utf8_next(s + i, n - i, &c);
        if (len == 0 || c > 0xFF)
            return SMPP_A_UCS2;
    }
    return SMPP_A_LATIN1;
}

int smpp_udh_parse(const uint8_t *sm, size_t n, smpp_udh *udh)
{
    size_t i, end;
    memset(udh, 0, sizeof *udh);
    if (n < 1 || (size_t)sm[0] + 1 > n)
        return -1;
    end = (size_t)sm[0] + 1;
    udh->length = end;
    for (i = 1; i < end;) { /* information elements: IEI, IEDL, data */
        uint8_t iei, len;
        const uint8_t *d;
        if (i + 2 > end || i + 2 + sm[i + 1] > end)
            return -1;
        iei = sm[i];
        len = sm[i + 1];
        d = sm + i + 2;
        if (iei == 0x00 && len == 3) { /* 23.040 section 9.2.3.24.1 */
            udh->concat = 1;
            udh->ref_bits = 8;
            udh->ref = d[0];
            udh->total = d[1];
            udh->seq = d[2];
        } else if (iei == 0x08 && len == 4) { /* section 9.2.3.24.8 */
            udh->concat = 1;
            udh->ref_bits = 16;
            udh->ref = (uint16_t)(d[0] << 8 | d[1]);
            udh->total = d[2];
            udh->seq = d[3];
        } else if (iei == 0x05 && len == 4) { /* 16-bit application ports */
            udh->ports = 1;
            udh->dst_port = (uint16_t)(d[0] << 8 | d[1]);
            udh->src_port = (uint16_t)(d[2] << 8 | d[3]);
        } else if (iei == 0x04 && len == 2) { /* 8-bit application ports */
            udh->ports = 1;
            udh->dst_port = d[0];
            udh->src_port = d[1];
        } else if ((iei == 0x00 || iei == 0x08 || iei == 0x04 || iei == 0x05)) {
            return -1; /* a known element of the wrong size */
        }
        i += 2u + len;
    }
    if (udh->concat && (udh->total == 0 || udh->seq == 0 || udh->seq > udh->total))
        udh->concat = 0; /* 23.040: such an element is ignored */
    return 0;
}
