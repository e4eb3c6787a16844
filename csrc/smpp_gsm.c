/* smpp_gsm: the GSM 7-bit default alphabet and extension table of 3GPP TS
 * 23.038 (section 6.2.1) to and from UTF-8, and septet packing with fill bits. */
#include "smpp_gsm.h"

#include "smpp_pdu.h"

/* How a code point is written in septets: up to three septets in the low
 * octets, their count in bits 24-25, and SUB when the septets are only a
 * look-alike (so that strict mode refuses the character). Bits 26-28 are
 * left for the length of the character's UTF-8 (map_utf8).
 *
 * The ASCII character constants below stand for GSM codes: for the letters,
 * digits, space and the punctuation used here ( ! " # % & ' ( ) * + , - . /
 * : ; < = > ? ), the default alphabet has the ASCII code. */
#define SUB 0x80000000u
#define GSM(c) (1u << 24 | (uint32_t)(c))                               /* default table */
#define EXT(c) (2u << 24 | (uint32_t)(c) << 8 | SMPP_GSM_ESC)           /* extension table */
#define SUB1(c) (SUB | GSM(c))                                          /* one look-alike */
#define SUBX(c) (SUB | EXT(c))                                          /* ... from the extension */
#define SUB2(a, b) (SUB | 2u << 24 | (uint32_t)(b) << 8 | (uint32_t)(a)) /* two septets */
#define SUB3(a, b, c) (SUB | 3u << 24 | (uint32_t)(c) << 16 | (uint32_t)(b) << 8 | (uint32_t)(a))
#define NONE SUB1('?') /* not in the alphabet, no look-alike */
#define MAP_LEN(m) ((m) >> 24 & 3u)
#define UTF8_LEN(m) ((m) >> 26 & 7u)

/* SMPP_GSM_SUBSTITUTE mode: the look-alikes (anything not listed is '?').
 *
 *   U+0009 tab, U+00A0 no-break space, U+2000-U+200A spaces,
 *   U+202F narrow no-break space, U+205F, U+3000 ideographic space   -> space
 *   U+0060 ` U+00B4 acute accent, U+2018 U+2019 U+201A U+201B quotes,
 *   U+2032 prime                                                     -> '
 *   U+00AB U+00BB guillemets, U+201C U+201D U+201E U+201F quotes,
 *   U+2033 double prime                                              -> "
 *   U+2039 U+203A                                                    -> < >
 *   U+00AD soft hyphen, U+2010-U+2015 hyphens and dashes, U+2212     -> -
 *   U+2026 ellipsis                                                  -> ... (3 septets)
 *   U+00B7 middle dot, U+2024 one dot leader                         -> .
 *   U+00B8 cedilla                                                   -> ,
 *   U+00B9 U+00B2 U+00B3 superscript digits                          -> 1 2 3
 *   U+00D7 multiplication sign                                       -> x
 *   U+00A6 broken bar                                                -> | (ESC 0x40)
 *   Latin-1 letters not in the table, to their base letter, case kept:
 *     À Á Â Ã -> A   È Ê Ë -> E   Ì Í Î Ï -> I   Ò Ó Ô Õ -> O   Ù Ú Û -> U
 *     Ý -> Y   Ð -> D   á â ã -> a   ç -> c   ê ë -> e   í î ï -> i
 *     ó ô õ -> o   ú û -> u   ý ÿ -> y   ð -> d
 *     (Ç, É and à è é ì ò ù ä ö ü ñ Ä Ö Ü Ñ Å å Æ æ Ø ø ß are in the table.)
 *   U+0100-U+017F Latin Extended-A to the base letter (Ą -> A, ł -> l, ő -> o,
 *     ž -> z, İ -> I, ı -> i, ĸ -> k, ſ -> s), with Ĳ ĳ -> IJ ij,
 *     Œ œ -> OE oe, ŉ -> 'n; U+0218-U+021B Ș ș Ț ț -> S s T t
 *   Greek capitals that look Latin: Α Β Ε Ζ Η Ι Κ Μ Ν Ο Ρ Τ Υ Χ
 *     -> A B E Z H I K M N O P T Y X; U+2126 ohm sign -> Ω, U+2206 -> Δ
 *   Everything else (controls, other scripts, emoji, ...)            -> ?
 */

