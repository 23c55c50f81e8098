/* kms_import.c: bring-your-own-key for EXTERNAL keys.
 *
 * GetParametersForImport makes a fresh RSA-2048 pair per request; the
 * private half is stored only wrapped under the root key (AAD binds key id
 * and token) with the token and the chosen algorithm, valid 24 hours.
 * ImportKeyMaterial unwraps the customer's 32 bytes with it.  The first
 * import records a check value, HMAC-SHA256(material, "sealdisk-kcv|" key
 * id), which reveals nothing of the material but lets a later import (after
 * DeleteKeyMaterial or expiry) be refused unless it brings the same bytes;
 * the material keeps its version id, so old blobs decrypt again. */
#include <stdio.h>
#include <string.h>

#include "crypto/crypto.h"
#include "kms/kms_int.h"

#define IMPORT_TTL  86400
#define WRAPPED_MAX 8192 /* a root-wrapped RSA-2048 private key, with room */

static sd_code external_only(const kms_key_meta *m, sd_err *err)
{
    if (strcmp(m->origin, "EXTERNAL") == 0) {
        return SD_OK;
    }
    return sd_err_setc(err, SD_E_INVALID, "Unsupported.Origin", SD_HERE,
                       "The key %s was made with Origin %s: only EXTERNAL keys import material.",
                       m->key_id, m->origin);
}

static sd_code parse_algorithm(const char *a, crypto_rsa_pad *pad, sd_err *err)
{
    if (a != NULL && strcmp(a, "RSAES_OAEP_SHA_256") == 0) {
        *pad = CRYPTO_RSA_OAEP_SHA256;
    } else if (a != NULL && strcmp(a, "RSAES_OAEP_SHA_1") == 0) {
        *pad = CRYPTO_RSA_OAEP_SHA1;
    } else if (a != NULL && strcmp(a, "RSAES_PKCS1_V1_5") == 0) {
        *pad = CRYPTO_RSA_PKCS1_V15;
    } else {
        return sd_err_setc(err, SD_E_INVALID, "InvalidParameter", SD_HERE,
                           "The specified parameter \"WrappingAlgorithm\" is not valid: use "
                           "RSAES_OAEP_SHA_256, RSAES_OAEP_SHA_1 or RSAES_PKCS1_V1_5.");
    }
    return SD_OK;
}

static void import_aad(char *out, size_t cap, const char *key_id, const char *token)
{
    if (snprintf(out, cap, "sealdisk-import-v1|%s|%s", key_id, token) >= (int)cap) {
        out[0] = '\0';
    }
}

sd_code kms_import_params(kms *k, const kms_caller *c, const char *ref, const char *algorithm,
                          const char *spec, sd_buf *pubkey, char *token, int64_t *expires,
                          sd_err *err)
{
    sd_code rc = SD_OK;
    kms_key_meta m;
    crypto_rsa_pad pad;
    crypto_rsa *rsa = NULL;
    sd_secret *der = NULL;
    sd_buf wrapped = SD_BUF_INIT(WRAPPED_MAX);
    char tok[KMS_ID_MAX];
    char aad[256];
    int64_t exp;

    pthread_mutex_lock(&k->mu);
    SD_TRY(kms__resolve(k, c, ref, &m, err));
    SD_TRY(external_only(&m, err));
    SD_TRY(parse_algorithm(algorithm, &pad, err));
    SD_ENSUREC(spec != NULL && strcmp(spec, "RSA_2048") == 0, err, SD_E_INVALID, "InvalidParameter",
               "The specified parameter \"WrappingKeySpec\" is not valid: use RSA_2048.");
    SD_TRY(sd_id_new(&k->rng, "tok-", 40, tok, sizeof tok, err));
    SD_TRY(crypto_rsa_generate(2048, &rsa, err));
    SD_TRY(crypto_rsa_private_der(rsa, &der, err));
    import_aad(aad, sizeof aad, m.key_id, tok);
    SD_TRY(kms__root_wrap(k->root, aad, der, &k->rng, &wrapped, err));
    exp = sd_now(&k->clock) + IMPORT_TTL;
    SD_TRY(store_run(k->st,
                     "INSERT INTO kms_imports (key_id, token, algorithm, expires, wrapped) "
                     "VALUES (?, ?, ?, ?, ?) ON CONFLICT (key_id) DO UPDATE SET token = "
                     "excluded.token, algorithm = excluded.algorithm, expires = "
                     "excluded.expires, wrapped = excluded.wrapped",
                     STORE_ARGS(STORE_TEXT(m.key_id), STORE_TEXT(tok), STORE_TEXT(algorithm),
                                STORE_INT(exp), STORE_BLOB(wrapped.data, wrapped.len)),
                     err));
    SD_TRY(crypto_rsa_public_der(rsa, pubkey, err));
    memcpy(token, tok, strlen(tok) + 1);
    *expires = exp;
out:
    sd_buf_free(&wrapped);
    sd_secret_free(der);
    crypto_rsa_free(rsa);
    pthread_mutex_unlock(&k->mu);
    return rc;
}

