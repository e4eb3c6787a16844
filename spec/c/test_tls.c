/* test_tls: tests of csrc/smpp_tls.c, TLS over memory BIOs. Makes its
 * certificates with the openssl command line, then runs our client against
 * our server in memory (handshake, data both ways, close_notify, every kind
 * of refusal and its message), and against real `openssl s_server` peers on
 * 127.0.0.1 (SNI, a TLS 1.1-only server), and checks the key log. Run by
 * spec/c/run.sh; prints "N passed, N failed" and exits non-zero on a failure. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>

#include "smpp_pdu.h"
#include "smpp_tls.h"

#include "check.h"

static char dir[] = "/tmp/test_tls.XXXXXX";

/* dir/name; the same pointer every time for a name, so options can keep it. */
static const char *f(const char *name)
{
    static struct {
        char name[32], path[128];
    } files[40];
    static size_t used;
    size_t i;
    for (i = 0; i < used; i++)
        if (strcmp(files[i].name, name) == 0)
            return files[i].path;
    if (used == sizeof files / sizeof files[0]) {
        fprintf(stderr, "test_tls: too many file names\n");
        exit(2);
    }
    snprintf(files[used].name, sizeof files[0].name, "%s", name);
    snprintf(files[used].path, sizeof files[0].path, "%s/%s", dir, name);
    return files[used++].path;
}

