/* crypto_tls.c: server-side TLS sessions over a socket, for NBD STARTTLS.
 *
 * A crypto_tls_ctx wraps an SSL_CTX configured either with an x509
 * certificate and key, or with pre-shared keys read from a psktool file.
 * PSK interop with GnuTLS clients (qemu's tls-creds-psk, libnbd's
 * tls-psk-file) needs TLS 1.3 external PSKs: OpenSSL finds them through
 * SSL_CTX_set_psk_find_session_callback, which must hand back a session
 * whose cipher's hash is the one the binder was made with.  GnuTLS uses
 * SHA-256 for external PSKs, so the PSK context offers only SHA-256 TLS 1.3
 * suites (else OpenSSL may pick AES-256-GCM-SHA384 on the client's
 * preference and then skip the PSK).  TLS 1.2 PSK suites are offered too,
 * through the older callback.
 *
 * The PSK table can change while the context serves: the NBD server gives
 * each running instance its own identity.  Lookups (from OpenSSL's
 * callbacks, during a handshake) and changes take the context's mutex, and
 * a callback copies the key out under it, so a removed key is never read.
 * The identity a session authenticated with is remembered in the session
 * (crypto_tls_psk_identity): it says who the peer is.
 *
 * A session's socket is non-blocking: every SSL call is made under the
 * session mutex and never blocks, and waiting happens in poll() outside
 * the mutex, so one thread can wait for a request while others write
 * replies (OpenSSL forbids concurrent calls on one SSL). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "crypto/crypto_int.h"

#define PSK_FILE_MAX     64 /* identities read from a file */
#define PSK_MAX_IDENTITY 128
#define PSK_MAX_KEY      64 /* bytes */

typedef struct psk_key {
    char identity[PSK_MAX_IDENTITY + 1];
    sd_secret *key;
} psk_key;

struct crypto_tls_ctx {
    SSL_CTX *ssl;
    bool psk;
    pthread_mutex_t mu; /* keys, nkeys, cap */
    psk_key *keys;
    size_t nkeys;
    size_t cap;
};

struct crypto_tls {
    SSL *ssl;
    int fd;
    int timeout_ms;
    pthread_mutex_t mu;
    bool has_identity;
    char identity[PSK_MAX_IDENTITY + 1]; /* the PSK identity that was accepted */
};

/* ---- contexts ----------------------------------------------------------- */