/* Loads the wrapping key for token; checks it belongs to key_id and lives. */
static sd_code load_wrapping_key(kms *k, const char *key_id, const char *token, crypto_rsa **rsa,
                                 crypto_rsa_pad *pad, sd_err *err)
{
    typedef struct import_row {
        char token[KMS_ID_MAX];
        char algorithm[64];
        int64_t expires;
        sd_buf wrapped;
    } import_row;
    static const store_col cols[] = {
        STORE_COL(import_row, token),
        STORE_COL(import_row, algorithm),
        STORE_COL(import_row, expires),
        STORE_COL(import_row, wrapped),
    };
    sd_code rc = SD_OK;
    bool row = false;
    sd_secret *der = NULL;
    import_row r = {.wrapped = SD_BUF_INIT(WRAPPED_MAX)};
    char aad[256];

    SD_TRY(store_query_one(
        k->st, "SELECT token, algorithm, expires, wrapped FROM kms_imports WHERE key_id = ?",
        STORE_ARGS(STORE_TEXT(key_id)), STORE_COLS(cols), &r, &row, err));
    SD_ENSUREC(row && token != NULL && strlen(token) == strlen(r.token) &&
                   sd_ct_equal(token, r.token, strlen(token)),
               err, SD_E_INVALID, "InvalidImportToken",
               "The import token is not valid for the key %s.", key_id);
    SD_ENSUREC(sd_now(&k->clock) < r.expires, err, SD_E_INVALID, "ExpiredImportToken",
               "The import token of the key %s expired: call GetParametersForImport again.",
               key_id);
    SD_TRY(parse_algorithm(r.algorithm, pad, err));
    import_aad(aad, sizeof aad, key_id, token);
    SD_TRY(kms__root_unwrap(k->root, aad, r.wrapped.data, r.wrapped.len, &der, err));
    SD_TRY(crypto_rsa_from_private_der(sd_secret_data(der), sd_secret_len(der), rsa, err));
out:
    sd_secret_free(der);
    sd_buf_free(&r.wrapped);
    return rc;
}

/* Checks material against the recorded check value, or records it. */
static sd_code check_same_material(kms *k, const char *key_id, const sd_secret *material,
                                   sd_err *err)
{
    typedef struct kcv_row {
        uint8_t kcv[CRYPTO_SHA256_LEN];
        size_t len;
    } kcv_row;
    static const store_col cols[] = {STORE_COL_BLOB(kcv_row, kcv, len)};
    sd_code rc = SD_OK;
    bool row = false;
    uint8_t kcv[CRYPTO_SHA256_LEN];
    size_t kl = 0;
    char label[96];
    kcv_row stored;

    if (snprintf(label, sizeof label, "sealdisk-kcv|%s", key_id) >= (int)sizeof label) {
        return sd_err_set(err, SD_E_INTERNAL, SD_HERE, "key id too long");
    }
    SD_TRY(crypto_hmac(CRYPTO_HMAC_SHA256, sd_secret_data(material), sd_secret_len(material),
                       (const uint8_t *)label, strlen(label), kcv, &kl, err));
    SD_TRY(store_query_one(k->st, "SELECT kcv FROM kms_material_check WHERE key_id = ?",
                           STORE_ARGS(STORE_TEXT(key_id)), STORE_COLS(cols), &stored, &row, err));
    if (row) {
        SD_ENSUREC(stored.len == kl && sd_ct_equal(stored.kcv, kcv, kl), err, SD_E_INVALID,
                   "InvalidKeyMaterial",
                   "The key %s was first imported with other material: a re-import must "
                   "bring the same bytes.",
                   key_id);
        goto out;
    }
    SD_TRY(store_run(k->st, "INSERT INTO kms_material_check (key_id, kcv) VALUES (?, ?)",
                     STORE_ARGS(STORE_TEXT(key_id), STORE_BLOB(kcv, kl)), err));
out:
    return rc;
}

