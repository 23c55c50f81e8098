/* test_rsa.c: BYOK unwrapping.  The test wraps key material with OpenSSL
 * directly, as a customer's tooling would, under each of the three
 * algorithms, and checks that the wrong algorithm or key is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "crypto/crypto.h"

static crypto_rsa *shared_key;

static int setup(void **state)
{
    (void)state;
    return crypto_rsa_generate(2048, &shared_key, NULL) == SD_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    crypto_rsa_free(shared_key);
    return 0;
}

/* Wraps msg with the public key (DER SPKI) the way a customer does. */
static size_t customer_wrap(const crypto_rsa *k, crypto_rsa_pad pad, const uint8_t *msg, size_t n,
                            uint8_t *out, size_t cap)
{
    sd_buf der = SD_BUF_INIT(4096);
    const unsigned char *p;
    EVP_PKEY *pub;
    EVP_PKEY_CTX *ctx;
    size_t outlen = cap;

    assert_int_equal(crypto_rsa_public_der(k, &der, NULL), SD_OK);
    p = der.data;
    pub = d2i_PUBKEY(NULL, &p, (long)der.len);
    assert_non_null(pub);
    ctx = EVP_PKEY_CTX_new(pub, NULL);
    assert_int_equal(EVP_PKEY_encrypt_init(ctx), 1);
    if (pad == CRYPTO_RSA_PKCS1_V15) {
        assert_true(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0);
    } else {
        const EVP_MD *md = pad == CRYPTO_RSA_OAEP_SHA256 ? EVP_sha256() : EVP_sha1();
        assert_true(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0);
        assert_true(EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md) > 0);
        assert_true(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) > 0);
    }
    assert_int_equal(EVP_PKEY_encrypt(ctx, out, &outlen, msg, n), 1);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pub);
    sd_buf_free(&der);
    return outlen;
}

static void rsa_unwraps_material_under_each_algorithm(void **state)
{
    const crypto_rsa_pad pads[] = {CRYPTO_RSA_OAEP_SHA256, CRYPTO_RSA_OAEP_SHA1,
                                   CRYPTO_RSA_PKCS1_V15};
    uint8_t material[32], wrapped[256];

    (void)state;
    for (size_t i = 0; i < sizeof material; i++) {
        material[i] = (uint8_t)(0xc0 + i);
    }
    for (size_t i = 0; i < 3; i++) {
        sd_secret *out = NULL;
        size_t n = customer_wrap(shared_key, pads[i], material, 32, wrapped, sizeof wrapped);
        assert_int_equal(crypto_rsa_unwrap(shared_key, pads[i], wrapped, n, &out, NULL), SD_OK);
        assert_int_equal(sd_secret_len(out), 32);
        assert_memory_equal(sd_secret_data(out), material, 32);
        sd_secret_free(out);
    }
}

static void rsa_refuses_the_wrong_oaep_digest(void **state)
{
    uint8_t material[32] = {1}, wrapped[256];
    sd_secret *out = NULL;
    size_t n;

    (void)state;
    n = customer_wrap(shared_key, CRYPTO_RSA_OAEP_SHA1, material, 32, wrapped, sizeof wrapped);
    assert_int_equal(crypto_rsa_unwrap(shared_key, CRYPTO_RSA_OAEP_SHA256, wrapped, n, &out, NULL),
                     SD_E_AUTH);
    assert_null(out);
}

static void rsa_refuses_material_wrapped_for_another_key(void **state)
{
    crypto_rsa *other = NULL;
    uint8_t material[32] = {2}, wrapped[256];
    sd_secret *out = NULL;
    size_t n;

    (void)state;
    assert_int_equal(crypto_rsa_generate(2048, &other, NULL), SD_OK);
    n = customer_wrap(other, CRYPTO_RSA_OAEP_SHA256, material, 32, wrapped, sizeof wrapped);
    assert_int_equal(crypto_rsa_unwrap(shared_key, CRYPTO_RSA_OAEP_SHA256, wrapped, n, &out, NULL),
                     SD_E_AUTH);
    assert_null(out);
    crypto_rsa_free(other);
}

static void rsa_private_key_survives_a_der_round_trip(void **state)
{
    sd_secret *der = NULL;
    crypto_rsa *back = NULL;
    uint8_t material[32] = {3}, wrapped[256];
    sd_secret *out = NULL;
    size_t n;

    (void)state;
    assert_int_equal(crypto_rsa_private_der(shared_key, &der, NULL), SD_OK);
    assert_int_equal(
        crypto_rsa_from_private_der(sd_secret_data(der), sd_secret_len(der), &back, NULL), SD_OK);
    n = customer_wrap(shared_key, CRYPTO_RSA_OAEP_SHA256, material, 32, wrapped, sizeof wrapped);
    assert_int_equal(crypto_rsa_unwrap(back, CRYPTO_RSA_OAEP_SHA256, wrapped, n, &out, NULL),
                     SD_OK);
    assert_memory_equal(sd_secret_data(out), material, 32);
    sd_secret_free(out);
    crypto_rsa_free(back);
    sd_secret_free(der);
}

static void rsa_refuses_garbage_as_a_private_key(void **state)
{
    uint8_t junk[64] = {0x30, 0x82};
    crypto_rsa *k = NULL;

    (void)state;
    assert_int_equal(crypto_rsa_from_private_der(junk, sizeof junk, &k, NULL), SD_E_INVALID);
    assert_null(k);
    assert_int_equal(crypto_rsa_generate(1024, &k, NULL), SD_E_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rsa_unwraps_material_under_each_algorithm),
        cmocka_unit_test(rsa_refuses_the_wrong_oaep_digest),
        cmocka_unit_test(rsa_refuses_material_wrapped_for_another_key),
        cmocka_unit_test(rsa_private_key_survives_a_der_round_trip),
        cmocka_unit_test(rsa_refuses_garbage_as_a_private_key),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
