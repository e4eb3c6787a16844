/* smpp_tls: TLS over memory BIOs with OpenSSL 3 (see smpp_tls.h): configs,
 * connections, byte pumping, and failures explained in words. */
#include "smpp_tls.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "smpp_pdu.h"

typedef int (*sec_callback)(const SSL *s, const SSL_CTX *ctx, int op, int bits, int nid,
                            void *other, void *ex);

struct smpp_tls_config {
    SSL_CTX *ctx;
    FILE *keylog;
    sec_callback default_sec; /* OpenSSL's, when min_version is "1.1" */
    int server;
    int verify;
    int min_version, max_version; /* TLS1_x_VERSION; max 0: the highest */
    unsigned refs;
};

struct smpp_tls {
    smpp_tls_config *cfg;
    SSL *ssl;
    BIO *in;  /* network bytes fed to OpenSSL */
    BIO *out; /* ciphertext OpenSSL wrote, for the caller to send */
    char *host;
    int failed;
    int established;       /* the handshake was seen done (see established()) */
    int closed;            /* we queued a close_notify */
    int verify_err;        /* the first certificate problem, X509_V_OK when none */
    char verify_why[1024]; /* ... in words, written while the certificate was at hand */
    char err[2048];
};

static const struct {
    const char *name;
    int version;
} versions[] = {{"1.1", TLS1_1_VERSION}, {"1.2", TLS1_2_VERSION}, {"1.3", TLS1_3_VERSION}};

static const char *version_name(int v)
{
    size_t i;
    for (i = 0; i < sizeof versions / sizeof versions[0]; i++)
        if (versions[i].version == v)
            return versions[i].name;
    return "1.3"; /* max_version 0: the highest, which OpenSSL 3 has as 1.3 */
}

/* The error of the queue that says most: the first one (config: the root
 * cause, such as a missing file) or the last one of libssl (handshake).
 * Empties the queue. */
static unsigned long take_error(int first)
{
    unsigned long e, pick = 0;
    while ((e = ERR_get_error()) != 0) {
        if (pick == 0 || (!first && ERR_GET_LIB(e) == ERR_LIB_SSL))
            pick = e;
    }
    return pick;
}

static const char *reason_of(unsigned long e, char *buf, size_t cap)
{
    const char *r;
    if (ERR_SYSTEM_ERROR(e))
        return strerror(ERR_GET_REASON(e));
    r = ERR_reason_error_string(e);
    if (r != NULL)
        return r;
    ERR_error_string_n(e, buf, cap);
    return buf;
}

/* Writes "what (OpenSSL: reason)" into err and empties the error queue. */
static void config_error(char *err, size_t errlen, const char *what)
{
    char buf[256];
    unsigned long e = take_error(1);
    if (e != 0)
        snprintf(err, errlen, "%s (OpenSSL: %s)", what, reason_of(e, buf, sizeof buf));
    else
        snprintf(err, errlen, "%s", what);
}

static int parse_version(const char *s, int def, int *out)
{
    size_t i;
    if (s == NULL || *s == '\0') {
        *out = def;
        return 1;
    }
    for (i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        if (strcmp(s, versions[i].name) == 0) {
            *out = versions[i].version;
            return 1;
        }
    }
    return 0;
}

/* min_version "1.1": the TLS 1.0/1.1 handshake signs with SHA-1 (ECDSA) or
 * MD5+SHA-1 (RSA), which OpenSSL 3 rates below the 80 bits of security level
 * 1. Let those through when TLS 1.1 was negotiated; ask OpenSSL's own
 * callback about everything else, so that the security level still holds. */
static int legacy_sigalg_ok(const SSL *s, const SSL_CTX *ctx, int op, int bits, int nid,
                            void *other, void *ex)
{
    const smpp_tls_config *c = ex;
    if ((op & SSL_SECOP_OTHER_TYPE) == SSL_SECOP_OTHER_SIGALG && s != NULL &&
        SSL_version(s) < TLS1_2_VERSION && (nid == NID_sha1 || nid == NID_md5_sha1))
        return 1;
    return c->default_sec(s, ctx, op, bits, nid, other, ex);
}

