/* fuzz_decode: libFuzzer target for the PDU codec (csrc/smpp_pdu.c).
 *
 * The input is one PDU. Properties checked:
 *  - decode never crashes (ASan/UBSan), and on failure err.msg is a non-empty
 *    NUL-terminated string, err.status is a non-zero command_status, and the
 *    header fields are set when the input holds a header;
 *  - a decoded PDU re-encodes: the encode-side arrays are rebuilt the way the
 *    Lua binding does it (pdu->extra from the TLVs smpp_pdu_tlv_next reports as
 *    not named, pdu->order = every tag when !tlv_canonical), smpp_pdu_encode
 *    must succeed and give exactly the input bytes;
 *  - where decoding is lenient and the bytes may legitimately differ (a named
 *    C-Octet-String TLV 0x001D/0x001E without a NUL or with octets after its
 *    first NUL; a response with command_status 0 and an empty body), the
 *    re-encoding must still decode, and re-encode to itself (a fixed point);
 *  - the receipt of a decoded submit (smpp_receipt_for) is made or refused
 *    as too long; made, it encodes (or fails naming a field: a data_sm's
 *    addresses may be longer than a deliver_sm's), decodes, and its text
 *    parses back to the id and stat given.
 *
 * Any violation abort()s so that libFuzzer reports it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smpp_buf.h"
#include "smpp_pdu.h"
#include "smpp_receipt.h"

#define MAX_LENGTH 65536
#define MAX_TLVS (MAX_LENGTH / 4)

static smpp_pdu pdu, pdu2;
static smpp_tlv extra[MAX_TLVS], extra2[MAX_TLVS];
static uint16_t order[MAX_TLVS], order2[MAX_TLVS];
static smpp_buf out, out2, rtext, rutf8;
static smpp_pdu receipt;

static void hexdump(const char *what, const uint8_t *p, size_t n)
{
    size_t i;
    fprintf(stderr, "%s (%zu octets): ", what, n);
    for (i = 0; i < n; i++)
        fprintf(stderr, "%02x", p[i]);
    fputc('\n', stderr);
}

#include "check.h"

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* err.msg is filled with 'X' (no NUL) before each call. */
static void check_error(const smpp_error *err, const char *op)
{
    CHECK(memchr(err->msg, 0, sizeof err->msg) != NULL, "%s: err.msg is not NUL-terminated",
          op);
    CHECK(err->msg[0] != '\0', "%s: err.msg is empty", op);
}

static void clear_error(smpp_error *err)
{
    err->status = 0xDEADBEEFu;
    memset(err->msg, 'X', sizeof err->msg);
}

/* Set by prepare_encode: a named C-Octet-String TLV without a NUL whose
 * length is the maximum including the NUL (finding 1 of fuzz/README: decode
 * accepts it, encode refuses it). */

/* Fills the encode-side arrays of a decoded PDU from its optional part.
 * Returns 1 when a named C-Octet-String TLV was decoded leniently. */
static int prepare_encode(smpp_pdu *p, smpp_tlv *ex, uint16_t *ord)
{
    uint32_t pos = 0, prev = 0;
    smpp_tlv tlv;
    int named, lenient = 0;
    size_t nex = 0, nord = 0;

    while (smpp_pdu_tlv_next(p, &pos, &tlv, &named)) {
        CHECK(pos > prev && pos <= p->tlv_len, "tlv_next: position %u after %u, tlv_len %u",
              pos, prev, p->tlv_len);
        CHECK(tlv.val == p->tlv_data + prev + 4, "tlv_next: value pointer");
        CHECK(nord < MAX_TLVS, "too many TLVs");
        prev = pos;
        ord[nord++] = tlv.tag;
        if (named) {
            int idx = smpp_tlv_index(tlv.tag);
            CHECK(idx >= 0 && (p->tlv_present >> idx & 1), "tlv_next: named tag 0x%04X unknown",
                  tlv.tag);
            if (smpp_tlvs[idx].type == SMPP_T_CSTRING) {
                const uint8_t *nul = memchr(tlv.val, 0, tlv.len);
                if (nul == NULL || nul != tlv.val + tlv.len - 1)
                    lenient = 1;
            }
        } else {
            ex[nex++] = tlv;
        }
    }
    CHECK(prev == p->tlv_len, "tlv_next stopped at %u of %u", prev, p->tlv_len);
    p->extra = ex;
    p->nextra = nex;
    if (!p->tlv_canonical) {
        p->order = ord;
        p->norder = nord;
    }
    return lenient;
}