void crypto_tls_ctx_free(crypto_tls_ctx *c)
{
    if (c == NULL) {
        return;
    }
    SSL_CTX_free(c->ssl);
    for (size_t i = 0; i < c->nkeys; i++) {
        sd_secret_free(c->keys[i].key);
    }
    free(c->keys);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static sd_code ctx_new(crypto_tls_ctx **out, sd_err *err)
{
    sd_code rc = SD_OK;
    crypto_tls_ctx *c = calloc(1, sizeof *c);

    SD_ENSURE(c != NULL, err, SD_E_NOMEM, "out of memory");
    pthread_mutex_init(&c->mu, NULL);
    c->ssl = SSL_CTX_new(TLS_server_method());
    SD_ENSURE(c->ssl != NULL, err, SD_E_INTERNAL, "SSL_CTX_new failed");
    SD_ENSURE_OSSL(SSL_CTX_set_min_proto_version(c->ssl, TLS1_2_VERSION), err,
                   "cannot require TLS 1.2");
    /* No resumption: NBD sessions are long, and tickets are extra writes. */
    SD_ENSURE_OSSL(SSL_CTX_set_num_tickets(c->ssl, 0), err, "cannot disable tickets");
    (void)SSL_CTX_set_mode(c->ssl,
                           SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_app_data(c->ssl, c);
    *out = c;
    c = NULL;
out:
    crypto_tls_ctx_free(c);
    return rc;
}

sd_code crypto_tls_ctx_x509(const char *cert_file, const char *key_file, crypto_tls_ctx **out,
                            sd_err *err)
{
    sd_code rc = SD_OK;
    crypto_tls_ctx *c = NULL;

    *out = NULL;
    SD_TRY(ctx_new(&c, err));
    SD_ENSURE(SSL_CTX_use_certificate_chain_file(c->ssl, cert_file) == 1, err, SD_E_INVALID,
              "cannot use certificate %s", cert_file);
    SD_ENSURE(SSL_CTX_use_PrivateKey_file(c->ssl, key_file, SSL_FILETYPE_PEM) == 1, err,
              SD_E_INVALID, "cannot use private key %s", key_file);
    SD_ENSURE(SSL_CTX_check_private_key(c->ssl) == 1, err, SD_E_INVALID, "%s does not match %s",
              key_file, cert_file);
    *out = c;
    c = NULL;
out:
    ERR_clear_error();
    crypto_tls_ctx_free(c);
    return rc;
}

/* Under c->mu. */
static psk_key *psk_lookup(crypto_tls_ctx *c, const char *id, size_t n)
{
    for (size_t i = 0; i < c->nkeys; i++) {
        if (strlen(c->keys[i].identity) == n && sd_ct_equal(c->keys[i].identity, id, n)) {
            return &c->keys[i];
        }
    }
    return NULL;
}

static crypto_tls_ctx *ctx_of(SSL *ssl)
{
    return SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
}

/* The session learns who its peer is once its key is found. */
static void note_identity(SSL *ssl, const char *id, size_t n)
{
    crypto_tls *t = SSL_get_app_data(ssl);

    if (t != NULL && n <= PSK_MAX_IDENTITY) {
        memcpy(t->identity, id, n);
        t->identity[n] = '\0';
        t->has_identity = true;
    }
}

/* TLS 1.3: an external PSK becomes a session with a SHA-256 cipher. */
static int psk_find_session(SSL *ssl, const unsigned char *id, size_t idlen, SSL_SESSION **sess)
{
    static const unsigned char aes128gcmsha256[] = {0x13, 0x01};
    crypto_tls_ctx *c = ctx_of(ssl);
    const SSL_CIPHER *cipher = SSL_CIPHER_find(ssl, aes128gcmsha256);
    const psk_key *k;
    SSL_SESSION *s = NULL;
    int ok = 1;

    *sess = NULL;
    pthread_mutex_lock(&c->mu);
    k = psk_lookup(c, (const char *)id, idlen);
    if (k == NULL || cipher == NULL) {
        goto out; /* unknown identity: no PSK, so the handshake fails */
    }
    s = SSL_SESSION_new();
    if (s == NULL ||
        SSL_SESSION_set1_master_key(s, sd_secret_data(k->key), sd_secret_len(k->key)) != 1 ||
        SSL_SESSION_set_cipher(s, cipher) != 1 ||
        SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION) != 1) {
        SSL_SESSION_free(s);
        ok = 0;
        goto out;
    }
    note_identity(ssl, (const char *)id, idlen);
    *sess = s;
out:
    pthread_mutex_unlock(&c->mu);
    return ok;
}

/* TLS 1.2 PSK suites. */
static unsigned int psk_server_cb(SSL *ssl, const char *id, unsigned char *psk,
                                  unsigned int max_len)
{
    crypto_tls_ctx *c = ctx_of(ssl);
    const psk_key *k;
    unsigned int n = 0;

    if (id == NULL) {
        return 0;
    }
    pthread_mutex_lock(&c->mu);
    k = psk_lookup(c, id, strlen(id));
    if (k != NULL && sd_secret_len(k->key) <= max_len) {
        memcpy(psk, sd_secret_data(k->key), sd_secret_len(k->key));
        n = (unsigned int)sd_secret_len(k->key);
        note_identity(ssl, id, strlen(id));
    }
    pthread_mutex_unlock(&c->mu);
    return n;
}

/* Under c->mu (or before the context is shared): room for one more key. */
static sd_code psk_grow(crypto_tls_ctx *c, sd_err *err)
{
    psk_key *k;
    size_t cap;

    if (c->nkeys < c->cap) {
        return SD_OK;
    }
    cap = c->cap == 0 ? 16 : c->cap * 2;
    k = realloc(c->keys, cap * sizeof *k);
    if (k == NULL) {
        return sd_err_set(err, SD_E_NOMEM, SD_HERE, "out of memory");
    }
    c->keys = k;
    c->cap = cap;
    return SD_OK;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    if (ch >= 'A' && ch <= 'F') {
        return ch - 'A' + 10;
    }
    return -1;
}

/* One "identity:hexkey" line (without its newline) into the next slot. */
static sd_code psk_parse_line(crypto_tls_ctx *c, char *line, sd_err *err)
{
    sd_code rc = SD_OK;
    char *colon = strchr(line, ':');
    size_t idlen;
    size_t hexlen;
    uint8_t *k;

    SD_ENSURE(colon != NULL, err, SD_E_INVALID, "PSK line without ':'");
    idlen = (size_t)(colon - line);
    hexlen = strlen(colon + 1);
    SD_ENSURE(idlen > 0 && idlen <= PSK_MAX_IDENTITY, err, SD_E_INVALID,
              "PSK identity must be 1..%d bytes", PSK_MAX_IDENTITY);
    SD_ENSURE(hexlen >= 2 && hexlen % 2 == 0 && hexlen / 2 <= PSK_MAX_KEY, err, SD_E_INVALID,
              "PSK key must be 1..%d bytes of hex", PSK_MAX_KEY);
    SD_ENSURE(c->nkeys < PSK_FILE_MAX, err, SD_E_INVALID, "more than %d PSK identities",
              PSK_FILE_MAX);
    SD_TRY(psk_grow(c, err));
    SD_TRY(sd_secret_new(hexlen / 2, &c->keys[c->nkeys].key, err));
    k = sd_secret_data(c->keys[c->nkeys].key);
    memcpy(c->keys[c->nkeys].identity, line, idlen);
    c->keys[c->nkeys].identity[idlen] = '\0';
    c->nkeys++;
    for (size_t i = 0; i < hexlen / 2; i++) {
        int hi = hexval(colon[1 + 2 * i]);
        int lo = hexval(colon[2 + 2 * i]);
        SD_ENSURE(hi >= 0 && lo >= 0, err, SD_E_INVALID, "PSK key is not hex");
        k[i] = (uint8_t)(hi << 4 | lo);
    }
out:
    return rc;
}

static sd_code psk_load(crypto_tls_ctx *c, const char *path, sd_err *err)
{
    sd_code rc = SD_OK;
    FILE *f = fopen(path, "re");
    char line[PSK_MAX_IDENTITY + 2 * PSK_MAX_KEY + 8];

    SD_ENSURE(f != NULL, err, SD_E_INVALID, "cannot open PSK file %s: %s", path,
              strerrordesc_np(errno));
    while (fgets(line, sizeof line, f) != NULL) {
        size_t n = strlen(line);
        SD_ENSURE(n > 0 && (line[n - 1] == '\n' || feof(f)), err, SD_E_INVALID,
                  "line too long in %s", path);
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
            line[--n] = '\0';
        }
        if (n > 0) {
            SD_TRY(psk_parse_line(c, line, err));
        }
    }
    SD_ENSURE(c->nkeys > 0, err, SD_E_INVALID, "no keys in PSK file %s", path);
out:
    sd_wipe(line, sizeof line);
    if (f != NULL) {
        (void)fclose(f);
    }
    return rc;
}

