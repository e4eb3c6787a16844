/* smpp_tls: TLS for the core with OpenSSL 3 over memory BIOs, client and
 * server side. Sans-I/O like the rest of the core: it never touches a socket.
 * The caller moves the bytes (as with nghttp2's mem_recv/mem_send):
 *
 *     network bytes in   smpp_tls_feed(t, data, n)   (smpp_tls_eof(t) at EOF)
 *     network bytes out  n = smpp_tls_output(t, &p); send p[0..n); smpp_tls_consume(t, sent)
 *     plaintext in       smpp_tls_write(t, data, n)
 *     plaintext out      smpp_tls_read(t, buf, cap, &got)
 *
 * Every call may leave ciphertext to send (handshake messages, alerts, a
 * close_notify, a TLS 1.3 key update answer): send smpp_tls_output() after
 * each call, whatever it returned. A session goes:
 *
 *     while ((rc = smpp_tls_handshake(t)) == SMPP_EAGAIN) { send output; feed input; }
 *     rc == SMPP_OK: write and read; rc == SMPP_ETLS: smpp_tls_error(t) says why,
 *     send the output (the alert) and close the socket.
 *     smpp_tls_close(t): close_notify to send; then read until got == 0 if wanted.
 *
 * Results are SMPP_OK, SMPP_EAGAIN (nothing to do until more input comes),
 * SMPP_ETLS (the connection failed; every later call returns it again) and
 * SMPP_ENOMEM. After SMPP_ETLS, smpp_tls_error() has a message that names the
 * cause in words (certificate expired, host name mismatch and the expected
 * name, unknown CA or self-signed, protocol version mismatch, no shared
 * cipher, peer closed, peer does not speak TLS...) followed by OpenSSL's
 * reason. The OpenSSL error queue is emptied on the way out of every call.
 *
 * TLS 1.1: OpenSSL 3 refuses it at security level 1 and above (Debian builds
 * it with level 2 by default) because the TLS 1.0/1.1 handshake signs with
 * SHA-1 or MD5+SHA-1. With min_version "1.1" the config lets exactly those
 * handshake signatures through on connections that negotiated TLS 1.1 and
 * keeps every other rule of the security level (key sizes, certificate
 * signatures, ciphers); connections that negotiate TLS 1.2 or 1.3 are not
 * affected. A peer that also needs weaker keys or certificates (RSA below
 * 2048 bits, SHA-1 certificate signatures) takes ciphers "DEFAULT@SECLEVEL=0",
 * which lowers the security level itself.
 *
 * Not thread-safe per object: one connection is used by one thread at a
 * time, and a config's reference count is not atomic (create and free the
 * connections of one config in one thread). */
#ifndef SMPP_TLS_H
#define SMPP_TLS_H

#include <stddef.h>
#include <stdint.h>

typedef enum smpp_tls_verify {
    /* client: verify the server's certificate and host name;
     * server: do not ask for client certificates */
    SMPP_TLS_VERIFY_DEFAULT = 0,
    /* verify the peer; a server then requires a client certificate issued by
     * ca_file/ca_dir (which it must be given) */
    SMPP_TLS_VERIFY_PEER,
    /* accept any certificate (tests, private networks) */
    SMPP_TLS_VERIFY_NONE
} smpp_tls_verify;

/* Zero-initialised, this is a client that verifies against the system trust
 * store, TLS 1.2 or later. Strings are only read during smpp_tls_config_new. */
