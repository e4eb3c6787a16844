/* test_net: tests of the sockets of csrc/smpp_net.c, on the loopback only:
 * listen, a nonblocking connect driven by wait and step, accept, 1 MiB each
 * way through partial reads and writes, orderly close, the messages of
 * refused connects and unknown names, the fallback to the next address of a
 * name, "would block", writing to a closed peer without SIGPIPE, and a signal
 * ending a wait at once (as nothing ready) rather than after its time. Run by
 * spec/c/run.sh; prints "N passed, N failed" and exits non-zero on a failure. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "smpp_net.h"

#include "check.h"

#define MIB ((size_t)1 << 20)

static char err[1024];

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int int_option(int fd, int level, int name)
{
    int v = 0;
    socklen_t len = sizeof v;
    if (getsockopt(fd, level, name, &v, &len) < 0)
        return -1;
    return v;
}

static int nonblocking(int fd)
{
    return (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0;
}

static int close_on_exec(int fd)
{
    return (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0;
}

static int is_open(int fd)
{
    return fcntl(fd, F_GETFD) >= 0 || errno != EBADF;
}

/* A listener on 127.0.0.1 only, on a free port. */
static int listener(int *port)
{
    int fd = smpp_net_listen("127.0.0.1", 0, 16, err, sizeof err);
    CHECK(fd >= 0, "listen: %s", err);
    *port = fd >= 0 ? smpp_net_local_port(fd, err, sizeof err) : -1;
    CHECK(*port > 0, "local port %d: %s", *port, err);
    return fd;
}

/* A port with nothing listening on it (127.0.0.1 nor ::1). */
static int closed_port(void)
{
    int port, fd = listener(&port);
    close(fd);
    return port;
}

/* Drives a connect the way the transport does: wait until writable, step,
 * again, within 5 s. Returns SMPP_NET_CONNECTED or SMPP_ENET (err says why). */
static int connect_all(smpp_net_connect *c, const char *host, int port, int *waits)
{
    long long deadline = now_ms() + 5000;
    int rc = smpp_net_connect_start(c, host, port, err, sizeof err);
    *waits = 0;
    if (rc < 0)
        return rc;
    CHECK(rc == c->fd, "start returns the socket (%d, fd %d)", rc, c->fd);
    CHECK(nonblocking(c->fd), "the socket being connected is nonblocking");
    do {
        int left = (int)(deadline - now_ms());
        int ready = smpp_net_wait(c->fd, SMPP_NET_WRITE, left > 0 ? left : 0, err, sizeof err);
        if (ready < 0)
            return ready;
        if (ready == 0) {
            smpp_net_connect_cancel(c);
            snprintf(err, sizeof err, "connect to %s: timed out", host ? host : "loopback");
            return SMPP_ENET;
        }
        (*waits)++;
        rc = smpp_net_connect_step(c, err, sizeof err);
    } while (rc == SMPP_NET_INPROGRESS);
    return rc;
}

/* What getaddrinfo gives for host, as "1.2.3.4" or "::1" in order; n found. */
static int resolved(const char *host, char out[][64], int max)
{
    struct addrinfo hints, *res, *ai;
    int n = 0;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, "2775", &hints, &res) != 0)
        return 0;
    for (ai = res; ai && n < max; ai = ai->ai_next, n++)
        getnameinfo(ai->ai_addr, ai->ai_addrlen, out[n], 64, NULL, 0, NI_NUMERICHOST);
    freeaddrinfo(res);
    return n;
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    size_t i;
    for (i = 0; i < n; i++)
        p[i] = (unsigned char)((i * 131u + (i >> 11) + seed) & 0xFF);
}

/* Moves 1 MiB from a to b and 1 MiB from b to a at the same time, one thread,
 * handling every short write and read. */
