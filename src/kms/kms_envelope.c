/* kms_envelope.c: GenerateDataKey, Encrypt, Decrypt and ReEncrypt.
 *
 * Encryption uses the key's primary version; decryption finds the key and
 * version in the blob.  Both check the key's state first, so disabling a key
 * stops its use at the next call (cached version keys do not bypass it). */
#include <string.h>

#include "kms/kms_int.h"

static void set_used(kms_used *u, const char *key_id, const char *version_id)
{
    if (u == NULL) {
        return;
    }
    memcpy(u->key_id, key_id, strlen(key_id) + 1);
    memcpy(u->version_id, version_id, strlen(version_id) + 1);
}

/* Resolves ref for encryption: state, primary version key. */
static sd_code encrypting_key(kms *k, const kms_caller *c, const char *ref, kms_key_meta *m,
                              const sd_secret **vkey, sd_err *err)
{
    sd_code rc = SD_OK;

    SD_TRY(kms__resolve(k, c, ref, m, err));
    SD_TRY(kms__state_allows(m, KMS_OP_CRYPTO, err));
    SD_TRY(kms__version_key(k, m->key_id, m->primary_version, vkey, err));
out:
    return rc;
}

sd_code kms_generate_data_key(kms *k, const kms_caller *c, const char *ref, size_t nbytes,
                              const kms_ctx *ctx, sd_secret **plain, sd_buf *blob, kms_used *used,
                              sd_err *err)
{
    sd_code rc = SD_OK;
    kms_key_meta m;
    const sd_secret *vkey = NULL;
    sd_secret *dk = NULL;

    if (plain != NULL) {
        *plain = NULL;
    }
    pthread_mutex_lock(&k->mu);
    SD_TRY(kms__quota(k, c, KMS_Q_CRYPTO, err));
    SD_ENSUREC(nbytes >= 1 && nbytes <= 1024, err, SD_E_INVALID, "InvalidParameter",
               "The specified parameter \"NumberOfBytes\" is not valid: must be from 1 to "
               "1024.");
    SD_TRY(encrypting_key(k, c, ref, &m, &vkey, err));
    SD_TRY(sd_secret_new(nbytes, &dk, err));
    SD_TRY(sd_rng_fill(&k->rng, sd_secret_data(dk), nbytes, err));
    SD_TRY(kms__blob_seal(vkey, KMS_BLOB_DATA_KEY, m.key_id, m.primary_version, ctx,
                          sd_secret_data(dk), nbytes, &k->rng, blob, err));
    set_used(used, m.key_id, m.primary_version);
    if (plain != NULL) {
        *plain = sd_secret_take(&dk);
    }
out:
    sd_secret_free(dk);
    pthread_mutex_unlock(&k->mu);
    return rc;
}

sd_code kms_encrypt(kms *k, const kms_caller *c, const char *ref, const uint8_t *pt, size_t ptlen,
                    const kms_ctx *ctx, sd_buf *blob, kms_used *used, sd_err *err)
{
    sd_code rc = SD_OK;
    kms_key_meta m;
    const sd_secret *vkey = NULL;

    pthread_mutex_lock(&k->mu);
    SD_TRY(kms__quota(k, c, KMS_Q_CRYPTO, err));
    SD_ENSUREC(ptlen >= 1 && ptlen <= KMS_PLAIN_MAX, err, SD_E_INVALID, "InvalidParameter",
               "The specified parameter \"Plaintext\" is not valid: 1 to 6144 bytes.");
    SD_TRY(encrypting_key(k, c, ref, &m, &vkey, err));
    SD_TRY(kms__blob_seal(vkey, KMS_BLOB_DATA, m.key_id, m.primary_version, ctx, pt, ptlen, &k->rng,
                          blob, err));
    set_used(used, m.key_id, m.primary_version);
out:
    pthread_mutex_unlock(&k->mu);
    return rc;
}

/* The locked part of Decrypt (k->mu held). */
static sd_code decrypt_locked(kms *k, const kms_caller *c, const uint8_t *blob, size_t len,
                              const kms_ctx *ctx, sd_secret **plain, bool *is_data_key,
                              kms_used *used, sd_err *err)
{
    sd_code rc = SD_OK;
    kms_blob b;
    kms_key_meta m;
    const sd_secret *vkey = NULL;

    SD_TRY(kms__blob_parse(blob, len, &b, err));
    SD_TRY(kms__resolve(k, c, b.key_id, &m, err));
    SD_TRY(kms__state_allows(&m, KMS_OP_CRYPTO, err));
    SD_TRY(kms__version_key(k, m.key_id, b.version_id, &vkey, err));
    SD_TRY(kms__blob_open(vkey, &b, ctx, plain, err));
    *is_data_key = b.kind == KMS_BLOB_DATA_KEY;
    set_used(used, m.key_id, b.version_id);
out:
    return rc;
}

sd_code kms_decrypt(kms *k, const kms_caller *c, const uint8_t *blob, size_t len,
                    const kms_ctx *ctx, sd_secret **plain, bool *is_data_key, kms_used *used,
                    sd_err *err)
{
    sd_code rc;

    *plain = NULL;
    pthread_mutex_lock(&k->mu);
    rc = kms__quota(k, c, KMS_Q_CRYPTO, err);
    if (rc == SD_OK) {
        rc = decrypt_locked(k, c, blob, len, ctx, plain, is_data_key, used, err);
    }
    pthread_mutex_unlock(&k->mu);
    return rc;
}

sd_code kms_reencrypt(kms *k, const kms_caller *c, const uint8_t *blob, size_t len,
                      const kms_ctx *src_ctx, const char *dst_ref, const kms_ctx *dst_ctx,
                      sd_buf *out, kms_used *src_used, kms_used *dst_used, sd_err *err)
{
    sd_code rc = SD_OK;
    sd_secret *plain = NULL;
    bool is_dk = false;
    kms_key_meta m;
    const sd_secret *vkey = NULL;

    pthread_mutex_lock(&k->mu);
    SD_TRY(kms__quota(k, c, KMS_Q_REENCRYPT, err));
    SD_TRY(decrypt_locked(k, c, blob, len, src_ctx, &plain, &is_dk, src_used, err));
    SD_TRY(encrypting_key(k, c, dst_ref, &m, &vkey, err));
    SD_TRY(kms__blob_seal(vkey, is_dk ? KMS_BLOB_DATA_KEY : KMS_BLOB_DATA, m.key_id,
                          m.primary_version, dst_ctx, sd_secret_data(plain), sd_secret_len(plain),
                          &k->rng, out, err));
    set_used(dst_used, m.key_id, m.primary_version);
out:
    sd_secret_free(plain);
    pthread_mutex_unlock(&k->mu);
    return rc;
}