static void keylog_line(const SSL *ssl, const char *line)
{
    const smpp_tls *t = SSL_get_app_data(ssl);
    fprintf(t->cfg->keylog, "%s\n", line);
    fflush(t->cfg->keylog);
}

static void config_release(smpp_tls_config *c)
{
    if (--c->refs > 0)
        return;
    SSL_CTX_free(c->ctx);
    if (c->keylog != NULL)
        fclose(c->keylog);
    free(c);
}

/* Opens the key log file, 0600 since it holds the session keys. */
static int open_keylog(smpp_tls_config *c, const smpp_tls_options *o, char *err, size_t errlen)
{
    const char *path = o->keylog_file, *what = "keylog_file";
    int fd;

    if (path == NULL) {
        path = getenv("SSLKEYLOGFILE");
        what = "SSLKEYLOGFILE";
    }
    if (path == NULL || *path == '\0')
        return 1;
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0 || (c->keylog = fdopen(fd, "a")) == NULL) {
        snprintf(err, errlen, "%s '%s': cannot open: %s", what, path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return 0;
    }
    SSL_CTX_set_keylog_callback(c->ctx, keylog_line);
    return 1;
}

/* Certificates: whom to trust, and who we are. */
static int load_files(smpp_tls_config *c, const smpp_tls_options *o, char *err, size_t errlen)
{
    char what[1200];
    const char *key = o->key_file != NULL ? o->key_file : o->cert_file;

    if (c->verify && (o->ca_file != NULL || o->ca_dir != NULL)) {
        if (o->ca_file != NULL && !SSL_CTX_load_verify_file(c->ctx, o->ca_file)) {
            snprintf(what, sizeof what, "tls.ca '%s': cannot load CA certificates", o->ca_file);
            goto fail;
        }
        if (o->ca_dir != NULL && !SSL_CTX_load_verify_dir(c->ctx, o->ca_dir)) {
            snprintf(what, sizeof what, "tls.ca_dir '%s': cannot use as a CA directory", o->ca_dir);
            goto fail;
        }
    } else if (c->verify && c->server) {
        snprintf(what, sizeof what, "verifying client certificates needs tls.ca or tls.ca_dir");
        goto fail;
    } else if (c->verify && !SSL_CTX_set_default_verify_paths(c->ctx)) {
        snprintf(what, sizeof what, "cannot use the system trust store");
        goto fail;
    }
    if (c->verify && c->server && o->ca_file != NULL) {
        /* tell clients which CAs we accept (ca_dir ones cannot be listed) */
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(o->ca_file);
        if (names != NULL)
            SSL_CTX_set_client_CA_list(c->ctx, names);
    }

    if (o->cert_file == NULL) {
        if (c->server || o->key_file != NULL) {
            snprintf(what, sizeof what, "%s",
                     c->server ? "a server needs tls.cert (and tls.key)"
                               : "tls.key given without tls.cert");
            goto fail;
        }
        return 1;
    }
    if (!SSL_CTX_use_certificate_chain_file(c->ctx, o->cert_file)) {
        snprintf(what, sizeof what, "tls.cert '%s': cannot load the certificate", o->cert_file);
        goto fail;
    }
    if (!SSL_CTX_use_PrivateKey_file(c->ctx, key, SSL_FILETYPE_PEM)) {
        unsigned long e = ERR_peek_last_error();
        if (ERR_GET_LIB(e) == ERR_LIB_X509 && ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH)
            snprintf(what, sizeof what, "%s '%s' does not match tls.cert '%s'",
                     o->key_file != NULL ? "tls.key" : "the key in tls.cert", key, o->cert_file);
        else
            snprintf(what, sizeof what, "%s '%s': cannot load the private key",
                     o->key_file != NULL ? "tls.key" : "tls.cert (no tls.key given)", key);
        goto fail;
    }
    return 1;
fail:
    config_error(err, errlen, what);
    return 0;
}