static void test_exchange(int a, int b)
{
    static unsigned char out_a[MIB], out_b[MIB], in_a[MIB], in_b[MIB];
    size_t sent_a = 0, sent_b = 0, got_a = 0, got_b = 0, largest_read = 0;
    int short_writes = 0, agains = 0, broken = 0;
    long long deadline = now_ms() + 20000;

    fill(out_a, MIB, 1);
    fill(out_b, MIB, 77);
    while ((sent_a < MIB || sent_b < MIB || got_a < MIB || got_b < MIB) && now_ms() < deadline &&
           !broken) {
        struct pollfd p[2];
        int side;
        for (side = 0; side < 2; side++) {
            int fd = side ? b : a;
            unsigned char *out = side ? out_b : out_a, *in = side ? in_b : in_a;
            size_t *sent = side ? &sent_b : &sent_a, *got = side ? &got_b : &got_a;
            ssize_t n;
            if (*sent < MIB) {
                n = smpp_net_write(fd, out + *sent, MIB - *sent, err, sizeof err);
                if (n == SMPP_NET_AGAIN) {
                    agains++;
                } else if (n < 0) {
                    CHECK(0, "write during the exchange: %s", err);
                    broken = 1;
                } else {
                    short_writes += (size_t)n < MIB - *sent;
                    *sent += (size_t)n;
                }
            }
            /* what this side reads is what the other side wrote */
            if (*got < MIB) {
                size_t cap = MIB - *got < 65536 ? MIB - *got : 65536;
                n = smpp_net_read(fd, in + *got, cap, err, sizeof err);
                if (n == SMPP_NET_AGAIN) {
                    agains++;
                } else if (n <= 0) {
                    CHECK(0, "read during the exchange gave %ld: %s", (long)n, err);
                    broken = 1;
                } else {
                    if ((size_t)n > largest_read)
                        largest_read = (size_t)n;
                    *got += (size_t)n;
                }
            }
        }
        p[0].fd = a;
        p[0].events = (short)(POLLIN | (sent_a < MIB ? POLLOUT : 0));
        p[1].fd = b;
        p[1].events = (short)(POLLIN | (sent_b < MIB ? POLLOUT : 0));
        poll(p, 2, 100);
    }
    CHECK(sent_a == MIB && sent_b == MIB, "sent %zu and %zu of %zu", sent_a, sent_b, MIB);
    CHECK(got_a == MIB && got_b == MIB, "received %zu and %zu of %zu", got_a, got_b, MIB);
    CHECK(memcmp(in_b, out_a, MIB) == 0, "a to b arrived intact");
    CHECK(memcmp(in_a, out_b, MIB) == 0, "b to a arrived intact");
    CHECK(short_writes > 0 || agains > 0, "the exchange went through short writes or waits");
    CHECK(largest_read <= 65536, "a read never goes past its cap (%zu)", largest_read);
}

