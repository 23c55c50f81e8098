/* iam_sig.c: Alibaba Cloud OpenAPI request signatures, v1 and V3.
 *
 * RPC v1 (research/alibaba-api.md §3.3): every query and form-body parameter
 * except Signature, sorted by name, joined as enc(name)=enc(value) with '&';
 * StringToSign = METHOD "&%2F&" enc(canonical query); the signature is
 * base64(HMAC-SHA1(secret "&", StringToSign)).
 *
 * V3 ACS3-HMAC-SHA256 (§3.4): the canonical request is built from the
 * SignedHeaders list of the Authorization header (which must be sorted,
 * unique, present, and include host, content-type when the request has
 * one, and every x-acs-* header of the request, as the official signer
 * signs them); the body hash must equal
 * x-acs-content-sha256; StringToSign = "ACS3-HMAC-SHA256\n"
 * hex(SHA-256(canonical request)); the signature is hex(HMAC-SHA256(secret,
 * StringToSign)).
 *
 * Canonicalisation starts from decoded values (the wire form is not
 * canonical).  Signatures are compared in constant time, and no error
 * message carries the string-to-sign: it would echo request parameters. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/sd_b64.h"
#include "crypto/crypto.h"
#include "iam/iam_int.h"

#define V3_ALG         "ACS3-HMAC-SHA256"
#define SIG_BUF_MAX    ((size_t)4 * 1024 * 1024)
#define V3_SH_MAX      1024
#define V3_SIG_HEX_LEN 64

static const char *const v3_required[] = {
    "host",       "x-acs-action",          "x-acs-content-sha256",
    "x-acs-date", "x-acs-signature-nonce", "x-acs-version"};

typedef struct v3_auth {
    char cred[IAM_AKID_MAX];
    char sh[V3_SH_MAX];
    char sig[V3_SIG_HEX_LEN + 1];
} v3_auth;

static const char *hdr_get(const iam_request *req, const char *name)
{
    for (size_t i = 0; i < req->n_headers; i++) {
        if (strcmp(req->headers[i].name, name) == 0) {
            return req->headers[i].value;
        }
    }
    return NULL;
}

static size_t hdr_count(const iam_request *req, const char *name)
{
    size_t n = 0;

    for (size_t i = 0; i < req->n_headers; i++) {
        n += strcmp(req->headers[i].name, name) == 0;
    }
    return n;
}

static const char *v3_authz(const iam_request *req)
{
    const char *a = hdr_get(req, "authorization");
    return a != NULL && strncmp(a, "ACS3-", 5) == 0 ? a : NULL;
}

/* Copies src into dst[cap] or fails with InvalidParameter naming what. */
static sd_code copy_field(char *dst, size_t cap, const char *src, const char *what, sd_err *err)
{
    size_t n = strlen(src);

    if (n >= cap) {
        return sd_err_setc(err, SD_E_INVALID, IAM_C_INVALID, SD_HERE,
                           "The parameter %s is too long.", what);
    }
    memcpy(dst, src, n + 1);
    return SD_OK;
}

/* The value of a v1 parameter from the query or the form body. */
static const char *v1_get(const iam_request *req, const char *name)
{
    const char *v = iam_params_get(req->query, name);
    return v != NULL ? v : iam_params_get(req->form, name);
}

static sd_code v1_require(const iam_request *req, const char *name, char *dst, size_t cap,
                          sd_err *err)
{
    const char *v = v1_get(req, name);

    if (v == NULL || v[0] == '\0') {
        return sd_err_setc(err, SD_E_INVALID, IAM_C_MISSING, SD_HERE,
                           "The input parameter %s that is mandatory for processing this request "
                           "is not supplied.",
                           name);
    }
    return copy_field(dst, cap, v, name, err);
}

