/* api_fixture.h: a real API server over a real KMS and iam in a temporary
 * directory, with one account whose AccessKey is testid/testsecret, and a
 * raw HTTP client that signs requests with RPC v1 (tests of the api
 * module only; header-only so each test binary stays one file). */
#ifndef SD_TEST_API_FIXTURE_H
#define SD_TEST_API_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "api/api.h"
#include "crypto/crypto.h"
#include "iam/iam.h"
#include "kms/kms.h"

typedef struct fixture {
    char dir[64];
    char path[128];
    kms_rootkey *root;
    kms *k;
    iam *i;
    api_audit *audit;
    api_server *srv;
    iam_account_info account;
    iam_account_info other;
    unsigned nonce;
} fixture;

/* A server whose AccessKeys may send user_rate requests per second, with
 * bursts of user_burst (0: no limit); besides testid/testsecret, a second
 * account has otherid/othersecret. */
static inline fixture *fx_open_limited(size_t max_body, double user_rate, double user_burst)
{
    fixture *f = calloc(1, sizeof *f);
    kms_opts ko = {0};
    iam_opts io = IAM_OPTS_INIT;
    api_server_opts ao = API_SERVER_OPTS_INIT;
    sd_secret *wrap = NULL;
    sd_secret *secret = NULL;

    assert_non_null(f);
    (void)snprintf(f->dir, sizeof f->dir, "/tmp/sd-api-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    (void)snprintf(f->path, sizeof f->path, "%s/root.key", f->dir);
    assert_int_equal(kms_rootkey_file(f->path, true, &f->root, NULL), SD_OK);
    (void)snprintf(f->path, sizeof f->path, "%s/meta.db", f->dir);
    ko.db_path = f->path;
    ko.root = f->root;
    ko.clock = sd_clock_system();
    ko.rng = crypto_rng_system();
    assert_int_equal(kms_open(&ko, &f->k, NULL), SD_OK);
    assert_int_equal(kms_rootkey_derive(f->root, "test-iam-wrap", &wrap, NULL), SD_OK);
    io.db_path = f->path;
    io.wrap_key = wrap;
    io.clock = sd_clock_system();
    io.rng = crypto_rng_system();
    io.user_rate = user_rate;
    io.user_burst = user_burst;
    assert_int_equal(iam_open(&io, &f->i, NULL), SD_OK);
    sd_secret_free(wrap);
    assert_int_equal(iam_account_create(f->i, "tenant", &f->account, NULL), SD_OK);
    assert_int_equal(sd_secret_from("testsecret", 10, &secret, NULL), SD_OK);
    assert_int_equal(iam_key_import(f->i, f->account.account_id, "testid", secret, NULL), SD_OK);
    sd_secret_free(secret);
    assert_int_equal(iam_account_create(f->i, "other", &f->other, NULL), SD_OK);
    assert_int_equal(sd_secret_from("othersecret", 11, &secret, NULL), SD_OK);
    assert_int_equal(iam_key_import(f->i, f->other.account_id, "otherid", secret, NULL), SD_OK);
    sd_secret_free(secret);
    (void)snprintf(f->path, sizeof f->path, "%s/audit.log", f->dir);
    assert_int_equal(api_audit_open(f->path, &f->audit, NULL), SD_OK);
    ao.port = 0;
    ao.max_body = max_body;
    ao.kms = f->k;
    ao.iam = f->i;
    ao.audit = f->audit;
    ao.clock = sd_clock_system();
    assert_int_equal(api_server_start(&ao, &f->srv, NULL), SD_OK);
    return f;
}

static inline fixture *fx_open(size_t max_body)
{
    return fx_open_limited(max_body, 0, 0);
}

static inline void fx_close(fixture *f)
{
    static const char *const files[] = {"root.key", "meta.db", "meta.db-wal", "meta.db-shm",
                                        "audit.log"};
    char p[160];

    api_server_stop(f->srv);
    api_audit_close(f->audit);
    iam_close(f->i);
    kms_close(f->k);
    kms_rootkey_free(f->root);
    for (size_t n = 0; n < sizeof files / sizeof files[0]; n++) {
        (void)snprintf(p, sizeof p, "%s/%s", f->dir, files[n]);
        (void)unlink(p);
    }
    (void)rmdir(f->dir);
    free(f);
}

static inline int fx_connect(const fixture *f)
{
    struct sockaddr_in a = {0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    a.sin_family = AF_INET;
    a.sin_port = htons(api_server_port(f->srv));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* Sends req and reads one response (headers + Content-Length body). */
static inline void fx_roundtrip(int fd, const char *req, char *resp, size_t cap)
{
    size_t n = 0;
    const char *hdr_end = NULL;

    assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    for (;;) {
        ssize_t r = read(fd, resp + n, cap - 1 - n);
        assert_true(r > 0);
        n += (size_t)r;
        resp[n] = '\0';
        hdr_end = strstr(resp, "\r\n\r\n");
        if (hdr_end != NULL) {
            const char *cl = strcasestr(resp, "Content-Length:");
            assert_non_null(cl);
            if (n >= (size_t)(hdr_end + 4 - resp) + strtoul(cl + 15, NULL, 10)) {
                return;
            }
        }
    }
}

/* A POST of Action v1-signed with akid and secret, with NULL-terminated
 * name, value pairs (a NULL value drops the pair: for tests of absent
 * parameters); the response (status line, headers, body) into resp. */
static inline void fx_call_as(fixture *f, const char *akid, const char *secret_text,
                              const char *action, const char *const *kv, char *resp, size_t cap)
{
    iam_params p = IAM_PARAMS_INIT;
    sd_buf q = SD_BUF_INIT((size_t)1 << 20);
    sd_secret *secret = NULL;
    char ts[21];
    char nonce[32];
    char sig[29];
    char *req;
    size_t reqcap;
    int fd;
    sd_clock wall = sd_clock_system();

    sd_time_iso8601(sd_now(&wall), ts);
    (void)snprintf(nonce, sizeof nonce, "nonce-%u-%d", ++f->nonce, (int)getpid());
    assert_int_equal(iam_params_add(&p, "Action", action, NULL), SD_OK);
    assert_int_equal(iam_params_add(&p, "Version", "2016-01-20", NULL), SD_OK);
    assert_int_equal(iam_params_add(&p, "Format", "JSON", NULL), SD_OK);
    assert_int_equal(iam_params_add(&p, "AccessKeyId", akid, NULL), SD_OK);
    assert_int_equal(iam_params_add(&p, "SignatureMethod", "HMAC-SHA1", NULL), SD_OK);
    assert_int_equal(iam_params_add(&p, "SignatureVersion", "1.0", NULL), SD_OK);
    assert_int_equal(iam_params_add(&p, "SignatureNonce", nonce, NULL), SD_OK);
    assert_int_equal(iam_params_add(&p, "Timestamp", ts, NULL), SD_OK);
    for (size_t i = 0; kv != NULL && kv[i] != NULL; i += 2) {
        if (kv[i + 1] != NULL) {
            assert_int_equal(iam_params_add(&p, kv[i], kv[i + 1], NULL), SD_OK);
        }
    }
    assert_int_equal(sd_secret_from(secret_text, strlen(secret_text), &secret, NULL), SD_OK);
    assert_int_equal(iam_sign_v1("POST", &p, secret, sig, NULL), SD_OK);
    sd_secret_free(secret);
    assert_int_equal(iam_params_add(&p, "Signature", sig, NULL), SD_OK);
    for (size_t i = 0; i < p.n; i++) {
        if (i > 0) {
            assert_int_equal(sd_buf_puts(&q, "&", NULL), SD_OK);
        }
        assert_int_equal(iam_pct_encode(p.v[i].name, strlen(p.v[i].name), &q, NULL), SD_OK);
        assert_int_equal(sd_buf_puts(&q, "=", NULL), SD_OK);
        assert_int_equal(iam_pct_encode(p.v[i].value, strlen(p.v[i].value), &q, NULL), SD_OK);
    }
    reqcap = q.len + 256;
    req = malloc(reqcap);
    assert_non_null(req);
    (void)snprintf(req, reqcap, "POST /?%.*s HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
                   (int)q.len, (const char *)q.data);
    fd = fx_connect(f);
    fx_roundtrip(fd, req, resp, cap);
    close(fd);
    free(req);
    sd_buf_free(&q);
    iam_params_free(&p);
}

/* fx_call_as with testid/testsecret. */
static inline void fx_call(fixture *f, const char *action, const char *const *kv, char *resp,
                           size_t cap)
{
    fx_call_as(f, "testid", "testsecret", action, kv, resp, cap);
}

/* The body of a response (after the blank line). */
static inline const char *fx_body(const char *resp)
{
    const char *b = strstr(resp, "\r\n\r\n");
    assert_non_null(b);
    return b + 4;
}

#endif