/* Runs a shell command in dir, its output to dir/openssl.log; 1 if it worked. */
static int run(const char *fmt, ...)
{
    char cmd[2048], line[2400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    snprintf(line, sizeof line, "cd '%s' && (%s) >>openssl.log 2>&1", dir, cmd);
    return system(line) == 0;
}

/* smpp_tls_error, also for a connection that could not be made. */
static const char *errof(const smpp_tls *t)
{
    return t != NULL ? smpp_tls_error(t) : "(no connection)";
}

static int contains(const char *s, const char *what)
{
    return s != NULL && strstr(s, what) != NULL;
}

/* The whole of a file, NUL-terminated (static buffer; "" if unreadable). */
static const char *slurp(const char *path)
{
    static char buf[65536];
    size_t n = 0;
    FILE *fp = fopen(path, "rb");
    if (fp != NULL) {
        n = fread(buf, 1, sizeof buf - 1, fp);
        fclose(fp);
    }
    buf[n] = '\0';
    return buf;
}

#define EC "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"

/* ca: the test CA; server: localhost and 127.0.0.1 from ca; expired: the same,
 * expired; stranger: localhost from another CA; selfsigned: localhost, self-
 * signed; rsa: localhost with an RSA key; client: a client certificate from ca. */
static int make_certificates(void)
{
    FILE *fp = fopen(f("ext.cnf"), "w");
    if (fp == NULL)
        return 0;
    fputs("[server]\nsubjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
          "extendedKeyUsage=serverAuth\n"
          "[client]\nbasicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
          fp);
    fclose(fp);
    return run("openssl req -x509 " EC " -keyout ca.key -out ca.pem -days 3650"
               " -subj '/CN=lua-smpp test CA'") &&
           run("openssl req -x509 " EC " -keyout other-ca.key -out other-ca.pem -days 3650"
               " -subj '/CN=stranger CA'") &&
           run("openssl req -new " EC " -keyout server.key -out server.csr -subj /CN=localhost") &&
           run("openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial"
               " -days 365 -extfile ext.cnf -extensions server -out server.pem") &&
           run("openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial"
               " -days -1 -extfile ext.cnf -extensions server -out expired.pem") &&
           run("openssl x509 -req -in server.csr -CA other-ca.pem -CAkey other-ca.key"
               " -CAcreateserial -days 365 -extfile ext.cnf -extensions server"
               " -out stranger.pem") &&
           run("openssl req -x509 " EC " -keyout selfsigned.key -out selfsigned.pem -days 365"
               " -subj /CN=localhost -addext subjectAltName=DNS:localhost") &&
           run("openssl req -new -newkey rsa:2048 -nodes -keyout rsa.key -out rsa.csr"
               " -subj /CN=localhost") &&
           run("openssl x509 -req -in rsa.csr -CA ca.pem -CAkey ca.key -CAcreateserial"
               " -days 365 -extfile ext.cnf -extensions server -out rsa.pem") &&
           run("openssl req -new " EC " -keyout client.key -out client.csr -subj /CN=esme") &&
           run("openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial"
               " -days 365 -extfile ext.cnf -extensions client -out client.pem") &&
           run("openssl x509 -req -in client.csr -CA other-ca.pem -CAkey other-ca.key"
               " -CAcreateserial -days 365 -extfile ext.cnf -extensions client"
               " -out stranger-client.pem");
}

static smpp_tls_options client_opts(void)
{
    smpp_tls_options o;
    memset(&o, 0, sizeof o);
    o.ca_file = f("ca.pem");
    o.keylog_file = "";
    return o;
}

static smpp_tls_options server_opts(const char *cert, const char *key)
{
    smpp_tls_options o;
    memset(&o, 0, sizeof o);
    o.server = 1;
    o.cert_file = f(cert);
    o.key_file = f(key);
    o.keylog_file = "";
    return o;
}

/* ---- in memory: our client and our server, bytes moved by hand ---- */

/* Moves what from has to send into to, 1000 octets at a time. */
static size_t move(smpp_tls *from, smpp_tls *to)
{
    const uint8_t *p;
    size_t n, total = 0;
    while ((n = smpp_tls_output(from, &p)) > 0) {
        if (n > 1000)
            n = 1000;
        if (smpp_tls_feed(to, p, n) != SMPP_OK)
            break;
        smpp_tls_consume(from, n);
        total += n;
    }
    return total;
}

static size_t shuttle(smpp_tls *a, smpp_tls *b)
{
    size_t n = move(a, b);
    return n + move(b, a);
}

/* Both handshakes, until neither side has more to say; *rc, *rs their results. */
static void handshake_pair(smpp_tls *c, smpp_tls *s, int *rc, int *rs)
{
    int i;
    *rc = *rs = SMPP_EAGAIN;
    for (i = 0; i < 50; i++) {
        if (*rc == SMPP_EAGAIN)
            *rc = smpp_tls_handshake(c);
        if (*rs == SMPP_EAGAIN)
            *rs = smpp_tls_handshake(s);
        if (shuttle(c, s) == 0)
            break;
    }
}

typedef struct pair {
    smpp_tls *c, *s;
    int rc, rs; /* handshake results */
} pair;

/* A client for host and a server from these options, handshaken. The
 * configs are freed at once: the connections keep them alive. */
static pair connect_pair(const smpp_tls_options *co, const smpp_tls_options *so, const char *host)
{
    pair p;
    char err[512];
    smpp_tls_config *cc = smpp_tls_config_new(co, err, sizeof err);
    smpp_tls_config *sc;

    memset(&p, 0, sizeof p);
    p.rc = p.rs = SMPP_ENOMEM;
    CHECK(cc != NULL, "client config: %s", err);
    sc = smpp_tls_config_new(so, err, sizeof err);
    CHECK(sc != NULL, "server config: %s", err);
    if (cc != NULL && sc != NULL) {
        p.c = smpp_tls_new(cc, host, err, sizeof err);
        CHECK(p.c != NULL, "client: %s", err);
        p.s = smpp_tls_new(sc, NULL, err, sizeof err);
        CHECK(p.s != NULL, "server: %s", err);
    }
    smpp_tls_config_free(cc);
    smpp_tls_config_free(sc);
    if (p.c != NULL && p.s != NULL)
        handshake_pair(p.c, p.s, &p.rc, &p.rs);
    return p;
}

static void free_pair(pair *p)
{
    smpp_tls_free(p->c);
    smpp_tls_free(p->s);
    CHECK(ERR_peek_error() == 0, "OpenSSL error queue left non-empty");
}

/* n octets from one side to the other, read back in pieces of at most 4000. */
static void transfer(smpp_tls *from, smpp_tls *to, size_t n, const char *what)
{
    uint8_t *src = malloc(n), *dst = malloc(n + 1);
    size_t i, got, total = 0;
    int rc = SMPP_OK;

    if (src == NULL || dst == NULL) {
        CHECK(0, "out of memory");
        free(src);
        free(dst);
        return;
    }
    for (i = 0; i < n; i++)
        src[i] = (uint8_t)(i * 7 + i / 251);
    CHECK(smpp_tls_write(from, src, n) == SMPP_OK, "%s: write: %s", what, errof(from));
    move(from, to);
    while (total <= n) {
        size_t cap = n + 1 - total < 4000 ? n + 1 - total : 4000;
        rc = smpp_tls_read(to, dst + total, cap, &got);
        if (rc != SMPP_OK || got == 0)
            break;
        total += got;
    }
    CHECK(rc == SMPP_EAGAIN, "%s: read ended with %d: %s", what, rc, errof(to));
    CHECK(total == n && memcmp(src, dst, n) == 0, "%s: %zu of %zu octets came through", what, total,
          n);
    free(src);
    free(dst);
}

static void test_good_session(void)
{
    smpp_tls_options co = client_opts(), so = server_opts("server.pem", "server.key");
    pair p = connect_pair(&co, &so, "localhost");
    const uint8_t *out;
    size_t got;
    char buf[16];

    CHECK(p.rc == SMPP_OK, "client handshake %d: %s", p.rc, errof(p.c));
    CHECK(p.rs == SMPP_OK, "server handshake %d: %s", p.rs, errof(p.s));
    if (p.rc != SMPP_OK || p.rs != SMPP_OK) {
        free_pair(&p);
        return;
    }
    CHECK(strcmp(smpp_tls_version(p.c), "TLSv1.3") == 0, "%s", smpp_tls_version(p.c));
    CHECK(strcmp(smpp_tls_cipher(p.c), smpp_tls_cipher(p.s)) == 0, "%s / %s", smpp_tls_cipher(p.c),
          smpp_tls_cipher(p.s));
    CHECK(strcmp(errof(p.c), "") == 0, "error after success: %s", errof(p.c));
    CHECK(smpp_tls_handshake(p.c) == SMPP_OK, "handshake again");
    CHECK(smpp_tls_read(p.c, buf, sizeof buf, &got) == SMPP_EAGAIN && got == 0, "no data yet");
    CHECK(smpp_tls_read(p.c, buf, 0, &got) == SMPP_EAGAIN, "cap 0");

    transfer(p.c, p.s, 16, "client to server, a PDU's worth");
    transfer(p.s, p.c, 16, "server to client, a PDU's worth");
    transfer(p.c, p.s, (size_t)100 * 1024, "client to server, 100 KiB");
    transfer(p.s, p.c, (size_t)100 * 1024, "server to client, 100 KiB");
    CHECK(smpp_tls_write(p.c, "", 0) == SMPP_OK && smpp_tls_output(p.c, &out) == 0,
          "an empty write sends nothing");

    /* close_notify from the client, then the server's answer */
    CHECK(smpp_tls_close(p.c) == SMPP_OK, "close: %s", errof(p.c));
    CHECK(smpp_tls_output(p.c, &out) > 0, "close_notify to send");
    CHECK(smpp_tls_write(p.c, "x", 1) == SMPP_ETLS && contains(errof(p.c), "after close_notify"),
          "write after close: %s", errof(p.c));
    transfer(p.s, p.c, 100, "server to client after the client's close_notify");
    CHECK(smpp_tls_close(p.c) == SMPP_OK, "close twice");
    move(p.c, p.s);
    CHECK(smpp_tls_read(p.s, buf, sizeof buf, &got) == SMPP_OK && got == 0,
          "server sees close_notify: %s", errof(p.s));
    CHECK(smpp_tls_read(p.s, buf, sizeof buf, &got) == SMPP_OK && got == 0, "and again");
    CHECK(smpp_tls_close(p.s) == SMPP_OK, "server close: %s", errof(p.s));
    move(p.s, p.c);
    CHECK(smpp_tls_read(p.c, buf, sizeof buf, &got) == SMPP_OK && got == 0,
          "client sees close_notify: %s", errof(p.c));
    free_pair(&p);
}

static void test_before_handshake(void)
{
    smpp_tls_options co = client_opts();
    char err[512];
    smpp_tls_config *cc = smpp_tls_config_new(&co, err, sizeof err);
    smpp_tls *c = cc != NULL ? smpp_tls_new(cc, "localhost", err, sizeof err) : NULL;
    const uint8_t *out;

    CHECK(c != NULL, "%s", err);
    smpp_tls_config_free(cc);
    if (c == NULL)
        return;
    CHECK(smpp_tls_output(c, &out) == 0, "nothing to send before the handshake starts");
    CHECK(smpp_tls_write(c, "x", 1) == SMPP_EAGAIN, "write before the handshake");
    CHECK(smpp_tls_close(c) == SMPP_OK && smpp_tls_output(c, &out) == 0,
          "close before the handshake: nothing to send");
    smpp_tls_free(c);
}

static void test_ip_hosts(void)
{
    smpp_tls_options co = client_opts(), so = server_opts("server.pem", "server.key");
    pair p = connect_pair(&co, &so, "127.0.0.1");
    CHECK(p.rc == SMPP_OK && p.rs == SMPP_OK, "127.0.0.1: %s", errof(p.c));
    free_pair(&p);

    p = connect_pair(&co, &so, "127.0.0.2");
    CHECK(p.rc == SMPP_ETLS, "127.0.0.2: %d", p.rc);
    CHECK(contains(errof(p.c), "host name mismatch: expected the IP address '127.0.0.2'"), "%s",
          errof(p.c));
    free_pair(&p);

    p = connect_pair(&co, &so, "::1");
    CHECK(p.rc == SMPP_ETLS && contains(errof(p.c), "IP address '::1'"), "%s", errof(p.c));
    free_pair(&p);
}

/* A refused handshake: the client's message has every one of want, and the
 * server's has server_want. */
static void refused(const char *what, const smpp_tls_options *co, const smpp_tls_options *so,
                    const char *host, const char *const *want, const char *server_want)
{
    pair p = connect_pair(co, so, host);
    const char *const *w;
    CHECK(p.rc == SMPP_ETLS, "%s: client handshake gave %d", what, p.rc);
    CHECK(p.rs == SMPP_ETLS, "%s: server handshake gave %d", what, p.rs);
    if (p.c == NULL || p.s == NULL) {
        free_pair(&p);
        return;
    }
    for (w = want; *w != NULL; w++)
        CHECK(contains(errof(p.c), *w), "%s: \"%s\" not in: %s", what, *w, errof(p.c));
    CHECK(contains(errof(p.s), server_want), "%s: server: \"%s\" not in: %s", what, server_want,
          errof(p.s));
    CHECK(smpp_tls_handshake(p.c) == SMPP_ETLS && smpp_tls_write(p.c, "x", 1) == SMPP_ETLS,
          "%s: failed stays failed", what);
    printf("  %s:\n    client: %s\n    server: %s\n", what, errof(p.c), errof(p.s));
    free_pair(&p);
}

static void test_refusals(void)
{
    smpp_tls_options co = client_opts(), so = server_opts("server.pem", "server.key");
    static const char *const wrong_host[] = {"host name mismatch", "expected 'smsc.example.com'",
                                             "DNS:localhost", "OpenSSL: certificate verify failed",
                                             NULL};
    static const char *const unknown_ca[] = {"TLS handshake with localhost failed", "unknown CA",
                                             "CN=stranger CA", "not a trusted CA", NULL};
    static const char *const self_signed[] = {"unknown CA", "self-signed", NULL};
    static const char *const expired[] = {"certificate expired", "expired on", NULL};
    static const char *const version[] = {"protocol version mismatch", "TLS 1.2 to 1.3",
                                          "min_version \"1.1\"", "OpenSSL: ", NULL};
    static const char *const cipher[] = {"no shared cipher", "handshake_failure", NULL};
    pair p;

    refused("wrong host name", &co, &so, "smsc.example.com", wrong_host,
            "the client rejected our certificate");
    so = server_opts("stranger.pem", "server.key");
    refused("unknown CA", &co, &so, "localhost", unknown_ca, "rejected our certificate");
    so = server_opts("selfsigned.pem", "selfsigned.key");
    refused("self-signed", &co, &so, "localhost", self_signed, "rejected our certificate");
    so = server_opts("expired.pem", "server.key");
    refused("expired", &co, &so, "localhost", expired, "rejected our certificate");

    /* verify off: all of those accepted */
    co.verify = SMPP_TLS_VERIFY_NONE;
    p = connect_pair(&co, &so, "localhost");
    CHECK(p.rc == SMPP_OK && p.rs == SMPP_OK, "verify off, expired: %s", errof(p.c));
    free_pair(&p);
    so = server_opts("stranger.pem", "server.key");
    p = connect_pair(&co, &so, "smsc.example.com");
    CHECK(p.rc == SMPP_OK && p.rs == SMPP_OK, "verify off, unknown CA and wrong host: %s",
          errof(p.c));
    free_pair(&p);
    p = connect_pair(&co, &so, NULL);
    CHECK(p.rc == SMPP_OK && p.rs == SMPP_OK, "verify off, no host: %s", errof(p.c));
    free_pair(&p);

    /* versions: a TLS 1.1-only server */
    co = client_opts();
    so = server_opts("server.pem", "server.key");
    so.min_version = so.max_version = "1.1";
    refused("TLS 1.1-only server, default client", &co, &so, "localhost", version,
            "protocol version mismatch");
    co.min_version = "1.1";
    p = connect_pair(&co, &so, "localhost");
    CHECK(p.rc == SMPP_OK && p.rs == SMPP_OK, "min_version 1.1: %s / %s", errof(p.c), errof(p.s));
    if (p.rc == SMPP_OK) {
        CHECK(strcmp(smpp_tls_version(p.c), "TLSv1.1") == 0, "%s", smpp_tls_version(p.c));
        transfer(p.c, p.s, 20000, "TLS 1.1 client to server");
        transfer(p.s, p.c, 20000, "TLS 1.1 server to client");
    }
    free_pair(&p);
    /* RSA signs the TLS 1.1 handshake with MD5+SHA-1 (ECDSA with SHA-1) */
    so = server_opts("rsa.pem", "rsa.key");
    so.min_version = so.max_version = "1.1";
    p = connect_pair(&co, &so, "localhost");
    CHECK(p.rc == SMPP_OK && p.rs == SMPP_OK && strcmp(smpp_tls_version(p.c), "TLSv1.1") == 0,
          "min_version 1.1, RSA: %s / %s", errof(p.c), errof(p.s));
    free_pair(&p);
    /* min_version 1.1 does not lower what TLS 1.2 and 1.3 get */
    so = server_opts("server.pem", "server.key");
    p = connect_pair(&co, &so, "localhost");
    CHECK(p.rc == SMPP_OK && strcmp(smpp_tls_version(p.c), "TLSv1.3") == 0, "%s", errof(p.c));
    free_pair(&p);
    so.max_version = "1.2";
    p = connect_pair(&co, &so, "localhost");
    CHECK(p.rc == SMPP_OK && strcmp(smpp_tls_version(p.c), "TLSv1.2") == 0, "%s", errof(p.c));
    free_pair(&p);

    /* ciphers */
    co = client_opts();
    co.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
    so.ciphers = "ECDHE-ECDSA-AES256-GCM-SHA384";
    refused("no shared cipher", &co, &so, "localhost", cipher, "no shared cipher");
}

static void test_client_certificates(void)
{
    smpp_tls_options co = client_opts(), so = server_opts("server.pem", "server.key");
    pair p;
    char buf[16];
    size_t got;
    int rc;

    so.verify = SMPP_TLS_VERIFY_PEER;
    so.ca_file = f("ca.pem");
    co.cert_file = f("client.pem");
    co.key_file = f("client.key");
    p = connect_pair(&co, &so, "localhost");
    CHECK(p.rc == SMPP_OK && p.rs == SMPP_OK, "client certificate: %s / %s", errof(p.c),
          errof(p.s));
    free_pair(&p);

    co.cert_file = co.key_file = NULL;
    p = connect_pair(&co, &so, "localhost");
    CHECK(p.rs == SMPP_ETLS && contains(errof(p.s), "the client sent no certificate"), "%s",
          errof(p.s));
    /* TLS 1.3: the client finishes first and hears the refusal on its first read */
    rc = p.c != NULL ? smpp_tls_read(p.c, buf, sizeof buf, &got) : SMPP_ENOMEM;
    CHECK(rc == SMPP_ETLS && contains(errof(p.c), "the server requires a client certificate"),
          "%d %s", rc, errof(p.c));
    free_pair(&p);

    co.cert_file = f("stranger-client.pem");
    co.key_file = f("client.key");
    p = connect_pair(&co, &so, "localhost");
    CHECK(p.rs == SMPP_ETLS && contains(errof(p.s), "unknown CA: the client's"), "%s", errof(p.s));
    free_pair(&p);
}

static void test_broken_peers(void)
{
    smpp_tls_options co = client_opts(), so = server_opts("server.pem", "server.key");
    char err[512];
    smpp_tls_config *cc = smpp_tls_config_new(&co, err, sizeof err);
    smpp_tls *c;
    /* what a plain SMPP server answers to bytes it cannot read: generic_nack */
    static const uint8_t nack[16] = {0, 0, 0, 16, 0x80, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0};
    pair p;
    char buf[16];
    size_t got;

    CHECK(cc != NULL, "%s", err);
    if (cc == NULL)
        return;
    c = smpp_tls_new(cc, "localhost", err, sizeof err);
    CHECK(c != NULL, "%s", err);
    if (c == NULL) {
        smpp_tls_config_free(cc);
        return;
    }
    CHECK(smpp_tls_handshake(c) == SMPP_EAGAIN, "client hello");
    smpp_tls_eof(c);
    CHECK(smpp_tls_handshake(c) == SMPP_ETLS &&
              contains(errof(c), "peer closed: the server closed the connection during "
                                 "the handshake"),
          "%s", errof(c));
    smpp_tls_free(c);

    c = smpp_tls_new(cc, "localhost", err, sizeof err);
    smpp_tls_config_free(cc);
    CHECK(c != NULL, "%s", err);
    if (c == NULL)
        return;
    CHECK(smpp_tls_handshake(c) == SMPP_EAGAIN, "client hello");
    CHECK(smpp_tls_feed(c, nack, sizeof nack) == SMPP_OK, "feed");
    CHECK(smpp_tls_handshake(c) == SMPP_ETLS && contains(errof(c), "does not speak TLS"), "%s",
          errof(c));
    printf("  plain SMPP answer:\n    client: %s\n", errof(c));
    smpp_tls_free(c);

    p = connect_pair(&co, &so, "localhost");
    CHECK(p.rc == SMPP_OK, "%s", errof(p.c));
    if (p.rc != SMPP_OK) {
        free_pair(&p);
        return;
    }
    move(p.s, p.c);
    smpp_tls_eof(p.c);
    CHECK(smpp_tls_read(p.c, buf, sizeof buf, &got) == SMPP_ETLS &&
              contains(errof(p.c), "without close_notify"),
          "%s", errof(p.c));
    CHECK(smpp_tls_close(p.c) == SMPP_ETLS, "close after a failure");
    free_pair(&p);
}

static void test_config_errors(void)
{
    smpp_tls_options o;
    char err[512];
    smpp_tls_config *c;
    smpp_tls *t;

#define REFUSED(what, want)                                                                        \
    do {                                                                                           \
        err[0] = '\0';                                                                             \
        c = smpp_tls_config_new(&o, err, sizeof err);                                              \
        CHECK(c == NULL && contains(err, want), "%s: \"%s\" not in: %s", what, want, err);         \
        smpp_tls_config_free(c);                                                                   \
        CHECK(ERR_peek_error() == 0, "%s: OpenSSL error queue left non-empty", what);              \
    } while (0)

    o = client_opts();
    o.min_version = "1.0";
    REFUSED("min_version 1.0", "min_version \"1.0\": not one of");
    o = client_opts();
    o.max_version = "TLSv1.2";
    REFUSED("max_version TLSv1.2", "max_version \"TLSv1.2\"");
    o = client_opts();
    o.min_version = "1.3";
    o.max_version = "1.2";
    REFUSED("max below min", "is below min_version");
    o = server_opts("server.pem", "server.key");
    o.cert_file = NULL;
    REFUSED("server without a certificate", "a server needs tls.cert");
    o = server_opts("missing.pem", "server.key");
    REFUSED("missing cert_file", "missing.pem': cannot load the certificate (OpenSSL: ");
    o = server_opts("server.pem", "client.key");
    REFUSED("key of another certificate", "does not match tls.cert");
    o = server_opts("server.pem", "server.key");
    o.verify = SMPP_TLS_VERIFY_PEER;
    REFUSED("server verify without a CA", "needs tls.ca or tls.ca_dir");
    o = client_opts();
    o.ca_file = f("missing-ca.pem");
    REFUSED("missing ca_file", "tls.ca '");
    o = client_opts();
    o.ciphers = "NO-SUCH-CIPHER";
    REFUSED("bad ciphers", "ciphers 'NO-SUCH-CIPHER'");
    o = client_opts();
    o.keylog_file = "/nonexistent-dir/keys.log";
    REFUSED("keylog_file in a missing directory", "keylog_file '/nonexistent-dir/keys.log'");
#undef REFUSED

    o = client_opts();
    c = smpp_tls_config_new(&o, err, sizeof err);
    CHECK(c != NULL, "%s", err);
    if (c != NULL) {
        t = smpp_tls_new(c, NULL, err, sizeof err);
        CHECK(t == NULL && contains(err, "needs its host name"), "no host: %s", err);
        t = smpp_tls_new(c, "", err, sizeof err);
        CHECK(t == NULL && contains(err, "needs its host name"), "empty host: %s", err);
        smpp_tls_config_free(c);
    }
    /* the system trust store by default: our test CA is not in it */
    o = client_opts();
    o.ca_file = NULL;
    {
        smpp_tls_options so = server_opts("server.pem", "server.key");
        pair p = connect_pair(&o, &so, "localhost");
        CHECK(p.rc == SMPP_ETLS && contains(errof(p.c), "unknown CA"), "%s", errof(p.c));
        free_pair(&p);
    }
}

static void test_keylog(void)
{
    smpp_tls_options co = client_opts(), so = server_opts("server.pem", "server.key");
    struct stat st;
    const char *log;
    pair p;

    co.keylog_file = f("keys13.log");
    p = connect_pair(&co, &so, "localhost");
    CHECK(p.rc == SMPP_OK, "%s", errof(p.c));
    free_pair(&p);
    log = slurp(f("keys13.log"));
    CHECK(contains(log, "CLIENT_HANDSHAKE_TRAFFIC_SECRET ") &&
              contains(log, "SERVER_HANDSHAKE_TRAFFIC_SECRET ") &&
              contains(log, "CLIENT_TRAFFIC_SECRET_0 ") &&
              contains(log, "SERVER_TRAFFIC_SECRET_0 "),
          "TLS 1.3 key log:\n%s", log);
    CHECK(stat(f("keys13.log"), &st) == 0 && (st.st_mode & 0777) == 0600, "mode %o",
          (unsigned)st.st_mode & 0777);

    so.max_version = "1.2";
    co.keylog_file = f("keys12.log");
    p = connect_pair(&co, &so, "localhost");
    CHECK(p.rc == SMPP_OK, "%s", errof(p.c));
    free_pair(&p);
    log = slurp(f("keys12.log"));
    CHECK(strncmp(log, "CLIENT_RANDOM ", 14) == 0 && strlen(log) == 14 + 64 + 1 + 96 + 1,
          "TLS 1.2 key log:\n%s", log);

    /* SSLKEYLOGFILE when keylog_file is NULL; "" turns it off */
    setenv("SSLKEYLOGFILE", f("env.log"), 1);
    co.keylog_file = NULL;
    p = connect_pair(&co, &so, "localhost");
    free_pair(&p);
    CHECK(contains(slurp(f("env.log")), "CLIENT_RANDOM "), "SSLKEYLOGFILE not written");
    setenv("SSLKEYLOGFILE", f("off.log"), 1);
    co.keylog_file = "";
    p = connect_pair(&co, &so, "localhost");
    free_pair(&p);
    CHECK(access(f("off.log"), F_OK) != 0, "keylog_file \"\" still wrote SSLKEYLOGFILE");
    unsetenv("SSLKEYLOGFILE");
}

/* ---- against openssl s_server on 127.0.0.1 ---- */

static void sleep_ms(long ms)
{
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = ms % 1000 * 1000000L;
    nanosleep(&ts, NULL);
}

static int free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int port = 0, fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

typedef struct server {
    pid_t pid;
    int port;
    char log[256];
} server;

/* Starts `openssl s_server -accept 127.0.0.1:PORT args...` in dir, its output
 * in dir/log, and waits until it listens. */
static server start_server(const char *log, const char *args)
{
    server s;
    char cmd[2048];
    int i;

    s.port = free_port();
    snprintf(s.log, sizeof s.log, "%s", f(log));
    snprintf(cmd, sizeof cmd, "exec openssl s_server -accept 127.0.0.1:%d %s", s.port, args);
    s.pid = fork();
    if (s.pid == 0) {
        int fd = open(s.log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int null = open("/dev/null", O_RDONLY);
        if (fd < 0 || null < 0 || chdir(dir) != 0)
            _exit(126);
        dup2(null, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    for (i = 0; i < 500 && s.pid > 0; i++) {
        if (contains(slurp(s.log), "ACCEPT"))
            return s;
        if (waitpid(s.pid, NULL, WNOHANG) == s.pid) {
            s.pid = -1;
            break;
        }
        sleep_ms(20);
    }
    CHECK(0, "openssl s_server did not start: %s", slurp(s.log));
    return s;
}

static void stop_server(server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
        s->pid = -1;
    }
}

static int tcp_connect(int port)
{
    struct sockaddr_in a;
    struct timeval tv = {10, 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends all the output of t. */
static void sock_send(int fd, smpp_tls *t)
{
    const uint8_t *p;
    size_t n;
    while ((n = smpp_tls_output(t, &p)) > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            break;
        smpp_tls_consume(t, (size_t)w);
    }
}

/* One read from the socket into t (EOF, or a timeout, as end of file). */
static void sock_recv(int fd, smpp_tls *t)
{
    uint8_t buf[16384];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0)
        smpp_tls_feed(t, buf, (size_t)n);
    else
        smpp_tls_eof(t);
}

static int sock_handshake(int fd, smpp_tls *t)
{
    int rc;
    while ((rc = smpp_tls_handshake(t)) == SMPP_EAGAIN) {
        sock_send(fd, t);
        sock_recv(fd, t);
    }
    sock_send(fd, t);
    return rc;
}

/* Reads plaintext until a newline; the line in out. */
static int sock_line(int fd, smpp_tls *t, char *out, size_t cap)
{
    size_t len = 0, got;
    int rc;
    out[0] = '\0';
    while (len + 1 < cap && strchr(out, '\n') == NULL) {
        rc = smpp_tls_read(t, out + len, cap - 1 - len, &got);
        sock_send(fd, t);
        if (rc == SMPP_EAGAIN) {
            sock_recv(fd, t);
            continue;
        }
        if (rc != SMPP_OK || got == 0)
            return rc;
        len += got;
        out[len] = '\0';
    }
    return SMPP_OK;
}

/* Our client against the server on port: handshake, and with a line to send,
 * the line back from s_server -rev. Returns the handshake result; the error or
 * the version in msg. */
static int talk(const smpp_tls_options *co, int port, const char *host, const char *line,
                const char *want, char *msg, size_t msgcap)
{
    char err[512], back[256];
    smpp_tls_config *cc = smpp_tls_config_new(co, err, sizeof err);
    smpp_tls *t = cc != NULL ? smpp_tls_new(cc, host, err, sizeof err) : NULL;
    int rc = SMPP_ENOMEM, fd = tcp_connect(port);

    smpp_tls_config_free(cc);
    CHECK(t != NULL, "%s", err);
    CHECK(fd >= 0, "connect to 127.0.0.1:%d: %s", port, strerror(errno));
    snprintf(msg, msgcap, "%s", t == NULL ? err : "cannot connect");
    if (t != NULL && fd >= 0) {
        rc = sock_handshake(fd, t);
        snprintf(msg, msgcap, "%s", rc == SMPP_OK ? smpp_tls_version(t) : errof(t));
        if (rc == SMPP_OK && line != NULL) {
            CHECK(smpp_tls_write(t, line, strlen(line)) == SMPP_OK, "%s", errof(t));
            sock_send(fd, t);
            CHECK(sock_line(fd, t, back, sizeof back) == SMPP_OK && strcmp(back, want) == 0,
                  "sent \"%s\", got back \"%s\" (%s)", line, back, errof(t));
            CHECK(smpp_tls_close(t) == SMPP_OK, "close");
            sock_send(fd, t);
        }
    }
    if (fd >= 0)
        close(fd);
    smpp_tls_free(t);
    CHECK(ERR_peek_error() == 0, "OpenSSL error queue left non-empty");
    return rc;
}

static void test_s_server(void)
{
    smpp_tls_options co = client_opts();
    char msg[2048];
    int rc;
    /* the default certificate is from an unknown CA; the one for SNI
     * "localhost" is good: only a client that sends SNI gets it */
    server s =
        start_server("s_server.log", "-cert stranger.pem -key server.key -servername localhost"
                                     " -cert2 server.pem -key2 server.key -servername_fatal"
                                     " -tlsextdebug -rev");
    if (s.pid <= 0)
        return;

    rc = talk(&co, s.port, "localhost", "hello smpp\n", "ppms olleh\n", msg, sizeof msg);
    CHECK(rc == SMPP_OK && strcmp(msg, "TLSv1.3") == 0, "s_server: %s", msg);
    CHECK(contains(slurp(s.log), "TLS client extension \"server name\"") &&
              contains(slurp(s.log), ".localhost"),
          "no SNI in the s_server log:\n%s", slurp(s.log));

    /* no SNI for an IP address: the default, untrusted certificate */
    rc = talk(&co, s.port, "127.0.0.1", NULL, NULL, msg, sizeof msg);
    CHECK(rc == SMPP_ETLS && contains(msg, "unknown CA") && contains(msg, "stranger CA"), "%s",
          msg);
    /* a name the server does not serve */
    co.verify = SMPP_TLS_VERIFY_NONE;
    rc = talk(&co, s.port, "other.example", NULL, NULL, msg, sizeof msg);
    CHECK(rc == SMPP_ETLS && contains(msg, "does not serve the host name 'other.example'"), "%s",
          msg);
    printf("  s_server, unknown SNI:\n    client: %s\n", msg);
    stop_server(&s);
}

static void test_tls11_peer(void)
{
    smpp_tls_options co = client_opts();
    char msg[2048];
    const char *log;
    int rc;
    server s = start_server("s_server11.log", "-cert server.pem -key server.key -tls1_1"
                                              " -cipher DEFAULT@SECLEVEL=0 -rev");
    if (s.pid <= 0)
        return;

    rc = talk(&co, s.port, "localhost", NULL, NULL, msg, sizeof msg);
    CHECK(rc == SMPP_ETLS && contains(msg, "protocol version mismatch") &&
              contains(msg, "min_version \"1.1\" allows TLS 1.1"),
          "default settings against TLS 1.1: %s", msg);
    printf("  s_server -tls1_1, default settings:\n    client: %s\n", msg);

    co.min_version = "1.1";
    co.keylog_file = f("keys11.log");
    rc = talk(&co, s.port, "localhost", "SMSC 8143\n", "3418 CSMS\n", msg, sizeof msg);
    CHECK(rc == SMPP_OK && strcmp(msg, "TLSv1.1") == 0, "min_version 1.1: %s", msg);
    log = slurp(f("keys11.log"));
    CHECK(strncmp(log, "CLIENT_RANDOM ", 14) == 0, "TLS 1.1 key log:\n%s", log);
    stop_server(&s);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    CHECK(make_certificates(), "openssl could not make the certificates:\n%s",
          slurp(f("openssl.log")));
    if (failed == 0) {
        test_config_errors();
        test_before_handshake();
        test_good_session();
        test_ip_hosts();
        test_refusals();
        test_client_certificates();
        test_broken_peers();
        test_keylog();
        test_s_server();
        test_tls11_peer();
    }
    {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
    printf("test_tls: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