static int verify_cb(int ok, X509_STORE_CTX *xs);

static int configure(smpp_tls_config *c, const smpp_tls_options *o, char *err, size_t errlen)
{
    if (!parse_version(o->min_version, TLS1_2_VERSION, &c->min_version)) {
        snprintf(err, errlen, "min_version \"%s\": not one of \"1.1\", \"1.2\", \"1.3\"",
                 o->min_version);
        return 0;
    }
    if (!parse_version(o->max_version, 0, &c->max_version)) {
        snprintf(err, errlen, "max_version \"%s\": not one of \"1.1\", \"1.2\", \"1.3\"",
                 o->max_version);
        return 0;
    }
    if (c->max_version != 0 && c->max_version < c->min_version) {
        snprintf(err, errlen, "max_version \"%s\" is below min_version \"%s\"", o->max_version,
                 version_name(c->min_version));
        return 0;
    }
    if (!SSL_CTX_set_min_proto_version(c->ctx, c->min_version) ||
        !SSL_CTX_set_max_proto_version(c->ctx, c->max_version)) {
        config_error(err, errlen, "cannot set the TLS versions");
        return 0;
    }
    if (c->min_version < TLS1_2_VERSION) {
        c->default_sec = SSL_CTX_get_security_callback(c->ctx);
        SSL_CTX_set_security_callback(c->ctx, legacy_sigalg_ok);
        SSL_CTX_set0_security_ex_data(c->ctx, c);
    }
    if (o->ciphers != NULL && !SSL_CTX_set_cipher_list(c->ctx, o->ciphers)) {
        char what[600];
        snprintf(what, sizeof what, "ciphers '%s': no usable cipher", o->ciphers);
        config_error(err, errlen, what);
        return 0;
    }
    SSL_CTX_set_options(c->ctx, SSL_OP_NO_RENEGOTIATION);
    if (c->server)
        SSL_CTX_set_session_id_context(c->ctx, (const unsigned char *)"lua-smpp", 8);
    SSL_CTX_set_verify(c->ctx,
                       !c->verify  ? SSL_VERIFY_NONE
                       : c->server ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                                   : SSL_VERIFY_PEER,
                       c->verify ? verify_cb : NULL);
    return load_files(c, o, err, errlen) && open_keylog(c, o, err, errlen);
}

smpp_tls_config *smpp_tls_config_new(const smpp_tls_options *o, char *err, size_t errlen)
{
    smpp_tls_config *c = calloc(1, sizeof *c);

    ERR_clear_error();
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->refs = 1;
    c->server = o->server != 0;
    c->verify =
        o->verify == SMPP_TLS_VERIFY_PEER || (o->verify == SMPP_TLS_VERIFY_DEFAULT && !c->server);
    c->ctx = SSL_CTX_new(c->server ? TLS_server_method() : TLS_client_method());
    if (c->ctx == NULL) {
        config_error(err, errlen, "cannot create an OpenSSL context");
        config_release(c);
        return NULL;
    }
    if (!configure(c, o, err, errlen)) {
        config_release(c);
        ERR_clear_error();
        return NULL;
    }
    ERR_clear_error();
    return c;
}

void smpp_tls_config_free(smpp_tls_config *c)
{
    if (c != NULL)
        config_release(c);
}

