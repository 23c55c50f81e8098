/* crypto_rsa.c: RSA key pairs for BYOK import and unwrapping.
 *
 * GetParametersForImport hands out the public half of a fresh RSA-2048 pair;
 * ImportKeyMaterial unwraps the customer's key material with the private
 * half under the padding the customer chose.  The private key is persisted
 * only through crypto_rsa_private_der, whose output is an sd_secret that the
 * caller wraps under the root key. */
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "crypto/crypto_int.h"

struct crypto_rsa {
    EVP_PKEY *pkey;
};

void crypto_rsa_free(crypto_rsa *k)
{
    if (k == NULL) {
        return;
    }
    EVP_PKEY_free(k->pkey);
    free(k);
}

sd_code crypto_rsa_generate(unsigned bits, crypto_rsa **out, sd_err *err)
{
    sd_code rc = SD_OK;
    crypto_rsa *k = NULL;

    *out = NULL;
    SD_ENSURE(bits >= 2048 && bits <= 4096, err, SD_E_INVALID, "RSA key of %u bits", bits);
    k = calloc(1, sizeof *k);
    SD_ENSURE(k != NULL, err, SD_E_NOMEM, "out of memory");
    k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
    SD_ENSURE(k->pkey != NULL, err, SD_E_INTERNAL, "RSA key generation failed");
    *out = k;
    k = NULL;
out:
    crypto_rsa_free(k);
    return rc;
}

sd_code crypto_rsa_from_private_der(const uint8_t *der, size_t n, crypto_rsa **out, sd_err *err)
{
    sd_code rc = SD_OK;
    crypto_rsa *k = NULL;
    const unsigned char *p = der;

    *out = NULL;
    SD_ENSURE(n > 0 && n < (1u << 20), err, SD_E_INVALID, "RSA private key of %zu bytes", n);
    k = calloc(1, sizeof *k);
    SD_ENSURE(k != NULL, err, SD_E_NOMEM, "out of memory");
    k->pkey = d2i_AutoPrivateKey(NULL, &p, (long)n);
    SD_ENSURE(k->pkey != NULL && EVP_PKEY_is_a(k->pkey, "RSA"), err, SD_E_INVALID,
              "not an RSA private key");
    *out = k;
    k = NULL;
out:
    crypto_rsa_free(k);
    return rc;
}

sd_code crypto_rsa_private_der(const crypto_rsa *k, sd_secret **out, sd_err *err)
{
    sd_code rc = SD_OK;
    sd_secret *s = NULL;
    unsigned char *p;
    int n;

    *out = NULL;
    n = i2d_PrivateKey(k->pkey, NULL);
    SD_ENSURE(n > 0, err, SD_E_INTERNAL, "cannot encode the RSA private key");
    SD_TRY(sd_secret_new((size_t)n, &s, err));
    p = sd_secret_data(s);
    SD_ENSURE(i2d_PrivateKey(k->pkey, &p) == n, err, SD_E_INTERNAL,
              "cannot encode the RSA private key");
    *out = sd_secret_take(&s);
out:
    sd_secret_free(s);
    return rc;
}

sd_code crypto_rsa_public_der(const crypto_rsa *k, sd_buf *out, sd_err *err)
{
    sd_code rc = SD_OK;
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(k->pkey, &der);

    SD_ENSURE(n > 0, err, SD_E_INTERNAL, "cannot encode the RSA public key");
    SD_TRY(sd_buf_append(out, der, (size_t)n, err));
out:
    OPENSSL_free(der);
    return rc;
}

sd_code crypto_rsa_unwrap(const crypto_rsa *k, crypto_rsa_pad pad, const uint8_t *ct, size_t ctlen,
                          sd_secret **out, sd_err *err)
{
    sd_code rc = SD_OK;
    EVP_PKEY_CTX *ctx = NULL;
    sd_secret *s = NULL;
    size_t n = 0;

    *out = NULL;
    ctx = EVP_PKEY_CTX_new(k->pkey, NULL);
    SD_ENSURE(ctx != NULL, err, SD_E_NOMEM, "out of memory");
    SD_ENSURE_OSSL(EVP_PKEY_decrypt_init(ctx), err, "RSA decrypt init failed");
    switch (pad) {
    case CRYPTO_RSA_OAEP_SHA256:
    case CRYPTO_RSA_OAEP_SHA1: {
        const EVP_MD *md = pad == CRYPTO_RSA_OAEP_SHA256 ? EVP_sha256() : EVP_sha1();
        SD_ENSURE(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0, err, SD_E_INTERNAL,
                  "RSA padding rejected");
        SD_ENSURE(EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md) > 0, err, SD_E_INTERNAL,
                  "OAEP digest rejected");
        SD_ENSURE(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) > 0, err, SD_E_INTERNAL,
                  "MGF1 digest rejected");
        break;
    }
    case CRYPTO_RSA_PKCS1_V15:
        SD_ENSURE(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0, err, SD_E_INTERNAL,
                  "RSA padding rejected");
        break;
    }
    SD_ENSURE(EVP_PKEY_decrypt(ctx, NULL, &n, ct, ctlen) == 1 && n > 0, err, SD_E_AUTH,
              "the wrapped key material cannot be decrypted");
    SD_TRY(sd_secret_new(n, &s, err));
    SD_ENSURE(EVP_PKEY_decrypt(ctx, sd_secret_data(s), &n, ct, ctlen) == 1, err, SD_E_AUTH,
              "the wrapped key material cannot be decrypted with this wrapping key and algorithm");
    sd_secret_truncate(s, n);
    *out = sd_secret_take(&s);
out:
    sd_secret_free(s);
    EVP_PKEY_CTX_free(ctx);
    return rc;
}
