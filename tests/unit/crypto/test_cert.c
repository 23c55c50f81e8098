/* test_cert.c: the API's self-signed certificate and public-key pins. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include <cmocka.h>

#include "crypto/crypto.h"

static char dir[64];
static char crt[128];
static char key[128];
static char crt2[128];
static char key2[128];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/sd-cert-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(crt, sizeof crt, "%s/a.crt", dir);
    snprintf(key, sizeof key, "%s/a.key", dir);
    snprintf(crt2, sizeof crt2, "%s/b.crt", dir);
    snprintf(key2, sizeof key2, "%s/b.key", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(crt);
    unlink(key);
    unlink(crt2);
    unlink(key2);
    rmdir(dir);
    return 0;
}

static void cert_self_signed_makes_a_private_key_and_a_usable_pair(void **state)
{
    struct stat st;
    crypto_tls_ctx *ctx = NULL;
    char tmp[160];

    (void)state;
    assert_int_equal(crypto_cert_self_signed(crt, key, NULL), SD_OK);
    assert_int_equal(stat(key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(crt, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    snprintf(tmp, sizeof tmp, "%s.tmp", key);
    assert_int_not_equal(access(tmp, F_OK), 0); /* renamed into place */
    assert_int_equal(crypto_tls_ctx_x509(crt, key, &ctx, NULL), SD_OK);
    crypto_tls_ctx_free(ctx);
}

static void cert_pins_differ_per_key_and_mismatched_pairs_fail(void **state)
{
    char a[CRYPTO_PIN_CAP];
    char again[CRYPTO_PIN_CAP];
    char b[CRYPTO_PIN_CAP];
    crypto_tls_ctx *ctx = NULL;

    (void)state;
    assert_int_equal(crypto_cert_self_signed(crt, key, NULL), SD_OK);
    assert_int_equal(crypto_cert_self_signed(crt2, key2, NULL), SD_OK);
    assert_int_equal(crypto_cert_pin(crt, a, NULL), SD_OK);
    assert_int_equal(crypto_cert_pin(crt, again, NULL), SD_OK);
    assert_int_equal(crypto_cert_pin(crt2, b, NULL), SD_OK);
    assert_int_equal(strncmp(a, "sha256//", 8), 0);
    assert_int_equal(strlen(a), 8 + 44);
    assert_string_equal(a, again);
    assert_string_not_equal(a, b);
    /* negative twins: a key from another pair; a file that is no certificate */
    assert_int_equal(crypto_tls_ctx_x509(crt, key2, &ctx, NULL), SD_E_INVALID);
    assert_null(ctx);
    assert_int_equal(crypto_cert_pin(key, a, NULL), SD_E_INVALID);
    assert_int_equal(crypto_cert_pin("/nonexistent/a.crt", a, NULL), SD_E_INVALID);
}

static void cert_refuses_an_unwritable_place(void **state)
{
    sd_err err = SD_ERR_INIT;

    (void)state;
    assert_int_equal(crypto_cert_self_signed("/nonexistent/a.crt", "/nonexistent/a.key", &err),
                     SD_E_IO);
    assert_non_null(strstr(err.msg, "/nonexistent/a.key"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cert_self_signed_makes_a_private_key_and_a_usable_pair),
        cmocka_unit_test(cert_pins_differ_per_key_and_mismatched_pairs_fail),
        cmocka_unit_test(cert_refuses_an_unwritable_place),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