static sd_code v1_parse(const iam_request *req, iam_sig_info *out, sd_err *err)
{
    sd_code rc = SD_OK;
    char tmp[32];

    if (req->query != NULL && req->form != NULL) {
        for (size_t i = 0; i < req->form->n; i++) {
            SD_ENSUREC(iam_params_get(req->query, req->form->v[i].name) == NULL, err, SD_E_INVALID,
                       IAM_C_INVALID, "The parameter %s is both in the query and in the body.",
                       req->form->v[i].name);
        }
    }
    SD_TRY(v1_require(req, "Signature", tmp, sizeof tmp, err));
    SD_TRY(v1_require(req, "AccessKeyId", out->access_key_id, sizeof out->access_key_id, err));
    SD_TRY(v1_require(req, "Timestamp", out->timestamp, sizeof out->timestamp, err));
    SD_TRY(v1_require(req, "SignatureNonce", out->nonce, sizeof out->nonce, err));
    SD_TRY(v1_require(req, "SignatureMethod", tmp, sizeof tmp, err));
    SD_ENSUREC(strcmp(tmp, "HMAC-SHA1") == 0, err, SD_E_INVALID, IAM_C_INVALID,
               "The specified SignatureMethod is not supported.");
    SD_TRY(v1_require(req, "SignatureVersion", tmp, sizeof tmp, err));
    SD_ENSUREC(strcmp(tmp, "1.0") == 0, err, SD_E_INVALID, IAM_C_INVALID,
               "The specified SignatureVersion is not supported.");
    SD_TRY(v1_require(req, "Action", out->action, sizeof out->action, err));
    SD_TRY(v1_require(req, "Version", out->version, sizeof out->version, err));
    out->scheme = IAM_SIG_V1;
out:
    return rc;
}

static sd_code incomplete(sd_err *err, const char *why)
{
    return sd_err_setc(err, SD_E_AUTH, IAM_C_INCOMPL, SD_HERE,
                       "The request signature does not conform to Alibaba Cloud standards: %s.",
                       why);
}

/* Copies the "key=" field of the comma-separated list a into dst. */
static bool auth_field(const char *a, const char *key, char *dst, size_t cap)
{
    size_t kl = strlen(key);
    const char *p = a;

    while (p != NULL && *p != '\0') {
        const char *end;
        size_t n;
        while (*p == ' ' || *p == ',') {
            p++;
        }
        end = strchr(p, ',');
        n = end != NULL ? (size_t)(end - p) : strlen(p);
        if (n > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
            n -= kl + 1;
            if (n == 0 || n >= cap) {
                return false;
            }
            memcpy(dst, p + kl + 1, n);
            dst[n] = '\0';
            return true;
        }
        p = end;
    }
    return false;
}

#define FAIL_INCOMPLETE(why)         \
    do {                             \
        rc = incomplete((err), why); \
        goto out;                    \
    } while (0)

static bool sh_contains(const char *sh, const char *name)
{
    size_t nl = strlen(name);
    const char *p = sh;

    while (p != NULL) {
        const char *end = strchr(p, ';');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        if (n == nl && strncmp(p, name, n) == 0) {
            return true;
        }
        p = end != NULL ? end + 1 : NULL;
    }
    return false;
}

/* The headers the official V3 signer signs whenever a request has them. */
static bool signable(const char *name)
{
    return strcmp(name, "host") == 0 || strcmp(name, "content-type") == 0 ||
           strncmp(name, "x-acs-", 6) == 0;
}

/* Every header of req that the official signer signs is in sh. */
static sd_code sh_covers(const iam_request *req, const char *sh, sd_err *err)
{
    for (size_t i = 0; i < req->n_headers; i++) {
        if (signable(req->headers[i].name) && !sh_contains(sh, req->headers[i].name)) {
            return incomplete(err, "host, content-type and every x-acs-* header must be signed");
        }
    }
    return SD_OK;
}

/* SignedHeaders: non-empty lower-case names, strictly ascending, each
 * present in the request, the required ones among them, and every header
 * of the request that the official signer signs (content-type, x-acs-*):
 * an unsigned one could be changed in flight without breaking the
 * signature. */
