/* test_signature.c: RPC v1 and V3 signatures against the captured SDK
 * vectors (research/alibaba-api.md §9), each with negative twins: one
 * changed byte of a parameter, a signed header, the body or the secret must
 * give SignatureDoesNotMatch; structural faults give their own codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iam_test.h"

static sd_secret *secret_of(const char *s)
{
    sd_secret *out = NULL;
    assert_int_equal(sd_secret_from(s, strlen(s), &out, NULL), SD_OK);
    return out;
}

static void vectors_string_to_sign_matches_the_sdk(void **state)
{
    (void)state;
    for (size_t i = 0; i < IAMV_COUNT; i++) {
        rq x;
        sd_buf sts = SD_BUF_INIT(1 << 20);
        const char *s = NULL;
        assert_int_equal(rq_from_vector(&x, &iam_vectors[i]), SD_OK);
        assert_int_equal(iam_sig_string_to_sign(&x.r, &sts, NULL), SD_OK);
        assert_int_equal(sd_buf_cstr(&sts, &s, NULL), SD_OK);
        if (strcmp(s, iam_vectors[i].string_to_sign) != 0) {
            print_error("%s:\n got  %s\n want %s\n", iam_vectors[i].name, s,
                        iam_vectors[i].string_to_sign);
            fail();
        }
        sd_buf_free(&sts);
        rq_free(&x);
    }
}

static void vectors_verify_with_their_secret(void **state)
{
    (void)state;
    for (size_t i = 0; i < IAMV_COUNT; i++) {
        rq x;
        sd_secret *k = secret_of(iam_vectors[i].secret);
        iam_sig_info info;
        assert_int_equal(rq_from_vector(&x, &iam_vectors[i]), SD_OK);
        assert_int_equal(iam_sig_parse(&x.r, &info, NULL), SD_OK);
        assert_true(info.action[0] != '\0' && info.version[0] != '\0');
        if (iam_sig_check(&x.r, k, NULL) != SD_OK) {
            print_error("%s does not verify\n", iam_vectors[i].name);
            fail();
        }
        sd_secret_free(k);
        rq_free(&x);
    }
}

static void assert_mismatch(const iam_request *r, const sd_secret *k)
{
    sd_err err = SD_ERR_INIT;
    assert_int_equal(iam_sig_check(r, k, &err), SD_E_AUTH);
    assert_string_equal(err.api_code, "SignatureDoesNotMatch");
    /* never echo the string-to-sign */
    assert_null(strstr(err.msg, "%2F"));
    assert_null(strstr(err.msg, "ACS3-HMAC-SHA256\n"));
}

static void vectors_fail_with_a_changed_secret(void **state)
{
    (void)state;
    for (size_t i = 0; i < IAMV_COUNT; i++) {
        rq x;
        char s[64];
        sd_secret *k;
        snprintf(s, sizeof s, "%s", iam_vectors[i].secret);
        mutate_one(s, strlen(s) - 1 > 0 ? strlen(s) - 1 : 0);
        k = secret_of(s);
        assert_int_equal(rq_from_vector(&x, &iam_vectors[i]), SD_OK);
        assert_mismatch(&x.r, k);
        sd_secret_free(k);
        rq_free(&x);
    }
}

static void vectors_fail_with_a_changed_parameter(void **state)
{
    (void)state;
    for (size_t i = 0; i < IAMV_COUNT; i++) {
        const iamv *v = &iam_vectors[i];
        rq x;
        char *q = strdup(v->query);
        char *b = strdup(v->body);
        sd_secret *k = secret_of(v->secret);
        if (q[0] != '\0') {
            mutate_one(q, (size_t)(strchr(q, '=') - q) + 1);
        } else {
            mutate_one(b, (size_t)(strchr(b, '=') - b) + 1);
        }
        assert_int_equal(rq_build(&x, v->method, q, v->headers, iamv_nheaders(v), b), SD_OK);
        assert_mismatch(&x.r, k);
        sd_secret_free(k);
        rq_free(&x);
        free(q);
        free(b);
    }
}

