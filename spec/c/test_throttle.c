/* test_throttle: tests of the token bucket of csrc/smpp_throttle.c with a fake
 * clock: exact counts over long runs, no more than the rate in any sliding
 * window (checked over the exact send times), burst, sharing, back-off and
 * recovery, a clock that goes back, idle gaps, unlimited, rate changes. Run by
 * spec/c/run.sh; prints "N passed, N failed" and exits non-zero on a failure. */
#include <stdint.h>
#include <stdio.h>

#include "smpp_throttle.h"

#include "check.h"

#define MAX_SENDS 200000

/* The times of the sends of one run, in order. */
static int64_t sends[MAX_SENDS], sends2[MAX_SENDS];
static size_t nsends, nsends2;

static void record(int64_t now)
{
    if (nsends < MAX_SENDS)
        sends[nsends] = now;
    nsends++;
}

/* Rate in 1/1000 per second, as the throttle keeps it. */
static int64_t milli(double rate)
{
    return (int64_t)(rate * 1000.0 + 0.5);
}

/* The most takes any window of w ms may hold at a rate of rate_m/1000 per
 * second with `burst`: burst - 1 + ceil(rate * w / 1000). */
static int64_t bound(int64_t rate_m, int64_t burst, int64_t w)
{
    return burst - 1 + (rate_m * w + 999999) / 1000000;
}

/* What a greedy sender gets in its first w ms from a full bucket of burst 1:
 * token k comes at ceil(k * 1000 / rate) ms. */
static int64_t greedy_count(int64_t rate_m, int64_t w)
{
    return 1 + (w - 1) * rate_m / 1000000;
}

/* The most sends of times[0..n) in any window [s, s + w), for any s: the
 * fullest window starts at a send. */
static size_t fullest(const int64_t *times, size_t n, int64_t w)
{
    size_t i, j = 0, most = 0;

    for (i = 0; i < n; i++) {
        if (j < i)
            j = i;
        while (j < n && times[j] - times[i] < w)
            j++;
        if (j - i > most)
            most = j - i;
    }
    return most;
}

/* Every window length w from 1 to max_w ms holds no more than bound() for
 * w + slack; returns the first length that does, or 0. */
static int64_t windows_slack(const int64_t *times, size_t n, int64_t rate_m, int64_t burst,
                             int64_t max_w, int64_t slack)
{
    int64_t w;

    for (w = 1; w <= max_w; w++)
        if ((int64_t)fullest(times, n, w) > bound(rate_m, burst, w + slack))
            return w;
    return 0;
}

static int64_t windows_ok(const int64_t *times, size_t n, int64_t rate_m, int64_t burst,
                          int64_t max_w)
{
    return windows_slack(times, n, rate_m, burst, max_w, 0);
}

/* delay is exact at now: take succeeds at now + d and not before. Checked on
 * copies; returns 1 when it holds. */
static int delay_exact(const smpp_throttle *t, int64_t now)
{
    int64_t d = smpp_throttle_delay(t, now);
    smpp_throttle c;

    if (d < 0)
        return 0;
    c = *t;
    if (smpp_throttle_take(&c, now) != (d == 0))
        return 0;
    if (d == 0 || (now > 0 && d > INT64_MAX - now))
        return 1;
    c = *t;
    if (smpp_throttle_take(&c, now + d - 1) != 0)
        return 0;
    c = *t;
    return smpp_throttle_take(&c, now + d) == 1;
}

static int inexact; /* times delay_exact failed in a run */

/* A greedy sender that asks every millisecond of [from, to) and sends all it
 * may. */
static void greedy_poll(smpp_throttle *t, int64_t from, int64_t to)
{
    int64_t now;

    nsends = 0;
    for (now = from; now < to; now++)
        while (smpp_throttle_take(t, now))
            record(now);
}

/* A greedy sender that sleeps exactly what smpp_throttle_delay says. */
static void greedy_jump(smpp_throttle *t, int64_t from, int64_t to)
{
    int64_t now = from, d;

    nsends = 0;
    while (now < to) {
        if (!delay_exact(t, now))
            inexact++;
        d = smpp_throttle_delay(t, now);
        if (d == 0) {
            if (smpp_throttle_take(t, now))
                record(now);
            else
                inexact++;
        } else if (d >= to - now) {
            break;
        } else {
            now += d;
        }
    }
}