/* U+0000-U+00FF. */
static const uint32_t latin1[256] = {
    /* U+0000: controls; tab is a space, LF and CR are in the table, FF is ESC 0x0A */
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE,
    NONE, SUB1(' '), GSM(0x0A), NONE, EXT(0x0A), GSM(0x0D), NONE, NONE,
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE,
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE,
    /* U+0020: space ! " # $ % & ' ( ) * + , - . / */
    GSM(' '), GSM('!'), GSM('"'), GSM('#'), GSM(0x02), GSM('%'), GSM('&'), GSM('\''),
    GSM('('), GSM(')'), GSM('*'), GSM('+'), GSM(','), GSM('-'), GSM('.'), GSM('/'),
    /* U+0030: digits : ; < = > ? */
    GSM('0'), GSM('1'), GSM('2'), GSM('3'), GSM('4'), GSM('5'), GSM('6'), GSM('7'),
    GSM('8'), GSM('9'), GSM(':'), GSM(';'), GSM('<'), GSM('='), GSM('>'), GSM('?'),
    /* U+0040: @ A-Z [ \ ] ^ _ */
    GSM(0x00), GSM('A'), GSM('B'), GSM('C'), GSM('D'), GSM('E'), GSM('F'), GSM('G'),
    GSM('H'), GSM('I'), GSM('J'), GSM('K'), GSM('L'), GSM('M'), GSM('N'), GSM('O'),
    GSM('P'), GSM('Q'), GSM('R'), GSM('S'), GSM('T'), GSM('U'), GSM('V'), GSM('W'),
    GSM('X'), GSM('Y'), GSM('Z'), EXT(0x3C), EXT(0x2F), EXT(0x3E), EXT(0x14), GSM(0x11),
    /* U+0060: ` a-z { | } ~ DEL */
    SUB1('\''), GSM('a'), GSM('b'), GSM('c'), GSM('d'), GSM('e'), GSM('f'), GSM('g'),
    GSM('h'), GSM('i'), GSM('j'), GSM('k'), GSM('l'), GSM('m'), GSM('n'), GSM('o'),
    GSM('p'), GSM('q'), GSM('r'), GSM('s'), GSM('t'), GSM('u'), GSM('v'), GSM('w'),
    GSM('x'), GSM('y'), GSM('z'), EXT(0x28), EXT(0x40), EXT(0x29), EXT(0x3D), NONE,
    /* U+0080: C1 controls */
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE,
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE,
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE,
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE,
    /* U+00A0: nbsp ¡ ¢ £ ¤ ¥ ¦ §  ¨ © ª « ¬ shy ® ¯ */
    SUB1(' '), GSM(0x40), NONE, GSM(0x01), GSM(0x24), GSM(0x03), SUBX(0x40), GSM(0x5F),
    NONE, NONE, NONE, SUB1('"'), NONE, SUB1('-'), NONE, NONE,
    /* U+00B0: ° ± ² ³ ´ µ ¶ ·  ¸ ¹ º » ¼ ½ ¾ ¿ */
    NONE, NONE, SUB1('2'), SUB1('3'), SUB1('\''), NONE, NONE, SUB1('.'),
    SUB1(','), SUB1('1'), NONE, SUB1('"'), NONE, NONE, NONE, GSM(0x60),
    /* U+00C0: À Á Â Ã Ä Å Æ Ç  È É Ê Ë Ì Í Î Ï */
    SUB1('A'), SUB1('A'), SUB1('A'), SUB1('A'), GSM(0x5B), GSM(0x0E), GSM(0x1C), GSM(0x09),
    SUB1('E'), GSM(0x1F), SUB1('E'), SUB1('E'), SUB1('I'), SUB1('I'), SUB1('I'), SUB1('I'),
    /* U+00D0: Ð Ñ Ò Ó Ô Õ Ö ×  Ø Ù Ú Û Ü Ý Þ ß */
    SUB1('D'), GSM(0x5D), SUB1('O'), SUB1('O'), SUB1('O'), SUB1('O'), GSM(0x5C), SUB1('x'),
    GSM(0x0B), SUB1('U'), SUB1('U'), SUB1('U'), GSM(0x5E), SUB1('Y'), NONE, GSM(0x1E),
    /* U+00E0: à á â ã ä å æ ç  è é ê ë ì í î ï */
    GSM(0x7F), SUB1('a'), SUB1('a'), SUB1('a'), GSM(0x7B), GSM(0x0F), GSM(0x1D), SUB1('c'),
    GSM(0x04), GSM(0x05), SUB1('e'), SUB1('e'), GSM(0x07), SUB1('i'), SUB1('i'), SUB1('i'),
    /* U+00F0: ð ñ ò ó ô õ ö ÷  ø ù ú û ü ý þ ÿ */
    SUB1('d'), GSM(0x7D), GSM(0x08), SUB1('o'), SUB1('o'), SUB1('o'), GSM(0x7C), NONE,
    GSM(0x0C), GSM(0x06), SUB1('u'), SUB1('u'), GSM(0x7E), SUB1('y'), NONE, SUB1('y'),
};