static void vectors_fail_with_a_changed_body(void **state)
{
    (void)state;
    for (size_t i = 0; i < IAMV_COUNT; i++) {
        const iamv *v = &iam_vectors[i];
        rq x;
        char *b;
        sd_secret *k;
        if (v->body[0] == '\0') {
            continue;
        }
        b = strdup(v->body);
        mutate_one(b, (size_t)(strchr(b, '=') - b) + 1);
        k = secret_of(v->secret);
        assert_int_equal(rq_build(&x, v->method, v->query, v->headers, iamv_nheaders(v), b), SD_OK);
        assert_mismatch(&x.r, k);
        sd_secret_free(k);
        rq_free(&x);
        free(b);
    }
}

static void v3_fails_with_a_changed_signed_header(void **state)
{
    (void)state;
    for (size_t i = 0; i < IAMV_COUNT; i++) {
        const iamv *v = &iam_vectors[i];
        const char *h[IAMV_MAX_HEADERS][2];
        char host[128];
        size_t n = iamv_nheaders(v);
        bool v3 = false;
        rq x;
        sd_secret *k = secret_of(v->secret);
        for (size_t j = 0; j < n; j++) {
            h[j][0] = v->headers[j][0];
            h[j][1] = v->headers[j][1];
            if (strcmp(h[j][0], "host") == 0) {
                snprintf(host, sizeof host, "%s", h[j][1]);
                mutate_one(host, 0);
                h[j][1] = host;
            }
            v3 = v3 || strcmp(h[j][0], "authorization") == 0;
        }
        assert_int_equal(rq_build(&x, v->method, v->query, (const char *const(*)[2])h, n, v->body),
                         SD_OK);
        if (v3) {
            assert_mismatch(&x.r, k);
        } else { /* v1 signs no header: a changed host still verifies */
            assert_int_equal(iam_sig_check(&x.r, k, NULL), SD_OK);
        }
        sd_secret_free(k);
        rq_free(&x);
    }
}

static void v1_fails_with_a_changed_method(void **state)
{
    const iamv *v = &iam_vectors[0];
    rq x;
    sd_secret *k = secret_of(v->secret);
    (void)state;
    assert_int_equal(rq_build(&x, "GET", v->query, v->headers, iamv_nheaders(v), v->body), SD_OK);
    assert_mismatch(&x.r, k);
    sd_secret_free(k);
    rq_free(&x);
}

/* ---- structure ---------------------------------------------------------- */

static const char *const v1_headers[1][2] = {{"host", "127.0.0.1"}};

static void expect_code(const char *query, sd_code code, const char *api)
{
    rq x;
    iam_sig_info info;
    sd_err err = SD_ERR_INIT;
    assert_int_equal(rq_build(&x, "POST", query, v1_headers, 1, ""), SD_OK);
    assert_int_equal(iam_sig_parse(&x.r, &info, &err), code);
    assert_string_equal(err.api_code, api);
    rq_free(&x);
}

#define V1_BASE                                                                          \
    "AccessKeyId=testid&Action=A&Version=2016-01-20&Timestamp=2026-11-22T10%3A27%3A10Z&" \
    "SignatureNonce=n1"

static void v1_structure_is_checked(void **state)
{
    (void)state;
    expect_code(V1_BASE "&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&Signature=x", SD_OK, "");
    expect_code(V1_BASE "&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0", SD_E_INVALID,
                "MissingParameter");
    expect_code(V1_BASE "&SignatureMethod=HMAC-SHA256&SignatureVersion=1.0&Signature=x",
                SD_E_INVALID, "InvalidParameter");
    expect_code(V1_BASE "&SignatureMethod=HMAC-SHA1&SignatureVersion=2.0&Signature=x", SD_E_INVALID,
                "InvalidParameter");
    expect_code("Action=A&Version=2016-01-20&Timestamp=2026-11-22T10%3A27%3A10Z&SignatureNonce=n1"
                "&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&Signature=x",
                SD_E_INVALID, "MissingParameter");
    expect_code("AccessKeyId=testid&Version=2016-01-20&Timestamp=2026-11-22T10%3A27%3A10Z&"
                "SignatureNonce=n1&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&Signature=x",
                SD_E_INVALID, "MissingParameter");
}

