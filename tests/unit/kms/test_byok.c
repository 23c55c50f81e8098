/* test_byok.c: bring-your-own-key.  The test wraps key material with
 * OpenSSL itself, as a customer's tooling would, and walks an EXTERNAL key
 * through import, use, deletion of the material, expiry and re-import. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "kms_test.h"

/* Wraps material with the DER public key under algorithm, as a customer does. */
static size_t customer_wrap(const sd_buf *der, const char *algorithm, const uint8_t *material,
                            size_t n, uint8_t *out)
{
    const unsigned char *p = der->data;
    EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, (long)der->len);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pub, NULL);
    size_t outlen = 256;

    assert_non_null(pub);
    assert_int_equal(EVP_PKEY_encrypt_init(ctx), 1);
    if (strcmp(algorithm, "RSAES_PKCS1_V1_5") == 0) {
        assert_true(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0);
    } else {
        const EVP_MD *md = strcmp(algorithm, "RSAES_OAEP_SHA_256") == 0 ? EVP_sha256() : EVP_sha1();
        assert_true(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0);
        assert_true(EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md) > 0);
        assert_true(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) > 0);
    }
    assert_int_equal(EVP_PKEY_encrypt(ctx, out, &outlen, material, n), 1);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pub);
    return outlen;
}

static void external_key(kt *t, kms_key_meta *m)
{
    kms_create_opts o = KMS_CREATE_OPTS_INIT;
    o.origin = "EXTERNAL";
    assert_int_equal(kms_create_key(t->k, &kt_alice, &o, m, NULL), SD_OK);
    assert_string_equal(m->state, "PendingImport");
}

/* GetParametersForImport then ImportKeyMaterial of material; returns the code. */
static sd_code import(kt *t, const char *key_id, const char *alg, const uint8_t *material, size_t n,
                      int64_t expire, sd_err *err)
{
    sd_buf der = SD_BUF_INIT(4096);
    char token[KMS_ID_MAX];
    int64_t exp = 0;
    uint8_t wrapped[256];
    size_t wl;
    sd_code rc;

    assert_int_equal(
        kms_import_params(t->k, &kt_alice, key_id, alg, "RSA_2048", &der, token, &exp, NULL),
        SD_OK);
    assert_true(exp == t->now + 86400);
    wl = customer_wrap(&der, alg, material, n, wrapped);
    rc = kms_import_material(t->k, &kt_alice, key_id, wrapped, wl, token, expire, err);
    sd_buf_free(&der);
    return rc;
}

static const uint8_t material[32] = {
    0xb7, 0x0a, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee,
    0xff, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15};

static void byok_round_trip_under_each_wrapping_algorithm(void **state)
{
    static const char *const algs[] = {"RSAES_OAEP_SHA_256", "RSAES_OAEP_SHA_1",
                                       "RSAES_PKCS1_V1_5"};
    kt *t = kt_open();

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        kms_key_meta m;
        sd_buf blob = SD_BUF_INIT(KMS_BLOB_MAX);
        sd_secret *p = NULL;
        bool dk = false;
        external_key(t, &m);
        assert_int_equal(import(t, m.key_id, algs[i], material, 32, 0, NULL), SD_OK);
        assert_int_equal(kms_describe_key(t->k, &kt_alice, m.key_id, &m, NULL), SD_OK);
        assert_string_equal(m.state, "Enabled");
        assert_string_equal(m.origin, "EXTERNAL");
        assert_int_equal(kms_encrypt(t->k, &kt_alice, m.key_id, (const uint8_t *)"byok", 4, NULL,
                                     &blob, NULL, NULL),
                         SD_OK);
        assert_int_equal(
            kms_decrypt(t->k, &kt_alice, blob.data, blob.len, NULL, &p, &dk, NULL, NULL), SD_OK);
        assert_memory_equal(sd_secret_data(p), "byok", 4);
        sd_secret_free(p);
        sd_buf_free(&blob);
    }
    kt_close(t);
}

