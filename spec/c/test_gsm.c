/* test_gsm: tests of the GSM 7-bit codec of csrc/smpp_gsm.c (3GPP TS 23.038):
 * both tables both ways, strict UTF-8 with offsets, the look-alikes, escapes,
 * counting, and packing with fill bits. Run by spec/c/run.sh; prints
 * "N passed, N failed" and exits non-zero on a failure. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smpp_gsm.h"
#include "smpp_pdu.h"

#include "check.h"

static smpp_buf buf, buf2;

/* The default table of 23.038 section 6.2.1, written out independently of
 * the one in smpp_gsm.c (checked against the Unicode names of the ETSI table). */
static const char *const gsm_default[128] = {
    "@", "£", "$", "¥", "è", "é", "ù", "ì", "ò", "Ç", "\n", "Ø", "ø", "\r", "Å", "å",
    "Δ", "_", "Φ", "Γ", "Λ", "Ω", "Π", "Ψ", "Σ", "Θ", "Ξ", NULL, "Æ", "æ", "ß", "É",
    " ", "!", "\"", "#", "¤", "%", "&", "'", "(", ")", "*", "+", ",", "-", ".", "/",
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", ":", ";", "<", "=", ">", "?",
    "¡", "A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "O",
    "P", "Q", "R", "S", "T", "U", "V", "W", "X", "Y", "Z", "Ä", "Ö", "Ñ", "Ü", "§",
    "¿", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o",
    "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z", "ä", "ö", "ñ", "ü", "à",
};

/* The extension table, 23.038 section 6.2.1.1. */
static const struct {
    uint8_t code;
    const char *utf8;
} gsm_ext[10] = {
    {0x0A, "\f"}, {0x14, "^"}, {0x28, "{"}, {0x29, "}"}, {0x2F, "\\"},
    {0x3C, "["},  {0x3D, "~"}, {0x3E, "]"}, {0x40, "|"}, {0x65, "€"},
};

static void hex(const char *what, const uint8_t *p, size_t n)
{
    size_t i;
    fprintf(stderr, "  %s:", what);
    for (i = 0; i < n; i++)
        fprintf(stderr, " %02X", p[i]);
    fputc('\n', stderr);
}

