/* smpp_buf: growable byte buffer. */
#include "smpp_buf.h"

#include <stdlib.h>
#include <string.h>

#include "smpp_pdu.h"

void smpp_buf_init(smpp_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void smpp_buf_free(smpp_buf *b)
{
    free(b->data);
    smpp_buf_init(b);
}

int smpp_buf_reserve(smpp_buf *b, size_t n)
{
    size_t want, cap;
    uint8_t *p;

    if (n > SIZE_MAX / 2 - b->len)
        return SMPP_ENOMEM;
    want = b->len + n;
    if (want <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 256;
    while (cap < want)
        cap *= 2;
    p = realloc(b->data, cap);
    if (p == NULL)
        return SMPP_ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int smpp_buf_append(smpp_buf *b, const void *p, size_t n)
{
    int rc = smpp_buf_reserve(b, n);
    if (rc != 0)
        return rc;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

void smpp_buf_consume(smpp_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}
