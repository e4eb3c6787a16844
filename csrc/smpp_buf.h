/* smpp_buf: a growable byte buffer, reused across calls so that the codec does
 * not allocate per PDU (the strbuf idea of lua-cjson). */
#ifndef SMPP_BUF_H
#define SMPP_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct smpp_buf {
    uint8_t *data;
    size_t len; /* octets in use */
    size_t cap; /* octets allocated */
} smpp_buf;

void smpp_buf_init(smpp_buf *b);
void smpp_buf_free(smpp_buf *b);
/* Makes room for n more octets; returns 0, or SMPP_ENOMEM. */
int smpp_buf_reserve(smpp_buf *b, size_t n);
int smpp_buf_append(smpp_buf *b, const void *p, size_t n);
/* Drops the first n octets (what a consumer has taken). */
void smpp_buf_consume(smpp_buf *b, size_t n);

#endif
