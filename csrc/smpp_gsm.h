/* smpp_gsm: the GSM 7-bit default alphabet and its extension table
 * (3GPP TS 23.038 section 6.2.1), to and from UTF-8, unpacked (one septet per
 * octet, as SMPP carries it) and packed (septets in octets, with fill bits). */
#ifndef SMPP_GSM_H
#define SMPP_GSM_H

#include <stddef.h>
#include <stdint.h>

#include "smpp_buf.h"
#include "smpp_pdu.h"

#define SMPP_GSM_ESC 0x1B

/* What to do with a character the alphabet cannot carry. */
#define SMPP_GSM_STRICT 0     /* fail with SMPP_ETEXT at its offset */
#define SMPP_GSM_SUBSTITUTE 1 /* a documented look-alike, or '?' */


/* Appends the septets (unpacked, extension characters as ESC + code) of the
 * UTF-8 text s to out; returns 0, SMPP_ETEXT or SMPP_ENOMEM. Invalid UTF-8
 * (overlong forms, surrogates, code points above U+10FFFF, stray or missing
 * continuation octets) fails in both modes. On SMPP_ETEXT, *bad (when bad is
 * not NULL) is the octet offset in s of the offending character or sequence.
 * On failure out->len is unchanged. SMPP_GSM_SUBSTITUTE's look-alikes are
 * listed in smpp_gsm.c. */
int smpp_gsm_from_utf8(const uint8_t *s, size_t n, int mode, smpp_buf *out, size_t *bad);

/* Appends the UTF-8 for n unpacked septets (values above 0x7F are taken
 * modulo 0x80); returns 0 or SMPP_ENOMEM. ESC followed by a code with no
 * extension character gives the default-table character of that code (23.038
 * section 6.2.1.1); ESC ESC and a lone ESC at the end give a space. */
int smpp_gsm_to_utf8(const uint8_t *septets, size_t n, smpp_buf *out);

/* Sets *septets to the septets that smpp_gsm_from_utf8 would append (escapes
 * count 2) and returns 0; or fails as it does, with SMPP_ETEXT and *bad. */
int smpp_gsm_count(const uint8_t *s, size_t n, int mode, size_t *septets, size_t *bad);

/* Packs n septets (values above 0x7F taken modulo 0x80) into octets after
 * fill_bits (0-6) zero bits, as a UDH needs (23.040 section 9.2.3.24); returns
 * the number of octets written to out, which must hold (fill_bits + 7 * n + 7)
 * / 8 octets, or 0 when fill_bits is over 6. Spare bits at the end are 0: 7
 * septets (8k - 1 in general) leave 7 zero bits that read back as an '@', so
 * "1234567" and "1234567@" pack alike. The CR padding that 23.038 section
 * 6.1.2 asks of CBS and USSD is not added: an SMS carries its septet count. */
size_t smpp_gsm_pack(const uint8_t *septets, size_t n, unsigned fill_bits, uint8_t *out);

/* Unpacks up to max septets from n octets, skipping fill_bits (0-6) first;
 * returns the number of septets written to out: min(max, (8 * n - fill_bits)
 * / 7), or 0 when fill_bits is over 6. Pass the septet count (the UDL) as max,
 * or trailing spare bits come out as an extra '@' (see smpp_gsm_pack). */
size_t smpp_gsm_unpack(const uint8_t *octets, size_t n, unsigned fill_bits, uint8_t *out,
                       size_t max);

#endif
