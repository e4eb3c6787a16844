/* smpp_session: the SMPP 3.4 session engine (3.4 section 2): states, who may
 * send what, sequence numbers, the window of outstanding requests, response
 * timeouts, keepalive, and the answers the protocol requires. */
#include "smpp_session.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

typedef struct request {
    uint64_t id;    /* 0: the slot is free */
    uint64_t tag;   /* the caller's, given back in the request's events */
    uint64_t stamp; /* of its running timer; 0 while it waits to be sent again */
    uint32_t seq;
    uint32_t command_id;
    int64_t deadline;
    int64_t until;    /* the caller's deadline: never sent again from then on; -1: none */
    uint64_t start;   /* out_total when its octets were last queued */
    uint32_t refusal; /* the status it was last refused with (0x58, 0x14) */
    unsigned resends;
    smpp_buf bytes; /* a submit as sent, for sending again after 0x58 or 0x14 */
} request;

struct smpp_session {
    smpp_session_config cfg;
    smpp_state state;
    smpp_framer framer;
    smpp_buf out;
    size_t out_sent; /* octets of out already handed to the transport */
    uint64_t out_total, sent_total; /* octets ever queued in out, and handed out */
    uint32_t next_seq;
    uint64_t next_id;

    /* Outstanding requests. Every request gets the same timeout, so their
     * deadlines come in send order: a FIFO of slots is the timer queue, and a
     * tick looks at its head only. Answered requests leave stale entries,
     * skipped by stamp. */
    request *reqs;
    unsigned nreqs, cap;
    unsigned *free_slots; /* a stack of the free slots of reqs */
    unsigned nfree;
    /* sequence_number -> slot + 1 of the requests sent and not answered
     * (open addressing, linear probing, a power of two >= 2 * cap; 0: empty) */
    unsigned *by_seq;
    unsigned seq_mask;
    struct {
        unsigned slot;
        uint64_t stamp;
    } *fifo;
    unsigned fifo_head, fifo_len;
    uint64_t next_stamp;

    /* Submits refused with 0x58 / 0x14, to go again in their first order. */
    unsigned *resend;
    unsigned nresend;
    uint64_t refusals; /* submits answered 0x58 / 0x14, resent or not */

    int64_t last_rx;       /* when the peer last sent anything */
    int64_t seen;          /* the latest time the session was told */
    uint64_t keepalive_id; /* our enquire_link outstanding, or 0 */
    uint32_t bind_command; /* the bind outstanding (ESME) or being answered (SMSC) */

    int input;             /* octets came in since the framer was last drained */
    int closing;           /* report outstanding requests as ABORTED, then CLOSED */
    unsigned abort_scan;
    smpp_pdu pdu;          /* the PDU of the last event (from here on not zeroed: see _new) */
    smpp_pdu reply;        /* automatic answers */
    char error[256];
    char reason[256];
};

static const char *const state_names[] = {"open",     "binding",   "bound_tx", "bound_rx",
                                          "bound_trx", "unbinding", "closed"};

const char *smpp_state_name(smpp_state st)
{
    return state_names[st];
}

static int set_error(smpp_session *s, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->error, sizeof s->error, fmt, ap);
    va_end(ap);
    return code;
}

smpp_session *smpp_session_new(const smpp_session_config *cfg, int64_t now)
{
    /* The two PDUs at the end are mostly submit_multi lists, written only
     * when such a PDU comes: left untouched, their pages never become
     * resident (an idle session stays small). */
    smpp_session *s = malloc(sizeof *s);
    if (s == NULL)
        return NULL;
    memset(s, 0, offsetof(smpp_session, pdu));
    smpp_pdu_init(&s->pdu, NULL, 0);
    smpp_pdu_init(&s->reply, NULL, 0);
    s->error[0] = s->reason[0] = '\0';
    s->cfg = *cfg;
    if (s->cfg.window == 0)
        s->cfg.window = 10;
    if (s->cfg.response_timeout_ms <= 0)
        s->cfg.response_timeout_ms = 10000;
    if (s->cfg.enquire_link_ms == 0)
        s->cfg.enquire_link_ms = 20000;
    if (s->cfg.max_resends == 0)
        s->cfg.max_resends = 10;
    s->cap = s->cfg.window + 1; /* one more for the keepalive */
    s->reqs = calloc(s->cap, sizeof *s->reqs);
    s->fifo = calloc(s->cap, sizeof *s->fifo);
    s->resend = calloc(s->cap, sizeof *s->resend);
    s->free_slots = calloc(s->cap, sizeof *s->free_slots);
    {
        size_t n = 16;
        while (n < 2 * (size_t)s->cap)
            n *= 2;
        s->by_seq = calloc(n, sizeof *s->by_seq);
        s->seq_mask = (unsigned)(n - 1);
    }
    if (s->reqs == NULL || s->fifo == NULL || s->resend == NULL || s->free_slots == NULL ||
        s->by_seq == NULL) {
        smpp_session_free(s);
        return NULL;
    }
    for (s->nfree = 0; s->nfree < s->cap; s->nfree++) /* slot 0 on top */
        s->free_slots[s->nfree] = s->cap - 1 - s->nfree;
    smpp_framer_init(&s->framer, s->cfg.max_length);
    smpp_buf_init(&s->out);
    s->state = SMPP_STATE_OPEN;
    s->next_seq = cfg->first_sequence >= 1 && cfg->first_sequence <= 0x7FFFFFFFu
                      ? cfg->first_sequence
                      : 1;
    s->next_id = 1;
    s->last_rx = now;
    return s;
}

