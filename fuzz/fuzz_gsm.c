/* fuzz_gsm: libFuzzer target for the GSM 7-bit codec (csrc/smpp_gsm.c).
 *
 * The input is read three ways. Properties checked:
 *  - as septets: smpp_gsm_to_utf8 succeeds with valid UTF-8 (checked here by
 *    a decoder of its own), at most two octets a septet; that UTF-8 encodes
 *    strictly to septets that decode to the same UTF-8, and are the input
 *    itself (modulo 0x80) when the input has no lone ESC, ESC ESC or ESC
 *    before a code without an extension character;
 *  - as UTF-8: substitute mode fails exactly when the input is not UTF-8,
 *    at the offset of the first bad sequence; strict mode fails there or at
 *    an earlier character; when strict mode succeeds, its septets are those
 *    of substitute mode and decode to exactly the input; substitute mode's
 *    septets decode and encode strictly back to themselves; smpp_gsm_count
 *    agrees with both; a failure leaves the buffer as it was; output is
 *    appended after what the buffer holds;
 *  - for packing: the first octet % 7 is the fill bits, the rest septets
 *    (taken modulo 0x80): smpp_gsm_pack writes (fill + 7n + 7) / 8 octets,
 *    exactly those of a bit-by-bit packing, and unpacking gives the septets
 *    back (plus one '@' for 7 spare bits when no count is given); the rest
 *    read as packed octets unpacks to (8n - fill) / 7 septets that pack back
 *    to the same octets with the fill bits and spare bits cleared.
 *
 * Any violation abort()s so that libFuzzer reports it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smpp_gsm.h"
#include "smpp_pdu.h"

#include "check.h"

static const uint8_t PRE[3] = {0xAA, 0xBB, 0xCC};
static smpp_buf a, b, c;

static void reset(smpp_buf *buf)
{
    buf->len = 0;
    CHECK(smpp_buf_append(buf, PRE, sizeof PRE) == 0, "out of memory");
}

static int equal(const uint8_t *x, size_t xn, const uint8_t *y, size_t yn)
{
    return xn == yn && (xn == 0 || memcmp(x, y, xn) == 0);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    CHECK(p != NULL, "out of memory");
    return p;
}

/* The offset of the first octet that does not start a well-formed UTF-8
 * sequence (Unicode 3.9, table 3-7), or n. Written apart from smpp_gsm.c:
 * decode by the lead octet's length, then check the value's range. */
