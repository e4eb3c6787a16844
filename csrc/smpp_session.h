/* smpp_session: the SMPP 3.4 session engine, sans-I/O. It is fed the bytes
 * that arrive (smpp_session_feed), hands out the bytes to send
 * (smpp_session_output), and is told the time (now, in milliseconds of a
 * monotonic clock). It never reads a socket, never sleeps and never calls
 * back: what happens comes out as events (smpp_session_next_event). Both
 * roles run on it: the ESME (client) and the SMSC (server). */
#ifndef SMPP_SESSION_H
#define SMPP_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "smpp_buf.h"
#include "smpp_frame.h"
#include "smpp_pdu.h"
#include "smpp_throttle.h"

typedef enum smpp_role { SMPP_ROLE_ESME, SMPP_ROLE_SMSC } smpp_role;

/* 3.4 section 2.2: session states. */
typedef enum smpp_state {
    SMPP_STATE_OPEN,     /* connected, not bound */
    SMPP_STATE_BINDING,  /* a bind request is outstanding (ESME) */
    SMPP_STATE_BOUND_TX,
    SMPP_STATE_BOUND_RX,
    SMPP_STATE_BOUND_TRX,
    SMPP_STATE_UNBINDING, /* unbind sent or answered: only responses go on */
    SMPP_STATE_CLOSED
} smpp_state;

typedef struct smpp_session_config {
    smpp_role role;
    unsigned window;             /* outstanding requests at most (default 10) */
    int64_t response_timeout_ms; /* default 10000 */
    int64_t enquire_link_ms;     /* idle time before an enquire_link (default 20000; <0 off) */
    size_t max_length;           /* largest PDU accepted (default 64 KiB) */
    uint32_t first_sequence;     /* the first sequence_number (default 1) */
    smpp_throttle *throttle;     /* submits' token bucket, may be shared; NULL: none */
    unsigned max_resends;        /* sends again after 0x58 / 0x14 (default 10) */
} smpp_session_config;

typedef enum smpp_event_type {
    SMPP_EV_RESPONSE, /* the response to one of our requests: id, pdu */
    SMPP_EV_REQUEST,  /* a request of the peer to answer with smpp_session_respond: pdu */
    SMPP_EV_TIMEOUT,  /* no response in time: id, command_id */
    SMPP_EV_ABORTED,  /* the link went down with the request outstanding: id, command_id */
    SMPP_EV_UNEXPECTED, /* a response matching no request (late, or unknown): pdu */
    SMPP_EV_INVALID,  /* a PDU that could not be read; it was answered with a generic_nack */
    SMPP_EV_STATE,    /* the session state changed: state */
    SMPP_EV_CLOSED,   /* the session is over: message says why */
    SMPP_EV_EXPIRED   /* a submit refused with status (0x58, 0x14) whose time ran out
                       * while it waited to go again: id, command_id, status */
} smpp_event_type;

typedef struct smpp_event {
    smpp_event_type type;
    uint64_t id;         /* the request's id, as smpp_session_send gave it */
    uint64_t tag;        /* the request's tag (smpp_session_send_tagged), else 0 */
    uint32_t command_id; /* of the request (TIMEOUT, ABORTED) */
    smpp_state state;
    const smpp_pdu *pdu; /* RESPONSE, REQUEST, UNEXPECTED: valid until the next call */
    const uint8_t *raw;  /* the PDU's octets as they came (raw_len of them), when */
    size_t raw_len;      /* pdu is set or INVALID; valid until the next call */
    const char *message; /* INVALID, CLOSED, TIMEOUT, ABORTED */
    uint32_t status;     /* EXPIRED: the SMSC's last refusal */
    int unsent;          /* ABORTED: none of the request's octets had been handed to the
                          * transport since it was last (re)sent: the peer cannot have it */
} smpp_event;

typedef struct smpp_session smpp_session;

smpp_session *smpp_session_new(const smpp_session_config *cfg, int64_t now);
void smpp_session_free(smpp_session *s);

smpp_state smpp_session_state(const smpp_session *s);
smpp_role smpp_session_role(const smpp_session *s);
const char *smpp_session_error(const smpp_session *s); /* the last error's message */
const char *smpp_state_name(smpp_state st);

/* Sends a request: pdu->sequence_number is assigned here (1..0x7FFFFFFF,
 * wrapping), *id identifies the request in later events, and tag (the
 * caller's, say which message of a batch this is; 0: none) comes back in
 * them as ev->tag, so a caller finds its own record without a table of ids.
 * Fails with SMPP_ESTATE (not allowed in this state or role), SMPP_EWINDOW,
 * SMPP_ETHROTTLED (a submit must wait: smpp_session_submit_delay says how
 * long), SMPP_ECLOSED or SMPP_EENCODE; nothing is sent then.
 *
 * A submit (submit_sm, data_sm, submit_multi) answered with ESME_RTHROTTLED
 * (0x58) or ESME_RMSGQFUL (0x14) does not end: the throttle backs off and the
 * same PDU goes again (with a new sequence_number) before any new submit, in
 * the order they were first sent, up to max_resends times; then the refusal
 * is its RESPONSE. until (an absolute time, or -1: none) is the caller's
 * deadline: a refused submit is never sent again at or after it, and one
 * still waiting to go again then ends as EXPIRED with the refusal's status. */
int smpp_session_send_tagged(smpp_session *s, smpp_pdu *pdu, int64_t now, uint64_t tag,
                             int64_t until, uint64_t *id);
/* smpp_session_send_tagged with no tag and no deadline. */
int smpp_session_send(smpp_session *s, smpp_pdu *pdu, int64_t now, uint64_t *id);

/* Answers the peer's request with sequence number seq: pdu is the response
 * (its command must be the request's response, or generic_nack). */
int smpp_session_respond(smpp_session *s, smpp_pdu *pdu, int64_t now);

/* Bytes that arrived. Decoding happens as events are taken. */
int smpp_session_feed(smpp_session *s, const uint8_t *data, size_t len, int64_t now);

/* The next event (1), or 0 when there is none. Also runs the timers. */
int smpp_session_next_event(smpp_session *s, int64_t now, smpp_event *ev);

/* Bytes waiting to be sent, and how many of them went out. */
size_t smpp_session_output(const smpp_session *s, const uint8_t **data);
void smpp_session_sent(smpp_session *s, size_t n);

/* When the session next needs the time to pass (a response timeout, the
 * keepalive): an absolute time, or -1 when nothing is pending. */
int64_t smpp_session_deadline(const smpp_session *s);

/* When the peer last sent anything (for an idle timeout). */
int64_t smpp_session_last_rx(const smpp_session *s);

/* Milliseconds until a submit may be sent (0: now). */
int64_t smpp_session_submit_delay(const smpp_session *s, int64_t now);

/* Requests outstanding, and whether the window has room. */
unsigned smpp_session_outstanding(const smpp_session *s);

/* How many submits the peer answered with 0x58 or 0x14 (each sent again
 * while its time and max_resends allow). */
uint64_t smpp_session_refusals(const smpp_session *s);

/* The link is gone (the transport saw EOF or an error): every outstanding
 * request ends as ABORTED, then CLOSED with the reason. */
void smpp_session_close(smpp_session *s, const char *reason);

#endif
