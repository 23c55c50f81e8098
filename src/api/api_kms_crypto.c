/* api_kms_crypto.c: the envelope actions: GenerateDataKey(WithoutPlaintext),
 * Encrypt, Decrypt, ReEncrypt.
 *
 * Wire forms (alibaba-api.md §6.1): CiphertextBlob is base64 of our blob;
 * a generated data key's Plaintext is base64 of its bytes, and Decrypt of
 * its blob returns that same base64; Encrypt's Plaintext is taken as the
 * caller's opaque string and Decrypt returns it unchanged.  An
 * EncryptionContext arrives as JSON text or flattened as
 * EncryptionContext.<key> (the 1.2.0 SDK); both bind the same AAD.
 *
 * Plaintext key bytes live in sd_secrets and in the response buffer, which
 * the HTTP layer wipes once sent. */
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"

/* The context named name (JSON or flattened; never both); NULL when absent. */
static sd_code context_param(api_req *r, const char *name, kms_ctx **out)
{
    sd_code rc = SD_OK;
    const char *json = api_param(r->params, name);
    api_pair *pairs = NULL;
    size_t n = 0;
    const char **keys = NULL;
    const char **values = NULL;
    sd_err why = SD_ERR_INIT;

    *out = NULL;
    SD_TRY(api_param_map(r->params, name, &pairs, &n, r->err));
    SD_ENSUREC(json == NULL || n == 0, r->err, SD_E_INVALID, "InvalidParameter",
               "The specified parameter \"%s\" is not valid: given both as JSON and as %s.<key>.",
               name, name);
    if (json != NULL) {
        if (kms_ctx_from_json(json, strlen(json), out, &why) != SD_OK) {
            SD_FAILC(r->err, SD_E_INVALID, "InvalidParameter",
                     "The specified parameter \"%s\" is not valid: %s", name, why.msg);
        }
    } else if (n > 0) {
        keys = calloc(n, sizeof *keys);
        values = calloc(n, sizeof *values);
        SD_ENSURE(keys != NULL && values != NULL, r->err, SD_E_NOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
            keys[i] = pairs[i].name;
            values[i] = pairs[i].value;
        }
        if (kms_ctx_from_pairs(keys, values, n, out, &why) != SD_OK) {
            SD_FAILC(r->err, SD_E_INVALID, "InvalidParameter",
                     "The specified parameter \"%s\" is not valid: %s", name, why.msg);
        }
    }
out:
    free(keys);
    free(values);
    free(pairs);
    return rc;
}

/* Base64 of n bytes as member key. */
static sd_code b64_member(api_req *r, const char *key, const uint8_t *p, size_t n)
{
    sd_code rc = SD_OK;
    size_t cap = sd_b64_enc_len(n) + 1;
    char *text = malloc(cap);

    SD_ENSURE(text != NULL, r->err, SD_E_NOMEM, "out of memory");
    SD_TRY(sd_b64_encode(p, n, text, cap, r->err));
    sd_jw_str(r->j, key, text);
out:
    if (text != NULL) {
        sd_wipe(text, cap); /* may be a data key */
    }
    free(text);
    return rc;
}

/* The blob of parameter name, decoded into out (KMS_BLOB_MAX). */
static sd_code blob_param(api_req *r, const char *name, uint8_t *out, size_t *n)
{
    sd_code rc = SD_OK;
    const char *text = NULL;

    SD_TRY(api_param_req(r->params, name, &text, r->err));
    if (sd_b64_decode(text, strlen(text), out, KMS_BLOB_MAX, n, NULL) != SD_OK) {
        SD_FAILC(r->err, SD_E_INVALID, "InvalidParameter",
                 "The specified parameter \"%s\" is not valid: not base64 of at most %d bytes.",
                 name, KMS_BLOB_MAX);
    }
out:
    return rc;
}

static void used_members(api_req *r, const kms_used *u)
{
    sd_jw_str(r->j, "KeyId", u->key_id);
    sd_jw_str(r->j, "KeyVersionId", u->version_id);
    api__note_key(r, u->key_id, u->version_id);
}

