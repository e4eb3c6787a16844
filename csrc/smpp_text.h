/* smpp_text: message text between UTF-8 and the alphabets SMPP data_coding
 * names (3.4 section 5.2.19, 3GPP TS 23.038 section 4), and the user data
 * header of concatenated messages (3GPP TS 23.040 section 9.2.3.24). */
#ifndef SMPP_TEXT_H
#define SMPP_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "smpp_buf.h"
#include "smpp_gsm.h"

typedef enum smpp_alphabet {
    SMPP_A_GSM7,     /* GSM 03.38 default alphabet, one septet per octet */
    SMPP_A_ASCII,    /* IA5 / ASCII (data_coding 1) */
    SMPP_A_LATIN1,   /* ISO-8859-1 (data_coding 3) */
    SMPP_A_UCS2,     /* UCS-2, read and written as UTF-16BE (data_coding 8) */
    SMPP_A_BINARY,   /* 8-bit data (2, 4, and what is not known) */
    SMPP_A_CYRILLIC, /* ISO-8859-5 (6), through iconv */
    SMPP_A_HEBREW,   /* ISO-8859-8 (7), through iconv */
    SMPP_A_JIS,      /* JIS X 0208 (5), through iconv as Shift_JIS */
    SMPP_A_ISO2022JP,/* ISO-2022-JP (0x0A), through iconv */
    SMPP_A_KANJI,    /* JIS X 0212 (0x0D), through iconv as EUC-JP */
    SMPP_A_KSC5601,  /* KS C 5601 (0x0E), through iconv as EUC-KR */
    SMPP_A_COUNT
} smpp_alphabet;

/* The alphabet of a data_coding value; dcs 0 is the account's alphabet
 * (GSM7 or LATIN1). *msg_class is the message class 0-3 when the coding
 * group carries one, else -1. */
smpp_alphabet smpp_dcs_alphabet(uint8_t dcs, smpp_alphabet account, int *msg_class);

/* The data_coding to send an alphabet with (GSM7 is 0: the account's). */
uint8_t smpp_alphabet_dcs(smpp_alphabet a);

/* Appends the UTF-8 text s converted to alphabet a. mode is
 * SMPP_GSM_STRICT or SMPP_GSM_SUBSTITUTE ('?' for what cannot be carried).
 * Invalid UTF-8 is always SMPP_ETEXT; *bad is then the offset in s. */
int smpp_text_encode(smpp_alphabet a, const uint8_t *s, size_t n, int mode, smpp_buf *out,
                     size_t *bad);

/* Appends the UTF-8 of octets in alphabet a. Never fails on content: what
 * cannot be read becomes U+FFFD (BINARY is taken as Latin-1 octets). */
int smpp_text_decode(smpp_alphabet a, const uint8_t *s, size_t n, smpp_buf *out);

/* The next code point of UTF-8 text, strictly (no overlongs, no surrogates,
 * at most U+10FFFF): returns its length in octets, or 0 when s does not
 * start with one. */
size_t smpp_utf8_next(const uint8_t *s, size_t n, uint32_t *cp);

/* The most compact alphabet that carries s without loss: GSM7 if it can,
 * else UCS2 (Latin-1 only when latin1_ok, for accounts whose dcs 0 is it). */
smpp_alphabet smpp_text_best(const uint8_t *s, size_t n, int latin1_ok);

/* Concatenation and port information of a user data header. */
typedef struct smpp_udh {
    size_t length;      /* octets of the header, UDHL octet included */
    int concat;         /* 1 when IEI 0x00 or 0x08 is present */
    uint16_t ref;
    uint8_t ref_bits;   /* 8 or 16 */
    uint8_t total, seq;
    int ports;          /* 1 when IEI 0x04 or 0x05 is present */
    uint16_t src_port, dst_port;
} smpp_udh;

/* Reads the header at the start of a short_message sent with UDHI set.
 * Returns 0, or -1 when the header runs past the message or an element is
 * malformed. */
int smpp_udh_parse(const uint8_t *sm, size_t n, smpp_udh *udh);

#endif