static int same_sends(const int64_t *a, size_t an, const int64_t *b, size_t bn)
{
    size_t i;

    if (an != bn)
        return 0;
    for (i = 0; i < an; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

static void save_sends(void)
{
    size_t i;

    for (i = 0; i < nsends && i < MAX_SENDS; i++)
        sends2[i] = sends[i];
    nsends2 = nsends;
}

/* Rate 10/s for 60 s, greedy: 600, plus at most the burst. */
static void test_sixty_seconds(void)
{
    static const unsigned bursts[] = {1, 2, 5, 10};
    smpp_throttle t;
    size_t i;

    for (i = 0; i < sizeof bursts / sizeof bursts[0]; i++) {
        unsigned b = bursts[i];
        smpp_throttle_init(&t, 10, b, 987654);
        inexact = 0;
        greedy_jump(&t, 987654, 987654 + 60000);
        CHECK(nsends >= 600 && nsends <= 600 + b && nsends == 599 + b,
              "rate 10, burst %u: %zu sends in 60 s", b, nsends);
        CHECK(inexact == 0, "burst %u: delay was wrong %d times", b, inexact);
        smpp_throttle_init(&t, 10, b, 987654);
        save_sends();
        greedy_poll(&t, 987654, 987654 + 60000);
        CHECK(same_sends(sends, nsends, sends2, nsends2),
              "burst %u: polling every ms and sleeping the delay send at other times", b);
    }
}

/* Burst 1: evenly spaced, and no window of any length from 1 ms to 3 s, at
 * any alignment, holds more than the rate allows; a 1000 ms window at most
 * the rate (an integer rate) or its ceiling (7.5). */
static void test_sliding_window(void)
{
    static const double rates[] = {1, 10, 30, 50, 7.5, 0.5, 3.3};
    static const int64_t starts[] = {0, 1, 999, 123457, -5000};
    smpp_throttle t;
    size_t i, j, k;

    for (i = 0; i < sizeof rates / sizeof rates[0]; i++) {
        int64_t r = milli(rates[i]), lo = 1000000 / r, hi = (1000000 + r - 1) / r;
        int64_t ceil_rate = (r + 999) / 1000;
        for (j = 0; j < sizeof starts / sizeof starts[0]; j++) {
            int64_t s = starts[j], bad_w, gaps_bad = 0;
            size_t most;

            smpp_throttle_init(&t, rates[i], 1, s);
            greedy_poll(&t, s, s + 120000);
            save_sends();
            CHECK((int64_t)nsends == greedy_count(r, 120000),
                  "rate %g from %lld: %zu sends in 120 s, want %lld", rates[i], (long long)s,
                  nsends, (long long)greedy_count(r, 120000));
            bad_w = windows_ok(sends, nsends, r, 1, 3000);
            CHECK(bad_w == 0, "rate %g from %lld: a %lld ms window holds too many", rates[i],
                  (long long)s, (long long)bad_w);
            most = fullest(sends, nsends, 1000);
            CHECK((int64_t)most == ceil_rate, "rate %g: %zu sends in the fullest 1000 ms window",
                  rates[i], most);
            if (rates[i] == (double)(int64_t)rates[i])
                CHECK((double)most <= rates[i], "rate %g: %zu in 1000 ms", rates[i], most);
            for (k = 1; k < nsends; k++) {
                int64_t g = sends[k] - sends[k - 1];
                if (g < lo || g > hi)
                    gaps_bad++;
            }
            CHECK(gaps_bad == 0, "rate %g: %lld gaps outside [%lld, %lld] ms", rates[i],
                  (long long)gaps_bad, (long long)lo, (long long)hi);

            smpp_throttle_init(&t, rates[i], 1, s);
            inexact = 0;
            greedy_jump(&t, s, s + 120000);
            CHECK(inexact == 0 && same_sends(sends, nsends, sends2, nsends2),
                  "rate %g from %lld: sleeping the delay differs from polling (%d inexact)",
                  rates[i], (long long)s, inexact);
        }
    }
    /* Rate 10: exactly every 100 ms. */
    smpp_throttle_init(&t, 10, 1, 40);
    greedy_poll(&t, 40, 10040);
    for (k = 0; k < nsends && sends[k] == 40 + 100 * (int64_t)k; k++)
        ;
    CHECK(nsends == 100 && k == nsends, "rate 10: not one send every 100 ms from 40 (%zu)", k);
    /* 7.5/s: 8 in some second, never more than 15 in any two. */
    smpp_throttle_init(&t, 7.5, 1, 0);
    greedy_poll(&t, 0, 60000);
    CHECK(fullest(sends, nsends, 2000) == 15, "7.5/s: %zu in the fullest 2 s",
          fullest(sends, nsends, 2000));
}

/* Over an hour the count is exact, whatever the rate's fraction. */
static void test_long_run_exact(void)
{
    static const struct {
        double rate;
        size_t want;
    } cases[] = {{7.5, 27000}, {30, 108000}, {10, 36000}, {0.25, 900}, {33.333, 119999}};
    smpp_throttle t;
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        smpp_throttle_init(&t, cases[i].rate, 1, 1);
        inexact = 0;
        greedy_jump(&t, 1, 1 + 3600000);
        CHECK(nsends == cases[i].want && inexact == 0,
              "rate %g: %zu sends in an hour, want %zu (%d inexact)", cases[i].rate, nsends,
              cases[i].want, inexact);
    }
    /* The smallest rate: 0.001/s, a token every 1000 s; below it is not 0. */
    smpp_throttle_init(&t, 1e-9, 1, 0);
    CHECK(smpp_throttle_take(&t, 0) == 1 && smpp_throttle_delay(&t, 0) == 1000000,
          "0.001/s: delay %lld", (long long)smpp_throttle_delay(&t, 0));
    CHECK(smpp_throttle_rate(&t) == 0.001, "rate %g", smpp_throttle_rate(&t));
    smpp_throttle_init(&t, 1e12, 1, 0);
    CHECK(smpp_throttle_rate(&t) == SMPP_THROTTLE_MAX_RATE, "huge rate: %g",
          smpp_throttle_rate(&t));
}

/* Burst 5: exactly 5 at once, then evenly spaced. */
static void test_burst(void)
{
    smpp_throttle t;
    int n = 0, bad = 0;
    int64_t k, bad_w;

    smpp_throttle_init(&t, 10, 5, 5000);
    while (n < 10 && smpp_throttle_take(&t, 5000))
        n++;
    CHECK(n == 5, "burst 5 let %d through at once", n);
    CHECK(smpp_throttle_delay(&t, 5000) == 100, "then a delay of %lld ms",
          (long long)smpp_throttle_delay(&t, 5000));
    smpp_throttle_init(&t, 10, 5, 5000);
    greedy_poll(&t, 5000, 15000);
    CHECK(nsends == 104, "burst 5, 10 s: %zu sends", nsends);
    for (k = 0; k < 5; k++)
        bad += sends[k] != 5000;
    for (k = 5; k < (int64_t)nsends; k++)
        bad += sends[k] != 5000 + 100 * (k - 4);
    CHECK(bad == 0, "burst 5: %d sends not at 5000 x5, then every 100 ms", bad);
    bad_w = windows_ok(sends, nsends, 10000, 5, 3000);
    CHECK(bad_w == 0, "burst 5: a %lld ms window holds too many", (long long)bad_w);

    /* A burst refills at the rate, and only to the burst. */
    n = 0;
    while (smpp_throttle_take(&t, 15000 + 250))
        n++;
    CHECK(n == 3, "350 ms after the last send (at 14900), %d sends, not 3", n);
    n = 0;
    while (smpp_throttle_take(&t, 15000 + 250 + 10000))
        n++;
    CHECK(n == 5, "10 s idle refills 5, not %d", n);
    smpp_throttle_init(&t, 10, 0, 0);
    n = 0;
    while (n < 10 && smpp_throttle_take(&t, 0))
        n++;
    CHECK(n == 1, "burst 0 is burst 1, not %d", n);
}

static uint32_t rng = 2463534242u;

static uint32_t xorshift(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

/* Two sessions share one bucket. Each sleeps what smpp_throttle_delay says
 * and wakes late by 0 to 3 ms (a scheduler's latency), or, in the second
 * round, polls at its own random moments: together they stay under the rate,
 * and together they get it, less what they lose by coming late (a late sender
 * at burst 1 loses the time it is late by: the price of evenly spaced sends).
 * With no latency they get exactly what one greedy sender gets. */
static void test_shared(void)
{
    static const double rates[] = {10, 30, 7.5, 50};
    smpp_throttle bucket;
    smpp_throttle *session[2] = {&bucket, &bucket};
    size_t i;
    int late;

    for (i = 0; i < sizeof rates / sizeof rates[0]; i++) {
        int64_t r = milli(rates[i]);
        for (late = 0; late <= 3; late += 3) {
            int64_t wake[2] = {0, 0}, now, bad_w;
            size_t count[2] = {0, 0};

            smpp_throttle_init(&bucket, rates[i], 1, 0);
            nsends = 0;
            inexact = 0;
            for (;;) {
                int s = wake[1] < wake[0] || (wake[1] == wake[0] && (xorshift() & 1));
                now = wake[s];
                if (now >= 60000)
                    break;
                if (!delay_exact(session[s], now))
                    inexact++;
                if (smpp_throttle_take(session[s], now)) {
                    record(now);
                    count[s]++;
                }
                wake[s] = now + smpp_throttle_delay(session[s], now) +
                          (late ? (int64_t)(xorshift() % (unsigned)(late + 1)) : 0);
            }
            bad_w = windows_ok(sends, nsends, r, 1, 3000);
            CHECK(bad_w == 0 && inexact == 0, "shared at %g/s, late %d: a %lld ms window too full",
                  rates[i], late, (long long)bad_w);
            if (late)
                CHECK((double)nsends >= 0.9 * (double)greedy_count(r, 60000) &&
                          (int64_t)nsends <= greedy_count(r, 60000),
                      "shared at %g/s, late up to 3 ms: %zu sends in 60 s", rates[i], nsends);
            else
                CHECK((int64_t)nsends == greedy_count(r, 60000),
                      "shared at %g/s: %zu sends in 60 s, want %lld", rates[i], nsends,
                      (long long)greedy_count(r, 60000));
            CHECK(count[0] > nsends / 5 && count[1] > nsends / 5,
                  "shared at %g/s: one sent %zu, the other %zu", rates[i], count[0], count[1]);
        }
        {
            int64_t now, bad_w;
            size_t na = 0, nb = 0;

            smpp_throttle_init(&bucket, rates[i], 1, 0);
            nsends = 0;
            for (now = 0; now < 60000; now++) {
                /* A looks every 7 ms, B at random about every 5 ms; who looks
                 * first varies. */
                int b_first = (int)(xorshift() & 1);
                if (b_first && xorshift() % 5 == 0 && smpp_throttle_take(session[1], now)) {
                    record(now);
                    nb++;
                }
                if (now % 7 == 0 && smpp_throttle_take(session[0], now)) {
                    record(now);
                    na++;
                }
                if (!b_first && xorshift() % 5 == 0 && smpp_throttle_take(session[1], now)) {
                    record(now);
                    nb++;
                }
            }
            bad_w = windows_ok(sends, nsends, r, 1, 3000);
            CHECK(bad_w == 0, "polled at %g/s: a %lld ms window holds too many", rates[i],
                  (long long)bad_w);
            CHECK((int64_t)nsends <= greedy_count(r, 60000) &&
                      (double)nsends >= 0.85 * (double)greedy_count(r, 60000),
                  "polled at %g/s: %zu sends in 60 s", rates[i], nsends);
            CHECK(na > nsends / 5 && nb > nsends / 5, "polled at %g/s: A sent %zu, B %zu", rates[i],
                  na, nb);
        }
    }
}

/* One pause: take at t fails before t + want and succeeds at it. */
static int pauses(smpp_throttle *t, int64_t at, int64_t want)
{
    smpp_throttle c = *t;
    return smpp_throttle_delay(t, at) == want && smpp_throttle_take(&c, at + want - 1) == 0 &&
           smpp_throttle_take(&c, at + want) == 1;
}

static void test_backoff(void)
{
    static const int64_t want_pause[] = {2000, 4000, 8000, 16000, 30000, 30000};
    static const double want_rate[] = {2.5, 1.25, 1, 1, 1, 1};
    smpp_throttle t;
    int64_t now, step_at = 0, bad_w, first_at;
    size_t i;
    int steps = 0, above = 0, early = 0;
    double rate;

    smpp_throttle_init(&t, 10, 1, 0);
    nsends = 0;
    CHECK(smpp_throttle_take(&t, 0) == 1, "first take");
    record(0);
    /* The answer to that submit is 0x58 at 50 ms. */
    smpp_throttle_backoff(&t, 50);
    CHECK(pauses(&t, 50, 1000), "a 1 s pause: delay %lld", (long long)smpp_throttle_delay(&t, 50));
    CHECK(smpp_throttle_rate(&t) == 5, "rate cut to %g, not 5", smpp_throttle_rate(&t));
    /* More 0x58 during the pause (answers to earlier submits): absorbed. */
    smpp_throttle_backoff(&t, 500);
    smpp_throttle_backoff(&t, 1049);
    smpp_throttle_success(&t, 800);
    CHECK(smpp_throttle_delay(&t, 500) == 550 && smpp_throttle_rate(&t) == 5,
          "a back-off during the pause changed it: delay %lld, rate %g",
          (long long)smpp_throttle_delay(&t, 500), smpp_throttle_rate(&t));
    /* The resend goes at the end of the pause, alone; then every 200 ms. */
    CHECK(smpp_throttle_take(&t, 1050) == 1 && smpp_throttle_take(&t, 1050) == 0,
          "one token at the end of the pause");
    record(1050);
    CHECK(smpp_throttle_delay(&t, 1050) == 200, "5/s: delay %lld",
          (long long)smpp_throttle_delay(&t, 1050));

    /* Throttled again and again before recovering: the pause doubles up to 30 s,
     * the rate halves down to the floor, 1/s for 10/s. */
    now = 1050;
    for (i = 0; i < sizeof want_pause / sizeof want_pause[0]; i++) {
        now += 10;
        smpp_throttle_backoff(&t, now);
        CHECK(pauses(&t, now, want_pause[i]), "back-off %zu: delay %lld, want %lld", i + 2,
              (long long)smpp_throttle_delay(&t, now), (long long)want_pause[i]);
        CHECK(smpp_throttle_rate(&t) == want_rate[i], "back-off %zu: rate %g, want %g", i + 2,
              smpp_throttle_rate(&t), want_rate[i]);
        now += want_pause[i];
        CHECK(smpp_throttle_take(&t, now) == 1, "the resend after pause %zu", i + 2);
        record(now);
    }

    /* Clean traffic: +1/s (a tenth of 10/s) per second, never above 10/s. */
    first_at = now;
    step_at = now;
    rate = smpp_throttle_rate(&t);
    for (; now < first_at + 30000; now++) {
        if (!smpp_throttle_take(&t, now))
            continue;
        record(now);
        smpp_throttle_success(&t, now);
        if (smpp_throttle_rate(&t) > 10)
            above++;
        if (smpp_throttle_rate(&t) != rate) {
            steps++;
            if (now - step_at < 1000 || smpp_throttle_rate(&t) != rate + 1)
                early++;
            rate = smpp_throttle_rate(&t);
            step_at = now;
        }
    }
    CHECK(steps == 9 && early == 0 && above == 0,
          "recovery from 1/s: %d steps (want 9), %d too early or too big, %d above 10/s", steps,
          early, above);
    CHECK(smpp_throttle_rate(&t) == 10, "recovered to %g, not exactly 10", smpp_throttle_rate(&t));
    CHECK(step_at - first_at >= 9000 && step_at - first_at < 10000, "full recovery took %lld ms",
          (long long)(step_at - first_at));
    for (i = 1; i < 20 && sends[nsends - i] - sends[nsends - i - 1] == 100; i++)
        ;
    CHECK(i == 20, "after recovery, not every 100 ms");
    bad_w = windows_ok(sends, nsends, 10000, 1, 3000);
    CHECK(bad_w == 0, "back-off and recovery: a %lld ms window holds too many", (long long)bad_w);

    /* Recovered: the next back-off is a new episode, 1 s and 5/s. */
    smpp_throttle_backoff(&t, now);
    CHECK(pauses(&t, now, 1000) && smpp_throttle_rate(&t) == 5,
          "a new episode: delay %lld, rate %g", (long long)smpp_throttle_delay(&t, now),
          smpp_throttle_rate(&t));
    /* Successes after the pause but before the rate is back do not end the
     * episode: the next pause is 2 s. */
    now += 1000;
    CHECK(smpp_throttle_take(&t, now) == 1, "the resend");
    smpp_throttle_success(&t, now);
    smpp_throttle_success(&t, now + 999);
    CHECK(smpp_throttle_rate(&t) == 5, "a step before 1 s of clean traffic: %g",
          smpp_throttle_rate(&t));
    smpp_throttle_success(&t, now + 1000);
    CHECK(smpp_throttle_rate(&t) == 6, "a step after 1 s: %g", smpp_throttle_rate(&t));
    smpp_throttle_backoff(&t, now + 1001);
    CHECK(pauses(&t, now + 1001, 2000) && smpp_throttle_rate(&t) == 3,
          "still the same episode: delay %lld, rate %g",
          (long long)smpp_throttle_delay(&t, now + 1001), smpp_throttle_rate(&t));

    /* The floor is a tenth of the rate, at least 1/s, at most the rate. */
    {
        static const struct {
            double rate, floor;
        } cases[] = {{100, 10}, {5, 1}, {0.5, 0.5}, {1, 1}, {7.5, 1}, {12.345, 1.234}};
        for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            int k;
            smpp_throttle_init(&t, cases[i].rate, 1, 0);
            for (k = 0, now = 0; k < 12; k++) {
                smpp_throttle_backoff(&t, now);
                now += 40000;
            }
            CHECK(smpp_throttle_rate(&t) == cases[i].floor, "rate %g: floor %g, want %g",
                  cases[i].rate, smpp_throttle_rate(&t), cases[i].floor);
        }
    }

    /* A back-off never adds a token: at 0.5/s the next send is still 2 s after
     * the last, though the pause is 1 s. */
    smpp_throttle_init(&t, 0.5, 1, 0);
    CHECK(smpp_throttle_take(&t, 0) == 1, "0.5/s first");
    smpp_throttle_backoff(&t, 10);
    CHECK(pauses(&t, 10, 1990), "0.5/s after a back-off: delay %lld",
          (long long)smpp_throttle_delay(&t, 10));
    /* Burst 5 full: after the pause one token, not five. */
    smpp_throttle_init(&t, 10, 5, 0);
    smpp_throttle_backoff(&t, 0);
    CHECK(smpp_throttle_take(&t, 1000) == 1 && smpp_throttle_take(&t, 1000) == 0,
          "burst 5: more than one token after the pause");
}

/* Random traffic with back-offs and successes (answers 30 ms after each send,
 * every 40th a 0x58): never above the configured rate in any window, and the
 * delay is exact at every step. */
static void test_random_backoff(void)
{
    static const double rates[] = {10, 30, 2, 7.5};
    static const unsigned bursts[] = {1, 1, 3, 1};
    smpp_throttle t;
    size_t i;

    for (i = 0; i < sizeof rates / sizeof rates[0]; i++) {
        int64_t now, answer_at[64] = {0}, bad_w;
        size_t head = 0, tail = 0, backoffs = 0;

        smpp_throttle_init(&t, rates[i], bursts[i], 100);
        nsends = 0;
        inexact = 0;
        for (now = 100; now < 300000; now++) {
            while (head != tail && answer_at[head % 64] <= now) {
                if (xorshift() % 40 == 0) {
                    smpp_throttle_backoff(&t, now);
                    backoffs++;
                } else {
                    smpp_throttle_success(&t, now);
                }
                head++;
            }
            if (now % 97 == 0 && !delay_exact(&t, now))
                inexact++;
            if (tail - head < 64 && xorshift() % 3 == 0 && smpp_throttle_take(&t, now)) {
                record(now);
                answer_at[tail++ % 64] = now + 30;
            }
        }
        bad_w = windows_ok(sends, nsends, milli(rates[i]), bursts[i], 3000);
        CHECK(bad_w == 0, "random at %g/s: a %lld ms window holds too many", rates[i],
              (long long)bad_w);
        CHECK(inexact == 0, "random at %g/s: delay wrong %d times", rates[i], inexact);
        CHECK(backoffs > 10 && smpp_throttle_rate(&t) <= rates[i],
              "random at %g/s: %zu back-offs, rate %g", rates[i], backoffs, smpp_throttle_rate(&t));
    }
}

static void test_clock_backwards(void)
{
    smpp_throttle t;
    int64_t now, bad_w;

    smpp_throttle_init(&t, 10, 1, 10000);
    CHECK(smpp_throttle_take(&t, 10000) == 1, "first");
    CHECK(smpp_throttle_take(&t, 9000) == 0, "a token from a clock 1 s back");
    CHECK(pauses(&t, 9000, 1100), "delay from 1 s back: %lld",
          (long long)smpp_throttle_delay(&t, 9000));
    CHECK(smpp_throttle_take(&t, 10099) == 0 && smpp_throttle_take(&t, 10100) == 1,
          "the next token not at 10100");
    /* Far back and forth again: still not before 10200. */
    CHECK(smpp_throttle_take(&t, -1000000) == 0 && smpp_throttle_take(&t, 10199) == 0 &&
              smpp_throttle_take(&t, 10200) == 1,
          "a jump back gave a token");

    /* Two sessions whose clocks disagree by up to 50 ms either way, changing
     * at every call: the sends, at the real time, stay under the rate but for
     * the skew (a window of w ms real time is at most w + 100 ms of readings),
     * never more; the clock that reads ahead does not make tokens for the
     * other one. */
    smpp_throttle_init(&t, 10, 1, 20000);
    nsends = 0;
    for (now = 20000; now < 80000; now++) {
        if (smpp_throttle_take(&t, now))
            record(now);
        if (smpp_throttle_take(&t, now + (int64_t)(xorshift() % 101) - 50))
            record(now);
    }
    bad_w = windows_slack(sends, nsends, 10000, 1, 3000, 100);
    CHECK(bad_w == 0 && nsends <= 601 && nsends >= 540,
          "skewed clocks: %zu sends in 60 s, a %lld ms window too full", nsends, (long long)bad_w);

    /* The ends of int64_t: no overflow (UBSan checks), saturated delays. */
    smpp_throttle_init(&t, 10, 1, INT64_MAX - 1000);
    CHECK(smpp_throttle_take(&t, INT64_MAX - 1000) == 1, "near INT64_MAX");
    CHECK(smpp_throttle_take(&t, INT64_MIN) == 0, "at INT64_MIN");
    CHECK(smpp_throttle_delay(&t, INT64_MIN) == INT64_MAX, "delay from INT64_MIN: %lld",
          (long long)smpp_throttle_delay(&t, INT64_MIN));
    CHECK(smpp_throttle_delay(&t, INT64_MAX - 1000) == 100, "delay near the end");
    smpp_throttle_backoff(&t, INT64_MAX - 10);
    smpp_throttle_success(&t, INT64_MAX);
    CHECK(smpp_throttle_delay(&t, INT64_MAX - 10) == 10 && smpp_throttle_take(&t, INT64_MAX) == 1,
          "a pause past INT64_MAX: delay %lld", (long long)smpp_throttle_delay(&t, INT64_MAX - 10));
    CHECK(smpp_throttle_take(&t, INT64_MAX) == 0 && smpp_throttle_delay(&t, INT64_MAX) > 0,
          "time stops at INT64_MAX: no more tokens");
    smpp_throttle_init(&t, 10, 3, INT64_MIN);
    CHECK(smpp_throttle_take(&t, INT64_MIN) && smpp_throttle_take(&t, INT64_MIN) &&
              smpp_throttle_take(&t, INT64_MIN) && !smpp_throttle_take(&t, INT64_MIN),
          "burst 3 at INT64_MIN");
    CHECK(smpp_throttle_take(&t, INT64_MAX) && smpp_throttle_take(&t, INT64_MAX) &&
              smpp_throttle_take(&t, INT64_MAX) && !smpp_throttle_take(&t, INT64_MAX),
          "from INT64_MIN to INT64_MAX: more than the burst");
}

static void test_idle(void)
{
    smpp_throttle t;
    int n = 0;

    smpp_throttle_init(&t, 10, 3, 0);
    while (smpp_throttle_take(&t, 0))
        n++;
    CHECK(n == 3, "burst 3 at first: %d", n);
    n = 0;
    while (n < 100 && smpp_throttle_take(&t, 3600000))
        n++;
    CHECK(n == 3, "an hour idle: %d at once, not 3", n);
    CHECK(smpp_throttle_delay(&t, 3600000) == 100, "then %lld ms",
          (long long)smpp_throttle_delay(&t, 3600000));
    smpp_throttle_init(&t, 50, 1, 0);
    n = 0;
    while (n < 100 && smpp_throttle_take(&t, INT64_MAX / 2))
        n++;
    CHECK(n == 1, "idle for ages: %d at once", n);
}

static void test_unlimited(void)
{
    volatile double zero = 0;
    const double rates[] = {0, -1, zero / zero};
    smpp_throttle t;
    size_t i;
    int n;

    for (i = 0; i < sizeof rates / sizeof rates[0]; i++) {
        smpp_throttle_init(&t, rates[i], 1, 0);
        for (n = 0; n < 100000 && smpp_throttle_take(&t, 5); n++)
            ;
        CHECK(n == 100000 && smpp_throttle_delay(&t, 5) == 0 && smpp_throttle_rate(&t) == 0,
              "rate %g: %d takes, delay %lld", rates[i], n, (long long)smpp_throttle_delay(&t, 5));
    }
    /* A back-off pauses an unlimited throttle too, doubling until a success. */
    smpp_throttle_init(&t, 0, 1, 0);
    smpp_throttle_backoff(&t, 100);
    CHECK(pauses(&t, 100, 1000) && smpp_throttle_rate(&t) == 0, "unlimited: pause %lld",
          (long long)smpp_throttle_delay(&t, 100));
    smpp_throttle_backoff(&t, 1100);
    CHECK(pauses(&t, 1100, 2000), "unlimited: second pause %lld",
          (long long)smpp_throttle_delay(&t, 1100));
    smpp_throttle_success(&t, 3100);
    smpp_throttle_backoff(&t, 3200);
    CHECK(pauses(&t, 3200, 1000), "unlimited: a success ends the episode, pause %lld",
          (long long)smpp_throttle_delay(&t, 3200));
    for (n = 0; n < 1000 && smpp_throttle_take(&t, 4200); n++)
        ;
    CHECK(n == 1000, "unlimited after the pause: %d", n);
}

static void test_set_rate(void)
{
    smpp_throttle t;
    int n;

    /* Half a token at 10/s is kept and fills at 20/s: 25 ms more. */
    smpp_throttle_init(&t, 10, 1, 0);
    CHECK(smpp_throttle_take(&t, 0) == 1, "first");
    smpp_throttle_set_rate(&t, 20, 1, 50);
    CHECK(pauses(&t, 50, 25), "10/s to 20/s at 50 ms: delay %lld",
          (long long)smpp_throttle_delay(&t, 50));
    CHECK(smpp_throttle_take(&t, 75) == 1 && pauses(&t, 75, 50), "then every 50 ms");
    greedy_poll(&t, 76, 10076);
    CHECK(nsends == 200 && sends[0] == 125, "20/s for 10 s: %zu sends", nsends);
    /* Down to 1/s. */
    smpp_throttle_set_rate(&t, 1, 1, 10076);
    greedy_poll(&t, 10076, 20076);
    CHECK(nsends == 10 && windows_ok(sends, nsends, 1000, 1, 3000) == 0, "1/s: %zu sends", nsends);
    /* Unlimited, then 10/s with burst 2: a full bucket. */
    smpp_throttle_set_rate(&t, 0, 1, 20076);
    for (n = 0; n < 1000 && smpp_throttle_take(&t, 20076); n++)
        ;
    CHECK(n == 1000 && smpp_throttle_rate(&t) == 0, "unlimited: %d", n);
    smpp_throttle_set_rate(&t, 10, 2, 20076);
    for (n = 0; n < 10 && smpp_throttle_take(&t, 20076); n++)
        ;
    CHECK(n == 2 && pauses(&t, 20076, 100), "limited again, burst 2: %d", n);
    /* A smaller burst cuts what the bucket holds. */
    smpp_throttle_init(&t, 10, 5, 0);
    smpp_throttle_set_rate(&t, 10, 2, 0);
    for (n = 0; n < 10 && smpp_throttle_take(&t, 0); n++)
        ;
    CHECK(n == 2, "burst 5 to 2: %d at once", n);
    /* A cut rate stays cut, inside the new range; an uncut one follows. */
    smpp_throttle_init(&t, 10, 1, 0);
    smpp_throttle_backoff(&t, 0);
    smpp_throttle_set_rate(&t, 20, 1, 10);
    CHECK(smpp_throttle_rate(&t) == 5 && pauses(&t, 10, 990), "10 to 20 while cut: rate %g",
          smpp_throttle_rate(&t));
    smpp_throttle_set_rate(&t, 4, 1, 20);
    CHECK(smpp_throttle_rate(&t) == 4, "20 to 4 while cut at 5: %g", smpp_throttle_rate(&t));
    smpp_throttle_set_rate(&t, 30, 1, 30);
    CHECK(smpp_throttle_rate(&t) == 30, "4 (uncut) to 30: %g", smpp_throttle_rate(&t));
    smpp_throttle_init(&t, 100, 1, 0);
    smpp_throttle_backoff(&t, 0);
    smpp_throttle_backoff(&t, 2000);
    smpp_throttle_backoff(&t, 5000);
    CHECK(smpp_throttle_rate(&t) == 12.5, "100/s cut three times: %g", smpp_throttle_rate(&t));
    smpp_throttle_set_rate(&t, 1000, 1, 20000);
    CHECK(smpp_throttle_rate(&t) == 100, "raised to 1000/s: the floor is 100, rate %g",
          smpp_throttle_rate(&t));
}

/* Slack: a sender woken late keeps the schedule, and the window bound holds. */
static void test_slack(void)
{
    static const int rates[] = {10, 50, 200};
    size_t i;
    for (i = 0; i < sizeof rates / sizeof rates[0]; i++) {
        smpp_throttle t;
        int64_t now = 0, d;
        double r = rates[i] * 0.995;
        /* late by 1 ms on every wake-up: without slack each send slips 1 ms */
        smpp_throttle_init(&t, r, 1, 0);
        smpp_throttle_set_slack(&t, 3);
        nsends = 0;
        while (now < 60000) {
            if (smpp_throttle_take(&t, now)) {
                record(now);
                continue;
            }
            d = smpp_throttle_delay(&t, now);
            now += d + 1;
        }
        CHECK((double)nsends >= 0.99 * rates[i] * 60, "rate %d, slack 3, 1 ms late: %zu sends in 60 s",
              rates[i], nsends);
        /* a greedy sender taking as early as allowed: never more than N in 1000 ms */
        smpp_throttle_init(&t, r, 1, 0);
        smpp_throttle_set_slack(&t, 3);
        greedy_poll(&t, 0, 60000);
        CHECK(fullest(sends, nsends, 1000) <= (size_t)rates[i], "rate %d, slack 3: %zu in 1000 ms",
              rates[i], fullest(sends, nsends, 1000));
        /* the same late sender without slack loses the rate */
        smpp_throttle_init(&t, r, 1, 0);
        nsends = 0;
        now = 0;
        while (now < 60000) {
            if (smpp_throttle_take(&t, now)) {
                record(now);
                continue;
            }
            now += smpp_throttle_delay(&t, now) + 1;
        }
        CHECK((double)nsends < 0.99 * rates[i] * 60 || rates[i] == 10,
              "rate %d, no slack, 1 ms late: %zu sends (the slack made no difference)", rates[i], nsends);
    }
}

int main(void)
{
    test_sixty_seconds();
    test_sliding_window();
    test_long_run_exact();
    test_burst();
    test_shared();
    test_backoff();
    test_random_backoff();
    test_clock_backwards();
    test_idle();
    test_unlimited();
    test_set_rate();
    test_slack();
    printf("test_throttle: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