smpp_tls *smpp_tls_new(smpp_tls_config *c, const char *host, char *err, size_t errlen)
{
    smpp_tls *t;
    ASN1_OCTET_STRING *ip;
    size_t hostlen;
    int ok;

    ERR_clear_error();
    if (c->server || (host != NULL && *host == '\0'))
        host = NULL; /* a server has no peer name to check */
    if (host == NULL && !c->server && c->verify) {
        snprintf(err, errlen, "verifying the server needs its host name");
        return NULL;
    }
    t = calloc(1, sizeof *t);
    if (t == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    t->cfg = c;
    c->refs++;
    hostlen = host != NULL ? strlen(host) + 1 : 0;
    if (host != NULL && (t->host = malloc(hostlen)) != NULL)
        memcpy(t->host, host, hostlen);
    t->ssl = SSL_new(c->ctx);
    t->in = BIO_new(BIO_s_mem());
    t->out = BIO_new(BIO_s_mem());
    if (t->ssl == NULL || t->in == NULL || t->out == NULL || (host != NULL && t->host == NULL)) {
        BIO_free(t->in);
        BIO_free(t->out);
        config_error(err, errlen, "out of memory");
        smpp_tls_free(t);
        return NULL;
    }
    SSL_set_bio(t->ssl, t->in, t->out); /* the SSL owns them now */
    SSL_set_app_data(t->ssl, t);
    if (c->server) {
        SSL_set_accept_state(t->ssl);
        return t;
    }
    SSL_set_connect_state(t->ssl);
    if (host == NULL)
        return t;
    ip = a2i_IPADDRESS(host);
    if (ip != NULL) { /* no SNI for an address (RFC 6066 section 3) */
        ok = !c->verify ||
             X509_VERIFY_PARAM_set1_ip(SSL_get0_param(t->ssl), ASN1_STRING_get0_data(ip),
                                       (size_t)ASN1_STRING_length(ip));
        ASN1_OCTET_STRING_free(ip);
    } else {
        ok = SSL_set_tlsext_host_name(t->ssl, host);
        if (ok && c->verify) {
            SSL_set_hostflags(t->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            ok = SSL_set1_host(t->ssl, host);
        }
    }
    if (!ok) {
        char what[400];
        snprintf(what, sizeof what, "host '%.300s': cannot be used as a TLS host name", host);
        config_error(err, errlen, what);
        smpp_tls_free(t);
        return NULL;
    }
    return t;
}

void smpp_tls_free(smpp_tls *t)
{
    if (t == NULL)
        return;
    SSL_free(t->ssl);
    free(t->host);
    config_release(t->cfg);
    free(t);
}

/* Reads a memory BIO's text into out (cap > 0) and frees the BIO. */
static void bio_text(BIO *b, char *out, size_t cap)
{
    int n = 0;
    if (b != NULL) {
        n = BIO_read(b, out, (int)(cap - 1));
        BIO_free(b);
    }
    out[n > 0 ? n : 0] = '\0';
}

static void name_text(const X509_NAME *name, char *out, size_t cap)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (b != NULL)
        X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    bio_text(b, out, cap);
}

/* The names a certificate is valid for: its subjectAltName. */
static void alt_names(X509 *cert, char *out, size_t cap)
{
    BIO *b = BIO_new(BIO_s_mem());
    int i = X509_get_ext_by_NID(cert, NID_subject_alt_name, -1);
    if (b != NULL && (i < 0 || !X509V3_EXT_print(b, X509_get_ext(cert, i), 0, 0)))
        BIO_puts(b, "no name (it has no subjectAltName)");
    bio_text(b, out, cap);
}

static void date_text(const ASN1_TIME *when, char *out, size_t cap)
{
    struct tm tm;
    if (when == NULL || !ASN1_TIME_to_tm(when, &tm) ||
        strftime(out, cap, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(out, cap, "an unreadable date");
}

/* The first certificate problem, in words, while the certificate is at hand. */
static void certificate_problem(smpp_tls *t, int e, int depth, X509 *cert)
{
    const char *peer = t->cfg->server ? "client" : "server";
    char whose[64], subject[256], issuer[256], extra[400], date[64];

    snprintf(whose, sizeof whose,
             depth == 0 ? "the %s's certificate" : "a CA certificate of the %s", peer);
    subject[0] = issuer[0] = '\0';
    if (cert != NULL) {
        name_text(X509_get_subject_name(cert), subject, sizeof subject);
        name_text(X509_get_issuer_name(cert), issuer, sizeof issuer);
    }
    switch (e) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
        date_text(cert != NULL ? X509_get0_notAfter(cert) : NULL, date, sizeof date);
        snprintf(t->verify_why, sizeof t->verify_why, "certificate expired: %s (%s) expired on %s",
                 whose, subject, date);
        break;
    case X509_V_ERR_CERT_NOT_YET_VALID:
        date_text(cert != NULL ? X509_get0_notBefore(cert) : NULL, date, sizeof date);
        snprintf(t->verify_why, sizeof t->verify_why,
                 "certificate not yet valid: %s (%s) is valid from %s (check the clock)", whose,
                 subject, date);
        break;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        extra[0] = '\0';
        if (cert != NULL)
            alt_names(cert, extra, sizeof extra);
        snprintf(t->verify_why, sizeof t->verify_why,
                 "host name mismatch: expected %s'%s', but %s (%s) is for %s",
                 e == X509_V_ERR_IP_ADDRESS_MISMATCH ? "the IP address " : "",
                 t->host != NULL ? t->host : "", whose, subject, extra);
        break;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        snprintf(t->verify_why, sizeof t->verify_why,
                 "unknown CA: %s (%s) is self-signed and not trusted (give it, or its CA, as "
                 "tls = { ca = \"file.pem\" })",
                 whose, subject);
        break;
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        snprintf(t->verify_why, sizeof t->verify_why,
                 "unknown CA: the %s's certificate chain ends in the self-signed CA %s, which is "
                 "not trusted (give it as tls = { ca = \"file.pem\" })",
                 peer, subject);
        break;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED:
        snprintf(t->verify_why, sizeof t->verify_why,
                 "unknown CA: %s (%s) is issued by %s, which is not a trusted CA (give the CA "
                 "certificate as tls = { ca = \"file.pem\" } or tls.ca_dir)",
                 whose, subject, issuer);
        break;
    default:
        snprintf(t->verify_why, sizeof t->verify_why, "certificate not accepted: %s (%s): %s",
                 whose, subject, X509_verify_cert_error_string(e));
        break;
    }
}

static int verify_cb(int ok, X509_STORE_CTX *xs)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
    smpp_tls *t = SSL_get_app_data(ssl);
    if (!ok && t->verify_err == X509_V_OK) {
        t->verify_err = X509_STORE_CTX_get_error(xs);
        certificate_problem(t, t->verify_err, X509_STORE_CTX_get_error_depth(xs),
                            X509_STORE_CTX_get_current_cert(xs));
    }
    return ok;
}

/* The cause of a failure in words, from OpenSSL's reason r (0: none). */
static void cause(const smpp_tls *t, int sslerr, int r, int handshake, char *out, size_t cap)
{
    const char *peer = t->cfg->server ? "client" : "server", *lo, *hi;

    if (r == SSL_R_CERTIFICATE_VERIFY_FAILED && t->verify_err != X509_V_OK) {
        snprintf(out, cap, "%s", t->verify_why);
        return;
    }
    if (sslerr == SSL_ERROR_ZERO_RETURN || sslerr == SSL_ERROR_SYSCALL ||
        r == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        if (handshake)
            snprintf(out, cap,
                     "peer closed: the %s closed the connection during the handshake (does it "
                     "accept this TLS version and these ciphers?)",
                     peer);
        else
            snprintf(out, cap, "peer closed: the %s closed the connection without close_notify",
                     peer);
        return;
    }
    switch (r) {
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
    case SSL_R_NO_PROTOCOLS_AVAILABLE:
    case SSL_R_WRONG_SSL_VERSION:
    case SSL_R_VERSION_TOO_LOW:
    case SSL_R_VERSION_TOO_HIGH:
    case SSL_R_UNSUPPORTED_SSL_VERSION:
        lo = version_name(t->cfg->min_version);
        hi = version_name(t->cfg->max_version);
        snprintf(out, cap,
                 "protocol version mismatch: the %s and this side have no TLS version in common "
                 "(this side accepts TLS %s%s%s%s)",
                 peer, lo, strcmp(lo, hi) == 0 ? " only" : " to ", strcmp(lo, hi) == 0 ? "" : hi,
                 t->cfg->min_version > TLS1_1_VERSION ? "; min_version \"1.1\" allows TLS 1.1"
                                                      : "");
        break;
    case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
        snprintf(out, cap,
                 "no shared cipher: the %s refused the handshake (handshake_failure alert), "
                 "usually because no cipher suite or signature algorithm is common to both sides",
                 peer);
        break;
    case SSL_R_NO_SHARED_CIPHER:
    case SSL_R_NO_CIPHERS_AVAILABLE:
    case SSL_R_NO_SHARED_SIGNATURE_ALGORITHMS:
    case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
    case SSL_R_NO_SHARED_GROUPS:
        snprintf(out, cap,
                 "no shared cipher: the %s and this side have no cipher suite, signature "
                 "algorithm or key exchange group in common (see the ciphers option)",
                 peer);
        break;
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
        snprintf(out, cap,
                 "the %s requires a client certificate (give tls = { cert = ..., key = ... })",
                 peer);
        break;
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
        snprintf(out, cap, "the %s sent no certificate, and one is required", peer);
        break;
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
        snprintf(out, cap, "the %s rejected our certificate", peer);
        break;
    case SSL_R_TLSV1_UNRECOGNIZED_NAME:
        snprintf(out, cap, "the %s does not serve the host name '%s' (it refused our SNI)", peer,
                 t->host != NULL ? t->host : "");
        break;
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
    case SSL_R_PACKET_LENGTH_TOO_LONG:
        snprintf(out, cap, "the %s does not speak TLS (is this a plain, non-TLS port?)", peer);
        break;
    default:
        if (r > SSL_AD_REASON_OFFSET)
            snprintf(out, cap, "the %s ended the connection with an alert", peer);
        else
            snprintf(out, cap, "%s", handshake ? "the handshake failed" : "TLS error");
        break;
    }
}

/* Whether the handshake is done. Latched: while OpenSSL reads a TLS 1.3
 * post-handshake message (a session ticket) it is briefly "in init" again. */
static int established(smpp_tls *t)
{
    if (!t->established && SSL_is_init_finished(t->ssl))
        t->established = 1;
    return t->established;
}

/* Records why the connection failed, after an SSL call returned ret. */
static int fail(smpp_tls *t, int ret)
{
    int sslerr = SSL_get_error(t->ssl, ret);
    unsigned long e = take_error(0);
    int r = e != 0 && ERR_GET_LIB(e) == ERR_LIB_SSL ? ERR_GET_REASON(e) : 0;
    int handshake = !established(t);
    char why[1024], prefix[400], buf[256], reason[400];

    cause(t, sslerr, r, handshake, why, sizeof why);
    if (t->host != NULL)
        snprintf(prefix, sizeof prefix, "TLS %s %.300s failed",
                 handshake ? "handshake with" : "connection to", t->host);
    else
        snprintf(prefix, sizeof prefix, "TLS %s failed", handshake ? "handshake" : "connection");
    reason[0] = '\0';
    if (e != 0 && r == SSL_R_CERTIFICATE_VERIFY_FAILED && t->verify_err != X509_V_OK)
        snprintf(reason, sizeof reason, " (OpenSSL: %s: %s)", reason_of(e, buf, sizeof buf),
                 X509_verify_cert_error_string(t->verify_err));
    else if (e != 0)
        snprintf(reason, sizeof reason, " (OpenSSL: %s)", reason_of(e, buf, sizeof buf));
    snprintf(t->err, sizeof t->err, "%s: %s%s", prefix, why, reason);
    t->failed = 1;
    ERR_clear_error();
    return SMPP_ETLS;
}

/* After an SSL call returned ret <= 0: waiting for input, or a failure. */
static int again_or_fail(smpp_tls *t, int ret)
{
    int e = SSL_get_error(t->ssl, ret);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        return SMPP_EAGAIN;
    }
    return fail(t, ret);
}

