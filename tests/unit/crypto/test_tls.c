/* test_tls.c: a PSK context whose identities change while it serves.
 * Real handshakes over a socketpair against an OpenSSL client (TLS 1.2
 * PSK): an added identity is accepted and the session says who the peer
 * is; a removed one, an unknown one and a wrong key are refused; the
 * table refuses duplicates and bad sizes. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>

#include <cmocka.h>
#include <openssl/ssl.h>

#include "crypto/crypto.h"

typedef struct client {
    int fd;
    const char *identity;
    uint8_t key[32];
    int ok; /* SSL_connect's result */
} client;

static client *current; /* the callback has no user pointer of its own */

static unsigned int client_psk(SSL *ssl, const char *hint, char *identity,
                               unsigned int max_identity, unsigned char *psk, unsigned int max_psk)
{
    (void)ssl;
    (void)hint;
    if (strlen(current->identity) + 1 > max_identity || max_psk < sizeof current->key) {
        return 0;
    }
    memcpy(identity, current->identity, strlen(current->identity) + 1);
    memcpy(psk, current->key, sizeof current->key);
    return sizeof current->key;
}

static void *client_main(void *arg)
{
    client *c = arg;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl;

    assert_non_null(ctx);
    assert_int_equal(SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION), 1);
    assert_int_equal(SSL_CTX_set_cipher_list(ctx, "PSK-AES128-GCM-SHA256"), 1);
    SSL_CTX_set_psk_client_callback(ctx, client_psk);
    ssl = SSL_new(ctx);
    assert_non_null(ssl);
    assert_int_equal(SSL_set_fd(ssl, c->fd), 1);
    c->ok = SSL_connect(ssl);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    (void)shutdown(c->fd, SHUT_RDWR); /* a refused server side stops waiting */
    return NULL;
}

/* One handshake as identity with key byte k; the server's result, and the
 * identity it saw in seen. */
static sd_code handshake(const crypto_tls_ctx *ctx, const char *identity, uint8_t k, char *seen,
                         size_t cap)
{
    int sv[2];
    pthread_t th;
    client c = {.identity = identity};
    crypto_tls *t = NULL;
    sd_code rc;

    memset(c.key, k, sizeof c.key);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    c.fd = sv[1];
    current = &c;
    assert_int_equal(pthread_create(&th, NULL, client_main, &c), 0);
    rc = crypto_tls_accept(ctx, sv[0], 5000, &t, NULL);
    seen[0] = '\0';
    if (rc == SD_OK && crypto_tls_psk_identity(t) != NULL) {
        (void)snprintf(seen, cap, "%s", crypto_tls_psk_identity(t));
    }
    crypto_tls_free(t);
    (void)shutdown(sv[0], SHUT_RDWR);
    assert_int_equal(pthread_join(th, NULL), 0);
    close(sv[0]);
    close(sv[1]);
    return rc;
}

static sd_secret *key_of(uint8_t k)
{
    uint8_t b[32];
    sd_secret *s = NULL;

    memset(b, k, sizeof b);
    assert_int_equal(sd_secret_from(b, sizeof b, &s, NULL), SD_OK);
    return s;
}

static void added_identities_are_accepted_and_named(void **state)
{
    crypto_tls_ctx *ctx = NULL;
    sd_secret *a = key_of(0xa1);
    sd_secret *b = key_of(0xb2);
    char seen[160];
    (void)state;
    assert_int_equal(crypto_tls_ctx_psk(NULL, &ctx, NULL), SD_OK);
    assert_int_equal(crypto_tls_ctx_psk_add(ctx, "inst-a", a, NULL), SD_OK);
    assert_int_equal(crypto_tls_ctx_psk_add(ctx, "inst-b", b, NULL), SD_OK);
    assert_int_equal(handshake(ctx, "inst-a", 0xa1, seen, sizeof seen), SD_OK);
    assert_string_equal(seen, "inst-a");
    assert_int_equal(handshake(ctx, "inst-b", 0xb2, seen, sizeof seen), SD_OK);
    assert_string_equal(seen, "inst-b");
    crypto_tls_ctx_free(ctx);
    sd_secret_free(a);
    sd_secret_free(b);
}

static void removed_unknown_and_wrong_keys_are_refused(void **state)
{
    crypto_tls_ctx *ctx = NULL;
    sd_secret *a = key_of(0xa1);
    sd_secret *b = key_of(0xb2);
    char seen[160];
    (void)state;
    assert_int_equal(crypto_tls_ctx_psk(NULL, &ctx, NULL), SD_OK);
    assert_int_equal(handshake(ctx, "inst-a", 0xa1, seen, sizeof seen), SD_E_AUTH); /* empty */
    assert_int_equal(crypto_tls_ctx_psk_add(ctx, "inst-a", a, NULL), SD_OK);
    assert_int_equal(crypto_tls_ctx_psk_add(ctx, "inst-b", b, NULL), SD_OK);
    assert_int_not_equal(handshake(ctx, "inst-a", 0xb2, seen, sizeof seen), SD_OK); /* b's key */
    assert_int_not_equal(handshake(ctx, "inst-c", 0xa1, seen, sizeof seen), SD_OK);
    crypto_tls_ctx_psk_remove(ctx, "inst-a");
    assert_int_not_equal(handshake(ctx, "inst-a", 0xa1, seen, sizeof seen), SD_OK);
    assert_int_equal(handshake(ctx, "inst-b", 0xb2, seen, sizeof seen), SD_OK); /* untouched */
    crypto_tls_ctx_psk_remove(ctx, "inst-a");                                   /* ignored */
    crypto_tls_ctx_free(ctx);
    sd_secret_free(a);
    sd_secret_free(b);
}

static void the_table_refuses_duplicates_and_bad_sizes(void **state)
{
    crypto_tls_ctx *ctx = NULL;
    sd_secret *a = key_of(0xa1);
    sd_secret *big = NULL;
    char id[130];
    (void)state;
    assert_int_equal(crypto_tls_ctx_psk(NULL, &ctx, NULL), SD_OK);
    assert_int_equal(crypto_tls_ctx_psk_add(ctx, "inst-a", a, NULL), SD_OK);
    assert_int_equal(crypto_tls_ctx_psk_add(ctx, "inst-a", a, NULL), SD_E_CONFLICT);
    assert_int_equal(crypto_tls_ctx_psk_add(ctx, "", a, NULL), SD_E_INVALID);
    memset(id, 'x', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    assert_int_equal(crypto_tls_ctx_psk_add(ctx, id, a, NULL), SD_E_INVALID);
    assert_int_equal(sd_secret_new(65, &big, NULL), SD_OK);
    assert_int_equal(crypto_tls_ctx_psk_add(ctx, "inst-big", big, NULL), SD_E_INVALID);
    crypto_tls_ctx_psk_remove(ctx, "inst-a");
    assert_int_equal(crypto_tls_ctx_psk_add(ctx, "inst-a", a, NULL), SD_OK); /* free again */
    crypto_tls_ctx_free(ctx);
    sd_secret_free(a);
    sd_secret_free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(added_identities_are_accepted_and_named),
        cmocka_unit_test(removed_unknown_and_wrong_keys_are_refused),
        cmocka_unit_test(the_table_refuses_duplicates_and_bad_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
