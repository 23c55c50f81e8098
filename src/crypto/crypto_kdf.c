/* crypto_kdf.c: HKDF-SHA256, scrypt, SHA-256 and HMAC.
 *
 * HKDF derives each disk's 512-bit XTS key from its 256-bit data key (so the
 * two XTS halves differ by construction); scrypt stretches the root-key
 * passphrase; SHA-256 and HMAC serve request signatures. */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "crypto/crypto_int.h"

sd_code crypto_hkdf_sha256(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt, size_t saltlen,
                           const uint8_t *info, size_t infolen, uint8_t *out, size_t outlen,
                           sd_err *err)
{
    sd_code rc = SD_OK;
    EVP_KDF *kdf = NULL;
    EVP_KDF_CTX *ctx = NULL;
    OSSL_PARAM params[5];
    size_t n = 0;
    static const uint8_t empty[1] = {0};

    SD_ENSURE(outlen > 0 && outlen <= (size_t)255 * 32, err, SD_E_INVALID,
              "HKDF-SHA256 output of %zu bytes", outlen);
    kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    SD_ENSURE(kdf != NULL, err, SD_E_INTERNAL, "HKDF unavailable");
    ctx = EVP_KDF_CTX_new(kdf);
    SD_ENSURE(ctx != NULL, err, SD_E_NOMEM, "out of memory");
    /* OSSL_PARAM takes non-const pointers but the KDF only reads inputs. */
    params[n++] =
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, crypto__unconst("SHA256"), 0);
    params[n++] = OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_KEY, crypto__unconst(ikmlen > 0 ? ikm : empty), ikmlen);
    params[n++] = OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_SALT, crypto__unconst(saltlen > 0 ? salt : empty), saltlen);
    params[n++] = OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_INFO, crypto__unconst(infolen > 0 ? info : empty), infolen);
    params[n] = OSSL_PARAM_construct_end();
    SD_ENSURE(EVP_KDF_derive(ctx, out, outlen, params) > 0, err, SD_E_INTERNAL, "HKDF failed");
out:
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return rc;
}

sd_code crypto_scrypt(const uint8_t *pass, size_t passlen, const uint8_t *salt, size_t saltlen,
                      uint64_t n, uint32_t r, uint32_t p, uint8_t *out, size_t outlen, sd_err *err)
{
    sd_code rc = SD_OK;
    /* memory = 128 * r * N bytes, plus slack; allow up to 1 GiB */
    uint64_t maxmem = 1ULL << 30;

    SD_ENSURE(EVP_PBE_scrypt((const char *)pass, passlen, salt, saltlen, n, r, p, maxmem, out,
                             outlen) == 1,
              err, SD_E_INVALID, "scrypt failed (parameters N=%llu r=%u p=%u)",
              (unsigned long long)n, r, p);
out:
    return rc;
}

sd_code crypto_sha256(const uint8_t *in, size_t n, uint8_t out[CRYPTO_SHA256_LEN], sd_err *err)
{
    unsigned int len = 0;

    if (EVP_Digest(in, n, out, &len, EVP_sha256(), NULL) != 1 || len != CRYPTO_SHA256_LEN) {
        return sd_err_set(err, SD_E_INTERNAL, SD_HERE, "SHA-256 failed");
    }
    return SD_OK;
}

sd_code crypto_hmac(crypto_hmac_alg alg, const uint8_t *key, size_t keylen, const uint8_t *msg,
                    size_t msglen, uint8_t out[CRYPTO_SHA256_LEN], size_t *outlen, sd_err *err)
{
    const EVP_MD *md = alg == CRYPTO_HMAC_SHA1 ? EVP_sha1() : EVP_sha256();
    unsigned int len = 0;
    static const uint8_t empty[1] = {0};

    if (keylen > INT32_MAX || HMAC(md, keylen > 0 ? key : empty, (int)keylen,
                                   msglen > 0 ? msg : empty, msglen, out, &len) == NULL) {
        return sd_err_set(err, SD_E_INTERNAL, SD_HERE, "HMAC failed");
    }
    *outlen = len;
    return SD_OK;
}