/* Structure-aware help for the mutator: most mutations change the size and
 * would be rejected by the command_length check; so the mutated input usually
 * gets its command_length fixed, and sometimes a TLV is appended whose length
 * is at a boundary of what its tag allows. */
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    uint32_t r = seed;
    if (lcg(&r) % 4 == 0 && size >= 16) {
        const smpp_tlv_info *ti = &smpp_tlvs[lcg(&r) % smpp_ntlvs];
        uint32_t len, i, fill = lcg(&r) % 3;
        switch (ti->type) {
        case SMPP_T_INT8: len = 1; break;
        case SMPP_T_INT16: len = 2; break;
        case SMPP_T_INT32: len = 4; break;
        case SMPP_T_FLAG: len = lcg(&r) % 2; break; /* 3.4: none; 5.0: one octet */
        default:
            switch (lcg(&r) % 4) {
            case 0: len = ti->min_len; break;
            case 1: len = ti->max_len ? ti->max_len : 300; break;
            case 2: len = ti->max_len ? ti->max_len + 1u : 1; break;
            default: len = ti->min_len ? ti->min_len - 1u : 0; break;
            }
            break;
        }
        if (lcg(&r) % 8 == 0)
            len += lcg(&r) % 3 - 1u; /* off by one for the fixed-size types */
        if (len <= 0xFFFF && size + 4 + len <= max_size) {
            data[size] = (uint8_t)(ti->tag >> 8);
            data[size + 1] = (uint8_t)ti->tag;
            data[size + 2] = (uint8_t)(len >> 8);
            data[size + 3] = (uint8_t)len;
            for (i = 0; i < len; i++)
                data[size + 4 + i] = fill == 0 ? 'a' : fill == 1 ? (i + 1 == len ? 0 : 'b')
                                                               : (uint8_t)lcg(&r);
            size += 4 + len;
        }
    } else {
        size = LLVMFuzzerMutate(data, size, max_size);
    }
    if (size >= 16 && lcg(&r) % 8 != 0) {
        data[0] = (uint8_t)(size >> 24);
        data[1] = (uint8_t)(size >> 16);
        data[2] = (uint8_t)(size >> 8);
        data[3] = (uint8_t)size;
    }
    return size;
}

