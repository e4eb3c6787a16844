/* smpp_throttle: token bucket in microtokens, told the time, with back-off. */
#include "smpp_throttle.h"

#define TOKEN INT64_C(1000000) /* microtokens in a token */

/* b - a for a <= b, saturated at INT64_MAX. */
static int64_t span(int64_t a, int64_t b)
{
    if (a < 0 && b > INT64_MAX + a)
        return INT64_MAX;
    return b - a;
}

/* a + d for d >= 0, saturated at INT64_MAX. */
static int64_t later(int64_t a, int64_t d)
{
    return a > INT64_MAX - d ? INT64_MAX : a + d;
}

static int64_t ceil_div(int64_t a, int64_t b)
{
    return a / b + (a % b != 0);
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static int64_t milli_rate(double rate_per_s)
{
    if (!(rate_per_s > 0))
        return 0;
    if (rate_per_s >= SMPP_THROTTLE_MAX_RATE)
        return INT64_C(1000) * SMPP_THROTTLE_MAX_RATE;
    return max64(1, (int64_t)(rate_per_s * 1000.0 + 0.5));
}

static int64_t burst_cap(unsigned burst)
{
    if (burst == 0)
        return TOKEN;
    if (burst > SMPP_THROTTLE_MAX_BURST)
        return TOKEN * SMPP_THROTTLE_MAX_BURST;
    return TOKEN * burst;
}

/* The lowest effective rate a back-off cuts to. */
static int64_t floor_rate(int64_t rate)
{
    return rate <= 1000 ? rate : max64(rate / 10, 1000);
}

/* tokens after ms milliseconds more at rate eff, up to cap. The bucket fills
 * up within some millisecond; what that millisecond adds past cap (less than
 * eff) is kept, as if the caller had come at the instant it filled, which
 * whole milliseconds cannot say: without it a token every 33.3 ms would come
 * every 34. The product stays under cap + eff: no overflow. */
static int64_t filled(int64_t tokens, int64_t eff, int64_t ms, int64_t cap)
{
    int64_t full_in;

    if (eff == 0 || tokens >= cap)
        return tokens;
    full_in = ceil_div(cap - tokens, eff);
    return tokens + min64(ms, full_in) * eff;
}

/* What the bucket holds at most: the burst, and the slack's filling. */
static int64_t capacity(const smpp_throttle *t)
{
    return t->cap + t->slack_ms * t->eff;
}

/* Brings the bucket up to time e >= t->last. */
static void refill(smpp_throttle *t, int64_t e)
{
    t->tokens = filled(t->tokens, t->eff, span(t->last, e), capacity(t));
    t->last = e;
}

void smpp_throttle_init(smpp_throttle *t, double rate_per_s, unsigned burst, int64_t now_ms)
{
    t->rate = milli_rate(rate_per_s);
    t->eff = t->rate;
    t->cap = burst_cap(burst);
    t->tokens = t->cap;
    t->last = now_ms;
    t->pause_until = INT64_MIN;
    t->next_pause = SMPP_THROTTLE_PAUSE_MS;
    t->recover_mark = now_ms;
    t->slack_ms = 0;
}

void smpp_throttle_set_slack(smpp_throttle *t, int64_t slack_ms)
{
    t->slack_ms = slack_ms < 0 ? 0 : slack_ms > 1000 ? 1000 : slack_ms;
}

void smpp_throttle_set_rate(smpp_throttle *t, double rate_per_s, unsigned burst, int64_t now_ms)
{
    int64_t rate = milli_rate(rate_per_s);

    refill(t, max64(now_ms, t->last));
    t->cap = burst_cap(burst);
    if (t->rate == 0 || rate == 0) {
        t->eff = rate;
        t->tokens = t->cap;
    } else {
        t->eff = t->eff >= t->rate ? rate : min64(max64(t->eff, floor_rate(rate)), rate);
        t->tokens = min64(t->tokens, t->cap);
    }
    t->rate = rate;
}

int64_t smpp_throttle_delay(const smpp_throttle *t, int64_t now_ms)
{
    smpp_throttle c = *t;
    int64_t wait = 0;

    refill(&c, max64(now_ms, c.last));
    if (c.eff > 0 && c.tokens < TOKEN)
        wait = ceil_div(TOKEN - c.tokens, c.eff);
    if (c.last > INT64_MAX - wait)
        return INT64_MAX; /* never: time stops at INT64_MAX */
    return span(now_ms, c.last + wait);
}

int smpp_throttle_take(smpp_throttle *t, int64_t now_ms)
{
    if (now_ms < t->last)
        return 0;
    refill(t, now_ms);
    if (t->eff == 0)
        return 1;
    if (t->tokens < TOKEN)
        return 0;
    t->tokens -= TOKEN;
    return 1;
}

void smpp_throttle_backoff(smpp_throttle *t, int64_t now_ms)
{
    int64_t pause = t->next_pause;

    if (now_ms < t->pause_until)
        return;
    refill(t, max64(now_ms, t->last));
    t->next_pause = min64(2 * pause, SMPP_THROTTLE_PAUSE_MAX_MS);
    if (t->eff > 0) {
        t->eff = max64(t->eff / 2, floor_rate(t->rate));
        t->tokens = filled(min64(t->tokens, TOKEN), t->eff, pause, TOKEN);
    }
    t->pause_until = later(t->last, pause);
    t->last = t->pause_until;
    t->recover_mark = t->pause_until;
}

void smpp_throttle_success(smpp_throttle *t, int64_t now_ms)
{
    if (now_ms < t->pause_until)
        return;
    if (t->eff < t->rate) {
        if (now_ms < later(t->recover_mark, SMPP_THROTTLE_STEP_MS))
            return;
        refill(t, max64(now_ms, t->last));
        t->eff = min64(t->eff + t->rate / 10, t->rate);
        t->recover_mark = now_ms;
    }
    if (t->eff == t->rate)
        t->next_pause = SMPP_THROTTLE_PAUSE_MS;
}

double smpp_throttle_rate(const smpp_throttle *t)
{
    return (double)t->eff / 1000.0;
}
