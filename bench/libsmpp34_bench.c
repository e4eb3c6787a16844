/* Measures Debian libsmpp34 submit_sm round trips per second: smpp34_pack (struct -> bytes) + smpp34_unpack (bytes -> struct, incl. freeing the decoded TLV list). */
/*
 * Build:
 *   cc -O2 -Wall -Wextra -o bench/libsmpp34_bench bench/libsmpp34_bench.c \
 *      $(pkg-config --cflags --libs libsmpp34 2>/dev/null || echo "-I/usr/include/libsmpp34 -lsmpp34")
 * Run:
 *   bench/libsmpp34_bench [seconds_per_case]      (default 1.0)
 * Output (one line per case):
 *   bench libsmpp34 submit_sm_72 roundtrips_per_s=123456
 *
 * The two PDUs are byte-for-byte fixed (see ref_encode below) so that the
 * other benchmarks of the project can encode/decode the identical PDUs.
 *
 * What one "round trip" is here:
 *   - smpp34_pack(SUBMIT_SM, ...) of a submit_sm_t that was filled in once
 *     before timing (its TLV list is built once with build_tlv),
 *   - memset of the output submit_sm_t (libsmpp34 requires out->tlv == NULL
 *     before unpack, see quirks), smpp34_unpack(SUBMIT_SM, ...),
 *   - destroy_tlv() of the TLV list malloc'ed by smpp34_unpack.
 *
 * libsmpp34 quirks handled here:
 *   - build_tlv() PREPENDS a malloc'ed copy to the list and smpp34_pack walks
 *     the list from its head, so TLVs must be added in reverse wire order.
 *     smpp34_unpack also prepends, so the decoded list is in reverse wire order.
 *   - smpp34_unpack prepends to whatever out->tlv already holds: the output
 *     struct must be zeroed (or at least out->tlv = NULL) before every unpack,
 *     and the list must be freed with destroy_tlv() after every unpack.
 *   - smpp34_pack bounds checks use ">= left", so the output buffer must be
 *     strictly larger than the PDU (a 72-byte buffer fails for a 72-byte PDU).
 *   - smpp34_pack writes the computed command_length back into the input
 *     struct (and may truncate over-long C-strings in place): the input is
 *     not const.
 *   - sequence_number 0 is rejected by pack/unpack (must be > 0).
 *   - pack and unpack snprintf() a log line for every field into the global
 *     smpp34_strerror buffer (not thread safe; part of the measured cost).
 */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <smpp34.h>
#include <smpp34_structs.h>
#include <smpp34_params.h>

#define BUF_SIZE 2048
#define CHECK_EVERY 1024

static const char MSG_72[] = "Hello from lua-smpp 01"; /* 22 octets */
static const char FOX[] = "The quick brown fox jumps over the lazy dog. ";
static const uint8_t CALLBACK_NUM[11] = {0x01, 0x01, 0x01, '4', '4', '7', '7',
                                         '0', '0', '9', '0'};
#define UMR_VALUE 0x1234

struct bench_case {
    const char *name;
    int expected_len;
    int with_tlvs;
    uint8_t msg[254];
    size_t msg_len;
};

