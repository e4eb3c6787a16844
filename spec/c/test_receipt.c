/* test_receipt: tests of the message id rule of csrc/smpp_receipt.c: the key
 * of an id, its keys (its key, the decimal of its hex reading and the hex of
 * its decimal reading, in 64 bits, none twice), and same_id (the key of one
 * among the keys of the other: symmetric, reflexive, not the ids that only
 * share a third form). Each key set is written to a buffer of exactly
 * SMPP_RECEIPT_ID_KEYS_ROOM(n) octets, so that ASan catches a write past it.
 * Run by spec/c/run.sh; prints "N passed, N failed" and exits non-zero on a
 * failure. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smpp_receipt.h"

#include "check.h"

static int same_id(const char *a, const char *b)
{
    return smpp_receipt_same_id((const uint8_t *)a, strlen(a), (const uint8_t *)b, strlen(b));
}

/* The keys of id, each as a NUL-terminated string in keys[k] (room 600),
 * worked out in a buffer of exactly the room the header asks. */
static int keys_of(const char *id, char keys[SMPP_RECEIPT_ID_KEYS][600])
{
    size_t n = strlen(id), k;
    uint8_t *out = malloc(SMPP_RECEIPT_ID_KEYS_ROOM(n));
    smpp_span sp[SMPP_RECEIPT_ID_KEYS];
    int count;
    if (out == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    count = smpp_receipt_id_keys((const uint8_t *)id, n, out, sp);
    CHECK(count >= 1 && count <= SMPP_RECEIPT_ID_KEYS, "%s: %d keys", id, count);
    for (k = 0; k < (size_t)count && k < SMPP_RECEIPT_ID_KEYS; k++) {
        CHECK(sp[k].ptr >= out && sp[k].ptr + sp[k].len <= out + SMPP_RECEIPT_ID_KEYS_ROOM(n),
              "%s: key %zu outside the buffer", id, k);
        CHECK(sp[k].len < 600, "%s: key %zu of %zu octets", id, k, sp[k].len);
        memcpy(keys[k], sp[k].ptr, sp[k].len < 600 ? sp[k].len : 599);
        keys[k][sp[k].len < 600 ? sp[k].len : 599] = '\0';
    }
    free(out);
    return count;
}

static void test_key(void)
{
    static const char *const cases[][2] = {
        {"", ""},
        {"0", "0"},
        {"0000", "0"},
        {"00ABC", "abc"},
        {"38601FA", "38601fa"},
        {"0059113978", "59113978"},
        {"2E179B31-0EDE-971B", "2e179b31-0ede-971b"},
        {"0-0", "-0"},
        {"Msg_00X", "msg_00x"},
        {"\xc3\x84Z", "\xc3\x84z"}, /* only ASCII letters change case */
    };
    uint8_t out[64];
    size_t k, len;
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const char *id = cases[k][0], *want = cases[k][1];
        len = smpp_receipt_id_key((const uint8_t *)id, strlen(id), out);
        CHECK(len == strlen(want) && memcmp(out, want, len) == 0, "key of \"%s\": \"%.*s\"", id,
              (int)len, (const char *)out);
    }
    CHECK(smpp_receipt_id_key(NULL, 0, out) == 0, "key of NULL, 0");
}

