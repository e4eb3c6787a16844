/* fuzz_framer: libFuzzer target for the stream framer (csrc/smpp_frame.c).
 *
 * Input: [ctl0][ctl1] stream...
 *   ctl0 bits 0-3: chunk size pattern, bits 4-7: max_length choice
 *   ctl1: seed of the chunk sizes for the random patterns
 * The stream is fed in chunks; after each feed every PDU is taken with
 * smpp_framer_next. Properties checked:
 *  - each PDU handed out has command_length (its first 4 octets) equal to its
 *    length, 16 <= length <= max_length, and is exactly the next slice of the
 *    stream (no octet lost, repeated or reordered);
 *  - PDUs handed out stay intact until the next feed;
 *  - smpp_framer_buffered() is what was fed minus what was handed out;
 *  - SMPP_EFRAME comes exactly once, exactly when a reference model of the
 *    framing says so, with err.status ESME_RINVCMDLEN and a message; after it
 *    next() hands out nothing and feed() refuses;
 *  - the framer hands out everything the model frames, whatever the chunking;
 *  - each PDU handed out decodes without a crash (and a command_length error
 *    from decode would be a framer/decoder disagreement). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smpp_frame.h"
#include "smpp_pdu.h"

#include "check.h"

static smpp_pdu pdu;

/* PDUs handed out since the last feed: pointer, length, stream offset. */
#define MAX_PENDING 4096
static struct {
    const uint8_t *p;
    size_t len, off;
} pending[MAX_PENDING];
static size_t npending;

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static const size_t max_lengths[16] = {0,  16,  17,  20,   31,   32,   64,    100,
                                       255, 256, 1000, 1024, 2048, 4096, 65536, 1u << 20};

/* Reference framing of the whole stream: number of PDUs, and whether it fails. */
static void model(const uint8_t *s, size_t n, size_t max, size_t *npdus, size_t *consumed,
                  int *fails)
{
    size_t off = 0;
    *npdus = 0;
    *fails = 0;
    while (n - off >= 4) {
        uint32_t clen = get32(s + off);
        if (clen < 16 || clen > max) {
            *fails = 1;
            break;
        }
        if (n - off < clen)
            break;
        off += clen;
        ++*npdus;
    }
    *consumed = off;
}