static void die(const char *name, const char *what)
{
    fprintf(stderr, "libsmpp34_bench: %s: %s\n", name, what);
    if (smpp34_strerror[0] != '\0')
        fprintf(stderr, "last libsmpp34 log: %.2047s\n", smpp34_strerror);
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Independent hand-made encoding of the expected PDU (the reference bytes). */
static size_t ref_encode(uint8_t *b, const struct bench_case *c)
{
    size_t n = 0;
    uint32_t len;
#define PUT8(v) (b[n++] = (uint8_t)(v))
#define PUT16(v) (PUT8((v) >> 8), PUT8(v))
#define PUT32(v) (PUT16((uint32_t)(v) >> 16), PUT16((v) & 0xFFFF))
#define PUTS(s) (memcpy(b + n, s, strlen(s) + 1), n += strlen(s) + 1)
    PUT32(0);               /* command_length, patched below */
    PUT32(SUBMIT_SM);       /* command_id */
    PUT32(0);               /* command_status */
    PUT32(7);               /* sequence_number */
    PUTS("");               /* service_type */
    PUT8(1); PUT8(1);       /* source_addr_ton, source_addr_npi */
    PUTS("12345");          /* source_addr */
    PUT8(1); PUT8(1);       /* dest_addr_ton, dest_addr_npi */
    PUTS("447700900123");   /* destination_addr */
    PUT8(0); PUT8(0); PUT8(0); /* esm_class, protocol_id, priority_flag */
    PUTS("");               /* schedule_delivery_time */
    PUTS("");               /* validity_period */
    PUT8(1);                /* registered_delivery */
    PUT8(0); PUT8(0); PUT8(0); /* replace_if_present, data_coding, sm_default_msg_id */
    PUT8(c->msg_len);       /* sm_length */
    memcpy(b + n, c->msg, c->msg_len);
    n += c->msg_len;
    if (c->with_tlvs) {
        PUT16(TLVID_user_message_reference); PUT16(2); PUT16(UMR_VALUE);
        PUT16(TLVID_callback_num); PUT16(sizeof CALLBACK_NUM);
        memcpy(b + n, CALLBACK_NUM, sizeof CALLBACK_NUM);
        n += sizeof CALLBACK_NUM;
    }
    len = (uint32_t)n;
    b[0] = (uint8_t)(len >> 24); b[1] = (uint8_t)(len >> 16);
    b[2] = (uint8_t)(len >> 8);  b[3] = (uint8_t)len;
#undef PUT8
#undef PUT16
#undef PUT32
#undef PUTS
    return n;
}

static void fill_submit_sm(submit_sm_t *p, const struct bench_case *c)
{
    memset(p, 0, sizeof *p);
    p->command_length = 0; /* computed (and written back) by smpp34_pack */
    p->command_id = SUBMIT_SM;
    p->command_status = ESME_ROK;
    p->sequence_number = 7;
    p->service_type[0] = '\0';
    p->source_addr_ton = 1;
    p->source_addr_npi = 1;
    snprintf((char *)p->source_addr, sizeof p->source_addr, "%s", "12345");
    p->dest_addr_ton = 1;
    p->dest_addr_npi = 1;
    snprintf((char *)p->destination_addr, sizeof p->destination_addr, "%s",
             "447700900123");
    p->esm_class = 0;
    p->protocol_id = 0;
    p->priority_flag = 0;
    p->schedule_delivery_time[0] = '\0';
    p->validity_period[0] = '\0';
    p->registered_delivery = 1;
    p->replace_if_present_flag = 0;
    p->data_coding = 0;
    p->sm_default_msg_id = 0;
    p->sm_length = (uint8_t)c->msg_len;
    memcpy(p->short_message, c->msg, c->msg_len);
    p->tlv = NULL;

    if (c->with_tlvs) {
        tlv_t t;
        /* build_tlv prepends: add in REVERSE wire order. */
        memset(&t, 0, sizeof t);
        t.tag = TLVID_callback_num;
        t.length = sizeof CALLBACK_NUM;
        memcpy(t.value.octet, CALLBACK_NUM, sizeof CALLBACK_NUM);
        if (build_tlv(&p->tlv, &t) != 0)
            die(c->name, "build_tlv(callback_num) failed");
        memset(&t, 0, sizeof t);
        t.tag = TLVID_user_message_reference;
        t.length = 2;
        t.value.val16 = UMR_VALUE;
        if (build_tlv(&p->tlv, &t) != 0)
            die(c->name, "build_tlv(user_message_reference) failed");
    }
}

static void hexdump(const char *label, const uint8_t *b, size_t n)
{
    size_t i;
    fprintf(stderr, "%s (%zu):", label, n);
    for (i = 0; i < n; i++)
        fprintf(stderr, "%s%02x", (i % 32) ? " " : "\n  ", b[i]);
    fputc('\n', stderr);
}

/* One checked round trip, outside of the timed loop. */
static void verify(const struct bench_case *c, submit_sm_t *in)
{
    uint8_t buf[BUF_SIZE], ref[BUF_SIZE];
    submit_sm_t out;
    int len = 0;
    size_t ref_len = ref_encode(ref, c);
    tlv_t *t;
    int seen_umr = 0, seen_cb = 0;

    if (ref_len != (size_t)c->expected_len)
        die(c->name, "internal error: reference PDU has the wrong length");
    if (smpp34_pack(SUBMIT_SM, buf, sizeof buf, &len, in) != 0)
        die(c->name, "smpp34_pack failed");
    if (len != c->expected_len) {
        fprintf(stderr, "libsmpp34_bench: %s: encoded length %d, expected %d\n",
                c->name, len, c->expected_len);
        exit(1);
    }
    if (memcmp(buf, ref, ref_len) != 0) {
        hexdump("libsmpp34", buf, (size_t)len);
        hexdump("expected", ref, ref_len);
        die(c->name, "encoded bytes differ from the reference PDU");
    }

    memset(&out, 0, sizeof out);
    if (smpp34_unpack(SUBMIT_SM, &out, buf, len) != 0) {
        destroy_tlv(out.tlv);
        die(c->name, "smpp34_unpack failed");
    }
    if (out.command_length != (uint32_t)len || out.command_id != SUBMIT_SM ||
        out.sequence_number != 7 || out.registered_delivery != 1 ||
        strcmp((char *)out.source_addr, "12345") != 0 ||
        strcmp((char *)out.destination_addr, "447700900123") != 0)
        die(c->name, "unpacked header/address fields differ");
    if (out.sm_length != c->msg_len ||
        memcmp(out.short_message, c->msg, c->msg_len) != 0)
        die(c->name, "unpacked short_message differs");
    smpp34_tlv_for_each(t, out.tlv) {
        if (t->tag == TLVID_user_message_reference && t->length == 2 &&
            t->value.val16 == UMR_VALUE)
            seen_umr++;
        else if (t->tag == TLVID_callback_num &&
                 t->length == sizeof CALLBACK_NUM &&
                 memcmp(t->value.octet, CALLBACK_NUM, sizeof CALLBACK_NUM) == 0)
            seen_cb++;
        else
            die(c->name, "unexpected TLV after unpack");
    }
    destroy_tlv(out.tlv);
    if (c->with_tlvs ? (seen_umr != 1 || seen_cb != 1) : (seen_umr || seen_cb))
        die(c->name, "unpacked TLVs differ");
}

static void run_case(const struct bench_case *c, double seconds)
{
    static uint8_t buf[BUF_SIZE];
    submit_sm_t in, out;
    uint64_t n = 0, sink = 0, per_round;
    double t0, elapsed;
    int i, len = 0;

    fill_submit_sm(&in, c);
    verify(c, &in);

    /* What each round adds to sink if every round decodes correctly. */
    per_round = (uint64_t)c->expected_len + c->msg_len +
                c->msg[c->msg_len - 1] +
                (c->with_tlvs ? TLVID_callback_num : 0); /* head = last on wire */

    t0 = now_s();
    for (;;) {
        for (i = 0; i < CHECK_EVERY; i++) {
            if (smpp34_pack(SUBMIT_SM, buf, BUF_SIZE, &len, &in) != 0)
                die(c->name, "smpp34_pack failed in loop");
            memset(&out, 0, sizeof out);
            if (smpp34_unpack(SUBMIT_SM, &out, buf, len) != 0) {
                destroy_tlv(out.tlv);
                die(c->name, "smpp34_unpack failed in loop");
            }
            sink += (uint64_t)len + out.sm_length +
                    out.short_message[out.sm_length - 1] +
                    (out.tlv ? out.tlv->tag : 0);
            destroy_tlv(out.tlv);
        }
        n += CHECK_EVERY;
        elapsed = now_s() - t0;
        if (elapsed >= seconds)
            break;
    }

    destroy_tlv(in.tlv);
    if (sink != n * per_round)
        die(c->name, "result checksum mismatch in timed loop");

    printf("bench libsmpp34 %s roundtrips_per_s=%.0f\n", c->name,
           (double)n / elapsed);
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
    cases[0].expected_len = 72;
    cases[0].with_tlvs = 0;
    cases[0].msg_len = strlen(MSG_72);
    memcpy(cases[0].msg, MSG_72, cases[0].msg_len);

    cases[1].name = "submit_sm_231";
    cases[1].expected_len = 231;
    cases[1].with_tlvs = 1;
    cases[1].msg_len = 160;
    for (i = 0; i < 160; i++)
        cases[1].msg[i] = (uint8_t)FOX[i % (sizeof FOX - 1)];

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i], seconds);
    return 0;
}
