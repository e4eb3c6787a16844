/* fuzz_udh: libFuzzer target for the user data header parser
 * (smpp_udh_parse) and the text decoders behind it: the header must lie
 * inside the message, concatenation numbers must be sane when reported,
 * and decoding what follows in every alphabet must give valid UTF-8. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smpp_pdu.h"
#include "smpp_text.h"

#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    smpp_udh udh;
    smpp_buf out;
    size_t i, len;
    uint32_t cp;
    int a;

    if (smpp_udh_parse(data, size, &udh) == 0) {
        CHECK(udh.length >= 1 && udh.length <= size, "udh length %zu of %zu", udh.length, size);
        CHECK(udh.length == (size_t)data[0] + 1, "udh length %zu, UDHL %u", udh.length, data[0]);
        if (udh.concat) {
            CHECK(udh.ref_bits == 8 || udh.ref_bits == 16, "ref_bits %u", udh.ref_bits);
            CHECK(udh.total >= 1 && udh.seq >= 1 && udh.seq <= udh.total, "seq %u of %u", udh.seq,
                  udh.total);
        }
    }
    smpp_buf_init(&out);
    for (a = 0; a < SMPP_A_COUNT; a++) {
        out.len = 0;
        CHECK(smpp_text_decode((smpp_alphabet)a, data, size, &out) == SMPP_OK, "decode %d", a);
        for (i = 0; i < out.len; i += len) {
            len = smpp_utf8_next(out.data + i, out.len - i, &cp);
            CHECK(len > 0, "alphabet %d gave invalid UTF-8 at %zu", a, i);
        }
    }
    smpp_buf_free(&out);
    return 0;
}