static void check_pending(const uint8_t *stream)
{
    size_t i;
    for (i = 0; i < npending; i++)
        CHECK(memcmp(pending[i].p, stream + pending[i].off, pending[i].len) == 0,
              "PDU at stream offset %zu changed before the next feed", pending[i].off);
    npending = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    smpp_framer f;
    const uint8_t *stream;
    size_t n, max, fed = 0, taken = 0, npdus = 0, want_pdus, want_consumed;
    unsigned pattern;
    uint32_t rng;
    int failed = 0, want_fail, rc;

    if (size < 2)
        return 0;
    pattern = data[0] & 0x0F;
    max = max_lengths[data[0] >> 4];
    rng = 0x9E3779B9u ^ data[1];
    stream = data + 2;
    n = size - 2;
    npending = 0;

    smpp_framer_init(&f, max);
    if (max == 0)
        max = SMPP_DEFAULT_MAX_LENGTH;
    CHECK(f.max_length == max, "max_length %zu, wanted %zu", f.max_length, max);

    while (fed < n || fed == 0) {
        size_t chunk;
        const uint8_t *p;
        size_t len;
        switch (pattern) {
        case 0: chunk = n; break;              /* all at once */
        case 1: chunk = 1; break;              /* octet by octet */
        case 2: chunk = 2; break;
        case 3: chunk = 3; break;
        case 4: chunk = 4; break;
        case 5: chunk = 15; break;
        case 6: chunk = 16; break;
        case 7: chunk = 17; break;
        default:                               /* pseudo-random, 0 allowed */
            rng = rng * 1103515245u + 12345u;
            chunk = (rng >> 16) % (pattern == 15 ? 300u : (pattern - 6u) * 4u);
            break;
        }
        if (chunk > n - fed)
            chunk = n - fed;

        check_pending(stream);
        rc = smpp_framer_feed(&f, stream + fed, chunk);
        if (failed) {
            CHECK(rc == SMPP_EFRAME, "feed after SMPP_EFRAME returned %d", rc);
        } else {
            CHECK(rc == SMPP_OK, "feed returned %d", rc);
            CHECK(smpp_framer_buffered(&f) == fed + chunk - taken,
                  "buffered %zu, fed %zu, handed out %zu", smpp_framer_buffered(&f),
                  fed + chunk, taken);
        }
        fed += chunk;

        for (;;) {
            rc = smpp_framer_next(&f, &p, &len);
            if (rc == 0)
                break;
            if (rc == SMPP_EFRAME) {
                CHECK(!failed, "SMPP_EFRAME returned twice");
                failed = 1;
                CHECK(memchr(f.err.msg, 0, sizeof f.err.msg) != NULL && f.err.msg[0] != 0,
                      "SMPP_EFRAME without a message");
                CHECK(f.err.status == SMPP_ESME_RINVCMDLEN, "SMPP_EFRAME with status 0x%X",
                      f.err.status);
                CHECK(fed - taken >= 4, "SMPP_EFRAME with %zu octets buffered", fed - taken);
                {
                    uint32_t clen = get32(stream + taken);
                    CHECK(clen < 16 || clen > max, "SMPP_EFRAME for command_length %u", clen);
                }
                continue;
            }
            CHECK(rc == 1, "next returned %d", rc);
            CHECK(!failed, "a PDU handed out after SMPP_EFRAME");
            CHECK(len >= 16 && len <= max, "PDU of %zu octets, max %zu", len, max);
            CHECK(get32(p) == len, "PDU of %zu octets with command_length %u", len, get32(p));
            CHECK(taken + len <= fed && memcmp(p, stream + taken, len) == 0,
                  "PDU is not the next %zu octets at stream offset %zu", len, taken);
            CHECK(npending < MAX_PENDING, "too many PDUs");
            pending[npending].p = p;
            pending[npending].len = len;
            pending[npending].off = taken;
            npending++;
            taken += len;
            npdus++;

            {
                smpp_error err;
                err.msg[0] = 'X';
                err.msg[sizeof err.msg - 1] = 'X';
                rc = smpp_pdu_decode(&pdu, p, len, max, &err);
                if (rc != SMPP_OK) {
                    CHECK(rc == SMPP_EDECODE, "decode returned %d", rc);
                    CHECK(memchr(err.msg, 0, sizeof err.msg) != NULL && err.msg[0] != 0,
                          "decode error without a message");
                    /* The header errors: "command_length N ...", "PDU of N octets ..." */
                    CHECK(!(strncmp(err.msg, "command_length ", 15) == 0 &&
                            err.msg[15] >= '0' && err.msg[15] <= '9') &&
                              strncmp(err.msg, "PDU of ", 7) != 0,
                          "decode disagrees with the framer: %s", err.msg);
                }
            }
        }
        if (n == 0)
            break;
    }
    check_pending(stream);

    model(stream, n, max, &want_pdus, &want_consumed, &want_fail);
    CHECK(npdus == want_pdus && taken == want_consumed && failed == want_fail,
          "framer: %zu PDUs, %zu octets, failed %d; model: %zu PDUs, %zu octets, fails %d",
          npdus, taken, failed, want_pdus, want_consumed, want_fail);
    if (!failed)
        CHECK(smpp_framer_buffered(&f) == n - taken, "buffered %zu at the end, want %zu",
              smpp_framer_buffered(&f), n - taken);
    rc = smpp_framer_next(&f, &(const uint8_t *){NULL}, &(size_t){0});
    CHECK(rc == 0, "next at the end returned %d", rc);
    smpp_framer_free(&f);
    return 0;
}