static void v1_rejects_a_parameter_in_query_and_body(void **state)
{
    rq x;
    iam_sig_info info;
    sd_err err = SD_ERR_INIT;
    const char *const h[1][2] = {{"content-type", "application/x-www-form-urlencoded"}};
    (void)state;
    assert_int_equal(rq_build(&x, "POST",
                              V1_BASE "&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&Signature=x",
                              h, 1, "Action=B"),
                     SD_OK);
    assert_int_equal(iam_sig_parse(&x.r, &info, &err), SD_E_INVALID);
    assert_string_equal(err.api_code, "InvalidParameter");
    rq_free(&x);
}

/* V3-A with its Authorization header replaced. */
static sd_code v3_with_authz(const char *authz, sd_err *err)
{
    const iamv *v = &iam_vectors[2];
    const char *h[IAMV_MAX_HEADERS][2];
    size_t n = iamv_nheaders(v);
    rq x;
    iam_sig_info info;
    sd_code rc;
    for (size_t j = 0; j < n; j++) {
        h[j][0] = v->headers[j][0];
        h[j][1] = strcmp(h[j][0], "authorization") == 0 ? authz : v->headers[j][1];
    }
    assert_int_equal(rq_build(&x, v->method, v->query, (const char *const(*)[2])h, n, v->body),
                     SD_OK);
    rc = iam_sig_parse(&x.r, &info, err);
    rq_free(&x);
    return rc;
}

#define SH_ALL                                                                            \
    "host;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-" \
    "signature-nonce;x-acs-version"
#define SIG_A "7faa5d1d385d1080ecfac81e83b5515a0081d167e3917df616967deeef7a29ab"

static void v3_authorization_structure_is_checked(void **state)
{
    static const char *const bad[] = {
        "ACS3-HMAC-SM3 Credential=testid,SignedHeaders=" SH_ALL ",Signature=" SIG_A,
        "ACS3-RSA-SHA256 Credential=testid,SignedHeaders=" SH_ALL ",Signature=" SIG_A,
        "ACS3-HMAC-SHA256 Credential=testid,Signature=" SIG_A,
        "ACS3-HMAC-SHA256 SignedHeaders=" SH_ALL ",Signature=" SIG_A,
        "ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=" SH_ALL,
        /* x-acs-date not signed */
        "ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=host;x-acs-action;x-acs-content-sha256;"
        "x-acs-signature-nonce;x-acs-version,Signature=" SIG_A,
        /* not sorted */
        "ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=x-acs-action;host;x-acs-content-sha256;"
        "x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=" SIG_A,
        /* upper case */
        "ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=Host;x-acs-action;x-acs-content-sha256;"
        "x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=" SIG_A,
        /* a signed header that is absent */
        "ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=" SH_ALL ";x-acs-zzz,Signature=" SIG_A,
        /* empty entry */
        "ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=;" SH_ALL ",Signature=" SIG_A,
    };
    sd_err err = SD_ERR_INIT;
    (void)state;
    assert_int_equal(v3_with_authz("ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=" SH_ALL
                                   ",Signature=" SIG_A,
                                   &err),
                     SD_OK);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sd_err_clear(&err);
        assert_int_equal(v3_with_authz(bad[i], &err), SD_E_AUTH);
        assert_string_equal(err.api_code, "IncompleteSignature");
    }
}

static void v3_accepts_spaces_after_commas(void **state)
{
    const iamv *v = &iam_vectors[2];
    const char *h[IAMV_MAX_HEADERS][2];
    size_t n = iamv_nheaders(v);
    rq x;
    sd_secret *k = secret_of("testsecret");
    (void)state;
    for (size_t j = 0; j < n; j++) {
        h[j][0] = v->headers[j][0];
        h[j][1] = strcmp(h[j][0], "authorization") == 0
                      ? "ACS3-HMAC-SHA256 Credential=testid, SignedHeaders=" SH_ALL
                        ", Signature=" SIG_A
                      : v->headers[j][1];
    }
    assert_int_equal(rq_build(&x, v->method, v->query, (const char *const(*)[2])h, n, v->body),
                     SD_OK);
    assert_int_equal(iam_sig_check(&x.r, k, NULL), SD_OK);
    rq_free(&x);
    sd_secret_free(k);
}

