/* kms_blob.c: the ciphertext blob, version 1.
 *
 *   u8 format (1) | u8 kind | u8 len, key id | u8 len, version id |
 *   12-byte nonce | ciphertext | 16-byte GCM tag
 *
 * AES-256-GCM under the CMK version's key; AAD = "sealdisk-kms-blob-v1",
 * then every header byte (format to version id), then the canonical
 * encryption context.  So a changed key id, kind, version, nonce,
 * ciphertext, tag or context fails authentication, and Decrypt finds the
 * key from the blob alone. */
#include <string.h>

#include "crypto/crypto.h"
#include "kms/kms_int.h"

#define BLOB_FORMAT 1
static const char blob_domain[] = "sealdisk-kms-blob-v1";

static sd_code malformed(sd_err *err, const char *why)
{
    return sd_err_setc(err, SD_E_INVALID, "InvalidParameter", SD_HERE,
                       "The specified parameter \"CiphertextBlob\" is not valid: %s.", why);
}

static int id_ok(const uint8_t *p, size_t n)
{
    if (n == 0 || n >= KMS_ID_MAX) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (p[i] <= 0x20 || p[i] >= 0x7f) {
            return 0;
        }
    }
    return 1;
}

sd_code kms__blob_parse(const uint8_t *bytes, size_t len, kms_blob *out, sd_err *err)
{
    sd_rd r = sd_rd_make(bytes, len);
    uint8_t format = 0;
    uint8_t n = 0;
    const uint8_t *p = NULL;

    *out = (kms_blob){0};
    if (sd_rd_u8(&r, &format, NULL) != SD_OK || format != BLOB_FORMAT) {
        return malformed(err, "not a sealdisk ciphertext");
    }
    if (sd_rd_u8(&r, &out->kind, NULL) != SD_OK ||
        (out->kind != KMS_BLOB_DATA_KEY && out->kind != KMS_BLOB_DATA)) {
        return malformed(err, "unknown kind");
    }
    if (sd_rd_u8(&r, &n, NULL) != SD_OK || sd_rd_bytes(&r, n, &p, NULL) != SD_OK || !id_ok(p, n)) {
        return malformed(err, "bad key id");
    }
    memcpy(out->key_id, p, n);
    if (sd_rd_u8(&r, &n, NULL) != SD_OK || sd_rd_bytes(&r, n, &p, NULL) != SD_OK || !id_ok(p, n)) {
        return malformed(err, "bad key version id");
    }
    memcpy(out->version_id, p, n);
    out->header = bytes;
    out->header_len = r.pos;
    if (sd_rd_left(&r) < CRYPTO_GCM_IV_LEN + CRYPTO_GCM_TAG_LEN ||
        sd_rd_left(&r) > CRYPTO_GCM_IV_LEN + CRYPTO_GCM_TAG_LEN + KMS_PLAIN_MAX) {
        return malformed(err, "truncated or oversized");
    }
    out->nonce = bytes + r.pos;
    out->ct = out->nonce + CRYPTO_GCM_IV_LEN;
    out->ct_len = sd_rd_left(&r) - CRYPTO_GCM_IV_LEN - CRYPTO_GCM_TAG_LEN;
    out->tag = out->ct + out->ct_len;
    return SD_OK;
}

static sd_code make_aad(const uint8_t *header, size_t hlen, const kms_ctx *ctx, sd_buf *aad,
                        sd_err *err)
{
    sd_code rc = SD_OK;
    size_t clen = 0;
    const uint8_t *cb = NULL;
    static const uint8_t empty_ctx[4] = {0, 0, 0, 0}; /* u32be(0): no pairs */

    if (ctx != NULL) {
        cb = kms_ctx_bytes(ctx, &clen);
    } else {
        cb = empty_ctx;
        clen = sizeof empty_ctx;
    }
    SD_TRY(sd_buf_append(aad, blob_domain, sizeof blob_domain - 1, err));
    SD_TRY(sd_buf_append(aad, header, hlen, err));
    SD_TRY(sd_buf_append(aad, cb, clen, err));
out:
    return rc;
}

sd_code kms__blob_seal(const sd_secret *vkey, uint8_t kind, const char *key_id,
                       const char *version_id, const kms_ctx *ctx, const uint8_t *pt, size_t ptlen,
                       const sd_rng *rng, sd_buf *out, sd_err *err)
{
    sd_code rc = SD_OK;
    sd_buf aad = SD_BUF_INIT(KMS_CTX_MAX_BYTES * 3);
    size_t start = out->len;
    size_t klen = strlen(key_id);
    size_t vlen = strlen(version_id);
    uint8_t nonce[CRYPTO_GCM_IV_LEN];
    uint8_t tag[CRYPTO_GCM_TAG_LEN];
    uint8_t *ct;

    SD_ENSURE(klen > 0 && klen < KMS_ID_MAX && vlen > 0 && vlen < KMS_ID_MAX &&
                  ptlen <= KMS_PLAIN_MAX,
              err, SD_E_INTERNAL, "blob fields out of range");
    SD_TRY(sd_buf_put_u8(out, BLOB_FORMAT, err));
    SD_TRY(sd_buf_put_u8(out, kind, err));
    SD_TRY(sd_buf_put_u8(out, (uint8_t)klen, err));
    SD_TRY(sd_buf_append(out, key_id, klen, err));
    SD_TRY(sd_buf_put_u8(out, (uint8_t)vlen, err));
    SD_TRY(sd_buf_append(out, version_id, vlen, err));
    SD_TRY(make_aad(out->data + start, out->len - start, ctx, &aad, err));
    SD_TRY(sd_rng_fill(rng, nonce, sizeof nonce, err));
    SD_TRY(sd_buf_append(out, nonce, sizeof nonce, err));
    SD_TRY(sd_buf_reserve(out, ptlen + sizeof tag, err));
    ct = out->data + out->len;
    SD_TRY(crypto_aead_seal(vkey, nonce, aad.data, aad.len, pt, ptlen, ct, tag, err));
    out->len += ptlen;
    SD_TRY(sd_buf_append(out, tag, sizeof tag, err));
out:
    if (rc != SD_OK) {
        out->len = start;
    }
    sd_buf_free(&aad);
    return rc;
}

sd_code kms__blob_open(const sd_secret *vkey, const kms_blob *b, const kms_ctx *ctx,
                       sd_secret **plain, sd_err *err)
{
    sd_code rc = SD_OK;
    sd_buf aad = SD_BUF_INIT(KMS_CTX_MAX_BYTES * 3);
    sd_secret *pt = NULL;

    *plain = NULL;
    SD_TRY(make_aad(b->header, b->header_len, ctx, &aad, err));
    SD_TRY(sd_secret_new(b->ct_len, &pt, err));
    rc = crypto_aead_open(vkey, b->nonce, aad.data, aad.len, b->ct, b->ct_len, b->tag,
                          sd_secret_data(pt), NULL);
    SD_ENSUREC(rc == SD_OK, err, SD_E_AUTH, "InvalidParameter",
               "The CiphertextBlob cannot be decrypted: it was altered, or the "
               "EncryptionContext differs from the one used to encrypt it.");
    *plain = sd_secret_take(&pt);
out:
    sd_secret_free(pt);
    sd_buf_free(&aad);
    return rc;
}
