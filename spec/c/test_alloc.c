/* test_alloc: the session engine allocates nothing per PDU. An ESME and an
 * SMSC engine, wired to each other in memory, bind and exchange submit_sm,
 * submit_sm_resp, deliver_sm (a receipt), deliver_sm_resp and enquire_link;
 * once the buffers have grown to their working size, a further 10 000 of
 * each make no call to malloc, calloc or realloc (linked with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc, see run.sh). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "smpp_session.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

static long allocations;

void *__wrap_malloc(size_t n)
{
    allocations++;
    return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    allocations++;
    return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    allocations++;
    return __real_realloc(p, n);
}

static int64_t now = 1000;

/* Moves what from has to send into to. */
static void carry(smpp_session *from, smpp_session *to)
{
    const uint8_t *p;
    size_t n = smpp_session_output(from, &p);
    if (n > 0) {
        CHECK(smpp_session_feed(to, p, n, now) == SMPP_OK, "feed");
        smpp_session_sent(from, n);
    }
}

static void set_str(smpp_pdu *p, int field, const char *v)
{
    p->f[field].ptr = (const uint8_t *)v;
    p->f[field].len = (uint32_t)strlen(v);
    p->present |= (uint64_t)1 << field;
}

static void set_num(smpp_pdu *p, int field, uint32_t v)
{
    p->f[field].num = v;
    p->present |= (uint64_t)1 << field;
}

static smpp_pdu pdu;

/* The SMSC answers every request it has: submits with an id (and a receipt
 * on the same session), others as the engine does itself. */
static void smsc_turn(smpp_session *smsc, long *receipts)
{
    smpp_event ev;
    while (smpp_session_next_event(smsc, now, &ev)) {
        if (ev.type == SMPP_EV_REQUEST && ev.pdu->command_id == SMPP_SUBMIT_SM) {
            uint64_t id;
            uint32_t seq = ev.pdu->sequence_number;
            smpp_pdu_init(&pdu, smpp_command_by_id(SMPP_SUBMIT_SM | SMPP_RESP_BIT), seq);
            set_str(&pdu, SMPP_F_MESSAGE_ID, "0000ABCD");
            CHECK(smpp_session_respond(smsc, &pdu, now) == SMPP_OK, "respond");
            smpp_pdu_init(&pdu, smpp_command_by_id(SMPP_DELIVER_SM), 0);
            set_str(&pdu, SMPP_F_SOURCE_ADDR, "4915112345678");
            set_str(&pdu, SMPP_F_DESTINATION_ADDR, "12345");
            set_num(&pdu, SMPP_F_ESM_CLASS, 4);
            set_str(&pdu, SMPP_F_SHORT_MESSAGE,
                    "id:0000ABCD sub:001 dlvrd:001 submit date:2612021200 "
                    "done date:2612021200 stat:DELIVRD err:000 text:");
            CHECK(smpp_session_send(smsc, &pdu, now, &id) == SMPP_OK, "deliver_sm");
        } else if (ev.type == SMPP_EV_RESPONSE) {
            (*receipts)++;
        } else if (ev.type == SMPP_EV_REQUEST && ev.pdu->command_id == SMPP_BIND_TRANSCEIVER) {
            smpp_pdu_init(&pdu, smpp_command_by_id(SMPP_BIND_TRANSCEIVER | SMPP_RESP_BIT),
                          ev.pdu->sequence_number);
            set_str(&pdu, SMPP_F_SYSTEM_ID, "smsc");
            CHECK(smpp_session_respond(smsc, &pdu, now) == SMPP_OK, "bind_resp");
        }
    }
}