static void v3_fails_with_a_malformed_signature_value(void **state)
{
    const iamv *v = &iam_vectors[2];
    const char *h[IAMV_MAX_HEADERS][2];
    size_t n = iamv_nheaders(v);
    rq x;
    sd_secret *k = secret_of("testsecret");
    (void)state;
    for (size_t j = 0; j < n; j++) {
        h[j][0] = v->headers[j][0];
        h[j][1] =
            strcmp(h[j][0], "authorization") == 0
                ? "ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=" SH_ALL
                  ",Signature=zzaa5d1d385d1080ecfac81e83b5515a0081d167e3917df616967deeef7a29ab"
                : v->headers[j][1];
    }
    assert_int_equal(rq_build(&x, v->method, v->query, (const char *const(*)[2])h, n, v->body),
                     SD_OK);
    assert_mismatch(&x.r, k);
    rq_free(&x);
    sd_secret_free(k);
}

/* V3-A's headers plus extra (name, value) pairs, re-signed with testsecret
 * by iam_sign_v3; the new Authorization replaces the old one. */
static void v3_resigned(rq *x, const char *const (*extra)[2], size_t ne, const char *path,
                        const char *(*h)[2], char *authz, size_t cap)
{
    const iamv *v = &iam_vectors[2];
    size_t n = 0;
    sd_secret *k = secret_of("testsecret");
    sd_buf out = SD_BUF_INIT(4096);
    const char *a = NULL;
    size_t ai = 0;
    for (size_t j = 0; j < iamv_nheaders(v); j++) {
        h[n][0] = v->headers[j][0];
        h[n][1] = v->headers[j][1];
        if (strcmp(h[n][0], "authorization") == 0) {
            ai = n;
        }
        n++;
    }
    for (size_t j = 0; j < ne; j++) {
        h[n][0] = extra[j][0];
        h[n][1] = extra[j][1];
        n++;
    }
    assert_int_equal(rq_build(x, v->method, v->query, (const char *const(*)[2])h, n, v->body),
                     SD_OK);
    x->r.path = path;
    assert_int_equal(iam_sign_v3(&x->r, "testid", k, &out, NULL), SD_OK);
    assert_int_equal(sd_buf_cstr(&out, &a, NULL), SD_OK);
    snprintf(authz, cap, "%s", a);
    h[ai][1] = authz;
    x->h[ai].value = authz;
    sd_buf_free(&out);
    sd_secret_free(k);
}

static void v3_signs_repeated_headers_sorted_and_joined(void **state)
{
    const char *const extra[2][2] = {{"x-acs-foo", "b"}, {"x-acs-foo", " a "}};
    const char *h[IAMV_MAX_HEADERS][2];
    char authz[512];
    rq x;
    sd_secret *k = secret_of("testsecret");
    sd_buf sts = SD_BUF_INIT(1 << 20);
    (void)state;
    v3_resigned(&x, extra, 2, "/", h, authz, sizeof authz);
    assert_non_null(strstr(authz, "x-acs-foo"));
    assert_int_equal(iam_sig_check(&x.r, k, NULL), SD_OK);
    /* the order of the two values does not matter (sorted) */
    for (size_t j = 0; j < x.r.n_headers; j++) {
        if (strcmp(x.h[j].name, "x-acs-foo") == 0) {
            x.h[j].value = strcmp(x.h[j].value, "b") == 0 ? " a " : "b";
        }
    }
    assert_int_equal(iam_sig_check(&x.r, k, NULL), SD_OK);
    /* negative twin: a changed value does */
    for (size_t j = 0; j < x.r.n_headers; j++) {
        if (strcmp(x.h[j].name, "x-acs-foo") == 0 && strcmp(x.h[j].value, "b") == 0) {
            x.h[j].value = "c";
        }
    }
    assert_mismatch(&x.r, k);
    sd_buf_free(&sts);
    rq_free(&x);
    sd_secret_free(k);
}

static void v3_signs_the_path(void **state)
{
    const char *h[IAMV_MAX_HEADERS][2];
    char authz[512];
    rq x;
    sd_secret *k = secret_of("testsecret");
    (void)state;
    v3_resigned(&x, NULL, 0, "/api/x", h, authz, sizeof authz);
    assert_int_equal(iam_sig_check(&x.r, k, NULL), SD_OK);
    x.r.path = "/api/y";
    assert_mismatch(&x.r, k);
    rq_free(&x);
    sd_secret_free(k);
}

