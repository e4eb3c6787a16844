/* smpp_net: the nonblocking TCP sockets of the built-in transport. Plain C and
 * POSIX, no Lua. Nothing here blocks but smpp_net_wait and the name lookup
 * (getaddrinfo, which has no portable nonblocking form; a numeric address or
 * /etc/hosts answers at once, DNS within the resolver's own timeouts).
 *
 * Conventions. Every failure returns SMPP_ENET and writes a message such as
 * "connect to 127.0.0.1:2775: Connection refused" into err (errlen octets at
 * most). A call that would block returns SMPP_NET_AGAIN, which is not an
 * error: wait for the fd (smpp_net_wait, or the caller's scheduler) and call
 * again. EINTR is retried inside. Sockets are nonblocking and close-on-exec;
 * the caller closes them with close(). */
#ifndef SMPP_NET_H
#define SMPP_NET_H

#include <stddef.h>
#include <sys/types.h>

#include "smpp_pdu.h"

#define SMPP_NET_AGAIN (-100) /* would block; outside the SMPP_E* errors on purpose */

#define SMPP_NET_INPROGRESS 0 /* smpp_net_connect_step: wait until c->fd is writable */
#define SMPP_NET_CONNECTED 1  /* smpp_net_connect_step: c->fd is connected */

#define SMPP_NET_READ 1 /* smpp_net_wait events */
#define SMPP_NET_WRITE 2

struct addrinfo;

/* One connect in progress, tried address by address: the name is resolved on
 * every smpp_net_connect_start (never cached, so DNS changes are followed). */
typedef struct smpp_net_connect {
    struct addrinfo *addrs; /* getaddrinfo's list; NULL once the connect is over */
    struct addrinfo *next;  /* the address to try after the current one */
    int fd;                 /* the socket being connected, or connected; -1 when none */
    int tried;              /* addresses tried so far */
    char host[256];         /* the name asked for, for messages */
    char addr[80];          /* the current address, "127.0.0.1:2775" or "[::1]:2775" */
    char failures[512];     /* "connect to ...: ...; ..." for each address that failed */
} smpp_net_connect;

/* Resolves host (AF_UNSPEC; NULL means the loopback addresses, as for
 * getaddrinfo) and starts a nonblocking connect to the first address that
 * takes one. Returns the socket (also c->fd): wait until it is writable, then
 * call smpp_net_connect_step. Or SMPP_ENET: the name did not resolve
 * ("resolve smsc.example: Name or service not known"), or no address could
 * even be tried; then nothing is left to free.
 *
 * There is no timeout here: the caller bounds the whole connect by the
 * timeouts it waits with, and calls smpp_net_connect_cancel when it runs out. */
int smpp_net_connect_start(smpp_net_connect *c, const char *host, int port, char *err,
                           size_t errlen);

/* Goes on once c->fd is writable (or has an error). Returns SMPP_NET_CONNECTED:
 * c->fd is the caller's, with TCP_NODELAY and SO_KEEPALIVE set, and c->addr says
 * where it went. SMPP_NET_INPROGRESS: this address failed or is not through
 * yet, and c->fd (perhaps a new socket for the next address) is to be waited
 * on until writable again. SMPP_ENET: every address failed; err lists them. */
int smpp_net_connect_step(smpp_net_connect *c, char *err, size_t errlen);

/* Gives up a connect that is not over (the caller's timeout): closes c->fd and
 * frees what the connect holds. Harmless on a connect that is over. */
void smpp_net_connect_cancel(smpp_net_connect *c);

/* A nonblocking listening socket with SO_REUSEADDR on the first address of
 * host (NULL: every interface) that binds; port 0 picks a free port, which
 * smpp_net_local_port tells. Returns the socket or SMPP_ENET. */
int smpp_net_listen(const char *host, int port, int backlog, char *err, size_t errlen);

/* The local port of a socket, or SMPP_ENET. */
int smpp_net_local_port(int fd, char *err, size_t errlen);

/* Accepts one connection: returns the new nonblocking socket (TCP_NODELAY and
 * SO_KEEPALIVE set), SMPP_NET_AGAIN when none is pending, or SMPP_ENET. */
int smpp_net_accept(int fd, char *err, size_t errlen);

/* Reads up to cap (> 0) octets: returns how many, 0 when the peer closed its
 * side (orderly), SMPP_NET_AGAIN, or SMPP_ENET ("read: Connection reset by
 * peer"). */
ssize_t smpp_net_read(int fd, void *buf, size_t cap, char *err, size_t errlen);

/* Writes up to n octets, without SIGPIPE: returns how many were taken (perhaps
 * fewer than n), SMPP_NET_AGAIN when none could be, or SMPP_ENET ("write:
 * Broken pipe" once the peer is gone). */
ssize_t smpp_net_write(int fd, const void *buf, size_t n, char *err, size_t errlen);

/* Sets SO_RCVLOWAT: poll() reports fd readable only once octets are queued
 * (or the stream ended, or failed); a read still returns what there is.
 * Returns 0, or an SMPP_E* error with err filled in. */
int smpp_net_lowat(int fd, int octets, char *err, size_t errlen);

/* Waits until fd is ready for events (SMPP_NET_READ, SMPP_NET_WRITE or both) or
 * timeout_ms passes (negative: no limit). Returns the events that are ready (an
 * error or hang-up counts as every event asked for, so that the next read or
 * write reports it), 0 on timeout, or SMPP_ENET. For blocking use at top level
 * (REPL, plain scripts); a scheduler polls the fd itself. */
int smpp_net_wait(int fd, int events, int timeout_ms, char *err, size_t errlen);

#endif
