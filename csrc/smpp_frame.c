/* smpp_frame: PDU framing by command_length (3.4 section 3.2). */
#include "smpp_frame.h"

#include <stdio.h>

void smpp_framer_init(smpp_framer *f, size_t max_length)
{
    smpp_buf_init(&f->in);
    f->pos = 0;
    f->max_length = max_length ? max_length : SMPP_DEFAULT_MAX_LENGTH;
    f->failed = 0;
    f->reported = 0;
    f->err.status = 0;
    f->err.msg[0] = '\0';
}

void smpp_framer_free(smpp_framer *f)
{
    smpp_buf_free(&f->in);
}

int smpp_framer_feed(smpp_framer *f, const uint8_t *data, size_t len)
{
    if (f->failed)
        return SMPP_EFRAME;
    /* Handed-out PDUs stay valid until this call: only now move the rest down. */
    if (f->pos > 0) {
        smpp_buf_consume(&f->in, f->pos);
        f->pos = 0;
    }
    return smpp_buf_append(&f->in, data, len);
}

int smpp_framer_next(smpp_framer *f, const uint8_t **pdu, size_t *len)
{
    const uint8_t *p;
    size_t avail;
    uint32_t clen;

    if (f->failed) {
        if (f->reported)
            return 0;
        f->reported = 1;
        return SMPP_EFRAME;
    }
    avail = f->in.len - f->pos;
    if (avail < 4)
        return 0;
    p = f->in.data + f->pos;
    clen = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    if (clen < SMPP_HEADER_LEN || clen > f->max_length) {
        f->failed = 1;
        f->reported = 1;
        f->err.status = SMPP_ESME_RINVCMDLEN;
        snprintf(f->err.msg, sizeof f->err.msg, "command_length %u is %s", clen,
                 clen < SMPP_HEADER_LEN ? "under 16" : "over the limit");
        return SMPP_EFRAME;
    }
    if (avail < clen)
        return 0;
    *pdu = p;
    *len = clen;
    f->pos += clen;
    return 1;
}

size_t smpp_framer_buffered(const smpp_framer *f)
{
    return f->in.len - f->pos;
}
