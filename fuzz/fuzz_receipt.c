/* fuzz_receipt: libFuzzer target for the delivery receipt parser and the
 * message id comparison (csrc/smpp_receipt.c).
 *
 * The whole input is parsed as receipt text. Properties checked:
 *  - every span lies inside the input, an absent one is {NULL, 0}, a value
 *    neither starts nor ends with a blank;
 *  - a present date is a real date and time (month 1-12, a day of that
 *    month, hour < 24, minute and second < 60, year 2000-2099 or 0-9999);
 *  - the result is 0 exactly when id or stat is non-empty, and parsing again
 *    gives the same receipt.
 * For smpp_receipt_id_equal, the id found, and the input split in two (a, b)
 * at a point its first octet picks:
 *  - reflexive (also with the case of letters swapped and a leading zero
 *    added) and symmetric;
 *  - for ids of at most 15 significant characters, the same answer as a
 *    64-bit reference: equal ignoring case and leading zeros, or decimal
 *    and hex of the same value; a decimal id equals the hex of its value and
 *    not the hex of its value + 1.
 *
 * Any violation abort()s so that libFuzzer reports it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smpp_receipt.h"

#include "check.h"

#define REF_MAX 15 /* significant characters the 64-bit reference takes */

static int blank(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v' || c == 0;
}

static void check_span(const char *name, const smpp_span *sp, const uint8_t *s, size_t n)
{
    if (sp->ptr == NULL) {
        CHECK(sp->len == 0, "%s: absent with length %zu", name, sp->len);
        return;
    }
    CHECK(sp->ptr >= s && sp->len <= n && (size_t)(sp->ptr - s) <= n - sp->len,
          "%s: span at %td+%zu outside the input of %zu octets", name, sp->ptr - s, sp->len, n);
    if (sp->len > 0)
        CHECK(!blank(sp->ptr[0]) && !blank(sp->ptr[sp->len - 1]), "%s: value not trimmed", name);
}

static void check_date(const char *name, const smpp_receipt_date *d)
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (!d->present)
        return;
    CHECK(d->year >= 0 && d->year <= 9999, "%s: year %d", name, d->year);
    CHECK(d->month >= 1 && d->month <= 12, "%s: month %d", name, d->month);
    CHECK(d->day >= 1 && d->day <= mdays[d->month - 1], "%s: day %d of month %d", name, d->day,
          d->month);
    CHECK(d->month != 2 || d->day != 29 ||
              (d->year % 4 == 0 && (d->year % 100 != 0 || d->year % 400 == 0)),
          "%s: 29 February %d", name, d->year);
    CHECK(d->hour >= 0 && d->hour <= 23 && d->minute >= 0 && d->minute <= 59 && d->second >= 0 &&
              d->second <= 59,
          "%s: time %d:%d:%d", name, d->hour, d->minute, d->second);
}

static int same_span(const smpp_span *x, const smpp_span *y)
{
    return x->ptr == y->ptr && x->len == y->len;
}

static int same_date(const smpp_receipt_date *x, const smpp_receipt_date *y)
{
    return x->present == y->present &&
           (!x->present ||
            (x->year == y->year && x->month == y->month && x->day == y->day && x->hour == y->hour &&
             x->minute == y->minute && x->second == y->second));
}

static int eq(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    int r = smpp_receipt_id_equal(a, an, b, bn);
    CHECK(r == 0 || r == 1, "id_equal returned %d", r);
    return r;
}

/* The value of s read in base 10 or 16, or -1 when it has another character
 * or more than REF_MAX significant digits. */
static int64_t ref_value(const uint8_t *s, size_t n, int base)
{
    uint64_t v = 0;
    size_t i, digits = 0;
    for (i = 0; i < n; i++) {
        int d;
        if (s[i] >= '0' && s[i] <= '9')
            d = s[i] - '0';
        else if (base == 16 && s[i] >= 'a' && s[i] <= 'f')
            d = s[i] - 'a' + 10;
        else if (base == 16 && s[i] >= 'A' && s[i] <= 'F')
            d = s[i] - 'A' + 10;
        else
            return -1;
        if (v > 0 || d > 0)
            digits++;
        if (digits > REF_MAX)
            return -1;
        v = v * (uint64_t)base + (uint64_t)d;
    }
    return n > 0 ? (int64_t)v : -1;
}