static void test_connect_accept_exchange_close(void)
{
    smpp_net_connect c;
    char expect[64], buf[16];
    int port, lfd = listener(&port), waits, rc, cfd, sfd, ready, i;
    long long t0;
    ssize_t n;

    CHECK(lfd < 0 || nonblocking(lfd), "the listener is nonblocking");
    CHECK(lfd < 0 || close_on_exec(lfd), "the listener is close-on-exec");
    CHECK(lfd < 0 || int_option(lfd, SOL_SOCKET, SO_REUSEADDR) != 0, "SO_REUSEADDR");
    if (lfd < 0)
        return;
    CHECK(smpp_net_accept(lfd, err, sizeof err) == SMPP_NET_AGAIN,
          "accept with nobody waiting would block");

    rc = connect_all(&c, "127.0.0.1", port, &waits);
    CHECK(rc == SMPP_NET_CONNECTED, "connect to the listener: %d %s", rc, err);
    if (rc != SMPP_NET_CONNECTED)
        return;
    cfd = c.fd;
    snprintf(expect, sizeof expect, "127.0.0.1:%d", port);
    CHECK(strcmp(c.addr, expect) == 0, "connected to %s", c.addr);
    CHECK(c.tried == 1 && c.addrs == NULL && c.failures[0] == '\0',
          "one address, list freed, no failures (%d, %s)", c.tried, c.failures);
    CHECK(waits >= 1, "the connect completed through wait and step");
    smpp_net_connect_cancel(&c);
    CHECK(c.fd == cfd && is_open(cfd), "cancel after the connect leaves the socket alone");
    CHECK(nonblocking(cfd) && close_on_exec(cfd), "the connected socket is nonblocking, cloexec");
    CHECK(int_option(cfd, IPPROTO_TCP, TCP_NODELAY) != 0, "TCP_NODELAY on the connected socket");
    CHECK(int_option(cfd, SOL_SOCKET, SO_KEEPALIVE) != 0, "SO_KEEPALIVE on the connected socket");

    ready = smpp_net_wait(lfd, SMPP_NET_READ, 2000, err, sizeof err);
    CHECK(ready == SMPP_NET_READ, "the listener becomes readable: %d %s", ready, err);
    sfd = smpp_net_accept(lfd, err, sizeof err);
    CHECK(sfd >= 0, "accept: %s", err);
    CHECK(smpp_net_accept(lfd, err, sizeof err) == SMPP_NET_AGAIN, "a second accept would block");
    close(lfd);
    if (sfd < 0) {
        close(cfd);
        return;
    }
    CHECK(nonblocking(sfd) && close_on_exec(sfd), "the accepted socket is nonblocking, cloexec");
    CHECK(int_option(sfd, IPPROTO_TCP, TCP_NODELAY) != 0, "TCP_NODELAY on the accepted socket");

    n = smpp_net_read(sfd, buf, sizeof buf, err, sizeof err);
    CHECK(n == SMPP_NET_AGAIN, "read with nothing to read would block (%ld)", (long)n);
    t0 = now_ms();
    ready = smpp_net_wait(sfd, SMPP_NET_READ, 50, err, sizeof err);
    CHECK(ready == 0 && now_ms() - t0 >= 40, "wait times out with 0 (%d after %lld ms)", ready,
          now_ms() - t0);
    ready = smpp_net_wait(sfd, SMPP_NET_READ | SMPP_NET_WRITE, 1000, err, sizeof err);
    CHECK(ready == SMPP_NET_WRITE, "an idle connected socket is writable only (%d)", ready);
    CHECK(smpp_net_write(cfd, buf, 0, err, sizeof err) == 0, "an empty write takes 0");

    test_exchange(cfd, sfd);

    close(cfd);
    ready = smpp_net_wait(sfd, SMPP_NET_READ, 2000, err, sizeof err);
    CHECK(ready == SMPP_NET_READ, "the peer's close makes the socket readable (%d)", ready);
    n = smpp_net_read(sfd, buf, sizeof buf, err, sizeof err);
    CHECK(n == 0, "orderly close reads as 0 (%ld: %s)", (long)n, err);
    n = smpp_net_read(sfd, buf, sizeof buf, err, sizeof err);
    CHECK(n == 0, "and again as 0 (%ld)", (long)n);

    /* The first write may still be taken (the peer answers it with a reset);
     * one after that fails. SIGPIPE is at its default, so it would kill us. */
    err[0] = '\0';
    for (i = 0, n = 0; i < 50 && n >= 0; i++) {
        n = smpp_net_write(sfd, "enquire_link....", 16, err, sizeof err);
        if (n >= 0)
            smpp_net_wait(sfd, SMPP_NET_READ, 20, err, sizeof err);
    }
    CHECK(n == SMPP_ENET, "writing to a closed peer fails (%ld after %d writes)", (long)n, i);
    CHECK(starts_with(err, "write: ") &&
              (strstr(err, "Broken pipe") || strstr(err, "Connection reset")),
          "and says so: %s", err);
    close(sfd);
}

static void test_refused(void)
{
    smpp_net_connect c;
    char expect[128];
    int port = closed_port(), waits, rc;

    rc = connect_all(&c, "127.0.0.1", port, &waits);
    snprintf(expect, sizeof expect, "connect to 127.0.0.1:%d: Connection refused", port);
    CHECK(rc == SMPP_ENET, "connect to a closed port fails (%d)", rc);
    CHECK(strcmp(err, expect) == 0, "message \"%s\", expected \"%s\"", err, expect);
    CHECK(c.fd == -1 && c.addrs == NULL, "nothing left open or allocated");
    CHECK(smpp_net_connect_step(&c, err, sizeof err) == SMPP_ENET && strstr(err, "not in progress"),
          "a step after the end is refused: %s", err);
    smpp_net_connect_cancel(&c);
}

/* localhost may resolve to ::1 before 127.0.0.1; with the listener on
 * 127.0.0.1 alone, the connect must go on to the next address. */