static sd_code generate(api_req *r, bool with_plaintext)
{
    sd_code rc = SD_OK;
    const char *ref = NULL;
    const char *spec = NULL;
    int64_t nbytes = 0;
    kms_ctx *ctx = NULL;
    sd_secret *plain = NULL;
    sd_buf blob = SD_BUF_INIT(KMS_BLOB_MAX);
    kms_used used = {.key_id = ""};

    SD_TRY(api__key_param(r, "KeyId", &ref));
    SD_TRY(api_param_str(r->params, "KeySpec", 16, &spec, r->err));
    SD_ENSUREC(spec == NULL || strcmp(spec, "AES_256") == 0 || strcmp(spec, "AES_128") == 0, r->err,
               SD_E_INVALID, "InvalidParameter",
               "The specified parameter \"KeySpec\" is not valid: AES_256 or AES_128.");
    SD_TRY(api_param_int(r->params, "NumberOfBytes", 1, 1024,
                         spec != NULL && strcmp(spec, "AES_128") == 0 ? 16 : 32, &nbytes, r->err));
    SD_TRY(context_param(r, "EncryptionContext", &ctx));
    SD_TRY(kms_generate_data_key(r->opts->kms, &r->caller, ref, (size_t)nbytes, ctx,
                                 with_plaintext ? &plain : NULL, &blob, &used, r->err));
    used_members(r, &used);
    SD_TRY(b64_member(r, "CiphertextBlob", blob.data, blob.len));
    if (with_plaintext) {
        SD_TRY(b64_member(r, "Plaintext", sd_secret_data(plain), sd_secret_len(plain)));
    }
out:
    sd_secret_free(plain);
    sd_buf_free(&blob);
    kms_ctx_free(ctx);
    return rc;
}

sd_code api__KMS_GenerateDataKey(api_req *r)
{
    return generate(r, true);
}

sd_code api__KMS_GenerateDataKeyWithoutPlaintext(api_req *r)
{
    return generate(r, false);
}

sd_code api__KMS_Encrypt(api_req *r)
{
    sd_code rc = SD_OK;
    const char *ref = NULL;
    const char *pt = NULL;
    kms_ctx *ctx = NULL;
    sd_buf blob = SD_BUF_INIT(KMS_BLOB_MAX);
    kms_used used = {.key_id = ""};

    SD_TRY(api__key_param(r, "KeyId", &ref));
    SD_TRY(api_param_req(r->params, "Plaintext", &pt, r->err));
    SD_TRY(api_param_str(r->params, "Plaintext", KMS_PLAIN_MAX, &pt, r->err));
    SD_TRY(context_param(r, "EncryptionContext", &ctx));
    SD_TRY(kms_encrypt(r->opts->kms, &r->caller, ref, (const uint8_t *)pt, strlen(pt), ctx, &blob,
                       &used, r->err));
    used_members(r, &used);
    SD_TRY(b64_member(r, "CiphertextBlob", blob.data, blob.len));
out:
    sd_buf_free(&blob);
    kms_ctx_free(ctx);
    return rc;
}

sd_code api__KMS_Decrypt(api_req *r)
{
    sd_code rc = SD_OK;
    uint8_t *blob = malloc(KMS_BLOB_MAX);
    size_t n = 0;
    kms_ctx *ctx = NULL;
    sd_secret *plain = NULL;
    bool is_data_key = false;
    kms_used used = {.key_id = ""};

    SD_ENSURE(blob != NULL, r->err, SD_E_NOMEM, "out of memory");
    SD_TRY(blob_param(r, "CiphertextBlob", blob, &n));
    SD_TRY(context_param(r, "EncryptionContext", &ctx));
    SD_TRY(
        kms_decrypt(r->opts->kms, &r->caller, blob, n, ctx, &plain, &is_data_key, &used, r->err));
    used_members(r, &used);
    if (is_data_key) {
        SD_TRY(b64_member(r, "Plaintext", sd_secret_data(plain), sd_secret_len(plain)));
    } else {
        sd_jw_strn(r->j, "Plaintext", (const char *)sd_secret_data(plain), sd_secret_len(plain));
    }
out:
    sd_secret_free(plain);
    kms_ctx_free(ctx);
    free(blob);
    return rc;
}

sd_code api__KMS_ReEncrypt(api_req *r)
{
    sd_code rc = SD_OK;
    uint8_t *blob = malloc(KMS_BLOB_MAX);
    size_t n = 0;
    const char *dst = NULL;
    kms_ctx *src_ctx = NULL;
    kms_ctx *dst_ctx = NULL;
    sd_buf out_blob = SD_BUF_INIT(KMS_BLOB_MAX);
    kms_used src_used = {.key_id = ""};
    kms_used dst_used = {.key_id = ""};

    SD_ENSURE(blob != NULL, r->err, SD_E_NOMEM, "out of memory");
    SD_TRY(blob_param(r, "CiphertextBlob", blob, &n));
    SD_TRY(api__key_param(r, "DestinationKeyId", &dst));
    SD_TRY(context_param(r, "SourceEncryptionContext", &src_ctx));
    SD_TRY(context_param(r, "DestinationEncryptionContext", &dst_ctx));
    SD_TRY(kms_reencrypt(r->opts->kms, &r->caller, blob, n, src_ctx, dst, dst_ctx, &out_blob,
                         &src_used, &dst_used, r->err));
    used_members(r, &dst_used);
    SD_TRY(b64_member(r, "CiphertextBlob", out_blob.data, out_blob.len));
out:
    sd_buf_free(&out_blob);
    kms_ctx_free(src_ctx);
    kms_ctx_free(dst_ctx);
    free(blob);
    return rc;
}