void smpp_session_free(smpp_session *s)
{
    if (s == NULL)
        return;
    smpp_framer_free(&s->framer);
    smpp_buf_free(&s->out);
    if (s->reqs != NULL) {
        unsigned i;
        for (i = 0; i < s->cap; i++)
            smpp_buf_free(&s->reqs[i].bytes);
    }
    free(s->resend);
    free(s->free_slots);
    free(s->by_seq);
    free(s->reqs);
    free(s->fifo);
    free(s);
}

smpp_role smpp_session_role(const smpp_session *s)
{
    return s->cfg.role;
}

smpp_state smpp_session_state(const smpp_session *s)
{
    return s->state;
}

const char *smpp_session_error(const smpp_session *s)
{
    return s->error;
}

unsigned smpp_session_outstanding(const smpp_session *s)
{
    return s->nreqs;
}

uint64_t smpp_session_refusals(const smpp_session *s)
{
    return s->refusals;
}

/* ---- who may send what (3.4 section 2.3 and the PDU descriptions) -------- */

#define BIT(c) ((uint64_t)1 << (c))
enum { C_BIND, C_SUBMIT, C_DELIVER, C_DATA, C_QUERY, C_CANCEL, C_REPLACE, C_MULTI,
       C_OUTBIND, C_ENQUIRE, C_UNBIND, C_ALERT, C_NACK, C_OTHER };

static int command_class(uint32_t id)
{
    switch (id) {
    case SMPP_BIND_RECEIVER:
    case SMPP_BIND_TRANSMITTER:
    case SMPP_BIND_TRANSCEIVER: return C_BIND;
    case SMPP_SUBMIT_SM: return C_SUBMIT;
    case SMPP_DELIVER_SM: return C_DELIVER;
    case SMPP_DATA_SM: return C_DATA;
    case SMPP_QUERY_SM: return C_QUERY;
    case SMPP_CANCEL_SM: return C_CANCEL;
    case SMPP_REPLACE_SM: return C_REPLACE;
    case SMPP_SUBMIT_MULTI: return C_MULTI;
    case SMPP_OUTBIND: return C_OUTBIND;
    case SMPP_ENQUIRE_LINK: return C_ENQUIRE;
    case SMPP_UNBIND: return C_UNBIND;
    case SMPP_ALERT_NOTIFICATION: return C_ALERT;
    case SMPP_GENERIC_NACK: return C_NACK;
    default: return C_OTHER;
    }
}

/* The requests the SMSC throttles and may refuse with 0x58 or 0x14. */
static int is_submit(int cls)
{
    return cls == C_SUBMIT || cls == C_DATA || cls == C_MULTI;
}

/* The requests a role may send in a state. */
static uint64_t may_send(smpp_role role, smpp_state st)
{
    const uint64_t tx = BIT(C_SUBMIT) | BIT(C_DATA) | BIT(C_QUERY) | BIT(C_CANCEL) |
                        BIT(C_REPLACE) | BIT(C_MULTI);
    const uint64_t to_rx = BIT(C_DELIVER) | BIT(C_DATA) | BIT(C_ALERT);
    const uint64_t bound = BIT(C_ENQUIRE) | BIT(C_UNBIND);
    if (role == SMPP_ROLE_ESME) {
        switch (st) {
        case SMPP_STATE_OPEN: return BIT(C_BIND) | BIT(C_ENQUIRE);
        case SMPP_STATE_BOUND_TX:
        case SMPP_STATE_BOUND_TRX: return tx | bound;
        case SMPP_STATE_BOUND_RX: return bound;
        default: return 0;
        }
    }
    switch (st) {
    case SMPP_STATE_OPEN: return BIT(C_OUTBIND) | BIT(C_ENQUIRE);
    case SMPP_STATE_BOUND_TX: return bound;
    case SMPP_STATE_BOUND_RX:
    case SMPP_STATE_BOUND_TRX: return to_rx | bound;
    default: return 0;
    }
}