static void test_next_address(const char *host, const char *name)
{
    smpp_net_connect c;
    char addrs[8][64], expect[256];
    int n = resolved(host, addrs, 8), port, lfd = listener(&port), waits, rc, sfd;

    if (lfd < 0)
        return;
    rc = connect_all(&c, host, port, &waits);
    CHECK(rc == SMPP_NET_CONNECTED, "connect to %s on 127.0.0.1 only: %s", name, err);
    snprintf(expect, sizeof expect, "127.0.0.1:%d", port);
    CHECK(rc != SMPP_NET_CONNECTED || strcmp(c.addr, expect) == 0, "connected to %s", c.addr);
    if (n >= 2 && strcmp(addrs[0], "127.0.0.1") != 0) {
        CHECK(c.tried == 2, "%s: %s refused first, then 127.0.0.1 (%d tried)", name, addrs[0],
              c.tried);
        snprintf(expect, sizeof expect, "connect to %s: [%s]:%d: ", name, addrs[0], port);
        CHECK(starts_with(c.failures, expect), "the first failure is kept: \"%s\"", c.failures);
    } else {
        printf("test_net: %s resolves to %s first here; the fallback is not exercised by it\n",
               name, n ? addrs[0] : "nothing");
    }
    if (rc == SMPP_NET_CONNECTED) {
        sfd = smpp_net_wait(lfd, SMPP_NET_READ, 2000, err, sizeof err) == SMPP_NET_READ
                  ? smpp_net_accept(lfd, err, sizeof err)
                  : -1;
        CHECK(sfd >= 0, "the listener accepts it: %s", err);
        if (sfd >= 0)
            close(sfd);
        close(c.fd);
    }
    close(lfd);
}

/* Every address refused: the message lists each, in order. */
static void test_all_refused(void)
{
    smpp_net_connect c;
    char addrs[8][64], expect[512];
    int n = resolved(NULL, addrs, 8), port = closed_port(), waits, rc;

    rc = connect_all(&c, NULL, port, &waits);
    CHECK(rc == SMPP_ENET, "connect to a closed port on the loopback fails (%d)", rc);
    CHECK(c.tried == n, "each of the %d addresses tried (%d)", n, c.tried);
    if (n == 2 && strcmp(addrs[0], "::1") == 0) {
        snprintf(expect, sizeof expect,
                 "connect to loopback: [::1]:%d: Connection refused; "
                 "127.0.0.1:%d: Connection refused",
                 port, port);
        CHECK(strcmp(err, expect) == 0, "message \"%s\", expected \"%s\"", err, expect);
    }
}

static void test_resolve_failure(void)
{
    smpp_net_connect c;
    long long t0 = now_ms();
    int rc = smpp_net_connect_start(&c, "no-such-host.invalid", 2775, err, sizeof err);
    long long took = now_ms() - t0;

    CHECK(rc == SMPP_ENET, "an unknown name fails at start (%d)", rc);
    CHECK(starts_with(err, "resolve no-such-host.invalid: ") && strlen(err) > 30,
          "with a resolve message: %s", err);
    CHECK(took < 5000, "quickly (%lld ms)", took);
    CHECK(c.fd == -1 && c.addrs == NULL, "nothing to free");
    smpp_net_connect_cancel(&c);

    rc = smpp_net_connect_start(&c, "127.0.0.1", 0, err, sizeof err);
    CHECK(rc == SMPP_ENET && strcmp(err, "connect to 127.0.0.1: invalid port 0") == 0,
          "port 0 is refused before connecting: %s", err);
    rc = smpp_net_listen("127.0.0.1", 65536, 16, err, sizeof err);
    CHECK(rc == SMPP_ENET && strcmp(err, "listen on 127.0.0.1: invalid port 65536") == 0,
          "so is port 65536 for a listener: %s", err);
}

static void test_cancel(void)
{
    smpp_net_connect c;
    int port, lfd = listener(&port), fd;

    if (lfd < 0)
        return;
    fd = smpp_net_connect_start(&c, "127.0.0.1", port, err, sizeof err);
    CHECK(fd >= 0, "start: %s", err);
    smpp_net_connect_cancel(&c);
    CHECK(c.fd == -1 && c.addrs == NULL, "cancel clears the connect");
    CHECK(fd < 0 || !is_open(fd), "and closes its socket");
    smpp_net_connect_cancel(&c);
    close(lfd);
}

