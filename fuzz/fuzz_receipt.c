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
 * For the message id rule (smpp_receipt_same_id, smpp_receipt_id_keys,
 * smpp_receipt_id_key), on the id found, and on the input split in two (a,
 * b) at a point its first octet picks:
 *  - same_id is reflexive (also with the case of letters swapped and a
 *    leading zero added) and symmetric;
 *  - same_id gives the answer of a 64-bit reference: equal ignoring case and
 *    leading zeros, or decimal (below 2^64) and hex (up to 16 digits) of the
 *    same value; a decimal id is the same as the hex of its value and not the
 *    hex of its value + 1, a hex id the same as the decimal of its value;
 *  - the keys of an id lie in the buffer of SMPP_RECEIPT_ID_KEYS_ROOM octets,
 *    the first is the key of the id, none twice, each is its own key and the
 *    same id as the id; same_id(a, b) exactly when the key of a is one of
 *    the keys of b.
 *
 * Any violation abort()s so that libFuzzer reports it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smpp_receipt.h"

#include "check.h"

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
    int r = smpp_receipt_same_id(a, an, b, bn);
    CHECK(r == 0 || r == 1, "same_id returned %d", r);
    return r;
}

/* The value of s read in base 10 (below 2^64) or 16 (at most 16 digits after
 * the leading zeros) in *v; 0 when it does not read so. */
static int ref_value(const uint8_t *s, size_t n, unsigned base, uint64_t *v)
{
    uint64_t x = 0;
    size_t i, digits = 0;
    for (i = 0; i < n; i++) {
        unsigned d;
        if (s[i] >= '0' && s[i] <= '9')
            d = (unsigned)(s[i] - '0');
        else if (base == 16 && s[i] >= 'a' && s[i] <= 'f')
            d = (unsigned)(s[i] - 'a' + 10);
        else if (base == 16 && s[i] >= 'A' && s[i] <= 'F')
            d = (unsigned)(s[i] - 'A' + 10);
        else
            return 0;
        if (x > 0 || d > 0)
            digits++;
        if (base == 16 ? digits > 16 : x > (UINT64_MAX - d) / 10)
            return 0;
        x = x * base + d;
    }
    *v = x;
    return n > 0;
}

static uint8_t lower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

/* 1 or 0 as the reference says. */
static int ref_equal(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    uint64_t da, hb, db, ha;
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
    return (ref_value(a, an, 10, &da) && ref_value(b, bn, 16, &hb) && da == hb) ||
           (ref_value(b, bn, 10, &db) && ref_value(a, an, 16, &ha) && db == ha);
}

static uint8_t room_a[SMPP_RECEIPT_ID_KEYS_ROOM(4096)], room_k[SMPP_RECEIPT_ID_KEYS_ROOM(4096)];

/* The keys of a (of at most 4096 octets), in room_a: checked, and returned. */
static int check_keys(const uint8_t *a, size_t an, smpp_span keys[SMPP_RECEIPT_ID_KEYS])
{
    smpp_span kk[SMPP_RECEIPT_ID_KEYS];
    size_t len;
    int count = smpp_receipt_id_keys(a, an, room_a, keys), k, j;

    CHECK(count >= 1 && count <= SMPP_RECEIPT_ID_KEYS, "%d keys", count);
    len = smpp_receipt_id_key(a, an, room_k);
    CHECK(keys[0].len == len && memcmp(keys[0].ptr, room_k, len) == 0, "keys[0] is not the key");
    for (k = 0; k < count; k++) {
        CHECK(keys[k].ptr >= room_a && keys[k].len <= SMPP_RECEIPT_ID_KEYS_ROOM(an) &&
                  (size_t)(keys[k].ptr - room_a) <= SMPP_RECEIPT_ID_KEYS_ROOM(an) - keys[k].len,
              "key %d outside the room of %zu octets", k, SMPP_RECEIPT_ID_KEYS_ROOM(an));
        for (j = 0; j < k; j++)
            CHECK(keys[j].len != keys[k].len || memcmp(keys[j].ptr, keys[k].ptr, keys[k].len) != 0,
                  "keys %d and %d the same", j, k);
        len = smpp_receipt_id_key(keys[k].ptr, keys[k].len, room_k);
        CHECK(len == keys[k].len && memcmp(room_k, keys[k].ptr, len) == 0,
              "key %.*s is not its own key", (int)keys[k].len, (const char *)keys[k].ptr);
        CHECK(eq(a, an, keys[k].ptr, keys[k].len) && eq(keys[k].ptr, keys[k].len, a, an),
              "%.*s is not the same id as its key %.*s", (int)an, (const char *)a, (int)keys[k].len,
              (const char *)keys[k].ptr);
        CHECK(smpp_receipt_id_keys(keys[k].ptr, keys[k].len, room_k, kk) >= 1 &&
                  kk[0].len == keys[k].len && memcmp(kk[0].ptr, keys[k].ptr, kk[0].len) == 0,
              "the keys of key %d do not start with it", k);
    }
    return count;
}

static void check_ids(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    static uint8_t tmp[1 + 4096], key_a[4096];
    smpp_span keys[SMPP_RECEIPT_ID_KEYS];
    char num[32];
    uint64_t v;
    int ab = eq(a, an, b, bn), ref, count, k, member = 0;
    size_t i, ka;

    CHECK(ab == eq(b, bn, a, an), "same_id not symmetric (%zu, %zu octets)", an, bn);
    CHECK(eq(a, an, a, an), "same_id not reflexive (%zu octets)", an);
    ref = ref_equal(a, an, b, bn);
    CHECK(ref == ab, "same_id says %d, the reference %d (%.*s | %.*s)", ab, ref, (int)an,
          (const char *)a, (int)bn, (const char *)b);
    if (an >= sizeof tmp || bn >= sizeof tmp)
        return;
    ka = smpp_receipt_id_key(a, an, key_a);
    count = check_keys(b, bn, keys);
    for (k = 0; k < count; k++)
        member |= keys[k].len == ka && memcmp(keys[k].ptr, key_a, ka) == 0;
    CHECK(member == ab, "same_id says %d, the key of a among the keys of b %d (%.*s | %.*s)", ab,
          member, (int)an, (const char *)a, (int)bn, (const char *)b);
    check_keys(a, an, keys);
    if (an == 0)
        return;
    for (i = 0; i < an; i++) {
        uint8_t c = a[i];
        tmp[i] = (uint8_t)(c >= 'a' && c <= 'z' ? c - 32 : c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    CHECK(eq(a, an, tmp, an), "same_id depends on case (%.*s)", (int)an, (const char *)a);
    tmp[0] = '0';
    memcpy(tmp + 1, a, an);
    CHECK(eq(a, an, tmp, an + 1), "same_id depends on a leading zero (%.*s)", (int)an,
          (const char *)a);
    if (ref_value(a, an, 10, &v)) {
        int len = snprintf(num, sizeof num, "%llx", (unsigned long long)v);
        CHECK(eq(a, an, (const uint8_t *)num, (size_t)len), "%.*s is not hex %s", (int)an,
              (const char *)a, num);
        len = snprintf(num, sizeof num, "%llX", (unsigned long long)v + 1);
        CHECK(!eq(a, an, (const uint8_t *)num, (size_t)len), "%.*s is hex %s", (int)an,
              (const char *)a, num);
    }
    if (ref_value(a, an, 16, &v)) {
        int len = snprintf(num, sizeof num, "%llu", (unsigned long long)v);
        CHECK(eq(a, an, (const uint8_t *)num, (size_t)len), "%.*s is not decimal %s", (int)an,
              (const char *)a, num);
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