static int same(const uint8_t *a, size_t an, const void *b, size_t bn)
{
    return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

/* UTF-8 of a code point (no checks: the test only asks for valid ones). */
static size_t put_utf8(uint8_t *p, uint32_t cp)
{
    if (cp < 0x80) {
        p[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        p[0] = (uint8_t)(0xC0 | cp >> 6);
        p[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        p[0] = (uint8_t)(0xE0 | cp >> 12);
        p[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
        p[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    p[0] = (uint8_t)(0xF0 | cp >> 18);
    p[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
    p[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
    p[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/* A heap copy of exactly n octets, so that ASan sees a read past the end. */
static uint8_t *exact_copy(const char *s, size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    if (p == NULL) {
        fputs("test_gsm: out of memory\n", stderr);
        exit(2);
    }
    memcpy(p, s, n);
    return p;
}

/* UTF-8 text (n octets) must give exactly the septets want (wn of them) in
 * mode, appended after what buf holds, and smpp_gsm_count must agree. */
static void enc_ok(const char *s, size_t n, int mode, const char *want, size_t wn, int line)
{
    static const char pre[] = "pre";
    uint8_t *in = exact_copy(s, n);
    size_t bad = 12345, count = 0;
    int rc;

    buf.len = 0;
    smpp_buf_append(&buf, pre, 3);
    rc = smpp_gsm_from_utf8(in, n, mode, &buf, &bad);
    CHECK(rc == 0 && bad == 12345, "line %d: from_utf8(\"%s\", %d) = %d, bad %zu", line, s,
          mode, rc, bad);
    if (rc != 0) {
        free(in);
        return;
    }
    CHECK(memcmp(buf.data, pre, 3) == 0, "line %d: the octets already there changed", line);
    if (!same(buf.data + 3, buf.len - 3, want, wn)) {
        CHECK(0, "line %d: from_utf8(\"%s\", %d): wrong septets", line, s, mode);
        hex("got ", buf.data + 3, buf.len - 3);
        hex("want", (const uint8_t *)want, wn);
    } else {
        passed++;
    }
    rc = smpp_gsm_count(in, n, mode, &count, &bad);
    CHECK(rc == 0 && count == wn, "line %d: count(\"%s\", %d) = %d, %zu septets, not %zu",
          line, s, mode, rc, count, wn);
    free(in);
}

/* Septets (n of them) must decode to the UTF-8 want. */
static void dec_ok(const char *septets, size_t n, const char *want, int line)
{
    uint8_t *in = exact_copy(septets, n);
    int rc;

    buf.len = 0;
    smpp_buf_append(&buf, "pre", 3);
    rc = smpp_gsm_to_utf8(in, n, &buf);
    free(in);
    CHECK(rc == 0, "line %d: to_utf8 = %d", line, rc);
    if (!same(buf.data + 3, buf.len - 3, want, strlen(want)) || memcmp(buf.data, "pre", 3)) {
        CHECK(0, "line %d: to_utf8 gave \"%.*s\", not \"%s\"", line, (int)(buf.len - 3),
              (const char *)buf.data + 3, want);
        hex("septets", (const uint8_t *)septets, n);
    } else {
        passed++;
    }
}

/* The text must fail with SMPP_ETEXT at offset want_bad in mode, leave the
 * buffer as it was, and make smpp_gsm_count fail alike. */
static void enc_fails(const char *s, size_t n, int mode, size_t want_bad, int line)
{
    uint8_t *in = exact_copy(s, n);
    size_t bad = 12345, count = 999;
    int rc;

    buf.len = 0;
    smpp_buf_append(&buf, "pre", 3);
    rc = smpp_gsm_from_utf8(in, n, mode, &buf, &bad);
    CHECK(rc == SMPP_ETEXT && bad == want_bad,
          "line %d: from_utf8(mode %d) = %d, bad %zu; want SMPP_ETEXT, bad %zu", line, mode,
          rc, bad, want_bad);
    CHECK(buf.len == 3 && memcmp(buf.data, "pre", 3) == 0,
          "line %d: a failed from_utf8 left %zu octets", line, buf.len);
    bad = 12345;
    rc = smpp_gsm_count(in, n, mode, &count, &bad);
    CHECK(rc == SMPP_ETEXT && bad == want_bad && count == 999,
          "line %d: count(mode %d) = %d, bad %zu, septets %zu", line, mode, rc, bad, count);
    free(in);
}

#define ENC(s, mode, want) enc_ok(s, sizeof s - 1, mode, want, sizeof want - 1, __LINE__)
#define DEC(septets, want) dec_ok(septets, sizeof septets - 1, want, __LINE__)
#define FAILS(s, mode, at) enc_fails(s, sizeof s - 1, mode, at, __LINE__)
/* Invalid UTF-8 fails in both modes at the same offset. */
#define INVALID(s, at)                                                                        \
    do {                                                                                      \
        FAILS(s, SMPP_GSM_STRICT, at);                                                        \
        FAILS(s, SMPP_GSM_SUBSTITUTE, at);                                                    \
    } while (0)

static void test_default_table(void)
{
    unsigned c;
    char septet[2];

    for (c = 0; c < 128; c++) {
        const char *u = gsm_default[c];
        if (u == NULL)
            continue;
        septet[0] = (char)c;
        enc_ok(u, strlen(u), SMPP_GSM_STRICT, septet, 1, __LINE__);
        enc_ok(u, strlen(u), SMPP_GSM_SUBSTITUTE, septet, 1, __LINE__);
        dec_ok(septet, 1, u, __LINE__);
        septet[0] = (char)(c | 0x80); /* taken modulo 0x80 */
        dec_ok(septet, 1, u, __LINE__);
    }
}

static void test_extension_table(void)
{
    size_t i;
    char septets[2];

    for (i = 0; i < 10; i++) {
        const char *u = gsm_ext[i].utf8;
        septets[0] = SMPP_GSM_ESC;
        septets[1] = (char)gsm_ext[i].code;
        enc_ok(u, strlen(u), SMPP_GSM_STRICT, septets, 2, __LINE__);
        enc_ok(u, strlen(u), SMPP_GSM_SUBSTITUTE, septets, 2, __LINE__);
        dec_ok(septets, 2, u, __LINE__);
    }
}

/* All 137 characters in one text, both ways. */
static void test_whole_alphabet(void)
{
    char text[512], septets[160];
    size_t tn = 0, sn = 0, i;
    unsigned c;

    for (c = 0; c < 128; c++) {
        if (gsm_default[c] == NULL)
            continue;
        memcpy(text + tn, gsm_default[c], strlen(gsm_default[c]));
        tn += strlen(gsm_default[c]);
        septets[sn++] = (char)c;
    }
    for (i = 0; i < 10; i++) {
        memcpy(text + tn, gsm_ext[i].utf8, strlen(gsm_ext[i].utf8));
        tn += strlen(gsm_ext[i].utf8);
        septets[sn++] = SMPP_GSM_ESC;
        septets[sn++] = (char)gsm_ext[i].code;
    }
    text[tn] = '\0';
    CHECK(sn == 147, "137 characters take 147 septets, not %zu", sn);
    enc_ok(text, tn, SMPP_GSM_STRICT, septets, sn, __LINE__);
    dec_ok(septets, sn, text, __LINE__);
}

/* Every code point: strict mode takes exactly the 137 of the tables; the
 * look-alikes of substitute mode are table characters that re-encode to
 * themselves, at most 3 septets, and no more septets than UTF-8 octets x 2. */
static void test_every_code_point(void)
{
    uint32_t cp, first_bad = 0;
    size_t exact = 0, wrong = 0, bad;
    uint8_t u[4];
    size_t un;
    unsigned c;
    size_t i;

    for (cp = 0; cp <= 0x10FFFF; cp++) {
        int in_table = 0, rc;
        if (cp >= 0xD800 && cp <= 0xDFFF)
            continue;
        un = put_utf8(u, cp);
        for (c = 0; c < 128 && !in_table; c++)
            in_table =
                gsm_default[c] != NULL && same(u, un, gsm_default[c], strlen(gsm_default[c]));
        for (i = 0; i < 10 && !in_table; i++)
            in_table = same(u, un, gsm_ext[i].utf8, strlen(gsm_ext[i].utf8));
        buf.len = 0;
        rc = smpp_gsm_from_utf8(u, un, SMPP_GSM_STRICT, &buf, &bad);
        if (rc == 0)
            exact++;
        if ((rc == 0) != in_table || (rc != 0 && (rc != SMPP_ETEXT || bad != 0))) {
            if (wrong++ == 0)
                first_bad = cp;
            continue;
        }
        buf.len = 0;
        rc = smpp_gsm_from_utf8(u, un, SMPP_GSM_SUBSTITUTE, &buf, &bad);
        buf2.len = 0;
        if (rc != 0 || buf.len == 0 || buf.len > 3 || buf.len > 2 * un ||
            smpp_gsm_to_utf8(buf.data, buf.len, &buf2) != 0) {
            if (wrong++ == 0)
                first_bad = cp;
            continue;
        }
        /* The look-alike's UTF-8 must encode strictly to the same septets. */
        {
            size_t n1 = buf.len;
            uint8_t first[3];
            memcpy(first, buf.data, n1);
            buf.len = 0;
            if (smpp_gsm_from_utf8(buf2.data, buf2.len, SMPP_GSM_STRICT, &buf, &bad) != 0 ||
                !same(buf.data, buf.len, first, n1)) {
                if (wrong++ == 0)
                    first_bad = cp;
            }
        }
    }
    CHECK(exact == 137, "strict mode took %zu code points, not the 137 of the tables", exact);
    CHECK(wrong == 0, "%zu code points misbehave, the first U+%04X", wrong, (unsigned)first_bad);
}

static void test_invalid_utf8(void)
{
    /* 😀 is valid UTF-8 but not in the alphabet. */
    FAILS("ab\xF0\x9F\x98\x80", SMPP_GSM_STRICT, 2);
    ENC("ab\xF0\x9F\x98\x80", SMPP_GSM_SUBSTITUTE, "ab?");
    INVALID("a\xFF" "b", 1);
    INVALID("\xFE", 0);
    INVALID("ab\x80", 2);          /* a lone continuation octet */
    INVALID("\xBF" "abc", 0);
    INVALID("x\xC0\x80", 1);       /* overlong NUL */
    INVALID("\xC1\xBF", 0);        /* overlong U+007F */
    INVALID("\xE0\x80\x80", 0);    /* overlong, three octets */
    INVALID("\xE0\x9F\xBF", 0);    /* overlong U+07FF */
    INVALID("\xF0\x80\x80\x80", 0); /* overlong, four octets */
    INVALID("\xF0\x8F\xBF\xBF", 0); /* overlong U+FFFF */
    INVALID("x\xED\xA0\x80", 1);   /* CESU-8 surrogate U+D800 */
    INVALID("\xED\xBF\xBF", 0);    /* U+DFFF */
    INVALID("\xED\xA0\xBD\xED\xB8\x80", 0); /* a surrogate pair (CESU-8 😀) */
    INVALID("\xF4\x90\x80\x80", 0); /* U+110000 */
    INVALID("\xF5\x80\x80\x80", 0);
    INVALID("\xF8\x88\x80\x80\x80", 0); /* old five-octet form */
    INVALID("abc\xE2\x82", 3);     /* cut short at the end */
    INVALID("\xE2\x82" "abc", 0);  /* cut short in the middle */
    INVALID("\xC3", 0);
    INVALID("\xF0\x9F\x98", 0);
    INVALID("\xC3" "A", 0);        /* a continuation octet missing */
    INVALID("\xE2\x28\xA1", 0);
    INVALID("\xE2\x82\x28", 0);
    INVALID("\xF0\x9F\x98\x28", 0);
    /* Strict mode stops at the look-alike, substitute mode at the bad octet. */
    FAILS("ok \xC3\xA1\xFF", SMPP_GSM_STRICT, 3);
    FAILS("ok \xC3\xA1\xFF", SMPP_GSM_SUBSTITUTE, 5);
    INVALID("\x80", 0);
    /* The edges that are valid UTF-8 but not in the alphabet. */
    FAILS("\xC2\x80", SMPP_GSM_STRICT, 0);         /* U+0080 */
    FAILS("\xDF\xBF", SMPP_GSM_STRICT, 0);         /* U+07FF */
    FAILS("\xE0\xA0\x80", SMPP_GSM_STRICT, 0);     /* U+0800 */
    FAILS("\xED\x9F\xBF", SMPP_GSM_STRICT, 0);     /* U+D7FF */
    FAILS("\xEE\x80\x80", SMPP_GSM_STRICT, 0);     /* U+E000 */
    FAILS("\xEF\xBF\xBF", SMPP_GSM_STRICT, 0);     /* U+FFFF */
    FAILS("\xF0\x90\x80\x80", SMPP_GSM_STRICT, 0); /* U+10000 */
    FAILS("\xF4\x8F\xBF\xBF", SMPP_GSM_STRICT, 0); /* U+10FFFF */
    ENC("\xC2\x80\xDF\xBF\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80\xEF\xBF\xBF\xF0\x90\x80\x80"
        "\xF4\x8F\xBF\xBF", SMPP_GSM_SUBSTITUTE, "????????");
    /* ASCII that the alphabet lacks, and the offsets after multi-octet characters. */
    FAILS("`", SMPP_GSM_STRICT, 0);
    FAILS("a\tb", SMPP_GSM_STRICT, 1);
    FAILS("\x7F", SMPP_GSM_STRICT, 0);
    FAILS("a\0b", SMPP_GSM_STRICT, 1);
    FAILS("é€ΔΩá", SMPP_GSM_STRICT, 9);
    FAILS("Ça ç", SMPP_GSM_STRICT, 4);
    FAILS("price: 5\xC2\xA0€", SMPP_GSM_STRICT, 8); /* no-break space */
}

static void test_substitutes(void)
{
    ENC("á â ã ê ë í î ï ó ô õ ú û ý ÿ ç ð", SMPP_GSM_SUBSTITUTE,
        "a a a e e i i i o o o u u y y c d");
    ENC("À Á Â Ã È Ê Ë Ì Í Î Ï Ò Ó Ô Õ Ù Ú Û Ý Ð", SMPP_GSM_SUBSTITUTE,
        "A A A A E E E I I I I O O O O U U U Y D");
    /* The accented letters of the table stay themselves in substitute mode. */
    ENC("à è é ì ò ù ä ö ü ñ Ä Ö Ü Ñ Å å Æ æ ø Ø ß É Ç", SMPP_GSM_SUBSTITUTE,
        "\x7F \x04 \x05 \x07 \x08 \x06 \x7B \x7C \x7E \x7D \x5B \x5C \x5E \x5D \x0E \x0F "
        "\x1C \x1D \x0C \x0B \x1E \x1F \x09");
    ENC("Ça ça", SMPP_GSM_SUBSTITUTE, "\x09" "a ca");
    ENC("‘single’ “double” ‚low„ ‛x‟ «g» 5′ 6″ ‹a›", SMPP_GSM_SUBSTITUTE,
        "'single' \"double\" 'low\" 'x\" \"g\" 5' 6\" <a>");
    ENC("a–b—c‐d‑e‒f―g−h", SMPP_GSM_SUBSTITUTE, "a-b-c-d-e-f-g-h");
    ENC("wait…", SMPP_GSM_SUBSTITUTE, "wait...");
    ENC("a\xC2\xA0" "b\xE2\x80\x89" "c\xE2\x80\xAF" "d\xE3\x80\x80" "e\tf", SMPP_GSM_SUBSTITUTE,
        "a b c d e f");
    ENC("`x´ a·b ¸ ¹²³ 2×3 soft\xC2\xAD" "hyphen a¦b", SMPP_GSM_SUBSTITUTE,
        "'x' a.b , 123 2x3 soft-hyphen a\x1B\x40" "b");
    ENC("Łódź Žluťoučký kůň Ő ő Ű ű ı İ ĸ ſ", SMPP_GSM_SUBSTITUTE,
        "Lodz Zlutoucky kun O o U u i I k s");
    ENC("Œuvre œil Ĳssel ĳ ŉ", SMPP_GSM_SUBSTITUTE, "OEuvre oeil IJssel ij 'n");
    ENC("Ș ș Ț ț Ş ş Ţ ţ", SMPP_GSM_SUBSTITUTE, "S s T t S s T t");
    ENC("ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ", SMPP_GSM_SUBSTITUTE,
        "AB\x13\x10" "EZH\x19" "IK\x14" "MN\x1A" "O\x16" "P\x18" "TY\x12" "X\x17\x15");
    ENC("Ω ∆", SMPP_GSM_SUBSTITUTE, "\x15 \x10"); /* ohm sign, increment */
    ENC("αβγ ж 中 😀 ¢ © ® ° ± µ ¶ ÷ þ Þ \x01", SMPP_GSM_SUBSTITUTE,
        "??? ? ? ? ? ? ? ? ? ? ? ? ? ? ?");
    ENC("€[1]", SMPP_GSM_SUBSTITUTE, "\x1B\x65\x1B\x3C" "1\x1B\x3E");
    /* The look-alikes count as they encode. */
    ENC("…", SMPP_GSM_SUBSTITUTE, "...");
    FAILS("…", SMPP_GSM_STRICT, 0);
    FAILS("a…", SMPP_GSM_STRICT, 1);
}

static void test_decode_escapes(void)
{
    DEC("\x1B\x41", "A");            /* no extension character: the default one */
    DEC("\x1B\x00", "@");
    DEC("\x1B\x0D", "\r");
    DEC("\x1B\x10", "Δ");
    DEC("\x1B\x7F", "à");
    DEC("\x1B", " ");                /* a lone ESC at the end */
    DEC("ab\x1B", "ab ");
    DEC("\x1B\x1B", " ");            /* ESC ESC: reserved, shown as a space */
    DEC("\x1B\x1B" "a", " a");
    DEC("\x1B\x1B\x1B", "  ");
    DEC("\x1B\x1B\x1B\x65", " €");
    DEC("\x9B\xE5", "€");            /* modulo 0x80: ESC 0x65 */
    DEC("\x1B\x8A", "\f");
    DEC("\xC1\xE1", "Aa");
    DEC("\x1B\x3C\x1B\x3E", "[]");
    DEC("", "");
    {
        uint8_t any[1] = {0};
        buf.len = 0;
        CHECK(smpp_gsm_to_utf8(any, 0, &buf) == 0 && buf.len == 0, "nothing to decode");
    }
}

static void test_count(void)
{
    size_t n = 99, bad = 99;

    CHECK(smpp_gsm_count((const uint8_t *)"[]", 2, SMPP_GSM_STRICT, &n, &bad) == 0 && n == 4,
          "\"[]\" takes %zu septets, not 4", n);
    CHECK(smpp_gsm_count((const uint8_t *)"", 0, SMPP_GSM_STRICT, &n, &bad) == 0 && n == 0,
          "\"\" takes %zu septets", n);
    ENC("", SMPP_GSM_STRICT, "");
    ENC("hello", SMPP_GSM_STRICT, "hello");
    ENC("{€}", SMPP_GSM_STRICT, "\x1B\x28\x1B\x65\x1B\x29");
    ENC("a^b|c~d\\e\f", SMPP_GSM_STRICT,
        "a\x1B\x14" "b\x1B\x40" "c\x1B\x3D" "d\x1B\x2F" "e\x1B\x0A");
    ENC("@$_¤¡", SMPP_GSM_STRICT, "\x00\x02\x11\x24\x40");
    ENC("Hi\r\nyou", SMPP_GSM_STRICT, "Hi\r\nyou");
    CHECK(smpp_gsm_count((const uint8_t *)"x", 1, SMPP_GSM_STRICT, &n, NULL) == 0 && n == 1,
          "bad may be NULL");
    buf.len = 0;
    CHECK(smpp_gsm_from_utf8((const uint8_t *)"\xFF", 1, SMPP_GSM_STRICT, &buf, NULL) ==
              SMPP_ETEXT,
          "bad may be NULL on failure");
}

/* Fresh buffers of every size up to 600 octets, filled to their worst case
 * (two septets an octet, two octets a septet), under ASan. */
static void test_buffer_edges(void)
{
    uint8_t in[600];
    size_t n, wrong = 0, first = 0;

    for (n = 1; n <= sizeof in; n++) {
        smpp_buf b;
        int ok;
        smpp_buf_init(&b);
        memset(in, 'a', n);
        ok = smpp_gsm_from_utf8(in, n, SMPP_GSM_STRICT, &b, NULL) == 0 && b.len == n;
        smpp_buf_free(&b);
        memset(in, '[', n);
        ok = ok && smpp_gsm_from_utf8(in, n, SMPP_GSM_STRICT, &b, NULL) == 0 && b.len == 2 * n;
        smpp_buf_free(&b);
        memset(in, 0x10, n); /* Δ */
        ok = ok && smpp_gsm_to_utf8(in, n, &b) == 0 && b.len == 2 * n;
        smpp_buf_free(&b);
        if (!ok && wrong++ == 0)
            first = n;
    }
    CHECK(wrong == 0, "%zu buffer sizes wrong, the first %zu", wrong, first);
}

/* Reference packing, one bit at a time: bit b of the stream is bit b % 8 of
 * octet b / 8, septet k starts at bit fill + 7k (23.038 section 6.1.2.1.1). */
static size_t ref_pack(const uint8_t *s, size_t n, unsigned fill, uint8_t *out)
{
    size_t octets = (fill + 7 * n + 7) / 8, k;
    unsigned j;

    memset(out, 0, octets);
    for (k = 0; k < n; k++)
        for (j = 0; j < 7; j++)
            if (s[k] >> j & 1) {
                size_t b = fill + 7 * k + j;
                out[b / 8] = (uint8_t)(out[b / 8] | 1u << (b % 8));
            }
    return octets;
}

static void pack_ok(const char *septets, size_t n, unsigned fill, const char *want, size_t wn,
                    int line)
{
    uint8_t out[64], back[64];
    size_t on, bn;

    memset(out, 0xEE, sizeof out);
    on = smpp_gsm_pack((const uint8_t *)septets, n, fill, out);
    if (!same(out, on, want, wn)) {
        CHECK(0, "line %d: pack with %u fill bits", line, fill);
        hex("got ", out, on);
        hex("want", (const uint8_t *)want, wn);
    } else {
        passed++;
    }
    CHECK(out[on] == 0xEE, "line %d: pack wrote past %zu octets", line, on);
    bn = smpp_gsm_unpack(out, on, fill, back, n);
    CHECK(same(back, bn, septets, n), "line %d: unpack with %u fill bits gave %zu septets",
          line, fill, bn);
}

#define PACK(septets, fill, want)                                                             \
    pack_ok(septets, sizeof septets - 1, fill, want, sizeof want - 1, __LINE__)

static void test_pack_vectors(void)
{
    uint8_t out[8], back[8];

    /* 23.038 / 23.040: "hellohello" in 9 octets, and after 1-6 fill bits. */
    PACK("hellohello", 0, "\xE8\x32\x9B\xFD\x46\x97\xD9\xEC\x37");
    PACK("hellohello", 1, "\xD0\x65\x36\xFB\x8D\x2E\xB3\xD9\x6F");
    PACK("hellohello", 2, "\xA0\xCB\x6C\xF6\x1B\x5D\x66\xB3\xDF");
    PACK("hellohello", 3, "\x40\x97\xD9\xEC\x37\xBA\xCC\x66\xBF\x01");
    PACK("hellohello", 4, "\x80\x2E\xB3\xD9\x6F\x74\x99\xCD\x7E\x03");
    PACK("hellohello", 5, "\x00\x5D\x66\xB3\xDF\xE8\x32\x9B\xFD\x06");
    PACK("hellohello", 6, "\x00\xBA\xCC\x66\xBF\xD1\x65\x36\xFB\x0D");
    /* The layouts drawn in 23.038 section 6.1.2.1.1, with all-ones characters:
     * 1 in 1 octet, 2 in 2, 3 in 3, 7 in 7 (the last octet 0000000 7a) and 8
     * in 7. */
    PACK("\x7F", 0, "\x7F");
    PACK("\x7F\x7F", 0, "\xFF\x3F");
    PACK("\x7F\x7F\x7F", 0, "\xFF\xFF\x1F");
    PACK("\x7F\x7F\x7F\x7F\x7F\x7F\x7F", 0, "\xFF\xFF\xFF\xFF\xFF\xFF\x01");
    PACK("\x7F\x7F\x7F\x7F\x7F\x7F\x7F\x7F", 0, "\xFF\xFF\xFF\xFF\xFF\xFF\xFF");
    /* Fill bits alone: a UDH of 6 octets needs 1 (concatenation, 23.040 9.2.3.24.1). */
    PACK("", 0, "");
    PACK("", 1, "\x00");
    PACK("\x7F", 1, "\xFE");
    PACK("\x7F", 6, "\xC0\x1F");
    PACK("\x7F\x7F", 2, "\xFC\xFF");
    /* Septets above 0x7F are taken modulo 0x80. */
    CHECK(smpp_gsm_pack((const uint8_t *)"\xFF\x80", 2, 0, out) == 2 && out[0] == 0x7F &&
              out[1] == 0x00,
          "pack masks to 7 bits: %02X %02X", out[0], out[1]);
    /* Fill bits over 6 are refused. */
    CHECK(smpp_gsm_pack((const uint8_t *)"ab", 2, 7, out) == 0, "pack with 7 fill bits");
    CHECK(smpp_gsm_unpack((const uint8_t *)"ab", 2, 7, back, 8) == 0, "unpack, 7 fill bits");
    CHECK(smpp_gsm_unpack(out, 0, 0, back, 8) == 0, "unpack of nothing");
    CHECK(smpp_gsm_unpack((const uint8_t *)"\xE8\x32", 2, 0, back, 0) == 0, "unpack, max 0");
    CHECK(smpp_gsm_unpack((const uint8_t *)"\xE8\x32", 2, 0, back, 1) == 1 && back[0] == 'h',
          "unpack stops at max");
}

/* Septets 7, 15, ...: 7 spare zero bits at the end read back as '@' unless
 * the count is known. SMPP carries no CR padding (23.038 asks it of USSD and
 * CBS only), so the count (UDL) must be passed as max. */
static void test_octet_boundary(void)
{
    uint8_t a[8], b[8], back[16];
    size_t an, bn, k;

    an = smpp_gsm_pack((const uint8_t *)"1234567", 7, 0, a);
    bn = smpp_gsm_pack((const uint8_t *)"1234567\x00", 8, 0, b);
    CHECK(an == 7 && bn == 7 && memcmp(a, b, 7) == 0 && a[6] == 0x00,
          "\"1234567\" and \"1234567@\" pack alike, last octet 0");
    PACK("1234567", 0, "\x31\xD9\x8C\x56\xB3\xDD\x00");
    PACK("12345678", 0, "\x31\xD9\x8C\x56\xB3\xDD\x70");
    k = smpp_gsm_unpack(a, an, 0, back, 7);
    CHECK(k == 7 && memcmp(back, "1234567", 7) == 0, "with the count: 7 septets");
    k = smpp_gsm_unpack(a, an, 0, back, sizeof back);
    CHECK(k == 8 && memcmp(back, "1234567", 7) == 0 && back[7] == 0x00,
          "without it: 8 septets, the last '@' (%zu)", k);
    /* The same with a fill bit: 6 + 8 septets fill 1 + 56 bits, 7 spare. */
    an = smpp_gsm_pack((const uint8_t *)"1234567\x31", 8, 1, a);
    CHECK(an == 8 && a[7] == 0x00, "8 septets after 1 fill bit take 8 octets, last 0");
    k = smpp_gsm_unpack(a, an, 1, back, sizeof back);
    CHECK(k == 9 && back[8] == 0x00, "and read back without a count as 9 septets (%zu)", k);
}

/* Every length 0-200 with every fill bit: the reference packing, the octet
 * count, zero fill bits, and unpacking back. */
static void test_pack_round_trip(void)
{
    uint8_t sept[200], out[200], ref[200], back[240];
    uint32_t seed = 1;
    size_t n, on, rn, k, i, wrong = 0, first_n = 0;
    unsigned f, first_f = 0;

    for (n = 0; n <= 200; n++) {
        for (f = 0; f <= 6; f++) {
            int ok;
            for (i = 0; i < n; i++) {
                seed = seed * 1103515245u + 12345u;
                sept[i] = (uint8_t)(seed >> 16 & 0x7F);
            }
            on = smpp_gsm_pack(sept, n, f, out);
            rn = ref_pack(sept, n, f, ref);
            ok = on == (f + 7 * n + 7) / 8 && same(out, on, ref, rn);
            ok = ok && (on == 0 || (out[0] & ((1u << f) - 1)) == 0);
            k = smpp_gsm_unpack(out, on, f, back, n);
            ok = ok && same(back, k, sept, n);
            k = smpp_gsm_unpack(out, on, f, back, sizeof back);
            ok = ok && k == (on == 0 ? 0 : (8 * on - f) / 7) && k - n <= 1 &&
                 memcmp(back, sept, n) == 0 && (k == n || back[n] == 0);
            if (!ok && wrong++ == 0) {
                first_n = n;
                first_f = f;
            }
        }
    }
    CHECK(wrong == 0, "%zu of 1407 pack round trips wrong, the first %zu septets, %u fill bits",
          wrong, first_n, first_f);
}

int main(void)
{
    smpp_buf_init(&buf);
    smpp_buf_init(&buf2);
    test_default_table();
    test_extension_table();
    test_whole_alphabet();
    test_every_code_point();
    test_invalid_utf8();
    test_substitutes();
    test_decode_escapes();
    test_count();
    test_buffer_edges();
    test_pack_vectors();
    test_octet_boundary();
    test_pack_round_trip();
    smpp_buf_free(&buf);
    smpp_buf_free(&buf2);
    printf("test_gsm: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
