/* smpp_net: nonblocking TCP connect (every address of a name, in turn), listen,
 * accept, read, write and poll for the built-in transport; see smpp_net.h. */
#include "smpp_net.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* "Connection refused" for errno e, thread-safe (the XSI strerror_r). */
static const char *sys_message(int e, char *buf, size_t n)
{
    if (strerror_r(e, buf, n) != 0)
        snprintf(buf, n, "error %d", e);
    return buf;
}

static int fail_errno(int e, const char *what, char *err, size_t errlen)
{
    char msg[128];
    snprintf(err, errlen, "%s: %s", what, sys_message(e, msg, sizeof msg));
    return SMPP_ENET;
}

/* name is host as messages show it. */
static int resolve(const char *host, const char *name, int port, int flags, struct addrinfo **addrs,
                   char *err, size_t errlen)
{
    struct addrinfo hints;
    char service[8], msg[128], literal[64];
    size_t len = host ? strlen(host) : 0;
    int rc;

    /* "[::1]", an IPv6 address as URLs and our own messages write it */
    if (len > 2 && host[0] == '[' && host[len - 1] == ']' && len - 2 < sizeof literal) {
        memcpy(literal, host + 1, len - 2);
        literal[len - 2] = '\0';
        host = literal;
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = flags | AI_NUMERICSERV;
    snprintf(service, sizeof service, "%d", port);
    rc = getaddrinfo(host, service, &hints, addrs);
    if (rc == 0)
        return 0;
    snprintf(err, errlen, "resolve %s: %s", name,
             rc == EAI_SYSTEM ? sys_message(errno, msg, sizeof msg) : gai_strerror(rc));
    return SMPP_ENET;
}

/* "127.0.0.1:2775" or "[::1]:2775". */
static void format_addr(const struct sockaddr *sa, socklen_t salen, char *addr, size_t alen)
{
    char host[64], port[8];
    if (getnameinfo(sa, salen, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        snprintf(addr, alen, "?");
    else
        snprintf(addr, alen, sa->sa_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
}

/* The host to name in messages: NULL when it is an address itself. */
static const char *shown_host(const char *host)
{
    unsigned char in[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, host, in) == 1 || inet_pton(AF_INET6, host, in) == 1)
        return NULL;
    return host;
}

/* Adds one address's failure to a list that reads "connect to smsc.example:
 * [::1]:2775: Connection refused; 127.0.0.1:2775: Connection refused", or
 * "connect to 127.0.0.1:2775: Connection refused" when no name was asked for. */
static void note_failure(char *list, size_t size, const char *verb, const char *host,
                         const char *addr, int e)
{
    size_t used = strlen(list);
    char msg[128];
    sys_message(e, msg, sizeof msg);
    if (used == 0 && host == NULL)
        snprintf(list, size, "%s %s: %s", verb, addr, msg);
    else if (used == 0)
        snprintf(list, size, "%s %s: %s: %s", verb, host, addr, msg);
    else if (used + 1 < size)
        snprintf(list + used, size - used, "; %s: %s", addr, msg);
}

/* Nonblocking and close-on-exec; returns 0 or an errno. */
static int set_flags(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return errno;
    fl = fcntl(fd, F_GETFD);
    if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0)
        return errno;
    return 0;
}

/* An SMPP link: PDUs leave at once (the writes are already coalesced), and a
 * dead peer is eventually noticed even when the link is idle. */
static int set_link_options(int fd)
{
    int on = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on) < 0)
        return errno;
    return 0;
}

static void connect_over(smpp_net_connect *c)
{
    if (c->addrs)
        freeaddrinfo(c->addrs);
    c->addrs = NULL;
    c->next = NULL;
}

/* Starts a connect to the next address that takes one; returns the socket,
 * or SMPP_ENET when no address is left. */
static int connect_next(smpp_net_connect *c, char *err, size_t errlen)
{
    while (c->next) {
        struct addrinfo *ai = c->next;
        int fd, e;

        c->next = ai->ai_next;
        c->tried++;
        format_addr(ai->ai_addr, ai->ai_addrlen, c->addr, sizeof c->addr);
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) {
            e = errno;
        } else if ((e = set_flags(fd)) == 0) {
            /* an interrupted connect goes on in the background, like EINPROGRESS */
            if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS ||
                errno == EINTR) {
                c->fd = fd;
                return fd;
            }
            e = errno;
        }
        if (fd >= 0)
            close(fd);
        note_failure(c->failures, sizeof c->failures, "connect to", shown_host(c->host), c->addr,
                     e);
    }
    connect_over(c);
    snprintf(err, errlen, "%s", c->failures);
    return SMPP_ENET;
}

int smpp_net_connect_start(smpp_net_connect *c, const char *host, int port, char *err,
                           size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    snprintf(c->host, sizeof c->host, "%s", host ? host : "loopback");
    if (port < 1 || port > 65535) {
        snprintf(err, errlen, "connect to %s: invalid port %d", c->host, port);
        return SMPP_ENET;
    }
    if (resolve(host, c->host, port, 0, &c->addrs, err, errlen) != 0)
        return SMPP_ENET;
    c->next = c->addrs;
    return connect_next(c, err, errlen);
}