static void byok_refuses_wrong_keys_tokens_and_material(void **state)
{
    kt *t = kt_open();
    kms_key_meta ext, ext2, native;
    kms_create_opts o = KMS_CREATE_OPTS_INIT;
    sd_buf der = SD_BUF_INIT(4096);
    char token[KMS_ID_MAX], token2[KMS_ID_MAX];
    int64_t exp = 0;
    uint8_t wrapped[256];
    size_t wl;
    sd_err err = SD_ERR_INIT;

    (void)state;
    external_key(t, &ext);
    external_key(t, &ext2);
    assert_int_equal(kms_create_key(t->k, &kt_alice, &o, &native, NULL), SD_OK);
    assert_int_equal(kms_import_params(t->k, &kt_alice, native.key_id, "RSAES_OAEP_SHA_256",
                                       "RSA_2048", &der, token, &exp, &err),
                     SD_E_INVALID);
    assert_string_equal(err.api_code, "Unsupported.Origin");
    sd_err_clear(&err);
    assert_int_equal(kms_import_params(t->k, &kt_alice, ext.key_id, "RSAES_OAEP_SHA_512",
                                       "RSA_2048", &der, token, &exp, &err),
                     SD_E_INVALID);
    assert_int_equal(kms_import_params(t->k, &kt_alice, ext.key_id, "RSAES_OAEP_SHA_256",
                                       "RSA_4096", &der, token, &exp, NULL),
                     SD_E_INVALID);
    sd_buf_reset(&der);
    assert_int_equal(kms_import_params(t->k, &kt_alice, ext.key_id, "RSAES_OAEP_SHA_256",
                                       "RSA_2048", &der, token, &exp, NULL),
                     SD_OK);
    assert_int_equal(kms_import_params(t->k, &kt_alice, ext2.key_id, "RSAES_OAEP_SHA_256",
                                       "RSA_2048", &der, token2, &exp, NULL),
                     SD_OK);
    sd_buf_reset(&der);
    assert_int_equal(kms_import_params(t->k, &kt_alice, ext.key_id, "RSAES_OAEP_SHA_256",
                                       "RSA_2048", &der, token, &exp, NULL),
                     SD_OK);
    wl = customer_wrap(&der, "RSAES_OAEP_SHA_256", material, 32, wrapped);
    /* a token of another key */
    sd_err_clear(&err);
    assert_int_equal(kms_import_material(t->k, &kt_alice, ext.key_id, wrapped, wl, token2, 0, &err),
                     SD_E_INVALID);
    assert_string_equal(err.api_code, "InvalidImportToken");
    /* material of the wrong length */
    sd_err_clear(&err);
    wl = customer_wrap(&der, "RSAES_OAEP_SHA_256", material, 16, wrapped);
    assert_int_equal(kms_import_material(t->k, &kt_alice, ext.key_id, wrapped, wl, token, 0, &err),
                     SD_E_INVALID);
    assert_string_equal(err.api_code, "InvalidKeyMaterial");
    /* garbage that does not unwrap */
    sd_err_clear(&err);
    memset(wrapped, 0x5a, sizeof wrapped);
    assert_int_equal(kms_import_material(t->k, &kt_alice, ext.key_id, wrapped, 256, token, 0, &err),
                     SD_E_INVALID);
    assert_string_equal(err.api_code, "InvalidKeyMaterial");
    /* an expiry in the past */
    wl = customer_wrap(&der, "RSAES_OAEP_SHA_256", material, 32, wrapped);
    assert_int_equal(
        kms_import_material(t->k, &kt_alice, ext.key_id, wrapped, wl, token, t->now - 1, NULL),
        SD_E_INVALID);
    /* a token past its 24 hours */
    t->now += 86400;
    sd_err_clear(&err);
    assert_int_equal(kms_import_material(t->k, &kt_alice, ext.key_id, wrapped, wl, token, 0, &err),
                     SD_E_INVALID);
    assert_string_equal(err.api_code, "ExpiredImportToken");
    sd_buf_free(&der);
    kt_close(t);
}