static sd_code sh_validate(const iam_request *req, const char *sh, sd_err *err)
{
    sd_code rc = SD_OK;
    const char *p = sh;
    char prev[128] = "";

    while (p != NULL) {
        const char *end = strchr(p, ';');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        char name[128];
        if (n == 0 || n >= sizeof name) {
            FAIL_INCOMPLETE("a SignedHeaders entry is empty or too long");
        }
        memcpy(name, p, n);
        name[n] = '\0';
        for (size_t i = 0; i < n; i++) {
            if (name[i] >= 'A' && name[i] <= 'Z') {
                FAIL_INCOMPLETE("SignedHeaders must be lower case");
            }
        }
        if (strcmp(prev, name) >= 0) {
            FAIL_INCOMPLETE("SignedHeaders must be sorted and unique");
        }
        if (hdr_get(req, name) == NULL) {
            FAIL_INCOMPLETE("a signed header is absent from the request");
        }
        memcpy(prev, name, n + 1);
        p = end != NULL ? end + 1 : NULL;
    }
    for (size_t i = 0; i < sizeof v3_required / sizeof v3_required[0]; i++) {
        if (!sh_contains(sh, v3_required[i])) {
            FAIL_INCOMPLETE("a required header is not signed");
        }
        if (hdr_count(req, v3_required[i]) != 1) {
            FAIL_INCOMPLETE("a required header is repeated");
        }
    }
    SD_TRY(sh_covers(req, sh, err));
out:
    return rc;
}

static sd_code v3_parse_auth(const iam_request *req, v3_auth *a, sd_err *err)
{
    sd_code rc = SD_OK;
    const char *h = v3_authz(req);

    if (hdr_count(req, "authorization") != 1) {
        FAIL_INCOMPLETE("the Authorization header is repeated");
    }
    if (strncmp(h, V3_ALG " ", sizeof V3_ALG) != 0) {
        FAIL_INCOMPLETE("the signature algorithm is not supported");
    }
    h += sizeof V3_ALG;
    if (!auth_field(h, "Credential", a->cred, sizeof a->cred) ||
        !auth_field(h, "SignedHeaders", a->sh, sizeof a->sh) ||
        !auth_field(h, "Signature", a->sig, sizeof a->sig)) {
        FAIL_INCOMPLETE("the Authorization header is malformed");
    }
    SD_TRY(sh_validate(req, a->sh, err));
out:
    return rc;
}

static sd_code v3_parse(const iam_request *req, v3_auth *a, iam_sig_info *out, sd_err *err)
{
    sd_code rc = SD_OK;

    SD_TRY(v3_parse_auth(req, a, err));
    SD_TRY(copy_field(out->access_key_id, sizeof out->access_key_id, a->cred, "Credential", err));
    SD_TRY(copy_field(out->action, sizeof out->action, hdr_get(req, "x-acs-action"), "x-acs-action",
                      err));
    SD_TRY(copy_field(out->version, sizeof out->version, hdr_get(req, "x-acs-version"),
                      "x-acs-version", err));
    SD_TRY(copy_field(out->timestamp, sizeof out->timestamp, hdr_get(req, "x-acs-date"),
                      "x-acs-date", err));
    SD_TRY(copy_field(out->nonce, sizeof out->nonce, hdr_get(req, "x-acs-signature-nonce"),
                      "x-acs-signature-nonce", err));
    out->scheme = IAM_SIG_V3;
out:
    return rc;
}

sd_code iam_sig_parse(const iam_request *req, iam_sig_info *out, sd_err *err)
{
    v3_auth a;
    static const iam_sig_info zero = {0};

    *out = zero;
    if (v3_authz(req) != NULL) {
        return v3_parse(req, &a, out, err);
    }
    return v1_parse(req, out, err);
}

/* ---- canonical forms --------------------------------------------------- */

static int pair_cmp(const void *a, const void *b)
{
    const iam_pair *x = *(const iam_pair *const *)a;
    const iam_pair *y = *(const iam_pair *const *)b;
    int c = strcmp(x->name, y->name);
    return c != 0 ? c : strcmp(x->value, y->value);
}

/* Appends the sorted enc(name)=enc(value)&… of a and b (either may be NULL),
 * leaving out a parameter named skip (may be NULL). */