int smpp_net_connect_step(smpp_net_connect *c, char *err, size_t errlen)
{
    struct sockaddr_storage peer;
    socklen_t len = sizeof(int);
    int e = 0, rc;

    if (c->addrs == NULL) {
        snprintf(err, errlen, "connect to %s: not in progress", c->host);
        return SMPP_ENET;
    }
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
        e = errno;
    if (e == 0) {
        len = sizeof peer;
        /* woken before the handshake is through: keep waiting */
        if (getpeername(c->fd, (struct sockaddr *)&peer, &len) < 0 && errno == ENOTCONN)
            return SMPP_NET_INPROGRESS;
        e = set_link_options(c->fd);
        if (e == 0) {
            connect_over(c);
            return SMPP_NET_CONNECTED;
        }
    }
    close(c->fd);
    c->fd = -1;
    note_failure(c->failures, sizeof c->failures, "connect to", shown_host(c->host), c->addr, e);
    rc = connect_next(c, err, errlen);
    return rc < 0 ? rc : SMPP_NET_INPROGRESS;
}

void smpp_net_connect_cancel(smpp_net_connect *c)
{
    if (c->addrs == NULL) /* over: a connected fd is the caller's */
        return;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    connect_over(c);
}

int smpp_net_listen(const char *host, int port, int backlog, char *err, size_t errlen)
{
    struct addrinfo *addrs, *ai;
    char failures[512] = "";
    const char *name = host ? host : "*";

    if (port < 0 || port > 65535) {
        snprintf(err, errlen, "listen on %s: invalid port %d", name, port);
        return SMPP_ENET;
    }
    if (resolve(host, name, port, AI_PASSIVE, &addrs, err, errlen) != 0)
        return SMPP_ENET;
    for (ai = addrs; ai; ai = ai->ai_next) {
        char addr[80];
        int on = 1, e;
        int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) {
            e = errno;
        } else if ((e = set_flags(fd)) == 0) {
            if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == 0 &&
                bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, backlog) == 0) {
                freeaddrinfo(addrs);
                return fd;
            }
            e = errno;
        }
        if (fd >= 0)
            close(fd);
        format_addr(ai->ai_addr, ai->ai_addrlen, addr, sizeof addr);
        note_failure(failures, sizeof failures, "listen on", shown_host(name), addr, e);
    }
    freeaddrinfo(addrs);
    snprintf(err, errlen, "%s", failures);
    return SMPP_ENET;
}

int smpp_net_local_port(int fd, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;

    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return fail_errno(errno, "local port", err, errlen);
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    snprintf(err, errlen, "local port: not an IP socket");
    return SMPP_ENET;
}

int smpp_net_accept(int fd, char *err, size_t errlen)
{
    for (;;) {
        int e, conn = accept(fd, NULL, NULL);
        if (conn < 0) {
            /* a client that gave up before being accepted is nobody's error */
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return SMPP_NET_AGAIN;
            return fail_errno(errno, "accept", err, errlen);
        }
        e = set_flags(conn);
        if (e == 0)
            e = set_link_options(conn);
        if (e == 0)
            return conn;
        close(conn);
        return fail_errno(e, "accept", err, errlen);
    }
}

ssize_t smpp_net_read(int fd, void *buf, size_t cap, char *err, size_t errlen)
{
    for (;;) {
        ssize_t n = recv(fd, buf, cap, 0);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return SMPP_NET_AGAIN;
        return fail_errno(errno, "read", err, errlen);
    }
}

ssize_t smpp_net_write(int fd, const void *buf, size_t n, char *err, size_t errlen)
{
    for (;;) {
        /* MSG_NOSIGNAL: a peer that is gone gives EPIPE here, not SIGPIPE */
        ssize_t sent = send(fd, buf, n, MSG_NOSIGNAL);
        if (sent >= 0)
            return sent;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return SMPP_NET_AGAIN;
        return fail_errno(errno, "write", err, errlen);
    }
}

int smpp_net_lowat(int fd, int octets, char *err, size_t errlen)
{
    if (setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &octets, sizeof octets) < 0)
        return fail_errno(errno, "setsockopt SO_RCVLOWAT", err, errlen);
    return 0;
}

/* A signal ends the wait as if the time were up (0): the caller's own loop
 * looks at its clock and waits again, and whatever the signal's handler
 * arranged (the standalone interpreter's Ctrl-C, for one) happens first,
 * not after the whole timeout once more. */
int smpp_net_wait(int fd, int events, int timeout_ms, char *err, size_t errlen)
{
    struct pollfd p;
    int ready = 0;

    p.fd = fd;
    p.events = (short)(((events & SMPP_NET_READ) ? POLLIN : 0) |
                       ((events & SMPP_NET_WRITE) ? POLLOUT : 0));
    p.revents = 0;
    if (poll(&p, 1, timeout_ms) < 0) {
        if (errno == EINTR)
            return 0;
        return fail_errno(errno, "wait", err, errlen);
    }
    if (p.revents & POLLNVAL)
        return fail_errno(EBADF, "wait", err, errlen);
    if (p.revents & (POLLERR | POLLHUP))
        return events & (SMPP_NET_READ | SMPP_NET_WRITE);
    if (p.revents & POLLIN)
        ready |= SMPP_NET_READ;
    if (p.revents & POLLOUT)
        ready |= SMPP_NET_WRITE;
    return ready;
}
