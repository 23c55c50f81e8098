/* kms_client.c: the in-process kms_client: each call forwards to the kms
 * handle, adding only the data-key checks the disk side relies on. */
#include "kms/kms_client.h"

static sd_code local_generate(void *h, const kms_caller *c, const char *ref, const kms_ctx *ctx,
                              sd_secret **dk, sd_buf *blob, kms_used *used, sd_err *err)
{
    return kms_generate_data_key(h, c, ref, 32, ctx, dk, blob, used, err);
}

static sd_code local_decrypt(void *h, const kms_caller *c, const uint8_t *blob, size_t len,
                             const kms_ctx *ctx, sd_secret **dk, kms_used *used, sd_err *err)
{
    sd_code rc = SD_OK;
    bool is_dk = false;

    SD_TRY(kms_decrypt(h, c, blob, len, ctx, dk, &is_dk, used, err));
    if (!is_dk) {
        sd_secret_free(*dk);
        *dk = NULL;
        SD_FAILC(err, SD_E_INVALID, "InvalidParameter",
                 "the blob holds Encrypt data, not a data key");
    }
out:
    return rc;
}

static sd_code local_reencrypt(void *h, const kms_caller *c, const uint8_t *blob, size_t len,
                               const kms_ctx *ctx, const char *dst_ref, sd_buf *out, kms_used *used,
                               sd_err *err)
{
    return kms_reencrypt(h, c, blob, len, ctx, dst_ref, ctx, out, NULL, used, err);
}

static sd_code local_describe(void *h, const kms_caller *c, const char *ref, kms_key_meta *out,
                              sd_err *err)
{
    return kms_describe_key(h, c, ref, out, err);
}

static const kms_client_ops local_ops = {
    local_generate,
    local_decrypt,
    local_reencrypt,
    local_describe,
};

kms_client kms_client_local(kms *k)
{
    kms_client c = {&local_ops, k};
    return c;
}