static sd_code canon_query(const iam_params *a, const iam_params *b, const char *skip, sd_buf *out,
                           sd_err *err)
{
    sd_code rc = SD_OK;
    size_t na = a != NULL ? a->n : 0;
    size_t nb = b != NULL ? b->n : 0;
    const iam_pair **v = calloc(na + nb + 1, sizeof(const iam_pair *));
    size_t n = 0;

    SD_ENSURE(v != NULL, err, SD_E_NOMEM, "out of memory");
    for (size_t i = 0; i < na + nb; i++) {
        const iam_pair *p = i < na ? &a->v[i] : &b->v[i - na];
        if (skip == NULL || strcmp(p->name, skip) != 0) {
            v[n++] = p;
        }
    }
    qsort(v, n, sizeof(const iam_pair *), pair_cmp);
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            SD_TRY(sd_buf_put_u8(out, '&', err));
        }
        SD_TRY(iam_pct_encode(v[i]->name, strlen(v[i]->name), out, err));
        SD_TRY(sd_buf_put_u8(out, '=', err));
        SD_TRY(iam_pct_encode(v[i]->value, strlen(v[i]->value), out, err));
    }
out:
    free(v);
    return rc;
}

static sd_code v1_sts_of(const char *method, const iam_params *a, const iam_params *b, sd_buf *out,
                         sd_err *err)
{
    sd_code rc = SD_OK;
    sd_buf cq = SD_BUF_INIT(SIG_BUF_MAX);

    SD_TRY(canon_query(a, b, "Signature", &cq, err));
    SD_TRY(sd_buf_puts(out, method, err));
    SD_TRY(sd_buf_puts(out, "&%2F&", err));
    SD_TRY(iam_pct_encode((const char *)cq.data, cq.len, out, err));
out:
    sd_buf_free(&cq);
    return rc;
}

