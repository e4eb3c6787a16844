/* smpp_frame: splits a byte stream into whole PDUs, whatever the chunking. */
#ifndef SMPP_FRAME_H
#define SMPP_FRAME_H

#include "smpp_buf.h"
#include "smpp_pdu.h"

typedef struct smpp_framer {
    smpp_buf in;
    size_t pos;        /* start of the first PDU not yet handed out */
    size_t max_length; /* largest command_length accepted */
    int failed;        /* 1 after a framing error: the stream is out of step */
    int reported;      /* the framing error has been returned once */
    smpp_error err;
} smpp_framer;

void smpp_framer_init(smpp_framer *f, size_t max_length);
void smpp_framer_free(smpp_framer *f);

/* Buffers len octets. Returns SMPP_OK, SMPP_ENOMEM, or SMPP_EFRAME when the
 * stream already failed (the octets are dropped). */
int smpp_framer_feed(smpp_framer *f, const uint8_t *data, size_t len);

/* Hands out the next whole PDU: returns 1 with *pdu and *len pointing into the
 * framer (valid until the next feed), 0 when more octets are needed, or
 * SMPP_EFRAME once when command_length is impossible (under 16 or over the
 * limit); f->err then says why and which command_status to answer with. */
int smpp_framer_next(smpp_framer *f, const uint8_t **pdu, size_t *len);

/* Octets buffered and not yet handed out. */
size_t smpp_framer_buffered(const smpp_framer *f);

#endif