typedef struct smpp_tls_options {
    int server;              /* 1: the server side (needs cert_file) */
    smpp_tls_verify verify;  /* see above */
    const char *ca_file;     /* PEM CA certificates to trust; with ca_dir NULL too: */
    const char *ca_dir;      /* the system trust store (c_rehash'ed directory) */
    const char *cert_file;   /* PEM certificate chain: the server's, or a client's */
    const char *key_file;    /* PEM private key; NULL: in cert_file */
    const char *min_version; /* "1.1", "1.2" (NULL: the default) or "1.3" */
    const char *max_version; /* same; NULL: the highest OpenSSL has (1.3) */
    const char *ciphers;     /* OpenSSL cipher list for TLS 1.2 and below */
    /* NSS key log lines (CLIENT_RANDOM, CLIENT_TRAFFIC_SECRET_0...) appended
     * to this file, created with mode 0600, so that Wireshark or tshark can
     * decrypt captures. NULL: the SSLKEYLOGFILE environment variable; "": none. */
    const char *keylog_file;
} smpp_tls_options;

typedef struct smpp_tls_config smpp_tls_config; /* an SSL_CTX */
typedef struct smpp_tls smpp_tls;               /* an SSL and its two BIOs */

/* A config for many connections. NULL on failure, with a message naming the
 * option at fault in err (errlen octets, NUL-terminated). */
smpp_tls_config *smpp_tls_config_new(const smpp_tls_options *o, char *err, size_t errlen);
/* Drops the caller's reference: the config goes when its last connection has
 * been freed too. NULL is ignored. */
void smpp_tls_config_free(smpp_tls_config *c);

/* A connection. host (client side): the server's name, sent as SNI and
 * checked against its certificate; an IPv4 or IPv6 literal is checked as an
 * IP address and not sent as SNI. Required when verifying; ignored by a
 * server. NULL on failure, with a message in err. */
smpp_tls *smpp_tls_new(smpp_tls_config *c, const char *host, char *err, size_t errlen);
void smpp_tls_free(smpp_tls *t); /* NULL is ignored */

/* Network bytes received; SMPP_OK or SMPP_ENOMEM. */
int smpp_tls_feed(smpp_tls *t, const void *data, size_t n);
/* The transport reached end of file (the peer closed TCP): a read or
 * handshake waiting for input then fails instead of returning SMPP_EAGAIN. */
void smpp_tls_eof(smpp_tls *t);

/* Runs the handshake as far as the input allows: SMPP_OK when done (and on
 * every call after), SMPP_EAGAIN, or SMPP_ETLS. */
int smpp_tls_handshake(smpp_tls *t);

/* Plaintext out, up to cap (> 0) octets into buf: SMPP_OK with *got > 0;
 * SMPP_OK with *got == 0 when the peer closed cleanly (close_notify; also on
 * every call after); SMPP_EAGAIN when no plaintext is there yet (cap == 0
 * too); SMPP_ETLS (a peer that closes TCP without close_notify is an error:
 * the data may have been cut short). Completes the handshake if needed. */
int smpp_tls_read(smpp_tls *t, void *buf, size_t cap, size_t *got);

/* Plaintext in: all n octets are encrypted into the output at once.
 * SMPP_OK; SMPP_EAGAIN before the handshake is done (nothing taken);
 * SMPP_ETLS (also after smpp_tls_close, which does not fail the connection:
 * reading goes on). */
int smpp_tls_write(smpp_tls *t, const void *data, size_t n);

/* The ciphertext waiting to be sent: its size, and *data pointing at it
 * (valid until the next call on t). */
size_t smpp_tls_output(smpp_tls *t, const uint8_t **data);
/* The first n octets of the output have been sent. */
void smpp_tls_consume(smpp_tls *t, size_t n);

/* Queues a close_notify (send the output, then read the peer's if wanted).
 * SMPP_OK (also when the handshake was not done: nothing to send), or
 * SMPP_ETLS after a failure. */
int smpp_tls_close(smpp_tls *t);

/* Why the last call returned SMPP_ETLS; "" when nothing failed. */
const char *smpp_tls_error(const smpp_tls *t);
/* After the handshake: the protocol ("TLSv1.3", "TLSv1.2", "TLSv1.1") and
 * the cipher suite's OpenSSL name. */
const char *smpp_tls_version(const smpp_tls *t);
const char *smpp_tls_cipher(const smpp_tls *t);

#endif