static const char *trim(const char *s, size_t *n)
{
    size_t len = strlen(s);
    while (len > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t')) {
        len--;
    }
    *n = len;
    return s;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Appends "name:v1,v2\n" for one signed header (values trimmed and sorted). */
static sd_code canon_header(const iam_request *req, const char *name, sd_buf *out, sd_err *err)
{
    sd_code rc = SD_OK;
    const char **vals = calloc(req->n_headers + 1, sizeof *vals);
    size_t n = 0;

    SD_ENSURE(vals != NULL, err, SD_E_NOMEM, "out of memory");
    for (size_t i = 0; i < req->n_headers; i++) {
        if (strcmp(req->headers[i].name, name) == 0) {
            vals[n++] = req->headers[i].value;
        }
    }
    qsort(vals, n, sizeof *vals, str_cmp);
    SD_TRY(sd_buf_puts(out, name, err));
    SD_TRY(sd_buf_put_u8(out, ':', err));
    for (size_t i = 0; i < n; i++) {
        size_t tl;
        const char *t = trim(vals[i], &tl);
        if (i > 0) {
            SD_TRY(sd_buf_put_u8(out, ',', err));
        }
        SD_TRY(sd_buf_append(out, t, tl, err));
    }
    SD_TRY(sd_buf_put_u8(out, '\n', err));
out:
    free(vals);
    return rc;
}

sd_code iam_body_sha256_hex(const uint8_t *body, size_t n, char out[65], sd_err *err)
{
    sd_code rc = SD_OK;
    uint8_t h[CRYPTO_SHA256_LEN];
    static const uint8_t empty[1] = {0};

    SD_TRY(crypto_sha256(body != NULL ? body : empty, n, h, err));
    sd_hex(h, sizeof h, out);
out:
    return rc;
}

static sd_code v3_sts_of(const iam_request *req, const char *sh, sd_buf *out, sd_err *err)
{
    sd_code rc = SD_OK;
    sd_buf cr = SD_BUF_INIT(SIG_BUF_MAX);
    const char *p = sh;
    char hex[65];
    uint8_t h[CRYPTO_SHA256_LEN];

    SD_TRY(sd_buf_puts(&cr, req->method, err));
    SD_TRY(sd_buf_put_u8(&cr, '\n', err));
    SD_TRY(sd_buf_puts(&cr, req->path != NULL && req->path[0] != '\0' ? req->path : "/", err));
    SD_TRY(sd_buf_put_u8(&cr, '\n', err));
    SD_TRY(canon_query(req->query, NULL, NULL, &cr, err));
    SD_TRY(sd_buf_put_u8(&cr, '\n', err));
    while (p != NULL) {
        const char *end = strchr(p, ';');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        char name[128];
        SD_ENSURE(n < sizeof name, err, SD_E_INVALID, "signed header name too long");
        memcpy(name, p, n);
        name[n] = '\0';
        SD_TRY(canon_header(req, name, &cr, err));
        p = end != NULL ? end + 1 : NULL;
    }
    SD_TRY(sd_buf_put_u8(&cr, '\n', err));
    SD_TRY(sd_buf_puts(&cr, sh, err));
    SD_TRY(sd_buf_put_u8(&cr, '\n', err));
    SD_TRY(iam_body_sha256_hex(req->body, req->body_len, hex, err));
    SD_TRY(sd_buf_puts(&cr, hex, err));
    SD_TRY(crypto_sha256(cr.data, cr.len, h, err));
    sd_hex(h, sizeof h, hex);
    SD_TRY(sd_buf_puts(out, V3_ALG "\n", err));
    SD_TRY(sd_buf_puts(out, hex, err));
out:
    sd_buf_free(&cr);
    return rc;
}

sd_code iam_sig_string_to_sign(const iam_request *req, sd_buf *out, sd_err *err)
{
    sd_code rc = SD_OK;
    iam_sig_info info = {0};
    v3_auth a;

    if (v3_authz(req) != NULL) {
        SD_TRY(v3_parse(req, &a, &info, err));
        SD_TRY(v3_sts_of(req, a.sh, out, err));
    } else {
        SD_TRY(iam_sig_parse(req, &info, err));
        SD_TRY(v1_sts_of(req->method, req->query, req->form, out, err));
    }
out:
    return rc;
}

/* ---- HMAC and comparison ----------------------------------------------- */

static sd_code mac(crypto_hmac_alg alg, const sd_secret *secret, bool amp, const sd_buf *msg,
                   uint8_t out[CRYPTO_SHA256_LEN], size_t *outlen, sd_err *err)
{
    sd_code rc = SD_OK;
    sd_secret *key = NULL;
    size_t sl = sd_secret_len(secret);

    SD_TRY(sd_secret_new(sl + (amp ? 1 : 0), &key, err));
    memcpy(sd_secret_data(key), sd_secret_data(secret), sl);
    if (amp) {
        sd_secret_data(key)[sl] = '&';
    }
    SD_TRY(crypto_hmac(alg, sd_secret_data(key), sd_secret_len(key), msg->data, msg->len, out,
                       outlen, err));
out:
    sd_secret_free(key);
    return rc;
}

static sd_code mismatch(sd_err *err)
{
    return sd_err_setc(err, SD_E_AUTH, IAM_C_MISMATCH, SD_HERE,
                       "Specified signature is not matched with our calculation.");
}

static bool hex_decode(const char *s, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i++) {
        int hi = -1;
        int lo = -1;
        char c = s[2 * i];
        char d = s[2 * i + 1];
        hi = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        lo = d >= '0' && d <= '9' ? d - '0' : d >= 'a' && d <= 'f' ? d - 'a' + 10 : -1;
        if (hi < 0 || lo < 0) {
            return false;
        }
        out[i] = (uint8_t)(hi * 16 + lo);
    }
    return true;
}

static sd_code v1_check(const iam_request *req, const sd_secret *secret, sd_err *err)
{
    sd_code rc = SD_OK;
    sd_buf sts = SD_BUF_INIT(SIG_BUF_MAX);
    const char *given = v1_get(req, "Signature");
    uint8_t want[CRYPTO_SHA256_LEN];
    uint8_t got[32];
    size_t wl = 0;
    size_t gl = 0;
    sd_err scratch = SD_ERR_INIT;

    SD_TRY(v1_sts_of(req->method, req->query, req->form, &sts, err));
    SD_TRY(mac(CRYPTO_HMAC_SHA1, secret, true, &sts, want, &wl, err));
    if (sd_b64_decode(given, strlen(given), got, sizeof got, &gl, &scratch) != SD_OK || gl != wl ||
        !sd_ct_equal(got, want, wl)) {
        SD_TRY(mismatch(err));
    }
out:
    sd_buf_free(&sts);
    return rc;
}