sd_code crypto_tls_ctx_psk(const char *psk_file, crypto_tls_ctx **out, sd_err *err)
{
    sd_code rc = SD_OK;
    crypto_tls_ctx *c = NULL;

    *out = NULL;
    SD_TRY(ctx_new(&c, err));
    c->psk = true;
    if (psk_file != NULL) {
        SD_TRY(psk_load(c, psk_file, err));
    }
    SD_ENSURE_OSSL(
        SSL_CTX_set_ciphersuites(c->ssl, "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256"),
        err, "cannot set TLS 1.3 suites");
    SD_ENSURE_OSSL(SSL_CTX_set_cipher_list(c->ssl, "ECDHE-PSK-CHACHA20-POLY1305:"
                                                   "DHE-PSK-AES256-GCM-SHA384:"
                                                   "DHE-PSK-AES128-GCM-SHA256:"
                                                   "PSK-AES256-GCM-SHA384:PSK-AES128-GCM-SHA256"),
                   err, "cannot set TLS 1.2 PSK suites");
    SSL_CTX_set_psk_find_session_callback(c->ssl, psk_find_session);
    SSL_CTX_set_psk_server_callback(c->ssl, psk_server_cb);
    *out = c;
    c = NULL;
out:
    ERR_clear_error();
    crypto_tls_ctx_free(c);
    return rc;
}