static void v3_refuses_repeated_required_headers(void **state)
{
    const char *const date[1][2] = {{"x-acs-date", "2026-11-22T10:27:11Z"}};
    const char *const authz2[1][2] = {{"authorization", "ACS3-HMAC-SHA256 Credential=x"}};
    const char *h[IAMV_MAX_HEADERS][2];
    char authz[512];
    rq x;
    iam_sig_info info;
    sd_err err = SD_ERR_INIT;
    (void)state;
    v3_resigned(&x, date, 1, "/", h, authz, sizeof authz);
    assert_int_equal(iam_sig_parse(&x.r, &info, &err), SD_E_AUTH);
    assert_string_equal(err.api_code, "IncompleteSignature");
    rq_free(&x);
    sd_err_clear(&err);
    v3_resigned(&x, authz2, 1, "/", h, authz, sizeof authz);
    assert_int_equal(iam_sig_parse(&x.r, &info, &err), SD_E_AUTH);
    assert_string_equal(err.api_code, "IncompleteSignature");
    rq_free(&x);
}

/* x with one more header that its Authorization does not sign. */
static void add_unsigned_header(rq *x, const char *name, const char *value)
{
    assert_true(x->r.n_headers < IAMV_MAX_HEADERS);
    x->h[x->r.n_headers].name = name;
    x->h[x->r.n_headers].value = value;
    x->r.n_headers++;
}

static void expect_incomplete(const rq *x)
{
    sd_secret *k = secret_of("testsecret");
    iam_sig_info info;
    sd_err err = SD_ERR_INIT;
    assert_int_equal(iam_sig_check(&x->r, k, &err), SD_E_AUTH);
    assert_string_equal(err.api_code, "IncompleteSignature");
    sd_err_clear(&err);
    assert_int_equal(iam_sig_parse(&x->r, &info, &err), SD_E_AUTH);
    assert_string_equal(err.api_code, "IncompleteSignature");
    sd_secret_free(k);
}

static void v3_refuses_an_unsigned_content_type(void **state)
{
    const char *const ct[1][2] = {{"content-type", "application/json"}};
    const char *h[IAMV_MAX_HEADERS][2];
    char authz[512];
    rq x;
    sd_secret *k = secret_of("testsecret");
    (void)state;
    /* signed with the content-type: accepted */
    v3_resigned(&x, ct, 1, "/", h, authz, sizeof authz);
    assert_non_null(strstr(authz, "SignedHeaders=content-type;host;"));
    assert_int_equal(iam_sig_check(&x.r, k, NULL), SD_OK);
    rq_free(&x);
    /* signed without it, sent with it: refused, though the HMAC matches */
    v3_resigned(&x, NULL, 0, "/", h, authz, sizeof authz);
    assert_int_equal(iam_sig_check(&x.r, k, NULL), SD_OK);
    add_unsigned_header(&x, "content-type", "application/json");
    expect_incomplete(&x);
    rq_free(&x);
    sd_secret_free(k);
}

static void v3_refuses_an_unsigned_acs_header(void **state)
{
    const char *const extra[1][2] = {{"x-acs-retry-attempts", "1"}};
    const char *h[IAMV_MAX_HEADERS][2];
    char authz[512];
    rq x;
    sd_secret *k = secret_of("testsecret");
    (void)state;
    v3_resigned(&x, extra, 1, "/", h, authz, sizeof authz);
    assert_int_equal(iam_sig_check(&x.r, k, NULL), SD_OK);
    rq_free(&x);
    v3_resigned(&x, NULL, 0, "/", h, authz, sizeof authz);
    add_unsigned_header(&x, "x-acs-retry-attempts", "1");
    expect_incomplete(&x);
    rq_free(&x);
    /* headers the signer leaves out may stay unsigned */
    v3_resigned(&x, NULL, 0, "/", h, authz, sizeof authz);
    add_unsigned_header(&x, "user-agent", "AlibabaCloud (linux; x64) Node.js");
    add_unsigned_header(&x, "accept", "application/json");
    assert_int_equal(iam_sig_check(&x.r, k, NULL), SD_OK);
    rq_free(&x);
    sd_secret_free(k);
}

/* ---- signing ------------------------------------------------------------ */

