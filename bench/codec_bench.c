/* Measures lua-smpp's C codec on the two submit_sm PDUs of libsmpp34_bench.c:
 * round trips per second of smpp_pdu_encode (struct -> bytes) + smpp_pdu_decode
 * (bytes -> struct).
 *
 * Build (from the repository root; bench/run.sh does this):
 *   cc -O2 -Wall -Wextra -std=c99 -D_POSIX_C_SOURCE=200809L -Icsrc \
 *      -o bench/build/codec_bench bench/codec_bench.c \
 *      csrc/smpp_buf.c csrc/smpp_defs.c csrc/smpp_pdu.c csrc/smpp_frame.c
 * Run:
 *   bench/build/codec_bench [seconds_per_case]      (default 1.0)
 * Output (one line per case):
 *   bench c submit_sm_72 roundtrips_per_s=123456
 *
 * What one "round trip" is here (the counterpart of libsmpp34_bench.c):
 *   - out.len = 0 and smpp_pdu_encode() of an smpp_pdu that was filled in
 *     once before timing, into an smpp_buf reused across iterations (its
 *     storage is allocated once, on the first encode),
 *   - smpp_pdu_decode() of those bytes into a second smpp_pdu (zero-copy:
 *     string fields of the decoded PDU point into the buffer; decode resets
 *     the PDU with smpp_pdu_init, which touches only the header fields and
 *     the presence bits, not the large submit_multi arrays).
 * Both smpp_pdu structs are static: the struct is ~6 KB (dests/unsuccess).
 *
 * The PDUs are the ones of libsmpp34_bench.c, every mandatory field given
 * explicitly (as a libsmpp34 submit_sm_t always has them): the expected bytes
 * below were produced by its ref_encode() and are checked once, before
 * timing, together with the decoded fields and a re-encode of the decoded
 * PDU.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smpp_buf.h"
#include "smpp_pdu.h"

#define CHECK_EVERY 1024
#define TAG_USER_MESSAGE_REFERENCE 0x0204
#define TAG_CALLBACK_NUM 0x0381
#define UMR_VALUE 0x1234

static const char MSG_72[] = "Hello from lua-smpp 01"; /* 22 octets */
static const char FOX[] = "The quick brown fox jumps over the lazy dog. ";
static const uint8_t CALLBACK_NUM[11] = {0x01, 0x01, 0x01, '4', '4', '7', '7',
                                         '0', '0', '9', '0'};

/* The reference bytes, from libsmpp34_bench.c's ref_encode(). */
static const char REF_72[] =
    "0000004800000004000000000000000700010131323334350001013434373730"
    "30393030313233000000000000010000001648656c6c6f2066726f6d206c7561"
    "2d736d7070203031";
static const char REF_231[] =
    "000000e700000004000000000000000700010131323334350001013434373730"
    "3039303031323300000000000001000000a054686520717569636b2062726f77"
    "6e20666f78206a756d7073206f76657220746865206c617a7920646f672e2054"
    "686520717569636b2062726f776e20666f78206a756d7073206f766572207468"
    "65206c617a7920646f672e2054686520717569636b2062726f776e20666f7820"
    "6a756d7073206f76657220746865206c617a7920646f672e2054686520717569"
    "636b2062726f776e20666f78206a756d70730204000212340381000b01010134"
    "34373730303930";

struct bench_case {
    const char *name;
    const char *ref_hex;
    size_t expected_len;
    int with_tlvs;
    uint8_t msg[254];
    size_t msg_len;
};

static smpp_pdu in_pdu, out_pdu;

static void die(const char *name, const char *what)
{
    fprintf(stderr, "codec_bench: %s: %s\n", name, what);
    exit(1);
}