static smpp_state bound_state(uint32_t bind_command)
{
    switch (bind_command & ~SMPP_RESP_BIT) {
    case SMPP_BIND_TRANSMITTER: return SMPP_STATE_BOUND_TX;
    case SMPP_BIND_RECEIVER: return SMPP_STATE_BOUND_RX;
    default: return SMPP_STATE_BOUND_TRX;
    }
}

/* ---- output ---------------------------------------------------------------- */

size_t smpp_session_output(const smpp_session *s, const uint8_t **data)
{
    static const uint8_t none[1];
    if (s->out.data == NULL) {
        *data = none;
        return 0;
    }
    *data = s->out.data + s->out_sent;
    return s->out.len - s->out_sent;
}

void smpp_session_sent(smpp_session *s, size_t n)
{
    s->out_sent += n;
    s->sent_total += n;
    if (s->out_sent >= s->out.len) {
        s->out.len = 0;
        s->out_sent = 0;
    }
}

/* Appends an encoded PDU to the output; *start (when given) is where it
 * begins there. */
static int write_pdu(smpp_session *s, const smpp_pdu *pdu, size_t *start)
{
    smpp_error err;
    size_t at;
    /* Written octets move down only when most of the buffer is spent. */
    if (s->out_sent > 0 && s->out_sent >= s->out.len / 2) {
        smpp_buf_consume(&s->out, s->out_sent);
        s->out_sent = 0;
    }
    at = s->out.len;
    if (start != NULL)
        *start = at;
    if (smpp_pdu_encode(pdu, &s->out, &err) != SMPP_OK)
        return set_error(s, SMPP_EENCODE, "%s", err.msg);
    s->out_total += s->out.len - at;
    return SMPP_OK;
}

/* ---- requests -------------------------------------------------------------- */

static void set_state(smpp_session *s, smpp_state st)
{
    s->state = st;
}

/* The slot the next request takes (it leaves the stack in add_request). */
static int free_slot(const smpp_session *s)
{
    return s->nfree > 0 ? (int)s->free_slots[s->nfree - 1] : -1;
}

/* ---- sequence_number -> slot --------------------------------------------- */

static unsigned seq_home(const smpp_session *s, uint32_t seq)
{
    return (unsigned)((seq * 2654435761u) & s->seq_mask);
}

static void seq_put(smpp_session *s, uint32_t seq, unsigned slot)
{
    unsigned at = seq_home(s, seq);
    while (s->by_seq[at] != 0)
        at = (at + 1) & s->seq_mask;
    s->by_seq[at] = slot + 1;
}

/* Removes seq, moving back the entries after it that a probe would no
 * longer reach (deletion without tombstones). */
static void seq_drop(smpp_session *s, uint32_t seq)
{
    unsigned at = seq_home(s, seq), next;
    while (s->by_seq[at] != 0 && s->reqs[s->by_seq[at] - 1].seq != seq)
        at = (at + 1) & s->seq_mask;
    if (s->by_seq[at] == 0)
        return;
    s->by_seq[at] = 0;
    for (next = (at + 1) & s->seq_mask; s->by_seq[next] != 0; next = (next + 1) & s->seq_mask) {
        unsigned home = seq_home(s, s->reqs[s->by_seq[next] - 1].seq);
        /* the entry at next may move to the hole at at when its home is not
         * in the (cyclic) range (at, next] */
        if (((next - home) & s->seq_mask) >= ((next - at) & s->seq_mask)) {
            s->by_seq[at] = s->by_seq[next];
            s->by_seq[next] = 0;
            at = next;
        }
    }
}

static int timer_live(const smpp_session *s, unsigned at)
{
    const request *r = &s->reqs[s->fifo[at].slot];
    return r->id != 0 && r->stamp == s->fifo[at].stamp;
}