static void test_keys(void)
{
    static const struct {
        const char *id;
        const char *keys[SMPP_RECEIPT_ID_KEYS];
    } cases[] = {
        {"", {""}},
        {"0", {"0"}},
        {"000", {"0"}},
        {"9", {"9"}},
        {"F", {"f", "15"}},
        {"10", {"10", "16", "a"}},
        {"15", {"15", "21", "f"}},
        {"00ABC", {"abc", "2748"}},
        {"38601FA", {"38601fa", "59113978"}},
        {"0059113978", {"59113978", "1494301048", "38601fa"}},
        {"ffffffffffffffff", {"ffffffffffffffff", "18446744073709551615"}},
        {"0000FFFFFFFFFFFFFFFF", {"ffffffffffffffff", "18446744073709551615"}},
        {"18446744073709551615", {"18446744073709551615", "ffffffffffffffff"}},
        {"0018446744073709551615", {"18446744073709551615", "ffffffffffffffff"}},
        {"8000000000000000", {"8000000000000000", "9223372036854775808", "1c6bf526340000"}},
        {"9223372036854775808", {"9223372036854775808", "8000000000000000"}},
        {"9999999999999999", {"9999999999999999", "11068046444225730969", "2386f26fc0ffff"}},
        /* 17 hex digits: no decimal form; as a decimal, 10^16 */
        {"10000000000000000", {"10000000000000000", "2386f26fc10000"}},
        {"3800E11B0592D471C", {"3800e11b0592d471c"}},
        /* 2^64 and 21 digits: no hex form */
        {"18446744073709551616", {"18446744073709551616"}},
        {"99999999999999999999", {"99999999999999999999"}},
        {"100000000000000000000", {"100000000000000000000"}},
        {"2E179B31-0EDE-971B-2760-C72B7F026E1B", {"2e179b31-0ede-971b-2760-c72b7f026e1b"}},
        {"74e02ee1-4e2f", {"74e02ee1-4e2f"}},
        {"1 ", {"1 "}},
        {"-1", {"-1"}},
        {"0x1f", {"x1f"}},
    };
    char got[SMPP_RECEIPT_ID_KEYS][600];
    size_t k;
    int count, want, j;
    uint8_t out[SMPP_RECEIPT_ID_KEYS_ROOM(0)];
    smpp_span sp[SMPP_RECEIPT_ID_KEYS];

    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const char *id = cases[k].id;
        for (want = 0; want < SMPP_RECEIPT_ID_KEYS && cases[k].keys[want] != NULL; want++)
            ;
        count = keys_of(id, got);
        CHECK(count == want, "\"%s\": %d keys, not %d", id, count, want);
        for (j = 0; j < count && j < want; j++)
            CHECK(strcmp(got[j], cases[k].keys[j]) == 0, "\"%s\": key %d is \"%s\", not \"%s\"", id,
                  j, got[j], cases[k].keys[j]);
    }
    count = smpp_receipt_id_keys(NULL, 0, out, sp);
    CHECK(count == 1 && sp[0].len == 0, "keys of NULL, 0: %d", count);
}

static void test_same_id(void)
{
    static const struct {
        const char *a, *b;
        int same;
    } cases[] = {
        {"", "", 1},
        {"a3f9c2e1", "a3f9c2e1", 1},
        {"0000000012345678", "12345678", 1},
        {"00ABC", "abc", 1},
        {"000", "0", 1},
        {"38601fa", "0059113978", 1},
        {"38601FA", "59113978", 1},
        {"98765432101", "16fee0e525", 1},
        {"10", "16", 1},
        {"10", "a", 1},
        {"ffffffffffffffff", "18446744073709551615", 1},
        {"FFFFFFFFFFFFFFFF", "00018446744073709551615", 1},
        {"8000000000000000", "9223372036854775808", 1},
        {"8000000000000001", "9223372036854775809", 1},
        {"100", "256", 1},
        {"598", "256", 1},
        {"2E179B31-0EDE-971B-2760-C72B7F026E1B", "2e179b31-0ede-971b-2760-c72b7f026e1b", 1},
        /* one off, past what a double tells apart */
        {"ffffffffffffffff", "18446744073709551614", 0},
        {"8000000000000000", "9223372036854775809", 0},
        {"8000000000000000", "9223372036854775807", 0},
        /* past 64 bits: no other form */
        {"10000000000000000", "18446744073709551616", 0},
        {"3800e11b0592d471c", "64567564356765435676", 0},
        {"56bc75e2d63100000", "100000000000000000000", 0},
        /* only forms of a third id: "a" is 10, "16" is 0x10 */
        {"a", "16", 0},
        {"100", "598", 0},
        {"", "0", 0},
        {"1", "1 ", 0},
        {"12345678", "12345679", 0},
        {"38601fb", "0059113978", 0},
        {"74e02ee1-4e2f", "74e02ee14e2f", 0},
        {"2E179B31-0EDE-971B-2760-C72B7F026E1B", "2E179B310EDE971B2760C72B7F026E1B", 0},
    };
    size_t k;
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const char *a = cases[k].a, *b = cases[k].b;
        CHECK(same_id(a, b) == cases[k].same, "same_id(\"%s\", \"%s\") is %d", a, b, same_id(a, b));
        CHECK(same_id(b, a) == cases[k].same, "same_id(\"%s\", \"%s\") is %d", b, a, same_id(b, a));
    }
    CHECK(!smpp_receipt_same_id(NULL, 1, (const uint8_t *)"1", 1), "NULL with a length");
    CHECK(!smpp_receipt_same_id((const uint8_t *)"1", 1, NULL, 1), "NULL with a length");
    CHECK(smpp_receipt_same_id(NULL, 0, (const uint8_t *)"", 0), "NULL, 0 is the empty id");
}

/* A value's decimal and hex (either case, with leading zeros) are the same
 * id, and its keys hold both; value + 1 is another id. */