sd_code crypto_tls_ctx_psk_add(crypto_tls_ctx *c, const char *identity, const sd_secret *key,
                               sd_err *err)
{
    sd_code rc = SD_OK;
    size_t n = strlen(identity);
    sd_secret *copy = NULL;
    bool locked = false;

    SD_ENSURE(c->psk, err, SD_E_INVALID, "not a PSK context");
    SD_ENSURE(n > 0 && n <= PSK_MAX_IDENTITY, err, SD_E_INVALID, "PSK identity must be 1..%d bytes",
              PSK_MAX_IDENTITY);
    SD_ENSURE(sd_secret_len(key) > 0 && sd_secret_len(key) <= PSK_MAX_KEY, err, SD_E_INVALID,
              "PSK key must be 1..%d bytes", PSK_MAX_KEY);
    SD_TRY(sd_secret_dup(key, &copy, err));
    pthread_mutex_lock(&c->mu);
    locked = true;
    SD_ENSURE(psk_lookup(c, identity, n) == NULL, err, SD_E_CONFLICT,
              "PSK identity %s already exists", identity);
    SD_TRY(psk_grow(c, err));
    memcpy(c->keys[c->nkeys].identity, identity, n + 1);
    c->keys[c->nkeys].key = copy;
    c->nkeys++;
    copy = NULL;
out:
    if (locked) {
        pthread_mutex_unlock(&c->mu);
    }
    sd_secret_free(copy);
    return rc;
}

void crypto_tls_ctx_psk_remove(crypto_tls_ctx *c, const char *identity)
{
    psk_key *k;

    pthread_mutex_lock(&c->mu);
    k = psk_lookup(c, identity, strlen(identity));
    if (k != NULL) {
        sd_secret_free(k->key);
        *k = c->keys[--c->nkeys];
    }
    pthread_mutex_unlock(&c->mu);
}

/* ---- sessions ------------------------------------------------------------ */

const char *crypto_tls_psk_identity(const crypto_tls *t)
{
    return t->has_identity ? t->identity : NULL;
}