/* Starts the response timer of the request in slot i. */
static void start_timer(smpp_session *s, unsigned i, int64_t now)
{
    unsigned tail;
    if (s->cap == 0) /* never: cap is window + 1 (for the analyzer) */
        return;
    s->reqs[i].deadline = now + s->cfg.response_timeout_ms;
    s->reqs[i].stamp = ++s->next_stamp;
    /* Answered requests leave stale FIFO entries: drop those at the head, and
     * when the ring is full of them behind live ones, squeeze them out. */
    while (s->fifo_len > 0 && !timer_live(s, s->fifo_head)) {
        s->fifo_head = (s->fifo_head + 1) % s->cap;
        s->fifo_len--;
    }
    if (s->fifo_len == s->cap) {
        unsigned n = 0, k;
        for (k = 0; k < s->fifo_len; k++) {
            unsigned at = (s->fifo_head + k) % s->cap;
            if (timer_live(s, at))
                s->fifo[(s->fifo_head + n++) % s->cap] = s->fifo[at];
        }
        s->fifo_len = n;
    }
    tail = (s->fifo_head + s->fifo_len) % s->cap;
    s->fifo[tail].slot = i;
    s->fifo[tail].stamp = s->reqs[i].stamp;
    s->fifo_len++;
}

static uint64_t add_request(smpp_session *s, unsigned i, uint32_t seq, uint32_t command_id,
                            uint64_t tag, int64_t until, uint64_t start, int64_t now)
{
    s->nfree--; /* i is the top of the free stack (free_slot) */
    s->reqs[i].id = s->next_id++;
    s->reqs[i].tag = tag;
    s->reqs[i].until = until;
    s->reqs[i].start = start;
    s->reqs[i].seq = seq;
    seq_put(s, seq, i);
    s->reqs[i].command_id = command_id;
    s->reqs[i].resends = 0;
    s->nreqs++;
    start_timer(s, i, now);
    return s->reqs[i].id;
}

static uint32_t take_seq(smpp_session *s)
{
    uint32_t seq = s->next_seq;
    s->next_seq = seq >= 0x7FFFFFFFu ? 1 : seq + 1; /* 3.4 section 3.2: 1 to 0x7FFFFFFF */
    return seq;
}

/* A refused submit waits, in the order of first sending (ids grow). */
static void queue_resend(smpp_session *s, unsigned slot, uint32_t status)
{
    unsigned i = s->nresend;
    s->reqs[slot].refusal = status;
    s->reqs[slot].stamp = 0; /* no timer while it waits */
    seq_drop(s, s->reqs[slot].seq);
    s->reqs[slot].seq = 0;
    while (i > 0 && s->reqs[s->resend[i - 1]].id > s->reqs[slot].id) {
        s->resend[i] = s->resend[i - 1];
        i--;
    }
    s->resend[i] = slot;
    s->nresend++;
}

/* Sends the waiting submits again as far as the throttle lets them. */
static void run_resends(smpp_session *s, int64_t now)
{
    while (s->nresend > 0) {
        unsigned slot = s->resend[0];
        request *r = &s->reqs[slot];
        uint32_t seq;
        uint8_t *p;
        if (s->cfg.throttle != NULL && !smpp_throttle_take(s->cfg.throttle, now))
            return;
        if (smpp_buf_reserve(&s->out, r->bytes.len) != SMPP_OK)
            return;
        seq = take_seq(s);
        r->start = s->out_total;
        s->out_total += r->bytes.len;
        p = r->bytes.data;
        p[12] = (uint8_t)(seq >> 24); /* sequence_number, 3.4 section 3.2 */
        p[13] = (uint8_t)(seq >> 16);
        p[14] = (uint8_t)(seq >> 8);
        p[15] = (uint8_t)seq;
        smpp_buf_append(&s->out, p, r->bytes.len);
        r->seq = seq;
        seq_put(s, seq, slot);
        r->resends++;
        start_timer(s, slot, now);
        memmove(s->resend, s->resend + 1, (s->nresend - 1) * sizeof *s->resend);
        s->nresend--;
    }
}

int64_t smpp_session_last_rx(const smpp_session *s)
{
    return s->last_rx;
}

int64_t smpp_session_submit_delay(const smpp_session *s, int64_t now)
{
    int64_t d = s->cfg.throttle != NULL ? smpp_throttle_delay(s->cfg.throttle, now) : 0;
    return s->nresend > 0 && d == 0 ? 1 : d;
}