static void byok_deleted_or_expired_material_stops_use_until_the_same_is_imported(void **state)
{
    kt *t = kt_open();
    kms_key_meta m;
    sd_buf blob = SD_BUF_INIT(KMS_BLOB_MAX);
    sd_secret *p = NULL;
    bool dk = false;
    sd_err err = SD_ERR_INIT;
    uint8_t other[32];

    (void)state;
    external_key(t, &m);
    assert_int_equal(import(t, m.key_id, "RSAES_OAEP_SHA_256", material, 32, t->now + 3600, NULL),
                     SD_OK);
    assert_int_equal(
        kms_encrypt(t->k, &kt_alice, m.key_id, (const uint8_t *)"kept", 4, NULL, &blob, NULL, NULL),
        SD_OK);
    /* expiry: unusable, PendingImport */
    t->now += 3600;
    assert_int_equal(kms_decrypt(t->k, &kt_alice, blob.data, blob.len, NULL, &p, &dk, NULL, &err),
                     SD_E_KEY_STATE);
    assert_string_equal(err.api_code, "Rejected.PendingImport");
    /* other material is refused; the same brings the old blob back */
    memset(other, 0x42, sizeof other);
    sd_err_clear(&err);
    assert_int_equal(import(t, m.key_id, "RSAES_OAEP_SHA_1", other, 32, 0, &err), SD_E_INVALID);
    assert_string_equal(err.api_code, "InvalidKeyMaterial");
    assert_int_equal(import(t, m.key_id, "RSAES_OAEP_SHA_1", material, 32, 0, NULL), SD_OK);
    assert_int_equal(kms_decrypt(t->k, &kt_alice, blob.data, blob.len, NULL, &p, &dk, NULL, NULL),
                     SD_OK);
    sd_secret_free(p);
    p = NULL;
    /* DeleteKeyMaterial */
    assert_int_equal(kms_delete_material(t->k, &kt_alice, m.key_id, NULL), SD_OK);
    assert_int_equal(kms_describe_key(t->k, &kt_alice, m.key_id, &m, NULL), SD_OK);
    assert_string_equal(m.state, "PendingImport");
    assert_int_equal(kms_decrypt(t->k, &kt_alice, blob.data, blob.len, NULL, &p, &dk, NULL, NULL),
                     SD_E_KEY_STATE);
    assert_int_equal(import(t, m.key_id, "RSAES_PKCS1_V1_5", material, 32, 0, NULL), SD_OK);
    assert_int_equal(kms_decrypt(t->k, &kt_alice, blob.data, blob.len, NULL, &p, &dk, NULL, NULL),
                     SD_OK);
    assert_memory_equal(sd_secret_data(p), "kept", 4);
    sd_secret_free(p);
    /* a PendingDeletion key keeps its state when its material is deleted */
    assert_int_equal(kms_schedule_deletion(t->k, &kt_alice, m.key_id, 7, NULL), SD_OK);
    assert_int_equal(kms_delete_material(t->k, &kt_alice, m.key_id, NULL), SD_OK);
    assert_int_equal(kms_describe_key(t->k, &kt_alice, m.key_id, &m, NULL), SD_OK);
    assert_string_equal(m.state, "PendingDeletion");
    sd_buf_free(&blob);
    kt_close(t);
}

/* An EXTERNAL key with material, then moved to state (0 Enabled,
 * 1 Disabled, 2 PendingDeletion, 3 PendingImport). */
static void external_in_state(kt *t, int st, kms_key_meta *m)
{
    external_key(t, m);
    if (st == 3) {
        return;
    }
    assert_int_equal(import(t, m->key_id, "RSAES_OAEP_SHA_256", material, 32, 0, NULL), SD_OK);
    if (st == 1) {
        assert_int_equal(kms_disable_key(t->k, &kt_alice, m->key_id, NULL), SD_OK);
    } else if (st == 2) {
        assert_int_equal(kms_schedule_deletion(t->k, &kt_alice, m->key_id, 7, NULL), SD_OK);
    }
}

static void byok_import_rows_of_the_state_table_hold(void **state)
{
    static const char *const names[] = {"Enabled", "Disabled", "PendingDeletion", "PendingImport"};
    (void)state;
    for (int st = 0; st < 4; st++) {
        kt *t = kt_open();
        kms_key_meta m;
        sd_buf der = SD_BUF_INIT(4096);
        char token[KMS_ID_MAX];
        int64_t exp = 0;
        sd_err err = SD_ERR_INIT;
        sd_code rc;

        external_in_state(t, st, &m);
        assert_int_equal(kms_describe_key(t->k, &kt_alice, m.key_id, &m, NULL), SD_OK);
        assert_string_equal(m.state, names[st]);
        /* GetParametersForImport: allowed in every state */
        assert_int_equal(kms_import_params(t->k, &kt_alice, m.key_id, "RSAES_OAEP_SHA_256",
                                           "RSA_2048", &der, token, &exp, NULL),
                         SD_OK);
        /* ImportKeyMaterial: refused only while PendingDeletion */
        rc = import(t, m.key_id, "RSAES_OAEP_SHA_256", material, 32, 0, &err);
        if (st == 2) {
            assert_int_equal(rc, SD_E_KEY_STATE);
            assert_string_equal(err.api_code, "Rejected.StateModifiedFailed");
        } else {
            assert_int_equal(rc, SD_OK);
        }
        /* DeleteKeyMaterial: allowed in every state */
        assert_int_equal(kms_delete_material(t->k, &kt_alice, m.key_id, NULL), SD_OK);
        sd_buf_free(&der);
        kt_close(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(byok_round_trip_under_each_wrapping_algorithm),
        cmocka_unit_test(byok_refuses_wrong_keys_tokens_and_material),
        cmocka_unit_test(byok_deleted_or_expired_material_stops_use_until_the_same_is_imported),
        cmocka_unit_test(byok_import_rows_of_the_state_table_hold),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