static void die_err(const char *name, const char *what, const smpp_error *err)
{
    fprintf(stderr, "codec_bench: %s: %s: %s\n", name, what, err->msg);
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static size_t unhex(uint8_t *out, size_t cap, const char *hex)
{
    size_t n = 0;
    while (hex[0] != '\0' && hex[1] != '\0') {
        unsigned v;
        if (n == cap || sscanf(hex, "%2x", &v) != 1)
            return 0;
        out[n++] = (uint8_t)v;
        hex += 2;
    }
    return n;
}

static void hexdump(const char *label, const uint8_t *b, size_t n)
{
    size_t i;
    fprintf(stderr, "%s (%zu):", label, n);
    for (i = 0; i < n; i++)
        fprintf(stderr, "%s%02x", (i % 32) ? " " : "\n  ", b[i]);
    fputc('\n', stderr);
}

static void set_int(smpp_pdu *p, smpp_field f, uint32_t v)
{
    p->f[f].num = v;
    p->present |= (uint64_t)1 << f;
}

static void set_str(smpp_pdu *p, smpp_field f, const void *s, size_t len)
{
    p->f[f].ptr = (const uint8_t *)s;
    p->f[f].len = (uint32_t)len;
    p->present |= (uint64_t)1 << f;
}

static void set_tlv(smpp_pdu *p, uint16_t tag, uint32_t num, const void *val, size_t len)
{
    int idx = smpp_tlv_index(tag);
    if (idx < 0)
        die("setup", "TLV tag not in smpp_tlvs[]");
    p->tlv[idx].num = num;
    p->tlv[idx].ptr = (const uint8_t *)val;
    p->tlv[idx].len = (uint32_t)len;
    p->tlv_present |= (uint64_t)1 << idx;
}

static void fill_submit_sm(smpp_pdu *p, const struct bench_case *c)
{
    const smpp_command_info *cmd = smpp_command_by_name("submit_sm", 9);
    if (cmd == NULL)
        die(c->name, "smpp_command_by_name(submit_sm) failed");
    smpp_pdu_init(p, cmd, 7);
    p->command_status = 0;
    set_str(p, SMPP_F_SERVICE_TYPE, "", 0);
    set_int(p, SMPP_F_SOURCE_ADDR_TON, 1);
    set_int(p, SMPP_F_SOURCE_ADDR_NPI, 1);
    set_str(p, SMPP_F_SOURCE_ADDR, "12345", 5);
    set_int(p, SMPP_F_DEST_ADDR_TON, 1);
    set_int(p, SMPP_F_DEST_ADDR_NPI, 1);
    set_str(p, SMPP_F_DESTINATION_ADDR, "447700900123", 12);
    set_int(p, SMPP_F_ESM_CLASS, 0);
    set_int(p, SMPP_F_PROTOCOL_ID, 0);
    set_int(p, SMPP_F_PRIORITY_FLAG, 0);
    set_str(p, SMPP_F_SCHEDULE_DELIVERY_TIME, "", 0);
    set_str(p, SMPP_F_VALIDITY_PERIOD, "", 0);
    set_int(p, SMPP_F_REGISTERED_DELIVERY, 1);
    set_int(p, SMPP_F_REPLACE_IF_PRESENT_FLAG, 0);
    set_int(p, SMPP_F_DATA_CODING, 0);
    set_int(p, SMPP_F_SM_DEFAULT_MSG_ID, 0);
    set_str(p, SMPP_F_SHORT_MESSAGE, c->msg, c->msg_len);
    if (c->with_tlvs) {
        set_tlv(p, TAG_USER_MESSAGE_REFERENCE, UMR_VALUE, NULL, 0);
        set_tlv(p, TAG_CALLBACK_NUM, 0, CALLBACK_NUM, sizeof CALLBACK_NUM);
    }
}

static int str_is(const smpp_pdu *p, smpp_field f, const char *s)
{
    size_t n = strlen(s);
    return (p->present >> f & 1) && p->f[f].len == n &&
           (n == 0 || memcmp(p->f[f].ptr, s, n) == 0);
}

static int int_is(const smpp_pdu *p, smpp_field f, uint32_t v)
{
    return (p->present >> f & 1) && p->f[f].num == v;
}

/* One checked round trip, outside of the timed loop. */
static void verify(const struct bench_case *c, smpp_buf *buf)
{
    uint8_t ref[512];
    size_t ref_len = unhex(ref, sizeof ref, c->ref_hex);
    smpp_error err;
    smpp_buf again;
    int umr = smpp_tlv_index(TAG_USER_MESSAGE_REFERENCE);
    int cb = smpp_tlv_index(TAG_CALLBACK_NUM);
    uint64_t want_tlvs = c->with_tlvs ? ((uint64_t)1 << umr | (uint64_t)1 << cb) : 0;

    if (ref_len != c->expected_len)
        die(c->name, "internal error: reference PDU has the wrong length");
    buf->len = 0;
    if (smpp_pdu_encode(&in_pdu, buf, &err) != SMPP_OK)
        die_err(c->name, "smpp_pdu_encode failed", &err);
    if (buf->len != ref_len || memcmp(buf->data, ref, ref_len) != 0) {
        hexdump("lua-smpp", buf->data, buf->len);
        hexdump("expected", ref, ref_len);
        die(c->name, "encoded bytes differ from the libsmpp34 reference PDU");
    }

    if (smpp_pdu_decode(&out_pdu, buf->data, buf->len, SMPP_DEFAULT_MAX_LENGTH, &err) !=
        SMPP_OK)
        die_err(c->name, "smpp_pdu_decode failed", &err);
    if (out_pdu.command_length != ref_len || out_pdu.command_id != SMPP_SUBMIT_SM ||
        out_pdu.command_status != 0 || out_pdu.sequence_number != 7 ||
        out_pdu.cmd == NULL || strcmp(out_pdu.cmd->name, "submit_sm") != 0)
        die(c->name, "decoded header differs");
    if (!str_is(&out_pdu, SMPP_F_SERVICE_TYPE, "") ||
        !int_is(&out_pdu, SMPP_F_SOURCE_ADDR_TON, 1) ||
        !int_is(&out_pdu, SMPP_F_SOURCE_ADDR_NPI, 1) ||
        !str_is(&out_pdu, SMPP_F_SOURCE_ADDR, "12345") ||
        !int_is(&out_pdu, SMPP_F_DEST_ADDR_TON, 1) ||
        !int_is(&out_pdu, SMPP_F_DEST_ADDR_NPI, 1) ||
        !str_is(&out_pdu, SMPP_F_DESTINATION_ADDR, "447700900123") ||
        !int_is(&out_pdu, SMPP_F_ESM_CLASS, 0) || !int_is(&out_pdu, SMPP_F_PROTOCOL_ID, 0) ||
        !int_is(&out_pdu, SMPP_F_PRIORITY_FLAG, 0) ||
        !str_is(&out_pdu, SMPP_F_SCHEDULE_DELIVERY_TIME, "") ||
        !str_is(&out_pdu, SMPP_F_VALIDITY_PERIOD, "") ||
        !int_is(&out_pdu, SMPP_F_REGISTERED_DELIVERY, 1) ||
        !int_is(&out_pdu, SMPP_F_REPLACE_IF_PRESENT_FLAG, 0) ||
        !int_is(&out_pdu, SMPP_F_DATA_CODING, 0) ||
        !int_is(&out_pdu, SMPP_F_SM_DEFAULT_MSG_ID, 0))
        die(c->name, "decoded mandatory fields differ");
    if (!(out_pdu.present >> SMPP_F_SHORT_MESSAGE & 1) ||
        out_pdu.f[SMPP_F_SHORT_MESSAGE].len != c->msg_len ||
        memcmp(out_pdu.f[SMPP_F_SHORT_MESSAGE].ptr, c->msg, c->msg_len) != 0)
        die(c->name, "decoded short_message differs");
    if (out_pdu.tlv_present != want_tlvs || !out_pdu.tlv_canonical)
        die(c->name, "decoded TLV set differs");
    if (c->with_tlvs &&
        (out_pdu.tlv[umr].num != UMR_VALUE || out_pdu.tlv[umr].len != 2 ||
         out_pdu.tlv[cb].len != sizeof CALLBACK_NUM ||
         memcmp(out_pdu.tlv[cb].ptr, CALLBACK_NUM, sizeof CALLBACK_NUM) != 0))
        die(c->name, "decoded TLV values differ");

    /* The decoded PDU encodes back to the same bytes. */
    smpp_buf_init(&again);
    if (smpp_pdu_encode(&out_pdu, &again, &err) != SMPP_OK)
        die_err(c->name, "re-encode of the decoded PDU failed", &err);
    if (again.len != ref_len || memcmp(again.data, ref, ref_len) != 0)
        die(c->name, "re-encode of the decoded PDU differs");
    smpp_buf_free(&again);
}

static void run_case(const struct bench_case *c, double seconds)
{
    static smpp_buf buf; /* reused: allocated by the first encode */
    smpp_error err;
    uint64_t n = 0, sink = 0, per_round;
    double t0, elapsed;
    int i, cb = smpp_tlv_index(TAG_CALLBACK_NUM);

    smpp_buf_init(&buf);
    fill_submit_sm(&in_pdu, c);
    verify(c, &buf);

    /* The same checksum as libsmpp34_bench.c: what each round adds to sink if
     * every round decodes correctly. */
    per_round = (uint64_t)c->expected_len + c->msg_len + c->msg[c->msg_len - 1] +
                (c->with_tlvs ? TAG_CALLBACK_NUM : 0);

    t0 = now_s();
    for (;;) {
        for (i = 0; i < CHECK_EVERY; i++) {
            const smpp_value *sm;
            buf.len = 0;
            if (smpp_pdu_encode(&in_pdu, &buf, &err) != SMPP_OK)
                die_err(c->name, "smpp_pdu_encode failed in loop", &err);
            if (smpp_pdu_decode(&out_pdu, buf.data, buf.len, SMPP_DEFAULT_MAX_LENGTH, &err) !=
                SMPP_OK)
                die_err(c->name, "smpp_pdu_decode failed in loop", &err);
            sm = &out_pdu.f[SMPP_F_SHORT_MESSAGE];
            sink += (uint64_t)buf.len + sm->len + sm->ptr[sm->len - 1] +
                    ((out_pdu.tlv_present >> cb & 1) ? TAG_CALLBACK_NUM : 0);
        }
        n += CHECK_EVERY;
        elapsed = now_s() - t0;
        if (elapsed >= seconds)
            break;
    }

    smpp_buf_free(&buf);
    if (sink != n * per_round)
        die(c->name, "result checksum mismatch in timed loop");

    printf("bench c %s roundtrips_per_s=%.0f\n", c->name, (double)n / elapsed);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    static struct bench_case cases[2];
    double seconds = 1.0;
    size_t i;

    if (argc > 1) {
        char *end;
        seconds = strtod(argv[1], &end);
        if (end == argv[1] || *end != '\0' || !(seconds > 0.0)) {
            fprintf(stderr, "usage: %s [seconds_per_case > 0]\n", argv[0]);
            return 2;
        }
    }

    cases[0].name = "submit_sm_72";
    cases[0].ref_hex = REF_72;
    cases[0].expected_len = 72;
    cases[0].with_tlvs = 0;
    cases[0].msg_len = strlen(MSG_72);
    memcpy(cases[0].msg, MSG_72, cases[0].msg_len);

    cases[1].name = "submit_sm_231";
    cases[1].ref_hex = REF_231;
    cases[1].expected_len = 231;
    cases[1].with_tlvs = 1;
    cases[1].msg_len = 160;
    for (i = 0; i < 160; i++)
        cases[1].msg[i] = (uint8_t)FOX[i % (sizeof FOX - 1)];

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i], seconds);
    return 0;
}