/* U+0100-U+017F (Latin Extended-A): the base letter, in code point order;
 * '*' marks the five that take two septets (see map_high). */
static const char latin_ext_a[129] = "AaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGg"
                                     "GgGgHhHhIiIiIiIiIi**JjKkkLlLlLlL"
                                     "lLlNnNnNn*NnOoOoOo**RrRrRrSsSsSs"
                                     "SsTtTtTtUuUuUuUuUuUuWwYyYZzZzZzs";

/* Code points from U+0100 on. */
static uint32_t map_high(uint32_t cp)
{
    switch (cp) {
    case 0x0132: return SUB2('I', 'J');
    case 0x0133: return SUB2('i', 'j');
    case 0x0149: return SUB2('\'', 'n');
    case 0x0152: return SUB2('O', 'E');
    case 0x0153: return SUB2('o', 'e');
    case 0x0218: return SUB1('S');
    case 0x0219: return SUB1('s');
    case 0x021A: return SUB1('T');
    case 0x021B: return SUB1('t');
    /* The Greek capitals of the default table. */
    case 0x0393: return GSM(0x13); /* Γ */
    case 0x0394: return GSM(0x10); /* Δ */
    case 0x0398: return GSM(0x19); /* Θ */
    case 0x039B: return GSM(0x14); /* Λ */
    case 0x039E: return GSM(0x1A); /* Ξ */
    case 0x03A0: return GSM(0x16); /* Π */
    case 0x03A3: return GSM(0x18); /* Σ */
    case 0x03A6: return GSM(0x12); /* Φ */
    case 0x03A8: return GSM(0x17); /* Ψ */
    case 0x03A9: return GSM(0x15); /* Ω */
    /* Greek capitals drawn like Latin ones. */
    case 0x0391: return SUB1('A');
    case 0x0392: return SUB1('B');
    case 0x0395: return SUB1('E');
    case 0x0396: return SUB1('Z');
    case 0x0397: return SUB1('H');
    case 0x0399: return SUB1('I');
    case 0x039A: return SUB1('K');
    case 0x039C: return SUB1('M');
    case 0x039D: return SUB1('N');
    case 0x039F: return SUB1('O');
    case 0x03A1: return SUB1('P');
    case 0x03A4: return SUB1('T');
    case 0x03A5: return SUB1('Y');
    case 0x03A7: return SUB1('X');
    case 0x2126: return SUB1(0x15); /* ohm sign: Ω */
    case 0x2206: return SUB1(0x10); /* increment: Δ */
    case 0x2000: case 0x2001: case 0x2002: case 0x2003: case 0x2004: case 0x2005:
    case 0x2006: case 0x2007: case 0x2008: case 0x2009: case 0x200A: case 0x202F:
    case 0x205F: case 0x3000: return SUB1(' ');
    case 0x2010: case 0x2011: case 0x2012: case 0x2013: case 0x2014: case 0x2015:
    case 0x2212: return SUB1('-');
    case 0x2018: case 0x2019: case 0x201A: case 0x201B: case 0x2032: return SUB1('\'');
    case 0x201C: case 0x201D: case 0x201E: case 0x201F: case 0x2033: return SUB1('"');
    case 0x2024: return SUB1('.');
    case 0x2026: return SUB3('.', '.', '.');
    case 0x2039: return SUB1('<');
    case 0x203A: return SUB1('>');
    case 0x20AC: return EXT(0x65); /* € */
    default: return cp < 0x180 ? SUB1(latin_ext_a[cp - 0x100]) : NONE;
    }
}

/* The septets of the multi-octet UTF-8 character at s (avail octets from
 * there), with the length of its UTF-8 in bits 26-28; 0 when s does not start
 * a well-formed sequence. Only those of Unicode section 3.9 (table 3-7) pass:
 * no overlong forms (C0, C1, E0 80-9F, F0 80-8F), no surrogates (ED A0-BF),
 * nothing above U+10FFFF (F4 90-BF, F5-FF), no stray continuation octet and
 * no sequence cut short. */