static void check_value(uint64_t v)
{
    char dec[32], hex[32], hexup[32], zeros[40], next[32], keys[SMPP_RECEIPT_ID_KEYS][600];
    int count, j, has_hex = 0, has_dec = 0;
    snprintf(dec, sizeof dec, "%" PRIu64, v);
    snprintf(hex, sizeof hex, "%" PRIx64, v);
    snprintf(hexup, sizeof hexup, "%" PRIX64, v);
    snprintf(zeros, sizeof zeros, "000%" PRIu64, v);
    snprintf(next, sizeof next, "%" PRIx64, v + 1);
    CHECK(same_id(dec, hex) && same_id(hexup, dec) && same_id(zeros, hex) && same_id(hex, zeros),
          "%s and %s", dec, hex);
    CHECK(!same_id(dec, next), "%s and %s", dec, next);
    count = keys_of(dec, keys);
    for (j = 0; j < count; j++)
        has_hex |= strcmp(keys[j], hex) == 0;
    count = keys_of(hexup, keys);
    for (j = 0; j < count; j++)
        has_dec |= strcmp(keys[j], dec) == 0;
    CHECK(has_hex && has_dec, "keys of %s, %s", dec, hexup);
}

static void test_values(void)
{
    uint64_t v, x = 0x9e3779b97f4a7c15u;
    int k, b;
    for (v = 0; v < 5000; v++)
        check_value(v);
    for (b = 0; b < 64; b++) {
        v = (uint64_t)1 << b;
        check_value(v - 1);
        check_value(v);
        check_value(v + 1);
    }
    check_value(UINT64_MAX);
    check_value(UINT64_MAX - 1);
    check_value(10000000000000000000u);
    check_value(9999999999999999999u);
    for (k = 0; k < 20000; k++) { /* xorshift64 */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        check_value(x >> (k % 64));
    }
}

/* Every key of an id is its own key and the same id as the id; ids that
 * share a key are the same exactly when the key of one is a key of the other. */
static void test_keys_are_same_ids(void)
{
    static const char *const ids[] = {"",
                                      "0",
                                      "000",
                                      "7",
                                      "10",
                                      "16",
                                      "a",
                                      "A",
                                      "100",
                                      "256",
                                      "598",
                                      "F00",
                                      "3840",
                                      "38601FA",
                                      "0059113978",
                                      "ffffffffffffffff",
                                      "18446744073709551615",
                                      "18446744073709551616",
                                      "8000000000000000",
                                      "9223372036854775808",
                                      "10000000000000000",
                                      "3800E11B0592D471C",
                                      "x-1",
                                      "2E179B31-0EDE-971B-2760-C72B7F026E1B"};
    char keys[SMPP_RECEIPT_ID_KEYS][600], again[SMPP_RECEIPT_ID_KEYS][600];
    size_t i, j;
    int count, k;
    for (i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        count = keys_of(ids[i], keys);
        for (k = 0; k < count; k++) {
            keys_of(keys[k], again);
            CHECK(strcmp(again[0], keys[k]) == 0, "key %s of %s is not a key", keys[k], ids[i]);
            CHECK(same_id(ids[i], keys[k]), "%s is not key %s", ids[i], keys[k]);
        }
        for (j = 0; j < sizeof ids / sizeof ids[0]; j++) {
            char other[SMPP_RECEIPT_ID_KEYS][600];
            int n = keys_of(ids[j], other), member = 0;
            for (k = 0; k < n; k++)
                member |= strcmp(other[k], keys[0]) == 0;
            CHECK(same_id(ids[i], ids[j]) == member, "%s | %s: same_id %d, key among keys %d",
                  ids[i], ids[j], same_id(ids[i], ids[j]), member);
        }
    }
}

/* Long ids: their key alone, the whole of it. */
static void test_long(void)
{
    static char id[700], low[700];
    char keys[SMPP_RECEIPT_ID_KEYS][600];
    size_t i;
    memset(id, '0', 100);
    for (i = 100; i < 599; i++) {
        id[i] = "0123456789ABCDEF"[i % 16];
        low[i - 100] = "0123456789abcdef"[i % 16];
    }
    CHECK(keys_of(id, keys) == 1 && strcmp(keys[0], low) == 0, "a long id");
    CHECK(same_id(id, low) && same_id(low, id + 99), "a long id with and without zeros");
    memset(id, '0', 598);
    id[598] = '1';
    CHECK(keys_of(id, keys) == 1 && strcmp(keys[0], "1") == 0, "598 zeros and a 1");
    CHECK(same_id(id, "1") && same_id(id, "0001"), "598 zeros and a 1");
}

int main(void)
{
    test_key();
    test_keys();
    test_same_id();
    test_values();
    test_keys_are_same_ids();
    test_long();
    printf("test_receipt: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