static request *find_request(smpp_session *s, uint32_t seq)
{
    unsigned at;
    if (seq == 0)
        return NULL;
    for (at = seq_home(s, seq); s->by_seq[at] != 0; at = (at + 1) & s->seq_mask) {
        request *r = &s->reqs[s->by_seq[at] - 1];
        if (r->seq == seq)
            return r->id != 0 && r->stamp != 0 ? r : NULL;
    }
    return NULL;
}

static void end_request(smpp_session *s, request *r)
{
    unsigned i, slot = (unsigned)(r - s->reqs);
    for (i = 0; i < s->nresend; i++) /* ends while waiting to go again (link lost) */
        if (s->resend[i] == slot) {
            memmove(s->resend + i, s->resend + i + 1, (s->nresend - i - 1) * sizeof *s->resend);
            s->nresend--;
            break;
        }
    if (r->id == s->keepalive_id)
        s->keepalive_id = 0;
    if (r->seq != 0)
        seq_drop(s, r->seq);
    r->id = 0;
    r->seq = 0;
    s->nreqs--;
    s->free_slots[s->nfree++] = slot;
}

int smpp_session_send(smpp_session *s, smpp_pdu *pdu, int64_t now, uint64_t *id)
{
    return smpp_session_send_tagged(s, pdu, now, 0, -1, id);
}

int smpp_session_send_tagged(smpp_session *s, smpp_pdu *pdu, int64_t now, uint64_t tag,
                             int64_t until, uint64_t *id)
{
    int cls, rc, slot;
    uint32_t seq;
    size_t start;
    uint64_t queued = s->out_total;

    if (s->state == SMPP_STATE_CLOSED || s->closing)
        return set_error(s, SMPP_ECLOSED, "session closed: %s", s->reason);
    if (now > s->seen)
        s->seen = now;
    if (pdu->cmd == NULL || (pdu->cmd->flags & SMPP_CMD_RESPONSE))
        return set_error(s, SMPP_ESTATE, "%s is not a request",
                         pdu->cmd ? pdu->cmd->name : "(unknown)");
    cls = command_class(pdu->cmd->id);
    if (!(may_send(s->cfg.role, s->state) & BIT(cls)))
        return set_error(s, SMPP_ESTATE, "%s is not allowed in state %s for the %s",
                         pdu->cmd->name, state_names[s->state],
                         s->cfg.role == SMPP_ROLE_ESME ? "ESME" : "SMSC");
    if (cls != C_ENQUIRE && s->nreqs - (s->keepalive_id != 0) >= s->cfg.window)
        return set_error(s, SMPP_EWINDOW, "window full: %u requests outstanding", s->nreqs);
    slot = free_slot(s);
    if (slot < 0)
        return set_error(s, SMPP_EWINDOW, "window full: %u requests outstanding", s->nreqs);
    if (is_submit(cls)) {
        if (s->nresend > 0)
            return set_error(s, SMPP_ETHROTTLED, "throttled: %u refused submits go first",
                             s->nresend);
        if (s->cfg.throttle != NULL && smpp_throttle_delay(s->cfg.throttle, now) > 0)
            return set_error(s, SMPP_ETHROTTLED, "throttled: the next submit may go in %lld ms",
                             (long long)smpp_throttle_delay(s->cfg.throttle, now));
    }
    seq = s->next_seq;
    pdu->sequence_number = seq;
    if ((rc = write_pdu(s, pdu, &start)) != SMPP_OK)
        return rc;
    if (is_submit(cls)) { /* kept, to go again if the SMSC throttles it */
        s->reqs[slot].bytes.len = 0;
        if (smpp_buf_append(&s->reqs[slot].bytes, s->out.data + start, s->out.len - start) !=
            SMPP_OK) {
            s->out.len = start;
            return set_error(s, SMPP_ENOMEM, "out of memory");
        }
        if (s->cfg.throttle != NULL)
            smpp_throttle_take(s->cfg.throttle, now);
    }
    if (cls == C_OUTBIND) { /* 3.4 section 4.1.7: outbind has no response */
        *id = 0;
        take_seq(s);
        return SMPP_OK;
    }
    *id = add_request(s, (unsigned)slot, seq, pdu->cmd->id, tag, until, queued, now);
    take_seq(s);
    if (cls == C_BIND) {
        s->bind_command = pdu->cmd->id;
        set_state(s, SMPP_STATE_BINDING);
    } else if (cls == C_UNBIND) {
        set_state(s, SMPP_STATE_UNBINDING);
    }
    return SMPP_OK;
}