static void test_errors(void)
{
    char expect[128], buf[4];
    int port, lfd = listener(&port), fd, pair[2];

    if (lfd < 0)
        return;
    fd = smpp_net_listen("127.0.0.1", port, 16, err, sizeof err);
    snprintf(expect, sizeof expect, "listen on 127.0.0.1:%d: Address already in use", port);
    CHECK(fd == SMPP_ENET && strcmp(err, expect) == 0, "a port in use: %s", err);
    close(lfd);

    CHECK(smpp_net_read(lfd, buf, sizeof buf, err, sizeof err) == SMPP_ENET &&
              strcmp(err, "read: Bad file descriptor") == 0,
          "read on a closed fd: %s", err);
    CHECK(smpp_net_write(lfd, buf, sizeof buf, err, sizeof err) == SMPP_ENET &&
              strcmp(err, "write: Bad file descriptor") == 0,
          "write on a closed fd: %s", err);
    CHECK(smpp_net_wait(lfd, SMPP_NET_READ, 0, err, sizeof err) == SMPP_ENET &&
              strcmp(err, "wait: Bad file descriptor") == 0,
          "wait on a closed fd: %s", err);
    CHECK(smpp_net_accept(lfd, err, sizeof err) == SMPP_ENET && starts_with(err, "accept: "),
          "accept on a closed fd: %s", err);
    CHECK(smpp_net_local_port(lfd, err, sizeof err) == SMPP_ENET &&
              starts_with(err, "local port: "),
          "local port of a closed fd: %s", err);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0) {
        CHECK(smpp_net_local_port(pair[0], err, sizeof err) == SMPP_ENET &&
                  strcmp(err, "local port: not an IP socket") == 0,
              "a local socket has no port: %s", err);
        close(pair[0]);
        close(pair[1]);
    }
}

static void on_usr1(int sig)
{
    (void)sig;
}

/* SIGUSR1 from a child 200 ms into a wait of timeout_ms on a listener (the
 * child connects to it 3 s later, lest a wait that goes on after the signal
 * last for ever): what the wait returned; *took its milliseconds. */
static int wait_signaled(int lfd, int port, int timeout_ms, long long *took)
{
    long long t0 = now_ms();
    int ready, status;
    pid_t child = fork();
    if (child == 0) {
        struct timespec ts = {0, 200000000};
        smpp_net_connect c;
        nanosleep(&ts, NULL);
        kill(getppid(), SIGUSR1);
        ts.tv_sec = 3;
        ts.tv_nsec = 0;
        nanosleep(&ts, NULL);
        smpp_net_connect_start(&c, "127.0.0.1", port, err, sizeof err);
        nanosleep(&ts, NULL);
        _exit(0);
    }
    CHECK(child > 0, "fork");
    if (child < 0)
        return -1;
    err[0] = '\0';
    ready = smpp_net_wait(lfd, SMPP_NET_READ, timeout_ms, err, sizeof err);
    *took = now_ms() - t0;
    kill(child, SIGKILL);
    waitpid(child, &status, 0);
    return ready;
}

static void test_wait_signal(void)
{
    struct sigaction sa, before;
    long long took;
    int port, lfd = listener(&port), ready;

    if (lfd < 0)
        return;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1; /* no SA_RESTART, like the Lua interpreter's Ctrl-C */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, &before);
    ready = wait_signaled(lfd, port, 10000, &took);
    CHECK(ready == 0, "a signal ends a wait with nothing ready: %d (%s)", ready, err);
    CHECK(took >= 150 && took < 1500, "at once: %lld ms into a 10 s wait, signaled at 200 ms", took);
    ready = wait_signaled(lfd, port, -1, &took);
    CHECK(ready == 0, "and a wait with no limit: %d (%s)", ready, err);
    CHECK(took >= 150 && took < 1500, "at once too: after %lld ms, signaled at 200 ms", took);
    sigaction(SIGUSR1, &before, NULL);
    close(lfd);
}

int main(void)
{
    signal(SIGPIPE, SIG_DFL);
    test_connect_accept_exchange_close();
    test_refused();
    test_next_address("localhost", "localhost");
    test_next_address(NULL, "loopback");
    test_all_refused();
    test_resolve_failure();
    test_cancel();
    test_errors();
    test_wait_signal();
    printf("test_net: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
