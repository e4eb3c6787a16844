/* smpp_receipt: delivery receipt text (SMPP 3.4 appendix B) and the
 * variants SMSCs send, parsed without allocating. */
#ifndef SMPP_RECEIPT_H
#define SMPP_RECEIPT_H

#include <stddef.h>
#include <stdint.h>

typedef struct smpp_span {
    const uint8_t *ptr; /* into the parsed text; NULL when absent */
    size_t len;
} smpp_span;

/* A date of the receipt: YYMMDDhhmm or YYMMDDhhmmss (year 2000 + YY), or
 * YYYYMMDDhhmmss as some SMSCs write it. present only for a real date and
 * time ("0000000000" is absent); second is 0 for YYMMDDhhmm. */
typedef struct smpp_receipt_date {
    int present;
    int year, month, day, hour, minute, second;
} smpp_receipt_date;

typedef struct smpp_receipt {
    smpp_span id, sub, dlvr, stat, err, text;
    smpp_receipt_date submit_date, done_date;
} smpp_receipt;

/* Parses "id:... sub:... dlvr:... submit date:... done date:... stat:...
 * err:... text:..." and its variants: keys in any case, in any order,
 * "submit_date"/"done_date", dates with seconds, missing or extra fields.
 * text runs to the end. Returns 0 when at least id or stat was found, -1 when
 * the text does not look like a receipt at all.
 * In detail: the text must start with a key ("word:"); a key starts the text
 * or follows a blank. A value runs from its key to the next key, blanks
 * trimmed, empty when two keys meet (a span of length 0; absent fields are
 * {NULL, 0}). "dlvrd:" and "dlvr:" both give dlvr. Vendor keys ("IMSI:")
 * end the value before them and are skipped; of a repeated key the first
 * counts. text runs to the end, except when what follows it is nothing but
 * keys of the receipt not seen yet, each with a one-word value of their kind
 * ("... text: stat:DELIVRD"). */
int smpp_receipt_parse(const uint8_t *s, size_t n, smpp_receipt *r);

/* Message ids as SMSCs write them: the same id may come in hex in
 * submit_sm_resp and in decimal in the receipt ("38601fa", "0059113978"),
 * with leading zeros, or in another case. The rule, in three functions:
 *  - the key of an id: the id in ASCII lower case without its leading zeros,
 *    "0" for an id of zeros only ("" stays ""). A key is never longer than
 *    its id.
 *  - the keys of an id, every form under which the same message may be kept:
 *    its key; when it reads as hex (1-16 hex digits after its leading zeros)
 *    the decimal of that value; when it reads as decimal (digits only, the
 *    value below 2^64) the lower-case hex of that value. Each in the form of
 *    a key, none twice: "9" has the one key "9", "10" has "10", "16" (10
 *    read as hex) and "a" (10 read as decimal), "ffffffffffffffff" has
 *    "18446744073709551615" too. An id of more hex digits, a decimal of 2^64
 *    and above, or an id of other characters ("74e02ee1-4e2f") has its key
 *    alone. Arithmetic on 64-bit unsigned integers, exact.
 *  - two ids name the same message when the key of one is among the keys of
 *    the other. That holds both ways round or neither (the rule is
 *    symmetric): the ids are equal but for case and leading zeros, or one is
 *    the decimal and the other the hex of the same 64-bit value. So a sender
 *    that keeps each message under its key finds it by trying the keys of a
 *    receipt's id. Two ids that only share a third form are not the same:
 *    "a" and "16" both have the key "10", but "a" is 10 and "16" is 0x10. */

/* The key of id[0..n) written to out (room for n octets), its length returned. */
size_t smpp_receipt_id_key(const uint8_t *id, size_t n, uint8_t *out);

/* The most keys an id has, and the room smpp_receipt_id_keys needs for those
 * of an id of n octets: the key (n), a decimal (20) and a hex (16) form. */
#define SMPP_RECEIPT_ID_KEYS 3
#define SMPP_RECEIPT_ID_KEYS_ROOM(n) ((n) + 36)

/* The keys of id[0..n), written to out (SMPP_RECEIPT_ID_KEYS_ROOM(n) octets)
 * and given as spans into it, keys[0] the key of the id. Returns how many
 * (1 to SMPP_RECEIPT_ID_KEYS). */
int smpp_receipt_id_keys(const uint8_t *id, size_t n, uint8_t *out,
                         smpp_span keys[SMPP_RECEIPT_ID_KEYS]);

/* 1 when a and b name the same message (the rule above), else 0. Works in
 * place: allocates nothing, whatever the ids' length. */
int smpp_receipt_same_id(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/* message_state (5.2.28) and the stat words of receipts: the word of a
 * state 1-8 (NULL for another), and the state of a word in any case (0 for
 * one that names none). */
const char *smpp_receipt_state_name(int state);
int smpp_receipt_state(const uint8_t *word, size_t len);

/* What a receipt says of a message: NUL-terminated strings (dates
 * "YYMMDDhhmm"). */
typedef struct smpp_receipt_info {
    const char *id, *stat, *err, *submit_date, *done_date;
} smpp_receipt_info;

struct smpp_pdu;
struct smpp_buf;

/* Makes in *deliver the deliver_sm that reports on a decoded submit
 * (submit_sm, data_sm or submit_multi) the way SMSCs write receipts (3.4
 * appendix B): from the submit's destination_addr to its source_addr (TON
 * and NPI too), esm_class 0x04, data_coding 0 as GSM 03.38 (look-alikes for
 * what it lacks), short_message "id:ID sub:001 dlvrd:001|000 submit date:D
 * done date:D stat:STAT err:ERR text:T" (T the first 20 characters of the
 * message's text; dlvrd 001 for DELIVRD), and the TLVs receipted_message_id
 * and message_state (of stat; 7 UNKNOWN for a word it does not know).
 * deliver's strings point into submit, info and text (the buffer the
 * short_message is made in: it must outlive deliver); scratch is room to
 * work in (both kept by the caller, so that no call allocates). Returns 0, or
 * SMPP_ENOMEM, or SMPP_EENCODE when the text would be over 254 octets or
 * info's strings are not UTF-8. */
int smpp_receipt_for(const struct smpp_pdu *submit, const smpp_receipt_info *info,
                     struct smpp_pdu *deliver, struct smpp_buf *text, struct smpp_buf *scratch);

#endif