static size_t utf8_first_bad(const uint8_t *s, size_t n)
{
    size_t i = 0, len, k;
    uint32_t cp, min;

    while (i < n) {
        uint8_t lead = s[i];
        if (lead < 0x80) {
            i++;
            continue;
        }
        if ((lead & 0xE0) == 0xC0) {
            len = 2;
            cp = lead & 0x1Fu;
            min = 0x80;
        } else if ((lead & 0xF0) == 0xE0) {
            len = 3;
            cp = lead & 0x0Fu;
            min = 0x800;
        } else if ((lead & 0xF8) == 0xF0) {
            len = 4;
            cp = lead & 0x07u;
            min = 0x10000;
        } else {
            return i;
        }
        if (n - i < len)
            return i;
        for (k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
            cp = cp << 6 | (s[i + k] & 0x3Fu);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += len;
    }
    return n;
}

static int has_ext(uint8_t code)
{
    static const uint8_t ext[] = {0x0A, 0x14, 0x28, 0x29, 0x2F, 0x3C, 0x3D, 0x3E, 0x40, 0x65};
    return memchr(ext, code, sizeof ext) != NULL;
}

static void as_septets(const uint8_t *d, size_t n)
{
    size_t i, u, bad = 0, count = 0;
    int canonical = 1;

    reset(&a);
    CHECK(smpp_gsm_to_utf8(d, n, &a) == 0, "to_utf8 failed");
    CHECK(memcmp(a.data, PRE, 3) == 0, "to_utf8 overwrote the buffer");
    u = a.len - 3;
    CHECK(u <= 2 * n, "to_utf8: %zu octets for %zu septets", u, n);
    CHECK(utf8_first_bad(a.data + 3, u) == u, "to_utf8: invalid UTF-8 at %zu",
          utf8_first_bad(a.data + 3, u));

    reset(&b);
    CHECK(smpp_gsm_from_utf8(a.data + 3, u, SMPP_GSM_STRICT, &b, &bad) == 0,
          "decoded text does not encode strictly: bad %zu", bad);
    CHECK(smpp_gsm_count(a.data + 3, u, SMPP_GSM_STRICT, &count, &bad) == 0 &&
              count == b.len - 3,
          "count %zu, encoded %zu", count, b.len - 3);
    reset(&c);
    CHECK(smpp_gsm_to_utf8(b.data + 3, b.len - 3, &c) == 0, "to_utf8 failed");
    CHECK(equal(c.data + 3, c.len - 3, a.data + 3, u), "re-encoded septets decode otherwise");

    for (i = 0; i < n; i++) {
        if ((d[i] & 0x7F) != SMPP_GSM_ESC)
            continue;
        if (i + 1 == n || !has_ext(d[i + 1] & 0x7F)) {
            canonical = 0;
            break;
        }
        i++;
    }
    if (canonical) {
        CHECK(b.len - 3 == n, "re-encoding of %zu septets has %zu", n, b.len - 3);
        for (i = 0; i < n; i++)
            CHECK(b.data[3 + i] == (d[i] & 0x7F), "re-encoding differs at septet %zu", i);
    } else {
        CHECK(b.len - 3 <= n, "re-encoding of %zu septets has %zu", n, b.len - 3);
    }
}

static void as_text(const uint8_t *d, size_t n)
{
    size_t first_bad = utf8_first_bad(d, n);
    size_t bad_s = SIZE_MAX, bad_u = SIZE_MAX, cnt_bad, count;
    int rc_s, rc_u, rc;

    /* Strict mode, into a. */
    reset(&a);
    rc_s = smpp_gsm_from_utf8(d, n, SMPP_GSM_STRICT, &a, &bad_s);
    CHECK(rc_s == 0 || rc_s == SMPP_ETEXT, "strict: rc %d", rc_s);
    CHECK(memcmp(a.data, PRE, 3) == 0, "strict: overwrote the buffer");
    count = SIZE_MAX;
    cnt_bad = SIZE_MAX;
    rc = smpp_gsm_count(d, n, SMPP_GSM_STRICT, &count, &cnt_bad);
    if (rc_s == 0) {
        CHECK(first_bad == n, "strict accepted invalid UTF-8 at %zu", first_bad);
        CHECK(a.len - 3 <= 2 * n, "strict: %zu septets for %zu octets", a.len - 3, n);
        CHECK(rc == 0 && count == a.len - 3, "strict count: rc %d, %zu", rc, count);
        reset(&c);
        CHECK(smpp_gsm_to_utf8(a.data + 3, a.len - 3, &c) == 0, "to_utf8 failed");
        CHECK(equal(c.data + 3, c.len - 3, d, n), "strict encoding does not decode back");
    } else {
        CHECK(a.len == 3, "strict failure left %zu octets", a.len - 3);
        CHECK(bad_s <= first_bad && bad_s < n, "strict bad %zu, first invalid %zu", bad_s,
              first_bad);
        CHECK(rc == SMPP_ETEXT && cnt_bad == bad_s && count == SIZE_MAX,
              "strict count: rc %d, bad %zu", rc, cnt_bad);
    }

    /* Substitute mode, into b. */
    reset(&b);
    rc_u = smpp_gsm_from_utf8(d, n, SMPP_GSM_SUBSTITUTE, &b, &bad_u);
    CHECK(memcmp(b.data, PRE, 3) == 0, "substitute: overwrote the buffer");
    count = SIZE_MAX;
    cnt_bad = SIZE_MAX;
    rc = smpp_gsm_count(d, n, SMPP_GSM_SUBSTITUTE, &count, &cnt_bad);
    if (first_bad < n) {
        CHECK(rc_u == SMPP_ETEXT && bad_u == first_bad,
              "substitute: rc %d, bad %zu, first invalid %zu", rc_u, bad_u, first_bad);
        CHECK(b.len == 3, "substitute failure left %zu octets", b.len - 3);
        CHECK(rc == SMPP_ETEXT && cnt_bad == first_bad && count == SIZE_MAX,
              "substitute count: rc %d, bad %zu", rc, cnt_bad);
        return;
    }
    CHECK(rc_u == 0, "substitute failed on valid UTF-8: rc %d, bad %zu", rc_u, bad_u);
    CHECK(b.len - 3 <= 2 * n, "substitute: %zu septets for %zu octets", b.len - 3, n);
    CHECK(rc == 0 && count == b.len - 3, "substitute count: rc %d, %zu", rc, count);
    if (rc_s == 0)
        CHECK(equal(a.data + 3, a.len - 3, b.data + 3, b.len - 3),
              "strict and substitute septets differ");
    reset(&c);
    CHECK(smpp_gsm_to_utf8(b.data + 3, b.len - 3, &c) == 0, "to_utf8 failed");
    reset(&a);
    CHECK(smpp_gsm_from_utf8(c.data + 3, c.len - 3, SMPP_GSM_STRICT, &a, &bad_s) == 0,
          "decoded look-alikes do not encode strictly: bad %zu", bad_s);
    CHECK(equal(a.data + 3, a.len - 3, b.data + 3, b.len - 3),
          "substitute septets are not a fixed point");
}

static void as_packing(const uint8_t *d, size_t size)
{
    unsigned fill, j;
    size_t n, i, on, k, bits;
    uint8_t *packed, *ref, *back;

    if (size == 0)
        return;
    fill = d[0] % 7;
    d++;
    n = size - 1;

    /* The rest as septets. */
    on = (fill + 7 * n + 7) / 8;
    packed = xmalloc(on);
    ref = xmalloc(on);
    back = xmalloc(n + 1);
    CHECK(smpp_gsm_pack(d, n, fill, packed) == on, "pack: not %zu octets", on);
    memset(ref, 0, on);
    for (i = 0; i < n; i++)
        for (j = 0; j < 7; j++)
            if (d[i] >> j & 1) {
                size_t bit = fill + 7 * i + j;
                ref[bit / 8] = (uint8_t)(ref[bit / 8] | 1u << (bit % 8));
            }
    CHECK(equal(packed, on, ref, on), "pack differs from the bit-by-bit packing");
    CHECK(smpp_gsm_unpack(packed, on, fill, back, n) == n, "unpack: not %zu septets", n);
    for (i = 0; i < n; i++)
        CHECK(back[i] == (d[i] & 0x7F), "unpack differs at septet %zu", i);
    k = smpp_gsm_unpack(packed, on, fill, back, n + 1);
    CHECK(k == (on ? (8 * on - fill) / 7 : 0) && k - n <= 1 && (k == n || back[n] == 0),
          "unpack without a count: %zu septets for %zu", k, n);
    free(packed);
    free(ref);
    free(back);

    /* The rest as packed octets. */
    if (n == 0)
        return;
    k = (8 * n - fill) / 7;
    back = xmalloc(k);
    packed = xmalloc(n);
    CHECK(smpp_gsm_unpack(d, n, fill, back, SIZE_MAX) == k, "unpack: not %zu septets", k);
    for (i = 0; i < k; i++)
        CHECK(back[i] < 0x80, "unpack: septet %zu is 0x%02X", i, back[i]);
    CHECK(smpp_gsm_pack(back, k, fill, packed) == n, "repack: not %zu octets", n);
    bits = fill + 7 * k; /* the bits in use; those above them in the last octet are spare */
    for (i = 0; i < n; i++) {
        uint8_t want = d[i];
        if (i == 0)
            want = (uint8_t)(want & (0xFFu << fill));
        if (i == n - 1 && bits % 8 != 0)
            want = (uint8_t)(want & ((1u << (bits % 8)) - 1));
        CHECK(packed[i] == want, "repack differs at octet %zu: %02X, not %02X", i, packed[i],
              want);
    }
    free(back);
    free(packed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    as_septets(data, size);
    as_text(data, size);
    as_packing(data, size);
    return 0;
}
