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

typedef struct jp {
    const char *s;
    size_t n;
    size_t i;
} jp;

static void ws(jp *j)
{
    while (j->i < j->n &&
           (j->s[j->i] == ' ' || j->s[j->i] == '\t' || j->s[j->i] == '\n' || j->s[j->i] == '\r')) {
        j->i++;
    }
}

static int hex4(jp *j, unsigned *out)
{
    unsigned v = 0;
    if (j->i + 4 > j->n) {
        return -1;
    }
    for (int k = 0; k < 4; k++) {
        char c = j->s[j->i++];
        v <<= 4;
        if (c >= '0' && c <= '9') {
            v |= (unsigned)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            v |= (unsigned)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            v |= (unsigned)(c - 'A' + 10);
        } else {
            return -1;
        }
    }
    *out = v;
    return 0;
}

static int put_utf8(sd_buf *b, unsigned cp)
{
    uint8_t u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (uint8_t)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (uint8_t)(0xc0 | (cp >> 6));
        u[1] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (uint8_t)(0xe0 | (cp >> 12));
        u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (uint8_t)(0xf0 | (cp >> 18));
        u[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return sd_buf_append(b, u, n, NULL) == SD_OK ? 0 : -1;
}

/* An escape after the backslash; 0 on success. */
static int escape(jp *j, sd_buf *b)
{
    static const char from[] = "\"\\/bfnrt";
    static const char to[] = "\"\\/\b\f\n\r\t";
    const char *hit;
    unsigned cp = 0;
    unsigned lo = 0;
    char c;

    if (j->i >= j->n) {
        return -1;
    }
    c = j->s[j->i++];
    if (c != 'u') {
        hit = c != '\0' ? strchr(from, c) : NULL;
        if (hit == NULL) {
            return -1;
        }
        return sd_buf_put_u8(b, (uint8_t)to[hit - from], NULL) == SD_OK ? 0 : -1;
    }
    if (hex4(j, &cp) != 0 || cp == 0 || (cp >= 0xdc00 && cp <= 0xdfff)) {
        return -1; /* NUL and lone low surrogates are refused */
    }
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (j->i + 2 > j->n || j->s[j->i] != '\\' || j->s[j->i + 1] != 'u') {
            return -1;
        }
        j->i += 2;
        if (hex4(j, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff) {
            return -1;
        }
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    }
    return put_utf8(b, cp);
}

/* A JSON string at j->i == '"' into a new NUL-terminated heap string. */
static int string(jp *j, char **out)
{
    sd_buf b = SD_BUF_INIT(KMS_CTX_MAX_BYTES);
    const char *s = NULL;

    *out = NULL;
    if (j->i >= j->n || j->s[j->i] != '"') {
        return -1;
    }
    j->i++;
    while (j->i < j->n) {
        unsigned char c = (unsigned char)j->s[j->i++];
        if (c == '"') {
            if (sd_buf_cstr(&b, &s, NULL) != SD_OK) {
                break;
            }
            *out = (char *)b.data; /* ownership moves to the caller */
            return 0;
        }
        if (c < 0x20) {
            break;
        }
        if (c == '\\') {
            if (escape(j, &b) != 0) {
                break;
            }
        } else if (sd_buf_put_u8(&b, c, NULL) != SD_OK) {
            break;
        }
    }
    sd_buf_free(&b);
    return -1;
}

/* The members after '{' up to and including '}'; *why on failure (the
 * pairs parsed so far stay in p[0..*n) for the caller to free). */
static int members(jp *j, pair *p, size_t *n, const char **why)
{
    size_t total = 0;

    ws(j);
    if (j->i < j->n && j->s[j->i] == '}') {
        j->i++;
        return 0;
    }
    for (;;) {
        if (*n == KMS_CTX_MAX_PAIRS) {
            *why = "more than 64 pairs";
            return -1;
        }
        ws(j);
        (*n)++;
        if (string(j, &p[*n - 1].k) != 0) {
            *why = "a key is not a valid JSON string";
            return -1;
        }
        ws(j);
        if (j->i >= j->n || j->s[j->i++] != ':') {
            *why = "expected ':'";
            return -1;
        }
        ws(j);
        if (string(j, &p[*n - 1].v) != 0) {
            *why = "values must be JSON strings";
            return -1;
        }
        total += strlen(p[*n - 1].k) + strlen(p[*n - 1].v);
        if (p[*n - 1].k[0] == '\0' || total > KMS_CTX_MAX_BYTES) {
            *why = "an empty key, or over 8 KiB";
            return -1;
        }
        ws(j);
        if (j->i < j->n && j->s[j->i] == ',') {
            j->i++;
            continue;
        }
        if (j->i < j->n && j->s[j->i] == '}') {
            j->i++;
            return 0;
        }
        *why = "expected ',' or '}'";
        return -1;
    }
}

sd_code kms_ctx_from_json(const char *json, size_t len, kms_ctx **out, sd_err *err)
{
    pair p[KMS_CTX_MAX_PAIRS] = {{0}};
    size_t n = 0;
    jp j = {json, len, 0};
    const char *why = NULL;

    *out = NULL;
    if (json == NULL || len == 0) {
        return canonical(p, 0, out, err);
    }
    if (len > KMS_CTX_MAX_BYTES * 2) {
        return bad(err, "longer than 16 KiB");
    }
    if (memchr(json, '\0', len) != NULL) {
        return bad(err, "contains a NUL byte");
    }
    ws(&j);
    if (j.i >= j.n || j.s[j.i++] != '{') {
        return bad(err, "not a JSON object");
    }
    if (members(&j, p, &n, &why) != 0) {
        free_pairs(p, n);
        return bad(err, why);
    }
    ws(&j);
    if (j.i != j.n) {
        free_pairs(p, n);
        return bad(err, "text after the object");
    }
    return canonical(p, n, out, err);
}
