/* The loopback ceiling: what moving a client's traffic costs with no codec
 * and no protocol, for bench/client_bench.sh to measure ours against.
 *
 *   loopback WINDOW COUNT REQUEST_OCTETS RESPONSE_OCTETS
 *
 * A server (a child process) and a client on 127.0.0.1 exchange COUNT
 * requests of REQUEST_OCTETS and responses of RESPONSE_OCTETS, framed as
 * SMPP is (a 4-octet big-endian length first), with at most WINDOW requests
 * outstanding, over TCP_NODELAY sockets. The server answers every complete
 * request of a read in one write (as bin/smpp-sim does); the client writes as
 * many requests as it has room for in one write and reads as they come.
 * Prints one line:
 *
 *   loopback window=W count=N msgs_per_s=R cpu_us_per_msg=C rtt_us_p50=X rtt_us_p99=Y
 *
 * cpu: the client's user + system time per message; rtt: from the write
 * that carried a request to the read that brought its response. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 65536

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static void write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            die("write");
        p += w;
        n -= (size_t)w;
    }
}

static void frame(unsigned char *p, size_t octets)
{
    memset(p, 'x', octets);
    p[0] = (unsigned char)(octets >> 24);
    p[1] = (unsigned char)(octets >> 16);
    p[2] = (unsigned char)(octets >> 8);
    p[3] = (unsigned char)octets;
}

static uint32_t length_at(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Answers every complete request of each read in one write, until EOF. */
static void serve(int fd, size_t response)
{
    static unsigned char in[2 * CHUNK], out[CHUNK / 4 * 64];
    unsigned char reply[256];
    size_t have = 0;
    frame(reply, response);
    for (;;) {
        size_t used = 0, nout = 0;
        ssize_t r = read(fd, in + have, sizeof in - have);
        if (r <= 0)
            return;
        have += (size_t)r;
        while (have - used >= 4 && have - used >= length_at(in + used)) {
            used += length_at(in + used);
            memcpy(out + nout, reply, response);
            nout += response;
        }
        memmove(in, in + used, have - used);
        have -= used;
        if (nout > 0)
            write_all(fd, out, nout);
    }
}

static int compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    long window, count, request, response, sent = 0, answered = 0, k;
    int on = 1, listener, fd;
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    unsigned char *req, in[CHUNK];
    size_t have = 0;
    double *sent_at, *rtt, t0, elapsed;
    struct rusage ru0, ru1;
    pid_t pid;

    if (argc != 5 || (window = atol(argv[1])) < 1 || (count = atol(argv[2])) < 1 ||
        (request = atol(argv[3])) < 16 || request > 4096 || (response = atol(argv[4])) < 16 ||
        response > 64) {
        fprintf(stderr, "usage: loopback WINDOW COUNT REQUEST_OCTETS RESPONSE_OCTETS\n");
        return 2;
    }
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if ((listener = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
        bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(listener, 1) < 0 ||
        getsockname(listener, (struct sockaddr *)&addr, &len) < 0)
        die("listen");
    if ((pid = fork()) < 0)
        die("fork");
    if (pid == 0) {
        int conn = accept(listener, NULL, NULL);
        if (conn < 0)
            die("accept");
        setsockopt(conn, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        serve(conn, (size_t)response);
        _exit(0);
    }
    close(listener);
    if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
        connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
        die("connect");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    req = malloc((size_t)(request * window));
    sent_at = malloc(sizeof *sent_at * (size_t)count);
    rtt = malloc(sizeof *rtt * (size_t)count);
    if (req == NULL || sent_at == NULL || rtt == NULL)
        die("malloc");
    for (k = 0; k < window; k++)
        frame(req + k * request, (size_t)request);

    getrusage(RUSAGE_SELF, &ru0);
    t0 = now_us();
    while (answered < count) {
        long room = window - (sent - answered), n = count - sent < room ? count - sent : room;
        if (n > 0) {
            double t = now_us();
            write_all(fd, req, (size_t)(n * request));
            for (k = 0; k < n; k++)
                sent_at[sent + k] = t;
            sent += n;
        }
        ssize_t r = read(fd, in + have, sizeof in - have);
        if (r <= 0)
            die("read");
        have += (size_t)r;
        double t = now_us();
        size_t used = 0;
        while (have - used >= 4 && have - used >= length_at(in + used)) {
            used += length_at(in + used);
            rtt[answered] = t - sent_at[answered];
            answered++;
        }
        memmove(in, in + used, have - used);
        have -= used;
    }
    elapsed = now_us() - t0;
    getrusage(RUSAGE_SELF, &ru1);
    close(fd);
    waitpid(pid, NULL, 0);

    double cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) * 1e6 +
                 (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) +
                 (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) * 1e6 +
                 (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec);
    qsort(rtt, (size_t)count, sizeof *rtt, compare);
    printf("loopback window=%ld count=%ld msgs_per_s=%.0f cpu_us_per_msg=%.2f rtt_us_p50=%.1f "
           "rtt_us_p99=%.1f\n",
           window, count, count / (elapsed / 1e6), cpu / count, rtt[count / 2],
           rtt[(size_t)((double)count * 0.99)]);
    free(req);
    free(sent_at);
    free(rtt);
    return 0;
}