int smpp_session_respond(smpp_session *s, smpp_pdu *pdu, int64_t now)
{
    int rc;
    (void)now;
    if (s->state == SMPP_STATE_CLOSED)
        return set_error(s, SMPP_ECLOSED, "session closed: %s", s->reason);
    if (pdu->cmd == NULL || !(pdu->cmd->flags & SMPP_CMD_RESPONSE))
        return set_error(s, SMPP_ESTATE, "%s is not a response",
                         pdu->cmd ? pdu->cmd->name : "(unknown)");
    if ((rc = write_pdu(s, pdu, NULL)) != SMPP_OK)
        return rc;
    /* The SMSC's answer to a bind decides the state (3.4 section 4.1). */
    if (s->cfg.role == SMPP_ROLE_SMSC && s->bind_command != 0 &&
        pdu->cmd->id == (s->bind_command | SMPP_RESP_BIT)) {
        if (pdu->command_status == 0)
            set_state(s, bound_state(s->bind_command));
        s->bind_command = 0;
    }
    return SMPP_OK;
}

/* ---- input ----------------------------------------------------------------- */

int smpp_session_feed(smpp_session *s, const uint8_t *data, size_t len, int64_t now)
{
    int rc;
    if (s->state == SMPP_STATE_CLOSED)
        return SMPP_OK; /* late octets of a closed link are dropped */
    rc = smpp_framer_feed(&s->framer, data, len);
    if (now > s->seen)
        s->seen = now;
    if (len > 0) {
        s->last_rx = now;
        s->input = 1;
    }
    return rc == SMPP_EFRAME ? SMPP_OK : rc;
}

/* An automatic answer: the response to a request, or a generic_nack. */
static void answer(smpp_session *s, uint32_t command_id, uint32_t seq, uint32_t status)
{
    smpp_pdu_init(&s->reply, smpp_command_by_id(command_id), seq);
    s->reply.command_status = status;
    write_pdu(s, &s->reply, NULL);
}

static void start_close(smpp_session *s, const char *fmt, ...)
{
    va_list ap;
    if (s->closing || s->state == SMPP_STATE_CLOSED)
        return;
    va_start(ap, fmt);
    vsnprintf(s->reason, sizeof s->reason, fmt, ap);
    va_end(ap);
    s->closing = 1;
    s->abort_scan = 0;
}

void smpp_session_close(smpp_session *s, const char *reason)
{
    start_close(s, "%s", reason ? reason : "closed");
}