static uint32_t map_utf8(const uint8_t *s, size_t avail)
{
    uint32_t c = s[0], cp;
    uint8_t lo = 0x80, hi = 0xBF; /* the range of the second octet */
    size_t len, k;

    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if (avail < len || s[1] < lo || s[1] > hi)
        return 0;
    cp = cp << 6 | (s[1] & 0x3Fu);
    for (k = 2; k < len; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[k] & 0x3Fu);
    }
    return (cp < 0x100 ? latin1[cp] : map_high(cp)) | (uint32_t)len << 26;
}

/* The mapping of the character at s and its length in octets. ASCII, the
 * hot path, steps by one: the next position does not wait for the lookup. */
static uint32_t next_map(const uint8_t *s, size_t n, size_t *step)
{
    uint32_t m;
    if (s[0] < 0x80) {
        *step = 1;
        return latin1[s[0]];
    }
    m = map_utf8(s, n);
    *step = UTF8_LEN(m);
    return m;
}

int smpp_gsm_from_utf8(const uint8_t *s, size_t n, int mode, smpp_buf *out, size_t *bad)
{
    size_t i = 0, step;
    uint32_t m;
    uint8_t *p;

    if (n == 0)
        return 0;
    /* At most two septets per octet of UTF-8 ('[' is ESC <; a look-alike of
     * k septets comes from at least k octets), and 2 octets of slack since
     * every character stores three. */
    if (n > SIZE_MAX / 4 || smpp_buf_reserve(out, 2 * n + 2) != 0)
        return SMPP_ENOMEM;
    p = out->data + out->len;
    while (i < n) {
        m = next_map(s + i, n - i, &step);
        if (m == 0 || ((m & SUB) && mode != SMPP_GSM_SUBSTITUTE)) {
            if (bad != NULL)
                *bad = i;
            return SMPP_ETEXT;
        }
        p[0] = (uint8_t)m;
        p[1] = (uint8_t)(m >> 8);
        p[2] = (uint8_t)(m >> 16);
        p += MAP_LEN(m);
        i += step;
    }
    out->len = (size_t)(p - out->data);
    return 0;
}

int smpp_gsm_count(const uint8_t *s, size_t n, int mode, size_t *septets, size_t *bad)
{
    size_t i = 0, step, total = 0;
    uint32_t m;

    while (i < n) {
        m = next_map(s + i, n - i, &step);
        if (m == 0 || ((m & SUB) && mode != SMPP_GSM_SUBSTITUTE)) {
            if (bad != NULL)
                *bad = i;
            return SMPP_ETEXT;
        }
        total += MAP_LEN(m);
        i += step;
    }
    *septets = total;
    return 0;
}

/* The default table, 23.038 section 6.2.1, as code points. 0x1B is ESC, read
 * apart; it stays here as the space that stands for a lone ESC at the end and
 * for ESC ESC, which section 6.2.1.1 reserves for a further extension table
 * and has shown as a space. */
static const uint16_t gsm_ucs[128] = {
    0x0040, 0x00A3, 0x0024, 0x00A5, 0x00E8, 0x00E9, 0x00F9, 0x00EC, /* @ £ $ ¥ è é ù ì */
    0x00F2, 0x00C7, 0x000A, 0x00D8, 0x00F8, 0x000D, 0x00C5, 0x00E5, /* ò Ç LF Ø ø CR Å å */
    0x0394, 0x005F, 0x03A6, 0x0393, 0x039B, 0x03A9, 0x03A0, 0x03A8, /* Δ _ Φ Γ Λ Ω Π Ψ */
    0x03A3, 0x0398, 0x039E, 0x0020, 0x00C6, 0x00E6, 0x00DF, 0x00C9, /* Σ Θ Ξ ESC Æ æ ß É */
    0x0020, 0x0021, 0x0022, 0x0023, 0x00A4, 0x0025, 0x0026, 0x0027, /* space ! " # ¤ % & ' */
    0x0028, 0x0029, 0x002A, 0x002B, 0x002C, 0x002D, 0x002E, 0x002F, /* ( ) * + , - . / */
    0x0030, 0x0031, 0x0032, 0x0033, 0x0034, 0x0035, 0x0036, 0x0037, /* 0-7 */
    0x0038, 0x0039, 0x003A, 0x003B, 0x003C, 0x003D, 0x003E, 0x003F, /* 8 9 : ; < = > ? */
    0x00A1, 0x0041, 0x0042, 0x0043, 0x0044, 0x0045, 0x0046, 0x0047, /* ¡ A-G */
    0x0048, 0x0049, 0x004A, 0x004B, 0x004C, 0x004D, 0x004E, 0x004F, /* H-O */
    0x0050, 0x0051, 0x0052, 0x0053, 0x0054, 0x0055, 0x0056, 0x0057, /* P-W */
    0x0058, 0x0059, 0x005A, 0x00C4, 0x00D6, 0x00D1, 0x00DC, 0x00A7, /* X Y Z Ä Ö Ñ Ü § */
    0x00BF, 0x0061, 0x0062, 0x0063, 0x0064, 0x0065, 0x0066, 0x0067, /* ¿ a-g */
    0x0068, 0x0069, 0x006A, 0x006B, 0x006C, 0x006D, 0x006E, 0x006F, /* h-o */
    0x0070, 0x0071, 0x0072, 0x0073, 0x0074, 0x0075, 0x0076, 0x0077, /* p-w */
    0x0078, 0x0079, 0x007A, 0x00E4, 0x00F6, 0x00F1, 0x00FC, 0x00E0, /* x y z ä ö ñ ü à */
};