sd_code kms_import_material(kms *k, const kms_caller *c, const char *ref, const uint8_t *wrapped,
                            size_t len, const char *token, int64_t expire_unix, sd_err *err)
{
    sd_code rc = SD_OK;
    kms_key_meta m;
    crypto_rsa *rsa = NULL;
    crypto_rsa_pad pad = CRYPTO_RSA_OAEP_SHA256;
    sd_secret *material = NULL;
    char vid[KMS_ID_MAX];
    int64_t now = sd_now(&k->clock);

    pthread_mutex_lock(&k->mu);
    SD_TRY(kms__resolve(k, c, ref, &m, err));
    SD_TRY(external_only(&m, err));
    SD_TRY(kms__state_allows(&m, KMS_OP_CREATE_ALIAS, err)); /* same row as ImportKeyMaterial */
    SD_ENSUREC(expire_unix == 0 || expire_unix > now, err, SD_E_INVALID, "InvalidParameter",
               "The specified parameter \"KeyMaterialExpireUnix\" is not valid: 0 or a time "
               "in the future.");
    SD_TRY(load_wrapping_key(k, m.key_id, token, &rsa, &pad, err));
    rc = crypto_rsa_unwrap(rsa, pad, wrapped, len, &material, NULL);
    SD_ENSUREC(rc == SD_OK && sd_secret_len(material) == 32, err, SD_E_INVALID,
               "InvalidKeyMaterial",
               "The EncryptedKeyMaterial does not unwrap to 32 bytes with this import token's "
               "key and algorithm.");
    SD_TRY(store_begin(k->st, err));
    SD_TRY(check_same_material(k, m.key_id, material, err));
    if (m.primary_version[0] != '\0') {
        memcpy(vid, m.primary_version, strlen(m.primary_version) + 1);
    } else {
        SD_TRY(sd_id_uuid(&k->rng, vid, err));
    }
    SD_TRY(kms__put_version(k, m.key_id, vid, material, now, err));
    SD_TRY(store_run(k->st,
                     "UPDATE kms_keys SET material_expire = ?, state = CASE state WHEN "
                     "'PendingImport' THEN 'Enabled' ELSE state END WHERE key_id = ?",
                     STORE_ARGS(STORE_INT(expire_unix), STORE_TEXT(m.key_id)), err));
    SD_TRY(store_run(k->st, "DELETE FROM kms_imports WHERE key_id = ?",
                     STORE_ARGS(STORE_TEXT(m.key_id)), err));
    SD_TRY(store_commit(k->st, err));
    sd_log(SD_LOG_INFO, "kms", "imported key material key_id=%s", m.key_id);
out:
    store_rollback(k->st);
    sd_secret_free(material);
    crypto_rsa_free(rsa);
    pthread_mutex_unlock(&k->mu);
    return rc;
}

sd_code kms_delete_material(kms *k, const kms_caller *c, const char *ref, sd_err *err)
{
    sd_code rc = SD_OK;
    kms_key_meta m;

    pthread_mutex_lock(&k->mu);
    SD_TRY(kms__resolve(k, c, ref, &m, err));
    SD_TRY(external_only(&m, err));
    SD_TRY(store_begin(k->st, err));
    SD_TRY(kms__wipe_material(k, m.key_id, err));
    SD_TRY(store_commit(k->st, err));
out:
    store_rollback(k->st);
    pthread_mutex_unlock(&k->mu);
    return rc;
}