int smpp_tls_feed(smpp_tls *t, const void *data, size_t n)
{
    size_t done = 0;
    if (n == 0)
        return SMPP_OK;
    ERR_clear_error();
    if (!BIO_write_ex(t->in, data, n, &done) || done != n) {
        ERR_clear_error();
        return SMPP_ENOMEM;
    }
    return SMPP_OK;
}

void smpp_tls_eof(smpp_tls *t)
{
    BIO_set_mem_eof_return(t->in, 0);
}

int smpp_tls_handshake(smpp_tls *t)
{
    int r;
    if (t->failed)
        return SMPP_ETLS;
    if (established(t))
        return SMPP_OK;
    ERR_clear_error();
    r = SSL_do_handshake(t->ssl);
    if (r == 1) {
        t->established = 1;
        return SMPP_OK;
    }
    return again_or_fail(t, r);
}

int smpp_tls_read(smpp_tls *t, void *buf, size_t cap, size_t *got)
{
    *got = 0;
    if (t->failed)
        return SMPP_ETLS;
    if (cap == 0)
        return SMPP_EAGAIN;
    ERR_clear_error();
    if (SSL_read_ex(t->ssl, buf, cap, got)) {
        established(t);
        return SMPP_OK;
    }
    if (SSL_get_error(t->ssl, 0) == SSL_ERROR_ZERO_RETURN) {
        ERR_clear_error();
        return SMPP_OK; /* close_notify: *got == 0 */
    }
    return again_or_fail(t, 0);
}