static uint8_t lower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

/* 1 or 0 as the reference says, -1 when an id is too long for it. */
static int ref_equal(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    int64_t da, hb, db, ha;
    size_t i;
    while (an > 1 && a[0] == '0')
        a++, an--;
    while (bn > 1 && b[0] == '0')
        b++, bn--;
    if (an == bn) {
        for (i = 0; i < an && lower(a[i]) == lower(b[i]); i++)
            ;
        if (i == an)
            return 1;
    }
    if (an > REF_MAX || bn > REF_MAX)
        return -1;
    da = ref_value(a, an, 10), hb = ref_value(b, bn, 16);
    db = ref_value(b, bn, 10), ha = ref_value(a, an, 16);
    return (da >= 0 && da == hb) || (db >= 0 && db == ha);
}

static void check_ids(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    static uint8_t tmp[1 + 4096];
    char hex[32];
    int64_t v;
    int ab = eq(a, an, b, bn), ref;
    size_t i;

    CHECK(ab == eq(b, bn, a, an), "id_equal not symmetric (%zu, %zu octets)", an, bn);
    CHECK(eq(a, an, a, an), "id_equal not reflexive (%zu octets)", an);
    ref = ref_equal(a, an, b, bn);
    CHECK(ref < 0 || ref == ab, "id_equal says %d, the reference %d (%.*s | %.*s)", ab, ref,
          (int)an, (const char *)a, (int)bn, (const char *)b);
    if (an == 0 || an >= sizeof tmp)
        return;
    for (i = 0; i < an; i++) {
        uint8_t c = a[i];
        tmp[i] = (uint8_t)(c >= 'a' && c <= 'z' ? c - 32 : c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    CHECK(eq(a, an, tmp, an), "id_equal depends on case (%.*s)", (int)an, (const char *)a);
    tmp[0] = '0';
    memcpy(tmp + 1, a, an);
    CHECK(eq(a, an, tmp, an + 1), "id_equal depends on a leading zero (%.*s)", (int)an,
          (const char *)a);
    v = ref_value(a, an, 10);
    if (v >= 0) {
        int len = snprintf(hex, sizeof hex, "%llx", (unsigned long long)v);
        CHECK(eq(a, an, (const uint8_t *)hex, (size_t)len), "%.*s is not hex %s", (int)an,
              (const char *)a, hex);
        len = snprintf(hex, sizeof hex, "%llX", (unsigned long long)v + 1);
        CHECK(!eq(a, an, (const uint8_t *)hex, (size_t)len), "%.*s is hex %s", (int)an,
              (const char *)a, hex);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    smpp_receipt r, r2;
    int rc = smpp_receipt_parse(data, size, &r);
    size_t cut;

    CHECK(rc == 0 || rc == -1, "parse returned %d", rc);
    check_span("id", &r.id, data, size);
    check_span("sub", &r.sub, data, size);
    check_span("dlvr", &r.dlvr, data, size);
    check_span("stat", &r.stat, data, size);
    check_span("err", &r.err, data, size);
    check_span("text", &r.text, data, size);
    check_date("submit_date", &r.submit_date);
    check_date("done_date", &r.done_date);
    CHECK((rc == 0) == (r.id.len > 0 || r.stat.len > 0), "parse returned %d, id %zu stat %zu", rc,
          r.id.len, r.stat.len);
    CHECK(smpp_receipt_parse(data, size, &r2) == rc && same_span(&r.id, &r2.id) &&
              same_span(&r.sub, &r2.sub) && same_span(&r.dlvr, &r2.dlvr) &&
              same_span(&r.stat, &r2.stat) && same_span(&r.err, &r2.err) &&
              same_span(&r.text, &r2.text) && same_date(&r.submit_date, &r2.submit_date) &&
              same_date(&r.done_date, &r2.done_date),
          "parsing again gives another receipt");

    if (r.id.ptr != NULL)
        check_ids(r.id.ptr, r.id.len, r.id.ptr, r.id.len);
    if (size > 0) {
        cut = 1 + data[0] % size;
        check_ids(data + 1, cut - 1, data + cut, size - cut);
    }
    return 0;
}
