/* crypto_aead.c: AES-256-GCM seal and open with additional data.
 *
 * Used to wrap CMK version material under the root key (AAD = key id and
 * version id) and data keys under a CMK version (AAD = encryption context).
 * Open verifies the tag before returning any plaintext; on failure the
 * output buffer is wiped so a caller can never use unauthenticated bytes. */
#include <limits.h>

#include <openssl/evp.h>

#include "crypto/crypto_int.h"

static const EVP_CIPHER *gcm_cipher(size_t keylen)
{
    switch (keylen) {
    case 16:
        return EVP_aes_128_gcm();
    case 24:
        return EVP_aes_192_gcm();
    case 32:
        return EVP_aes_256_gcm();
    default:
        return NULL;
    }
}

/* Checks the sizes and makes a context keyed for enc (1) or dec (0). */
static sd_code gcm_begin(int enc, const uint8_t *key, size_t keylen, const uint8_t *iv,
                         size_t ivlen, size_t aadlen, size_t datalen, size_t taglen,
                         EVP_CIPHER_CTX **out, sd_err *err)
{
    sd_code rc = SD_OK;
    EVP_CIPHER_CTX *ctx = NULL;
    const EVP_CIPHER *c = gcm_cipher(keylen);

    *out = NULL;
    SD_ENSURE(c != NULL, err, SD_E_INVALID, "AES-GCM key of %zu bytes", keylen);
    SD_ENSURE(ivlen > 0 && ivlen <= 128 && taglen >= 4 && taglen <= 16, err, SD_E_INVALID,
              "AES-GCM IV or tag length out of range");
    SD_ENSURE(aadlen <= INT_MAX && datalen <= INT_MAX, err, SD_E_INVALID, "AES-GCM input too long");
    ctx = EVP_CIPHER_CTX_new();
    SD_ENSURE(ctx != NULL, err, SD_E_NOMEM, "out of memory");
    SD_ENSURE_OSSL(EVP_CipherInit_ex(ctx, c, NULL, NULL, NULL, enc), err, "GCM init failed");
    SD_ENSURE_OSSL(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, (int)ivlen, NULL), err,
                   "GCM IV length rejected");
    SD_ENSURE_OSSL(EVP_CipherInit_ex(ctx, NULL, NULL, key, iv, enc), err, "GCM key rejected");
    *out = ctx;
    ctx = NULL;
out:
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

sd_code crypto_aead_seal_ex(const uint8_t *key, size_t keylen, const uint8_t *iv, size_t ivlen,
                            const uint8_t *aad, size_t aadlen, const uint8_t *pt, size_t ptlen,
                            uint8_t *ct, uint8_t *tag, size_t taglen, sd_err *err)
{
    sd_code rc = SD_OK;
    EVP_CIPHER_CTX *ctx = NULL;
    int outl = 0;

    SD_TRY(gcm_begin(1, key, keylen, iv, ivlen, aadlen, ptlen, taglen, &ctx, err));
    if (aadlen > 0) {
        SD_ENSURE_OSSL(EVP_EncryptUpdate(ctx, NULL, &outl, aad, (int)aadlen), err,
                       "GCM AAD failed");
    }
    if (ptlen > 0) {
        SD_ENSURE_OSSL(EVP_EncryptUpdate(ctx, ct, &outl, pt, (int)ptlen), err, "GCM seal failed");
    }
    SD_ENSURE_OSSL(EVP_EncryptFinal_ex(ctx, ct + ptlen, &outl), err, "GCM final failed");
    SD_ENSURE_OSSL(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, (int)taglen, tag), err,
                   "GCM tag failed");
out:
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

sd_code crypto_aead_open_ex(const uint8_t *key, size_t keylen, const uint8_t *iv, size_t ivlen,
                            const uint8_t *aad, size_t aadlen, const uint8_t *ct, size_t ctlen,
                            const uint8_t *tag, size_t taglen, uint8_t *pt, sd_err *err)
{
    sd_code rc = SD_OK;
    EVP_CIPHER_CTX *ctx = NULL;
    int outl = 0;

    SD_TRY(gcm_begin(0, key, keylen, iv, ivlen, aadlen, ctlen, taglen, &ctx, err));
    if (aadlen > 0) {
        SD_ENSURE_OSSL(EVP_DecryptUpdate(ctx, NULL, &outl, aad, (int)aadlen), err,
                       "GCM AAD failed");
    }
    if (ctlen > 0) {
        SD_ENSURE_OSSL(EVP_DecryptUpdate(ctx, pt, &outl, ct, (int)ctlen), err, "GCM open failed");
    }
    /* OpenSSL's ctrl takes a non-const pointer but only reads the tag. */
    SD_ENSURE_OSSL(
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, (int)taglen, crypto__unconst(tag)), err,
        "GCM tag rejected");
    if (EVP_DecryptFinal_ex(ctx, pt + ctlen, &outl) != 1) {
        sd_wipe(pt, ctlen);
        SD_FAIL(err, SD_E_AUTH, "authentication failed: wrong key, altered data or wrong context");
    }
out:
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

sd_code crypto_aead_seal(const sd_secret *key, const uint8_t iv[CRYPTO_GCM_IV_LEN],
                         const uint8_t *aad, size_t aadlen, const uint8_t *pt, size_t ptlen,
                         uint8_t *ct, uint8_t tag[CRYPTO_GCM_TAG_LEN], sd_err *err)
{
    if (sd_secret_len(key) != CRYPTO_GCM_KEY_LEN) {
        return sd_err_set(err, SD_E_INVALID, SD_HERE, "an AES-256-GCM key is 32 bytes");
    }
    return crypto_aead_seal_ex(sd_secret_data(key), CRYPTO_GCM_KEY_LEN, iv, CRYPTO_GCM_IV_LEN, aad,
                               aadlen, pt, ptlen, ct, tag, CRYPTO_GCM_TAG_LEN, err);
}

sd_code crypto_aead_open(const sd_secret *key, const uint8_t iv[CRYPTO_GCM_IV_LEN],
                         const uint8_t *aad, size_t aadlen, const uint8_t *ct, size_t ctlen,
                         const uint8_t tag[CRYPTO_GCM_TAG_LEN], uint8_t *pt, sd_err *err)
{
    if (sd_secret_len(key) != CRYPTO_GCM_KEY_LEN) {
        return sd_err_set(err, SD_E_INVALID, SD_HERE, "an AES-256-GCM key is 32 bytes");
    }
    return crypto_aead_open_ex(sd_secret_data(key), CRYPTO_GCM_KEY_LEN, iv, CRYPTO_GCM_IV_LEN, aad,
                               aadlen, ct, ctlen, tag, CRYPTO_GCM_TAG_LEN, pt, err);
}