/* The ESME takes its events: submit responses counted, deliver_sm answered. */
static void esme_turn(smpp_session *esme, long *responses)
{
    smpp_event ev;
    while (smpp_session_next_event(esme, now, &ev)) {
        if (ev.type == SMPP_EV_RESPONSE)
            (*responses)++;
        else if (ev.type == SMPP_EV_REQUEST && ev.pdu->command_id == SMPP_DELIVER_SM) {
            smpp_pdu_init(&pdu, smpp_command_by_id(SMPP_DELIVER_SM | SMPP_RESP_BIT),
                          ev.pdu->sequence_number);
            CHECK(smpp_session_respond(esme, &pdu, now) == SMPP_OK, "deliver_sm_resp");
        }
    }
}

/* n submits through a window of 10, each answered and receipted, an
 * enquire_link every 100; the counts of responses and receipts. */
static void traffic(smpp_session *esme, smpp_session *smsc, long n, long *responses, long *receipts)
{
    long sent = 0;
    while (sent < n || smpp_session_outstanding(esme) > 1 || smpp_session_outstanding(smsc) > 0) {
        while (sent < n && smpp_session_outstanding(esme) < 10) {
            uint64_t id;
            smpp_pdu_init(&pdu, smpp_command_by_id(SMPP_SUBMIT_SM), 0);
            set_str(&pdu, SMPP_F_SOURCE_ADDR, "12345");
            set_str(&pdu, SMPP_F_DESTINATION_ADDR, "4915112345678");
            set_num(&pdu, SMPP_F_REGISTERED_DELIVERY, 1);
            set_str(&pdu, SMPP_F_SHORT_MESSAGE, "Hello, bench!");
            if (smpp_session_send(esme, &pdu, now, &id) != SMPP_OK)
                break;
            if (++sent % 100 == 0) {
                smpp_pdu_init(&pdu, smpp_command_by_id(SMPP_ENQUIRE_LINK), 0);
                CHECK(smpp_session_send(esme, &pdu, now, &id) == SMPP_OK, "enquire_link");
            }
        }
        carry(esme, smsc);
        smsc_turn(smsc, receipts);
        carry(smsc, esme);
        esme_turn(esme, responses);
        carry(esme, smsc);
        smsc_turn(smsc, receipts);
        now++;
    }
}

int main(void)
{
    smpp_session_config ec = {0}, sc = {0};
    smpp_session *esme, *smsc;
    long responses = 0, receipts = 0, before;
    uint64_t id;

    ec.role = SMPP_ROLE_ESME;
    ec.enquire_link_ms = -1;
    sc.role = SMPP_ROLE_SMSC;
    sc.enquire_link_ms = -1;
    esme = smpp_session_new(&ec, now);
    smsc = smpp_session_new(&sc, now);
    CHECK(esme != NULL && smsc != NULL, "sessions");

    smpp_pdu_init(&pdu, smpp_command_by_id(SMPP_BIND_TRANSCEIVER), 0);
    set_str(&pdu, SMPP_F_SYSTEM_ID, "test");
    set_str(&pdu, SMPP_F_PASSWORD, "test");
    CHECK(smpp_session_send(esme, &pdu, now, &id) == SMPP_OK, "bind");
    carry(esme, smsc);
    smsc_turn(smsc, &receipts);
    carry(smsc, esme);
    esme_turn(esme, &responses);
    CHECK(smpp_session_state(esme) == SMPP_STATE_BOUND_TRX, "bound: %s",
          smpp_state_name(smpp_session_state(esme)));

    traffic(esme, smsc, 1000, &responses, &receipts); /* the buffers grow to their size */
    CHECK(allocations > 0, "the counter sees the engine allocate (sessions, buffers)");
    before = allocations;
    responses = receipts = 0;
    traffic(esme, smsc, 10000, &responses, &receipts);
    CHECK(responses >= 10000 + 100, "responses: %ld", responses);
    CHECK(receipts == 10000, "receipts answered: %ld", receipts);
    CHECK(allocations == before, "%ld allocations for 10000 submits, responses and receipts",
          allocations - before);

    smpp_session_free(esme);
    smpp_session_free(smsc);
    printf("test_alloc: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