static void sign_v1_reproduces_the_sdk_signature(void **state)
{
    const iamv *v = &iam_vectors[0];
    rq x;
    iam_params p = IAM_PARAMS_INIT;
    sd_secret *k = secret_of("testsecret");
    sd_secret *k2 = secret_of("testsecreu");
    char sig[29];
    (void)state;
    assert_int_equal(rq_from_vector(&x, v), SD_OK);
    for (size_t i = 0; i < x.q.n; i++) {
        if (strcmp(x.q.v[i].name, "Signature") != 0) {
            assert_int_equal(iam_params_add(&p, x.q.v[i].name, x.q.v[i].value, NULL), SD_OK);
        }
    }
    assert_int_equal(iam_sign_v1("POST", &p, k, sig, NULL), SD_OK);
    assert_string_equal(sig, v->signature);
    assert_int_equal(iam_sign_v1("POST", &p, k2, sig, NULL), SD_OK);
    assert_string_not_equal(sig, v->signature);
    iam_params_free(&p);
    rq_free(&x);
    sd_secret_free(k);
    sd_secret_free(k2);
}

static void sign_v3_reproduces_the_sdk_authorization(void **state)
{
    (void)state;
    for (size_t i = 0; i < IAMV_COUNT; i++) {
        const iamv *v = &iam_vectors[i];
        const char *want = NULL;
        const char *got = NULL;
        const char *cred = NULL;
        char akid[64];
        rq x;
        sd_buf out = SD_BUF_INIT(4096);
        sd_secret *k = secret_of(v->secret);
        for (size_t j = 0; j < iamv_nheaders(v); j++) {
            if (strcmp(v->headers[j][0], "authorization") == 0) {
                want = v->headers[j][1];
            }
        }
        if (want == NULL) {
            sd_secret_free(k);
            continue;
        }
        cred = strstr(want, "Credential=") + strlen("Credential=");
        snprintf(akid, sizeof akid, "%.*s", (int)(strchr(cred, ',') - cred), cred);
        assert_int_equal(rq_from_vector(&x, v), SD_OK);
        assert_int_equal(iam_sign_v3(&x.r, akid, k, &out, NULL), SD_OK);
        assert_int_equal(sd_buf_cstr(&out, &got, NULL), SD_OK);
        assert_string_equal(got, want);
        sd_buf_free(&out);
        rq_free(&x);
        sd_secret_free(k);
    }
}

static void body_hash_of_empty_body_is_the_known_value(void **state)
{
    char hex[65];
    (void)state;
    assert_int_equal(iam_body_sha256_hex(NULL, 0, hex, NULL), SD_OK);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_int_equal(iam_body_sha256_hex((const uint8_t *)"a", 1, hex, NULL), SD_OK);
    assert_string_not_equal(hex,
                            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(vectors_string_to_sign_matches_the_sdk),
        cmocka_unit_test(vectors_verify_with_their_secret),
        cmocka_unit_test(vectors_fail_with_a_changed_secret),
        cmocka_unit_test(vectors_fail_with_a_changed_parameter),
        cmocka_unit_test(vectors_fail_with_a_changed_body),
        cmocka_unit_test(v3_fails_with_a_changed_signed_header),
        cmocka_unit_test(v1_fails_with_a_changed_method),
        cmocka_unit_test(v1_structure_is_checked),
        cmocka_unit_test(v1_rejects_a_parameter_in_query_and_body),
        cmocka_unit_test(v3_authorization_structure_is_checked),
        cmocka_unit_test(v3_accepts_spaces_after_commas),
        cmocka_unit_test(v3_fails_with_a_malformed_signature_value),
        cmocka_unit_test(v3_signs_repeated_headers_sorted_and_joined),
        cmocka_unit_test(v3_signs_the_path),
        cmocka_unit_test(v3_refuses_repeated_required_headers),
        cmocka_unit_test(v3_refuses_an_unsigned_content_type),
        cmocka_unit_test(v3_refuses_an_unsigned_acs_header),
        cmocka_unit_test(sign_v1_reproduces_the_sdk_signature),
        cmocka_unit_test(sign_v3_reproduces_the_sdk_authorization),
        cmocka_unit_test(body_hash_of_empty_body_is_the_known_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
