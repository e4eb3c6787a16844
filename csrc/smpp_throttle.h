/* smpp_throttle: the submit rate limit of an account, a token bucket with exact
 * integer arithmetic that the caller tells the time, shared by its sessions. */
#ifndef SMPP_THROTTLE_H
#define SMPP_THROTTLE_H

#include <stdint.h>

/* Time is an int64_t count of milliseconds from a monotonic clock of the
 * caller's choosing; the throttle never reads a clock.
 *
 * Arithmetic. A rate is kept in 1/1000 token per second, which is 1/1000000
 * token (a "microtoken") per millisecond, so that each millisecond adds a whole
 * number of microtokens: no rounding, no drift, however long the run. A rate
 * given as a double is rounded to the nearest 0.001/s once, when it is set;
 * rates from 0.001/s to SMPP_THROTTLE_MAX_RATE/s are kept (a positive rate
 * outside is clamped to that range).
 *
 * Bucket. It holds `burst` whole tokens at most (1 to SMPP_THROTTLE_MAX_BURST;
 * 0 is taken as 1), starts full, and fills at the effective rate; a send takes
 * one whole token. The part of a millisecond after the instant the bucket
 * filled is not lost (less than one millisecond of filling, never a whole
 * token more), so that a greedy sender with burst 1 gets its k-th token
 * exactly ceil(k * 1000 / rate) ms after its first: the sends are evenly
 * spaced (rate 10: one every 100 ms; rate 30: 33 or 34 ms apart, three every
 * 100 ms), and the count over any run is exact (7.5/s: 27000 an hour). A
 * sender that comes later than the delay said loses the time it is late by
 * (a full bucket of 1 cannot save it up): the price of the spacing; burst 2
 * lets it catch up. While the configured rate is r tokens/s (the effective
 * rate never exceeds it), the takes in any window [s, s + W) of W ms,
 * wherever it starts, number at most
 *     burst - 1 + ceil(r * W / 1000)
 * so with burst 1 never more than N in any 1000 ms window for an integer rate
 * N. (A fractional rate such as 7.5/s allows 8 in some 1000 ms windows and at
 * most 15 in any 2000 ms window.) However long the bucket stays idle, it
 * never holds more than `burst` whole tokens.
 *
 * Clock. The throttle keeps the latest time it has reached. A `now` earlier
 * than that (clock skew, two sessions reading the clock in a different order)
 * adds no token and takes none: nothing is taken until `now` catches up, and
 * smpp_throttle_delay counts the wait from the `now` it was given. Every
 * subtraction and addition of times saturates, so no value of `now` overflows.
 *
 * Back-off policy, for ESME_RTHROTTLED (0x58) and ESME_RMSGQFUL (0x14):
 *   - smpp_throttle_backoff pauses: no token until now + P, P being 1 s at
 *     first and doubling at each further back-off of the same episode, up to
 *     30 s. An episode ends when the effective rate has come back to the
 *     configured rate and a success is reported (smpp_throttle_success); the
 *     next back-off then pauses 1 s again.
 *   - It also halves the effective rate, never below the floor: one tenth of
 *     the configured rate (rounded down to 0.001/s) but at least 1/s, and never
 *     above the configured rate (a configured rate of 1/s or less is not cut).
 *   - The bucket holds at most one whole token at the end of the pause, and no
 *     more than it would have filled to at the cut rate: the resend goes
 *     first, alone, and the back-off never adds a token.
 *   - A back-off reported during a pause is absorbed by it: answers to submits
 *     sent before the pause neither lengthen the pause nor cut the rate again.
 *   - Recovery: a success reported at least 1000 ms after the pause ended, or
 *     after the previous recovery step, raises the effective rate by one tenth
 *     of the configured rate, never above it; successes during a pause are
 *     ignored. So a rate halved from 10/s comes back to exactly 10/s after five
 *     steps, one per second of clean traffic.
 *   - An unlimited throttle (rate 0) pauses the same way but has no rate to cut.
 *
 * Sharing. Sessions of one account hold a pointer to one smpp_throttle and call
 * it with the same clock. It has no lock: the sessions that share it are
 * driven from one thread. */