/* Handles one whole PDU; returns 1 with *ev filled when the user must see it. */
static int handle_pdu(smpp_session *s, const uint8_t *p, size_t len, smpp_event *ev)
{
    smpp_error err;
    smpp_pdu *pdu = &s->pdu;
    int rc = smpp_pdu_decode(pdu, p, len, s->framer.max_length, &err);
    int is_resp = (pdu->command_id & SMPP_RESP_BIT) != 0;

    memset(ev, 0, sizeof *ev);
    ev->raw = p;
    ev->raw_len = len;
    if (rc != SMPP_OK) {
        request *r = is_resp ? find_request(s, pdu->sequence_number) : NULL;
        snprintf(s->error, sizeof s->error, "%s", err.msg);
        ev->type = SMPP_EV_INVALID;
        ev->message = s->error;
        ev->command_id = pdu->command_id;
        if (r != NULL) { /* a response we cannot read still ends its request */
            ev->id = r->id;
            ev->tag = r->tag;
            end_request(s, r);
        } else if (!is_resp) {
            /* 3.4 section 2.7: a request of a known command whose body cannot
             * be read (a field past the end, an unterminated C-string, octets
             * after the last field) gets its own response with the status;
             * generic_nack is for an unknown command_id (and, in the framer,
             * an unusable command_length). */
            answer(s, pdu->cmd != NULL ? pdu->command_id | SMPP_RESP_BIT : SMPP_GENERIC_NACK,
                   pdu->sequence_number, err.status);
        }
        return 1;
    }
    if (is_resp) {
        request *r = find_request(s, pdu->sequence_number);
        if (r == NULL || (pdu->command_id != (r->command_id | SMPP_RESP_BIT) &&
                          pdu->command_id != SMPP_GENERIC_NACK)) {
            ev->type = SMPP_EV_UNEXPECTED;
            ev->pdu = pdu;
            return 1;
        }
        if (is_submit(command_class(r->command_id))) {
            int refused = pdu->command_status == 0x58 || pdu->command_status == 0x14;
            s->refusals += (uint64_t)refused;
            if (refused && s->cfg.throttle != NULL)
                smpp_throttle_backoff(s->cfg.throttle, s->last_rx);
            else if (pdu->command_status == 0 && s->cfg.throttle != NULL)
                smpp_throttle_success(s->cfg.throttle, s->last_rx);
            if (refused && r->resends < s->cfg.max_resends &&
                (r->until < 0 || s->seen < r->until)) {
                queue_resend(s, (unsigned)(r - s->reqs), pdu->command_status);
                return 0;
            }
        }
        ev->type = SMPP_EV_RESPONSE;
        ev->id = r->id;
        ev->tag = r->tag;
        ev->command_id = r->command_id;
        ev->pdu = pdu;
        if (command_class(r->command_id) == C_BIND)
            set_state(s, pdu->command_status == 0 && pdu->command_id != SMPP_GENERIC_NACK
                             ? bound_state(r->command_id)
                             : SMPP_STATE_OPEN);
        if (r->command_id == SMPP_UNBIND) {
            end_request(s, r);
            start_close(s, "unbound");
            return 1;
        }
        if (r->id == s->keepalive_id) { /* our keepalive: nobody waits for it */
            end_request(s, r);
            return 0;
        }
        end_request(s, r);
        return 1;
    }
    /* A request of the peer. */
    {
        smpp_role peer = s->cfg.role == SMPP_ROLE_ESME ? SMPP_ROLE_SMSC : SMPP_ROLE_ESME;
        int cls = command_class(pdu->command_id);
        smpp_state as_peer = s->state;
        if (cls == C_BIND && s->cfg.role == SMPP_ROLE_SMSC) {
            if (s->state != SMPP_STATE_OPEN || s->bind_command != 0) {
                answer(s, pdu->command_id | SMPP_RESP_BIT, pdu->sequence_number, 0x05);
                return 0; /* ESME_RALYBND */
            }
            s->bind_command = pdu->command_id;
            ev->type = SMPP_EV_REQUEST;
            ev->pdu = pdu;
            return 1;
        }
        if (cls == C_ENQUIRE) { /* 3.4 section 4.11: always answered */
            answer(s, SMPP_ENQUIRE_LINK | SMPP_RESP_BIT, pdu->sequence_number, 0);
            return 0;
        }
        if (cls == C_UNBIND) {
            answer(s, SMPP_UNBIND | SMPP_RESP_BIT, pdu->sequence_number, 0);
            start_close(s, "the peer unbound");
            return 0;
        }
        if (cls == C_NACK || !(may_send(peer, as_peer) & BIT(cls))) {
            /* 3.4 section 2.3: a PDU not allowed in this state gets 0x04. */
            answer(s, pdu->command_id | SMPP_RESP_BIT, pdu->sequence_number, 0x04);
            snprintf(s->error, sizeof s->error, "%s is not allowed in state %s",
                     pdu->cmd->name, state_names[s->state]);
            ev->type = SMPP_EV_INVALID;
            ev->message = s->error;
            ev->command_id = pdu->command_id;
            return 1;
        }
        ev->type = SMPP_EV_REQUEST;
        ev->pdu = pdu;
        return 1;
    }
}

/* An event that ends request r (it ends with it). */
static void request_event(smpp_event *ev, smpp_event_type type, const request *r)
{
    memset(ev, 0, sizeof *ev);
    ev->type = type;
    ev->id = r->id;
    ev->tag = r->tag;
    ev->command_id = r->command_id;
}

/* A refused submit whose caller's deadline came while it waited to go again. */
static int next_expired(smpp_session *s, int64_t now, smpp_event *ev)
{
    unsigned i;
    for (i = 0; i < s->nresend; i++) {
        request *r = &s->reqs[s->resend[i]];
        if (r->until >= 0 && now >= r->until) {
            request_event(ev, SMPP_EV_EXPIRED, r);
            ev->status = r->refusal;
            ev->message = "its time ran out while it waited to be sent again";
            end_request(s, r);
            return 1;
        }
    }
    return 0;
}