int smpp_tls_write(smpp_tls *t, const void *data, size_t n)
{
    size_t done = 0;
    if (t->failed)
        return SMPP_ETLS;
    if (t->closed) {
        snprintf(t->err, sizeof t->err, "TLS write after close_notify");
        return SMPP_ETLS;
    }
    if (!established(t))
        return SMPP_EAGAIN;
    if (n == 0)
        return SMPP_OK;
    ERR_clear_error();
    if (SSL_write_ex(t->ssl, data, n, &done))
        return SMPP_OK;
    return again_or_fail(t, 0);
}

size_t smpp_tls_output(smpp_tls *t, const uint8_t **data)
{
    char *p = NULL;
    long n = BIO_get_mem_data(t->out, &p);
    *data = (const uint8_t *)p;
    return n > 0 ? (size_t)n : 0;
}

void smpp_tls_consume(smpp_tls *t, size_t n)
{
    char sink[4096];
    while (n > 0) {
        int k = BIO_read(t->out, sink, n < sizeof sink ? (int)n : (int)sizeof sink);
        if (k <= 0)
            break;
        n -= (size_t)k;
    }
}

int smpp_tls_close(smpp_tls *t)
{
    int r;
    if (t->failed)
        return SMPP_ETLS;
    if (t->closed || !established(t)) {
        t->closed = 1;
        return SMPP_OK;
    }
    t->closed = 1;
    ERR_clear_error();
    r = SSL_shutdown(t->ssl);
    if (r >= 0)
        return SMPP_OK;
    return again_or_fail(t, r);
}

const char *smpp_tls_error(const smpp_tls *t)
{
    return t->err;
}

const char *smpp_tls_version(const smpp_tls *t)
{
    return SSL_get_version(t->ssl);
}

const char *smpp_tls_cipher(const smpp_tls *t)
{
    return SSL_get_cipher_name(t->ssl);
}