void crypto_tls_free(crypto_tls *t)
{
    if (t == NULL) {
        return;
    }
    SSL_free(t->ssl);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

void crypto_tls_set_timeout(crypto_tls *t, int timeout_ms)
{
    t->timeout_ms = timeout_ms;
}

/* Waits for the socket to be ready for what OpenSSL asked; SD_E_IO on
 * timeout or a poll failure. */
static sd_code wait_fd(int fd, int ssl_error, int timeout_ms, sd_err *err)
{
    struct pollfd p = {.fd = fd, .events = ssl_error == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN};
    int r;

    do {
        r = poll(&p, 1, timeout_ms);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        return sd_err_set(err, SD_E_IO, SD_HERE, "poll: %s", strerrordesc_np(errno));
    }
    if (r == 0) {
        return sd_err_set(err, SD_E_IO, SD_HERE, "TLS peer timed out");
    }
    return SD_OK;
}

sd_code crypto_tls_accept(const crypto_tls_ctx *c, int fd, int timeout_ms, crypto_tls **out,
                          sd_err *err)
{
    sd_code rc = SD_OK;
    crypto_tls *t = NULL;
    int flags = fcntl(fd, F_GETFL);
    int r;
    int e;

    *out = NULL;
    SD_ENSURE(flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0, err, SD_E_IO,
              "cannot make the socket non-blocking");
    t = calloc(1, sizeof *t);
    SD_ENSURE(t != NULL, err, SD_E_NOMEM, "out of memory");
    pthread_mutex_init(&t->mu, NULL);
    t->fd = fd;
    t->timeout_ms = -1;
    t->ssl = SSL_new(c->ssl);
    SD_ENSURE(t->ssl != NULL, err, SD_E_INTERNAL, "SSL_new failed");
    SD_ENSURE_OSSL(SSL_set_fd(t->ssl, fd), err, "SSL_set_fd failed");
    SD_ENSURE_OSSL(SSL_set_app_data(t->ssl, t), err, "SSL_set_app_data failed");
    for (;;) {
        r = SSL_accept(t->ssl);
        if (r == 1) {
            break;
        }
        e = SSL_get_error(t->ssl, r);
        SD_ENSURE(e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE, err, SD_E_AUTH,
                  "TLS handshake failed: %s", ERR_reason_error_string(ERR_peek_last_error()));
        SD_TRY(wait_fd(fd, e, timeout_ms, err));
    }
    *out = t;
    t = NULL;
out:
    ERR_clear_error();
    crypto_tls_free(t);
    return rc;
}

sd_code crypto_tls_read(crypto_tls *t, void *buf, size_t n, size_t *got, sd_err *err)
{
    sd_code rc = SD_OK;
    int r;
    int e;

    *got = 0;
    for (;;) {
        pthread_mutex_lock(&t->mu);
        r = SSL_read_ex(t->ssl, buf, n, got);
        e = r == 1 ? SSL_ERROR_NONE : SSL_get_error(t->ssl, r);
        ERR_clear_error();
        pthread_mutex_unlock(&t->mu);
        if (e == SSL_ERROR_NONE) {
            break;
        }
        if (e == SSL_ERROR_ZERO_RETURN) {
            *got = 0; /* close_notify: an orderly end */
            break;
        }
        SD_ENSURE(e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE, err, SD_E_IO,
                  "TLS read failed (error %d)", e);
        SD_TRY(wait_fd(t->fd, e, t->timeout_ms, err));
    }
out:
    return rc;
}

sd_code crypto_tls_write(crypto_tls *t, const void *buf, size_t n, sd_err *err)
{
    sd_code rc = SD_OK;
    const uint8_t *p = buf;
    size_t w = 0;
    int r;
    int e;

    while (n > 0) {
        pthread_mutex_lock(&t->mu);
        r = SSL_write_ex(t->ssl, p, n, &w);
        e = r == 1 ? SSL_ERROR_NONE : SSL_get_error(t->ssl, r);
        ERR_clear_error();
        pthread_mutex_unlock(&t->mu);
        if (e == SSL_ERROR_NONE) {
            p += w;
            n -= w;
            continue;
        }
        SD_ENSURE(e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE, err, SD_E_IO,
                  "TLS write failed (error %d)", e);
        if (e == SSL_ERROR_WANT_READ) {
            /* A renegotiation, which TLS 1.3 lacks; the reader thread
             * consumes input, so only pause briefly and retry. */
            (void)poll(NULL, 0, 10);
            continue;
        }
        SD_TRY(wait_fd(t->fd, e, -1, err));
    }
out:
    return rc;
}

void crypto_tls_close(crypto_tls *t)
{
    if (t == NULL) {
        return;
    }
    pthread_mutex_lock(&t->mu);
    (void)SSL_shutdown(t->ssl); /* best effort: the peer may be gone */
    ERR_clear_error();
    pthread_mutex_unlock(&t->mu);
}