/* The receipt of a decoded submit: made or refused, and readable. */
static void check_receipt(const smpp_pdu *submit)
{
    static const smpp_receipt_info info = {"F00D", "DELIVRD", "000", "2611261200", "2611261201"};
    smpp_error err;
    smpp_receipt r;
    int rc = smpp_receipt_for(submit, &info, &receipt, &rtext, &rutf8);
    CHECK(rc == 0 || rc == SMPP_EENCODE, "receipt_for: %d", rc);
    if (rc != 0)
        return;
    out2.len = 0;
    clear_error(&err);
    if (smpp_pdu_encode(&receipt, &out2, &err) != SMPP_OK) {
        check_error(&err, "receipt encode");
        CHECK(strstr(err.msg, "addr") != NULL, "receipt does not encode: %s", err.msg);
        return;
    }
    CHECK(smpp_pdu_decode(&pdu2, out2.data, out2.len, MAX_LENGTH, &err) == SMPP_OK,
          "receipt does not decode: %s", err.msg);
    CHECK(pdu2.command_id == SMPP_DELIVER_SM && pdu2.f[SMPP_F_ESM_CLASS].num == 4, "receipt header");
    CHECK(smpp_receipt_parse(pdu2.f[SMPP_F_SHORT_MESSAGE].ptr, pdu2.f[SMPP_F_SHORT_MESSAGE].len, &r) == 0 &&
              r.id.len == 4 && memcmp(r.id.ptr, "F00D", 4) == 0 && r.stat.len == 7 &&
              memcmp(r.stat.ptr, "DELIVRD", 7) == 0,
          "receipt text does not parse back");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    smpp_error err;
    int rc, lenient, empty_ok_resp;
    size_t start;

    clear_error(&err);
    rc = smpp_pdu_decode(&pdu, data, size, MAX_LENGTH, &err);
    if (rc != SMPP_OK) {
        CHECK(rc == SMPP_EDECODE, "decode returned %d", rc);
        check_error(&err, "decode");
        CHECK(err.status != 0 && smpp_status_by_code(err.status) != NULL,
              "decode: err.status 0x%X is not a 3.4 error status (%s)", err.status, err.msg);
        if (size >= 16)
            CHECK(pdu.command_id == get32(data + 4) && pdu.sequence_number == get32(data + 12),
                  "decode: header not kept on failure");
        return 0;
    }
    CHECK(size >= 16 && pdu.cmd != NULL && pdu.command_length == size,
          "decode: OK with command_length %u for %zu octets", pdu.command_length, size);
    CHECK(pdu.cmd->id == get32(data + 4) && pdu.command_status == get32(data + 8) &&
              pdu.sequence_number == get32(data + 12),
          "decode: header fields");

    if (pdu.command_id == SMPP_SUBMIT_SM || pdu.command_id == SMPP_DATA_SM ||
        pdu.command_id == SMPP_SUBMIT_MULTI)
        check_receipt(&pdu);

    lenient = prepare_encode(&pdu, extra, order);
    empty_ok_resp = (pdu.command_id & SMPP_RESP_BIT) && pdu.command_status == 0 && size == 16;

    /* Encode after a few octets already in the buffer: encode appends. */
    out.len = 0;
    CHECK(smpp_buf_append(&out, "\xAA\xBB\xCC", 3) == 0, "out of memory");
    start = out.len;
    clear_error(&err);
    rc = smpp_pdu_encode(&pdu, &out, &err);
    if (rc != SMPP_OK) {
        check_error(&err, "encode");
        CHECK(out.len == start, "encode failed but left %zu octets", out.len - start);
        hexdump("input", data, size);
        CHECK(rc == SMPP_OK, "decoded %s does not re-encode: %s", pdu.cmd->name, err.msg);
    }
    CHECK(memcmp(out.data, "\xAA\xBB\xCC", 3) == 0, "encode overwrote what was in the buffer");
    CHECK(out.len - start >= 16 && get32(out.data + start) == out.len - start,
          "encode: command_length %u for %zu octets", get32(out.data + start), out.len - start);

    if (!lenient && !empty_ok_resp) {
        if (out.len - start != size || memcmp(out.data + start, data, size) != 0) {
            hexdump("input    ", data, size);
            hexdump("re-encode", out.data + start, out.len - start);
            CHECK(0, "%s: re-encoding differs from the input (canonical %d, %zu extra)",
                  pdu.cmd->name, pdu.tlv_canonical, pdu.nextra);
        }
        return 0;
    }

    /* Lenient case: the re-encoding is canonical, so it must be a fixed point. */
    clear_error(&err);
    rc = smpp_pdu_decode(&pdu2, out.data + start, out.len - start, MAX_LENGTH, &err);
    if (rc != SMPP_OK) {
        hexdump("input    ", data, size);
        hexdump("re-encode", out.data + start, out.len - start);
        CHECK(rc == SMPP_OK, "re-encoding does not decode: %s", err.msg);
    }
    CHECK(!prepare_encode(&pdu2, extra2, order2), "re-encoding still has a lenient TLV");
    out2.len = 0;
    rc = smpp_pdu_encode(&pdu2, &out2, &err);
    CHECK(rc == SMPP_OK, "second re-encode failed: %s", err.msg);
    if (out2.len != out.len - start || memcmp(out2.data, out.data + start, out2.len) != 0) {
        hexdump("input     ", data, size);
        hexdump("re-encode ", out.data + start, out.len - start);
        hexdump("re-encode2", out2.data, out2.len);
        CHECK(0, "re-encoding is not a fixed point");
    }
    return 0;
}