/* The extension table, 23.038 section 6.2.1.1; 0 where it has no character. */
static uint32_t ext_ucs(uint8_t c)
{
    switch (c) {
    case 0x0A: return 0x000C; /* form feed */
    case 0x14: return 0x005E; /* ^ */
    case 0x28: return 0x007B; /* { */
    case 0x29: return 0x007D; /* } */
    case 0x2F: return 0x005C; /* \ */
    case 0x3C: return 0x005B; /* [ */
    case 0x3D: return 0x007E; /* ~ */
    case 0x3E: return 0x005D; /* ] */
    case 0x40: return 0x007C; /* | */
    case 0x65: return 0x20AC; /* € */
    default: return 0;
    }
}

int smpp_gsm_to_utf8(const uint8_t *septets, size_t n, smpp_buf *out)
{
    size_t i;
    uint32_t cp;
    uint8_t c, *p;

    if (n == 0)
        return 0;
    /* At most two octets per septet: every default character is below U+0800,
     * and € (three octets) takes two septets. */
    if (n > SIZE_MAX / 4 || smpp_buf_reserve(out, 2 * n) != 0)
        return SMPP_ENOMEM;
    p = out->data + out->len;
    for (i = 0; i < n; i++) {
        c = septets[i] & 0x7F;
        if (c == SMPP_GSM_ESC && i + 1 < n) {
            c = septets[++i] & 0x7F;
            /* No extension character: the default one (23.038 section 6.2.1.1). */
            cp = ext_ucs(c);
            if (cp == 0)
                cp = gsm_ucs[c];
        } else {
            cp = gsm_ucs[c];
        }
        if (cp < 0x80) {
            *p++ = (uint8_t)cp;
        } else if (cp < 0x800) {
            *p++ = (uint8_t)(0xC0 | cp >> 6);
            *p++ = (uint8_t)(0x80 | (cp & 0x3F));
        } else {
            *p++ = (uint8_t)(0xE0 | cp >> 12);
            *p++ = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
            *p++ = (uint8_t)(0x80 | (cp & 0x3F));
        }
    }
    out->len = (size_t)(p - out->data);
    return 0;
}

/* Septet k takes bits fill_bits + 7k to fill_bits + 7k + 6 of the octet
 * string, counting from bit 0 of the first octet up (23.038 section
 * 6.1.2.1.1); the fill bits and the spare bits of the last octet are 0. */
size_t smpp_gsm_pack(const uint8_t *septets, size_t n, unsigned fill_bits, uint8_t *out)
{
    uint32_t acc = 0;
    unsigned bits = fill_bits;
    size_t i, o = 0;

    if (fill_bits > 6)
        return 0;
    for (i = 0; i < n; i++) {
        acc |= (uint32_t)(septets[i] & 0x7F) << bits;
        bits += 7;
        if (bits >= 8) {
            out[o++] = (uint8_t)acc;
            acc >>= 8;
            bits -= 8;
        }
    }
    if (bits > 0)
        out[o++] = (uint8_t)acc;
    return o;
}

size_t smpp_gsm_unpack(const uint8_t *octets, size_t n, unsigned fill_bits, uint8_t *out,
                       size_t max)
{
    uint32_t acc;
    unsigned bits;
    size_t i, k = 0;

    if (fill_bits > 6 || n == 0)
        return 0;
    acc = octets[0] >> fill_bits;
    bits = 8 - fill_bits;
    for (i = 1;; i++) {
        while (bits >= 7 && k < max) {
            out[k++] = (uint8_t)(acc & 0x7F);
            acc >>= 7;
            bits -= 7;
        }
        if (i == n || k == max)
            return k;
        acc |= (uint32_t)octets[i] << bits;
        bits += 8;
    }
}
