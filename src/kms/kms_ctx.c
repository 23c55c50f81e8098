/* kms_ctx.c: the encryption context and its canonical form.
 *
 * An encryption context is a set of string pairs.  It reaches us as a JSON
 * object ({"purpose":"disk"}) or as flattened parameters
 * (EncryptionContext.purpose=disk); both must bind the same bytes, so the
 * pairs are sorted by key (bytewise) and serialised as
 *   u32be(count) then, per pair, u32be(len) key u32be(len) value,
 * which no two different contexts share.  Duplicate keys are refused.
 * The JSON parser is strict (RFC 8259 strings, \u escapes with surrogate
 * pairs to UTF-8, only string values, nothing after the object) and
 * bounded; it parses outside bytes, so it has a fuzz target. */
#include <stdlib.h>
#include <string.h>

#include "kms/kms_int.h"

struct kms_ctx {
    sd_buf canon;
};

typedef struct pair {
    char *k;
    char *v;
} pair;

static sd_code bad(sd_err *err, const char *why)
{
    return sd_err_setc(err, SD_E_INVALID, "InvalidParameter", SD_HERE,
                       "The specified parameter \"EncryptionContext\" is not valid: %s.", why);
}

static int cmp_pair(const void *a, const void *b)
{
    const pair *x = a;
    const pair *y = b;
    return strcmp(x->k, y->k);
}

static void free_pairs(pair *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].k);
        free(p[i].v);
    }
}

/* Sorts, checks for duplicates and serialises; takes ownership of p[0..n). */
static sd_code canonical(pair *p, size_t n, kms_ctx **out, sd_err *err)
{
    sd_code rc = SD_OK;
    kms_ctx *c = NULL;

    *out = NULL;
    qsort(p, n, sizeof *p, cmp_pair);
    for (size_t i = 1; i < n; i++) {
        SD_ENSURE(strcmp(p[i - 1].k, p[i].k) != 0, err, SD_E_INVALID, "%s",
                  "duplicate key in EncryptionContext");
    }
    c = calloc(1, sizeof *c);
    SD_ENSURE(c != NULL, err, SD_E_NOMEM, "out of memory");
    c->canon = (sd_buf)SD_BUF_INIT(KMS_CTX_MAX_BYTES * 2);
    SD_TRY(sd_buf_put_u32be(&c->canon, (uint32_t)n, err));
    for (size_t i = 0; i < n; i++) {
        size_t kl = strlen(p[i].k);
        size_t vl = strlen(p[i].v);
        SD_TRY(sd_buf_put_u32be(&c->canon, (uint32_t)kl, err));
        SD_TRY(sd_buf_append(&c->canon, p[i].k, kl, err));
        SD_TRY(sd_buf_put_u32be(&c->canon, (uint32_t)vl, err));
        SD_TRY(sd_buf_append(&c->canon, p[i].v, vl, err));
    }
    *out = c;
    c = NULL;
out:
    if (rc != SD_OK && err != NULL && err->api_code[0] == '\0') {
        sd_err_clear(err);
        rc = bad(err, "duplicate or oversized keys");
    }
    kms_ctx_free(c);
    free_pairs(p, n);
    return rc;
}

void kms_ctx_free(kms_ctx *c)
{
    if (c == NULL) {
        return;
    }
    sd_buf_free(&c->canon);
    free(c);
}

const uint8_t *kms_ctx_bytes(const kms_ctx *c, size_t *len)
{
    *len = c->canon.len;
    return c->canon.data;
}

sd_code kms_ctx_from_pairs(const char *const *keys, const char *const *values, size_t n,
                           kms_ctx **out, sd_err *err)
{
    pair p[KMS_CTX_MAX_PAIRS] = {{0}};
    size_t total = 0;

    *out = NULL;
    if (n > KMS_CTX_MAX_PAIRS) {
        return bad(err, "more than 64 pairs");
    }
    for (size_t i = 0; i < n; i++) {
        total += strlen(keys[i]) + strlen(values[i]);
        p[i].k = strdup(keys[i]);
        p[i].v = strdup(values[i]);
        if (p[i].k == NULL || p[i].v == NULL || keys[i][0] == '\0' || total > KMS_CTX_MAX_BYTES) {
            free_pairs(p, i + 1);
            return bad(err, "an empty key, or over 8 KiB");
        }
    }
    return canonical(p, n, out, err); /* takes the pairs */
}

/* ---- the JSON object parser ------------------------------------------- */

/* The JSON text is read by common's sd_json (one decoder for every JSON
 * parameter); this checks the shape: an object of string values with
 * non-empty keys, within the context's limits. */
static sd_code object_pairs(const sd_json_val *root, pair *p, size_t *n, sd_err *err)
{
    size_t total = 0;

    if (root->type != SD_JSON_OBJECT) {
        return bad(err, "not a JSON object");
    }
    if (root->n > KMS_CTX_MAX_PAIRS) {
        return bad(err, "more than 64 pairs");
    }
    for (const sd_json_val *v = root->child; v != NULL; v = v->next) {
        if (v->type != SD_JSON_STRING) {
            return bad(err, "values must be JSON strings");
        }
        total += strlen(v->key) + v->len;
        if (v->key[0] == '\0' || total > KMS_CTX_MAX_BYTES) {
            return bad(err, "an empty key, or over 8 KiB");
        }
        p[*n].k = strdup(v->key);
        p[*n].v = strdup(v->str);
        (*n)++;
        if (p[*n - 1].k == NULL || p[*n - 1].v == NULL) {
            return sd_err_set(err, SD_E_NOMEM, SD_HERE, "out of memory");
        }
    }
    return SD_OK;
}

sd_code kms_ctx_from_json(const char *json, size_t len, kms_ctx **out, sd_err *err)
{
    pair p[KMS_CTX_MAX_PAIRS] = {{0}};
    size_t n = 0;
    sd_json_doc *doc = NULL;
    sd_err why = SD_ERR_INIT;
    sd_code rc;

    *out = NULL;
    if (json == NULL || len == 0) {
        return canonical(p, 0, out, err);
    }
    if (len > KMS_CTX_MAX_BYTES * 2) {
        return bad(err, "longer than 16 KiB");
    }
    if (sd_json_parse(json, len, 2 * KMS_CTX_MAX_PAIRS + 1, &doc, &why) != SD_OK) {
        return bad(err, why.msg);
    }
    rc = object_pairs(sd_json_root(doc), p, &n, err);
    sd_json_doc_free(doc);
    if (rc != SD_OK) {
        free_pairs(p, n);
        return rc;
    }
    return canonical(p, n, out, err);
}
