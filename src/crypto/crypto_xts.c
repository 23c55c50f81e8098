/* crypto_xts.c: AES-256-XTS over data units (IEEE 1619).
 *
 * The tweak of data unit i is i as a 128-bit little-endian integer, which is
 * what IEEE 1619 specifies and what dm-crypt's "plain64" and QEMU's LUKS
 * "plain64" generators produce.  The key schedule is done once in
 * crypto_xts_new; each call only re-initialises the tweak, so a sector costs
 * one EVP_CipherInit (IV only) and one EVP_CipherUpdate.  Encryption and
 * decryption need different AES key schedules, hence two contexts. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "crypto/crypto.h"

struct crypto_xts {
    EVP_CIPHER_CTX *enc;
    EVP_CIPHER_CTX *dec;
};

void crypto_xts_free(crypto_xts *x)
{
    if (x == NULL) {
        return;
    }
    EVP_CIPHER_CTX_free(x->enc); /* cleanses the key schedule */
    EVP_CIPHER_CTX_free(x->dec);
    free(x);
}

sd_code crypto_xts_new(const sd_secret *key, crypto_xts **out, sd_err *err)
{
    sd_code rc = SD_OK;
    crypto_xts *x = NULL;
    const uint8_t *k = sd_secret_data(key);

    *out = NULL;
    SD_ENSURE(sd_secret_len(key) == CRYPTO_XTS_KEY_LEN, err, SD_E_INVALID,
              "an AES-256-XTS key is %d bytes, not %zu", CRYPTO_XTS_KEY_LEN, sd_secret_len(key));
    SD_ENSURE(!sd_ct_equal(k, k + 32, 32), err, SD_E_INVALID,
              "the two halves of an XTS key must differ");
    x = calloc(1, sizeof *x);
    SD_ENSURE(x != NULL, err, SD_E_NOMEM, "out of memory");
    x->enc = EVP_CIPHER_CTX_new();
    x->dec = EVP_CIPHER_CTX_new();
    SD_ENSURE(x->enc != NULL && x->dec != NULL, err, SD_E_NOMEM, "out of memory");
    SD_ENSURE(EVP_EncryptInit_ex(x->enc, EVP_aes_256_xts(), NULL, k, NULL) == 1, err, SD_E_INVALID,
              "AES-256-XTS key rejected");
    SD_ENSURE(EVP_DecryptInit_ex(x->dec, EVP_aes_256_xts(), NULL, k, NULL) == 1, err, SD_E_INVALID,
              "AES-256-XTS key rejected");
    *out = x;
    x = NULL;
out:
    crypto_xts_free(x);
    return rc;
}

static sd_code xts_crypt(EVP_CIPHER_CTX *ctx, int enc, uint64_t unit, const uint8_t *in,
                         uint8_t *out, size_t len, sd_err *err)
{
    uint8_t tweak[16] = {0};
    int outl = 0;

    if (len < 16 || len > INT_MAX) {
        return sd_err_set(err, SD_E_INVALID, SD_HERE, "XTS data unit of %zu bytes", len);
    }
    for (int i = 0; i < 8; i++) {
        tweak[i] = (uint8_t)(unit >> (8 * i));
    }
    if (EVP_CipherInit_ex(ctx, NULL, NULL, NULL, tweak, enc) != 1 ||
        EVP_CipherUpdate(ctx, out, &outl, in, (int)len) != 1 || (size_t)outl != len) {
        return sd_err_set(err, SD_E_INTERNAL, SD_HERE, "AES-256-XTS failed on unit %llu",
                          (unsigned long long)unit);
    }
    return SD_OK;
}

sd_code crypto_xts_encrypt(crypto_xts *x, uint64_t unit, const uint8_t *in, uint8_t *out,
                           size_t len, sd_err *err)
{
    return xts_crypt(x->enc, 1, unit, in, out, len, err);
}

sd_code crypto_xts_decrypt(crypto_xts *x, uint64_t unit, const uint8_t *in, uint8_t *out,
                           size_t len, sd_err *err)
{
    return xts_crypt(x->dec, 0, unit, in, out, len, err);
}

sd_code crypto_xts_encrypt_sectors(crypto_xts *x, uint64_t first, const uint8_t *in, uint8_t *out,
                                   size_t n, sd_err *err)
{
    sd_code rc = SD_OK;

    for (size_t i = 0; i < n; i++) {
        size_t off = i * CRYPTO_SECTOR_SIZE;
        SD_TRY(xts_crypt(x->enc, 1, first + i, in + off, out + off, CRYPTO_SECTOR_SIZE, err));
    }
out:
    return rc;
}

sd_code crypto_xts_decrypt_sectors(crypto_xts *x, uint64_t first, const uint8_t *in, uint8_t *out,
                                   size_t n, sd_err *err)
{
    sd_code rc = SD_OK;

    for (size_t i = 0; i < n; i++) {
        size_t off = i * CRYPTO_SECTOR_SIZE;
        SD_TRY(xts_crypt(x->dec, 0, first + i, in + off, out + off, CRYPTO_SECTOR_SIZE, err));
    }
out:
    return rc;
}
