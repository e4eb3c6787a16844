/* fuzz_session: libFuzzer target driving the session engine with arbitrary
 * inbound bytes, as an ESME bound as a transceiver with requests outstanding
 * (with a throttle, so submits refused with 0x58 go again) or as an SMSC. The first octet picks the role and the chunk size. Checks:
 * no crash or leak, every request ends exactly once, the outstanding count
 * stays within the window, and what the engine writes is whole PDUs that
 * decode. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smpp_session.h"

#include "check.h"

#define WINDOW 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_output(smpp_session *s)
{
    static smpp_pdu pdu;
    const uint8_t *p;
    size_t n = smpp_session_output(s, &p), at = 0;
    smpp_error err;
    while (at < n) {
        uint32_t len;
        CHECK(n - at >= 16, "output ends inside a header");
        len = (uint32_t)p[at] << 24 | (uint32_t)p[at + 1] << 16 | (uint32_t)p[at + 2] << 8 | p[at + 3];
        CHECK(len >= 16 && len <= n - at, "output PDU of %u octets", len);
        CHECK(smpp_pdu_decode(&pdu, p + at, len, 0, &err) == SMPP_OK, "output does not decode: %s",
              err.msg);
        at += len;
    }
    smpp_session_sent(s, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static smpp_pdu req;
    smpp_throttle throttle;
    smpp_session_config cfg;
    smpp_session *s;
    smpp_event ev;
    uint64_t ids[WINDOW + 1], id;
    int ended[WINDOW + 1] = {0}, nids = 0, closed = 0, i;
    size_t chunk, at = 1;
    int64_t now = 0;

    if (size < 1)
        return 0;
    memset(&cfg, 0, sizeof cfg);
    cfg.role = (data[0] & 1) ? SMPP_ROLE_SMSC : SMPP_ROLE_ESME;
    cfg.window = WINDOW;
    cfg.response_timeout_ms = 1000;
    chunk = (size_t)(data[0] >> 1) + 1;
    smpp_throttle_init(&throttle, 20, 1, now);
    cfg.throttle = &throttle;
    cfg.max_resends = 3;
    s = smpp_session_new(&cfg, now);
    CHECK(s != NULL, "new");
    if (cfg.role == SMPP_ROLE_ESME) {
        smpp_pdu_init(&req, smpp_command_by_id(SMPP_BIND_TRANSCEIVER), 0);
        req.present = (uint64_t)1 << SMPP_F_SYSTEM_ID;
        req.f[SMPP_F_SYSTEM_ID].ptr = (const uint8_t *)"fuzz";
        req.f[SMPP_F_SYSTEM_ID].len = 4;
        CHECK(smpp_session_send(s, &req, now, &ids[nids]) == SMPP_OK, "bind");
        nids++;
    }
    while (at < size && !closed) {
        size_t n = size - at < chunk ? size - at : chunk;
        smpp_session_feed(s, data + at, n, now);
        at += n;
        now += 250;
        while (smpp_session_next_event(s, now, &ev)) {
            for (i = 0; i < nids; i++)
                if (ids[i] == ev.id && (ev.type == SMPP_EV_RESPONSE || ev.type == SMPP_EV_TIMEOUT ||
                                        ev.type == SMPP_EV_ABORTED || ev.type == SMPP_EV_INVALID ||
                                        ev.type == SMPP_EV_EXPIRED)) {
                    CHECK(!ended[i], "request %d ended twice", i);
                    CHECK(ev.tag == (uint64_t)i, "request %d came back with tag %llu", i,
                          (unsigned long long)ev.tag);
                    ended[i] = 1;
                }
            if (ev.type == SMPP_EV_REQUEST) { /* answer it, as a user would */
                smpp_pdu_init(&req, smpp_command_by_id(ev.pdu->command_id | SMPP_RESP_BIT),
                              ev.pdu->sequence_number);
                if (req.cmd != NULL)
                    smpp_session_respond(s, &req, now);
            }
            if (ev.type == SMPP_EV_CLOSED)
                closed = 1;
        }
        CHECK(smpp_session_outstanding(s) <= WINDOW + 1, "%u outstanding",
              smpp_session_outstanding(s));
        if (nids < WINDOW && smpp_session_state(s) == SMPP_STATE_BOUND_TRX) {
            /* a submit (throttled, maybe refused with 0x58 and sent again) or a ping */
            int submit = nids % 2 == 1;
            smpp_pdu_init(&req, smpp_command_by_id(submit ? SMPP_SUBMIT_SM : SMPP_ENQUIRE_LINK), 0);
            if (submit) {
                req.present = (uint64_t)1 << SMPP_F_DESTINATION_ADDR;
                req.f[SMPP_F_DESTINATION_ADDR].ptr = (const uint8_t *)"447700900123";
                req.f[SMPP_F_DESTINATION_ADDR].len = 12;
            }
            /* tagged with its index: every event of it gives the tag back;
             * every third one with a deadline, which a refused submit must
             * not be sent again past */
            if (smpp_session_send_tagged(s, &req, now, (uint64_t)nids,
                                         nids % 3 == 0 ? now + 700 : -1, &id) == SMPP_OK)
                ids[nids++] = id;
        }
        check_output(s);
    }
    smpp_session_close(s, "end of input");
    while (smpp_session_next_event(s, now, &ev))
        for (i = 0; i < nids; i++)
            if (ids[i] == ev.id && ev.type == SMPP_EV_ABORTED) {
                CHECK(!ended[i], "request %d aborted after it ended", i);
                CHECK(ev.tag == (uint64_t)i, "request %d aborted with tag %llu", i,
                      (unsigned long long)ev.tag);
                ended[i] = 1;
            }
    for (i = 0; i < nids; i++)
        CHECK(ended[i], "request %d never ended", i);
    check_output(s);
    smpp_session_free(s);
    return 0;
}