#define SMPP_THROTTLE_MAX_RATE 1000000  /* tokens per second */
#define SMPP_THROTTLE_MAX_BURST 1000000 /* tokens */
#define SMPP_THROTTLE_PAUSE_MS 1000     /* the first pause of an episode */
#define SMPP_THROTTLE_PAUSE_MAX_MS 30000
#define SMPP_THROTTLE_STEP_MS 1000 /* least time between two recovery steps */

typedef struct smpp_throttle {
    int64_t rate;         /* configured rate, 1/1000 token per s; 0 = unlimited */
    int64_t eff;          /* effective rate, same unit: rate, or less after a back-off */
    int64_t cap;          /* burst, in microtokens */
    int64_t tokens;       /* microtokens in the bucket at time `last` */
    int64_t last;         /* the latest time reached (ms); the end of a pause */
    int64_t pause_until;  /* a pause lasts until then */
    int64_t next_pause;   /* ms the next back-off pauses for */
    int64_t recover_mark; /* the end of the pause, or the last recovery step */
    int64_t slack_ms;     /* lateness forgiven (see smpp_throttle_set_slack); 0 by default */
} smpp_throttle;

/* Sets up a full bucket of `burst` tokens filling at rate_per_s tokens per
 * second. A rate_per_s that is not above 0 (0, negative, NaN) means unlimited:
 * every take succeeds (except during a back-off pause); the binding refuses the
 * negative ones before they get here. */
void smpp_throttle_init(smpp_throttle *t, double rate_per_s, unsigned burst, int64_t now_ms);

/* Changes the configured rate and the burst at run time. What the bucket holds
 * at now_ms (filled at the old rate) is kept, cut to the new burst. An effective
 * rate cut by a back-off stays cut, moved into the new rate's range (floor to
 * rate); an uncut one becomes the new rate. A pause in progress goes on.
 * Turning a limit on after an unlimited spell fills the bucket, as init does. */
void smpp_throttle_set_rate(smpp_throttle *t, double rate_per_s, unsigned burst, int64_t now_ms);

/* Lets a sender that comes late keep its schedule: the bucket holds up to
 * slack_ms of filling beyond its burst (0, the default: none), so a take that
 * comes up to slack_ms after its token was due does not push the next one
 * back. The bound above becomes burst - 1 + ceil(r * (W + slack_ms) / 1000):
 * with a rate of N * 0.995 and a slack of 5 ms or less, still at most N in
 * any 1000 ms window, while a sender woken a little late each time (poll
 * timeouts round up) keeps the full rate. */
void smpp_throttle_set_slack(smpp_throttle *t, int64_t slack_ms);

/* Milliseconds from now_ms until smpp_throttle_take would succeed, if nothing
 * else happens in between; 0 means it succeeds at now_ms. Exact: take fails at
 * now_ms + delay - 1 and succeeds at now_ms + delay. Saturates at INT64_MAX. */
int64_t smpp_throttle_delay(const smpp_throttle *t, int64_t now_ms);

/* Takes one token: returns 1 when one was available at now_ms (a submit may go
 * now), else 0 and changes nothing but the time reached. */
int smpp_throttle_take(smpp_throttle *t, int64_t now_ms);

/* Reports a submit refused with 0x58 or 0x14: pauses and cuts the rate (see
 * the policy above). The caller resends the refused submit first. */
void smpp_throttle_backoff(smpp_throttle *t, int64_t now_ms);

/* Reports a submit accepted: recovers the effective rate step by step. */
void smpp_throttle_success(smpp_throttle *t, int64_t now_ms);

/* The effective rate in tokens per second (0 = unlimited), for statistics. */
double smpp_throttle_rate(const smpp_throttle *t);

#endif