static sd_code v3_check(const iam_request *req, const sd_secret *secret, sd_err *err)
{
    sd_code rc = SD_OK;
    sd_buf sts = SD_BUF_INIT(SIG_BUF_MAX);
    iam_sig_info info = {0};
    v3_auth a;
    char body_hex[65];
    const char *claimed;
    uint8_t want[CRYPTO_SHA256_LEN];
    uint8_t got[CRYPTO_SHA256_LEN];
    size_t wl = 0;

    SD_TRY(v3_parse(req, &a, &info, err));
    SD_TRY(iam_body_sha256_hex(req->body, req->body_len, body_hex, err));
    claimed = hdr_get(req, "x-acs-content-sha256");
    if (strlen(claimed) != 64 || strcasecmp(claimed, body_hex) != 0) {
        SD_TRY(mismatch(err));
    }
    SD_TRY(v3_sts_of(req, a.sh, &sts, err));
    SD_TRY(mac(CRYPTO_HMAC_SHA256, secret, false, &sts, want, &wl, err));
    if (strlen(a.sig) != V3_SIG_HEX_LEN || !hex_decode(a.sig, sizeof got, got) ||
        !sd_ct_equal(got, want, sizeof got)) {
        SD_TRY(mismatch(err));
    }
out:
    sd_buf_free(&sts);
    return rc;
}

sd_code iam_sig_check(const iam_request *req, const sd_secret *secret, sd_err *err)
{
    sd_code rc = SD_OK;
    iam_sig_info info;

    SD_TRY(iam_sig_parse(req, &info, err));
    if (info.scheme == IAM_SIG_V3) {
        SD_TRY(v3_check(req, secret, err));
    } else {
        SD_TRY(v1_check(req, secret, err));
    }
out:
    return rc;
}

/* ---- signing (the CLI) -------------------------------------------------- */

sd_code iam_sign_v1(const char *method, const iam_params *params, const sd_secret *secret,
                    char out[29], sd_err *err)
{
    sd_code rc = SD_OK;
    sd_buf sts = SD_BUF_INIT(SIG_BUF_MAX);
    uint8_t m[CRYPTO_SHA256_LEN];
    size_t ml = 0;

    SD_TRY(v1_sts_of(method, params, NULL, &sts, err));
    SD_TRY(mac(CRYPTO_HMAC_SHA1, secret, true, &sts, m, &ml, err));
    SD_TRY(sd_b64_encode(m, ml, out, 29, err));
out:
    sd_buf_free(&sts);
    return rc;
}

sd_code iam_sign_v3(const iam_request *req, const char *access_key_id, const sd_secret *secret,
                    sd_buf *out, sd_err *err)
{
    sd_code rc = SD_OK;
    sd_buf sts = SD_BUF_INIT(SIG_BUF_MAX);
    sd_buf sh = SD_BUF_INIT(V3_SH_MAX);
    const char **names = calloc(req->n_headers + 1, sizeof *names);
    const char *shs = NULL;
    size_t n = 0;
    uint8_t m[CRYPTO_SHA256_LEN];
    size_t ml = 0;
    char hex[65];

    SD_ENSURE(names != NULL, err, SD_E_NOMEM, "out of memory");
    for (size_t i = 0; i < req->n_headers; i++) {
        if (signable(req->headers[i].name)) {
            names[n++] = req->headers[i].name;
        }
    }
    qsort(names, n, sizeof *names, str_cmp);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(names[i], names[i - 1]) == 0) {
            continue;
        }
        if (sh.len > 0) {
            SD_TRY(sd_buf_put_u8(&sh, ';', err));
        }
        SD_TRY(sd_buf_puts(&sh, names[i], err));
    }
    SD_TRY(sd_buf_cstr(&sh, &shs, err));
    SD_TRY(v3_sts_of(req, shs, &sts, err));
    SD_TRY(mac(CRYPTO_HMAC_SHA256, secret, false, &sts, m, &ml, err));
    sd_hex(m, ml, hex);
    SD_TRY(sd_buf_printf(out, err, V3_ALG " Credential=%s,SignedHeaders=%s,Signature=%s",
                         access_key_id, shs, hex));
out:
    free(names);
    sd_buf_free(&sh);
    sd_buf_free(&sts);
    return rc;
}