static int next_abort(smpp_session *s, smpp_event *ev)
{
    for (; s->abort_scan < s->cap; s->abort_scan++) {
        request *r = &s->reqs[s->abort_scan];
        if (r->id != 0) {
            request_event(ev, SMPP_EV_ABORTED, r);
            ev->message = s->reason;
            /* waiting to go again (refused), or queued and never handed out */
            ev->unsent = r->stamp == 0 || s->sent_total <= r->start;
            end_request(s, r);
            return 1;
        }
    }
    return 0;
}

/* Response timeouts and the keepalive. */
static int run_timers(smpp_session *s, int64_t now, smpp_event *ev)
{
    while (s->fifo_len > 0) {
        unsigned slot = s->fifo[s->fifo_head].slot;
        request *r = &s->reqs[slot];
        if (!timer_live(s, s->fifo_head)) { /* answered, or waiting to go again */
            s->fifo_head = (s->fifo_head + 1) % s->cap;
            s->fifo_len--;
            continue;
        }
        if (r->deadline > now)
            break;
        if (r->id == s->keepalive_id) {
            start_close(s, "no answer to enquire_link in %lld ms: the link is dead",
                        (long long)s->cfg.response_timeout_ms);
            return 0;
        }
        request_event(ev, SMPP_EV_TIMEOUT, r);
        ev->message = "no response in time";
        if (command_class(r->command_id) == C_BIND)
            set_state(s, SMPP_STATE_OPEN);
        end_request(s, r);
        return 1;
    }
    if (s->cfg.enquire_link_ms > 0 && s->keepalive_id == 0 &&
        now - s->last_rx >= s->cfg.enquire_link_ms &&
        (may_send(s->cfg.role, s->state) & BIT(C_ENQUIRE))) {
        smpp_pdu_init(&s->reply, smpp_command_by_id(SMPP_ENQUIRE_LINK), 0);
        if (smpp_session_send(s, &s->reply, now, &s->keepalive_id) != SMPP_OK)
            s->keepalive_id = 0;
    }
    return 0;
}

int smpp_session_next_event(smpp_session *s, int64_t now, smpp_event *ev)
{
    const uint8_t *p;
    size_t len;
    int rc;

    if (s->state == SMPP_STATE_CLOSED)
        return 0;
    if (now > s->seen)
        s->seen = now;
    while (!s->closing) {
        rc = smpp_framer_next(&s->framer, &p, &len);
        if (rc == 0) {
            s->input = 0;
            break;
        }
        if (rc == SMPP_EFRAME) { /* 3.4: generic_nack, and the stream is lost */
            answer(s, SMPP_GENERIC_NACK, 0, s->framer.err.status);
            start_close(s, "framing error: %s", s->framer.err.msg);
            break;
        }
        if (handle_pdu(s, p, len, ev))
            return 1;
    }
    if (!s->closing && next_expired(s, now, ev))
        return 1;
    if (!s->closing)
        run_resends(s, now);
    if (!s->closing && run_timers(s, now, ev))
        return 1;
    if (s->closing) {
        if (next_abort(s, ev))
            return 1;
        set_state(s, SMPP_STATE_CLOSED);
        memset(ev, 0, sizeof *ev);
        ev->type = SMPP_EV_CLOSED;
        ev->state = SMPP_STATE_CLOSED;
        ev->message = s->reason;
        return 1;
    }
    return 0;
}

int64_t smpp_session_deadline(const smpp_session *s)
{
    int64_t d = -1;
    unsigned k;
    if (s->state == SMPP_STATE_CLOSED)
        return -1;
    if (s->closing || s->input)
        return 0; /* events are waiting */
    for (k = 0; k < s->fifo_len; k++) { /* the first live entry */
        unsigned at = (s->fifo_head + k) % s->cap;
        if (timer_live(s, at)) {
            d = s->reqs[s->fifo[at].slot].deadline;
            break;
        }
    }
    if (s->nresend > 0 && s->cfg.throttle != NULL) {
        int64_t r = s->seen + smpp_throttle_delay(s->cfg.throttle, s->seen);
        if (d < 0 || r < d)
            d = r;
    }
    for (k = 0; k < s->nresend; k++) { /* a refused submit's deadline */
        int64_t u = s->reqs[s->resend[k]].until;
        if (u >= 0 && (d < 0 || u < d))
            d = u;
    }
    if (s->cfg.enquire_link_ms > 0 && s->keepalive_id == 0 &&
        (may_send(s->cfg.role, s->state) & BIT(C_ENQUIRE))) {
        int64_t k2 = s->last_rx + s->cfg.enquire_link_ms;
        if (d < 0 || k2 < d)
            d = k2;
    }
    return d;
}
