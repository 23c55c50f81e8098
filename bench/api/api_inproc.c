/* api_inproc.c: the in-process ceiling of a signed data-key call: the work
 * the server does per request minus HTTP, on one thread, for one
 * GenerateDataKey and one Decrypt: decode the query, verify the v1
 * signature (iam_verify, replay and clock checks off so one request can be
 * replayed), then the KMS operation.
 *
 * usage: api_inproc [seconds]   prints "GenerateDataKey <ops/s>" and
 * "Decrypt <ops/s>" (one thread; the server has more). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "iam/iam.h"
#include "kms/kms.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void must(sd_code rc, const sd_err *err, const char *what)
{
    if (rc != SD_OK) {
        (void)fprintf(stderr, "api_inproc: %s: %s\n", what, err->msg);
        exit(1);
    }
}

/* A v1-signed query for action with one business parameter. */
static void signed_query(const char *action, const char *name, const char *value, sd_buf *q)
{
    iam_params p = IAM_PARAMS_INIT;
    sd_secret *secret = NULL;
    sd_err err = SD_ERR_INIT;
    char sig[29];

    must(sd_secret_from("benchsecret", 11, &secret, &err), &err, "secret");
    must(iam_params_add(&p, "Action", action, &err), &err, "params");
    must(iam_params_add(&p, "Version", "2016-01-20", &err), &err, "params");
    must(iam_params_add(&p, "Format", "JSON", &err), &err, "params");
    must(iam_params_add(&p, "AccessKeyId", "benchid", &err), &err, "params");
    must(iam_params_add(&p, "SignatureMethod", "HMAC-SHA1", &err), &err, "params");
    must(iam_params_add(&p, "SignatureVersion", "1.0", &err), &err, "params");
    must(iam_params_add(&p, "SignatureNonce", "8b1f2c3d4e5f60718293a4b5c6d7e8f9", &err), &err,
         "params");
    must(iam_params_add(&p, "Timestamp", "2026-11-30T00:00:00Z", &err), &err, "params");
    must(iam_params_add(&p, name, value, &err), &err, "params");
    must(iam_sign_v1("POST", &p, secret, sig, &err), &err, "sign");
    must(iam_params_add(&p, "Signature", sig, &err), &err, "params");
    for (size_t i = 0; i < p.n; i++) {
        must(i > 0 ? sd_buf_puts(q, "&", &err) : SD_OK, &err, "query");
        must(iam_pct_encode(p.v[i].name, strlen(p.v[i].name), q, &err), &err, "query");
        must(sd_buf_puts(q, "=", &err), &err, "query");
        must(iam_pct_encode(p.v[i].value, strlen(p.v[i].value), q, &err), &err, "query");
    }
    must(sd_buf_put_u8(q, 0, &err), &err, "query");
    sd_secret_free(secret);
    iam_params_free(&p);
}

/* One request's work; returns ops done in `seconds`. */
static double run(iam *i, kms *k, const kms_caller *c, const sd_buf *q, bool decrypt,
                  const sd_buf *blob, double seconds)
{
    double start = now_s();
    double n = 0;
    sd_err err = SD_ERR_INIT;

    while (now_s() - start < seconds) {
        for (int rep = 0; rep < 100; rep++) {
            iam_params qp = IAM_PARAMS_INIT;
            iam_auth auth;
            iam_request r = {.method = "POST", .path = "/", .query = &qp};
            sd_secret *plain = NULL;
            sd_buf out = SD_BUF_INIT(KMS_BLOB_MAX);
            kms_used used;
            bool is_dk = false;
            must(iam_params_parse((const char *)q->data, q->len - 1, NULL, &qp, &err), &err,
                 "parse");
            must(iam_verify(i, &r, &auth, &err), &err, "verify");
            if (decrypt) {
                must(kms_decrypt(k, c, blob->data, blob->len, NULL, &plain, &is_dk, &used, &err),
                     &err, "decrypt");
            } else {
                must(kms_generate_data_key(k, c, iam_params_get(&qp, "KeyId"), 32, NULL, &plain,
                                           &out, &used, &err),
                     &err, "generate");
            }
            sd_secret_free(plain);
            sd_buf_free(&out);
            iam_params_free(&qp);
        }
        n += 100;
    }
    return n / (now_s() - start);
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? strtod(argv[1], NULL) : 3.0;
    char dir[] = "/tmp/sd-api-bench-XXXXXX";
    char path[128];
    kms_rootkey *root = NULL;
    kms *k = NULL;
    iam *i = NULL;
    sd_secret *wrap = NULL;
    sd_secret *secret = NULL;
    kms_opts ko = {0};
    iam_opts io = IAM_OPTS_INIT;
    iam_account_info acct;
    kms_key_meta m;
    sd_buf gq = SD_BUF_INIT((size_t)1 << 16);
    sd_buf dq = SD_BUF_INIT((size_t)1 << 16);
    sd_buf blob = SD_BUF_INIT(KMS_BLOB_MAX);
    char *b64 = NULL;
    sd_err err = SD_ERR_INIT;
    kms_create_opts co = KMS_CREATE_OPTS_INIT;
    kms_caller c;
    kms_used used;

    if (mkdtemp(dir) == NULL) {
        return 1;
    }
    (void)snprintf(path, sizeof path, "%s/root.key", dir);
    must(kms_rootkey_file(path, true, &root, &err), &err, "root key");
    (void)snprintf(path, sizeof path, "%s/meta.db", dir);
    ko.db_path = path;
    ko.root = root;
    ko.clock = sd_clock_system();
    ko.rng = crypto_rng_system();
    must(kms_open(&ko, &k, &err), &err, "kms");
    must(kms_rootkey_derive(root, "bench", &wrap, &err), &err, "derive");
    io.db_path = path;
    io.wrap_key = wrap;
    io.clock = sd_clock_system();
    io.rng = crypto_rng_system();
    io.skip_clock_check = true; /* one signed request is replayed */
    io.skip_nonce_check = true;
    must(iam_open(&io, &i, &err), &err, "iam");
    must(iam_account_create(i, "bench", &acct, &err), &err, "account");
    must(sd_secret_from("benchsecret", 11, &secret, &err), &err, "secret");
    must(iam_key_import(i, acct.account_id, "benchid", secret, &err), &err, "key");
    c = (kms_caller){acct.account_id, "cn-hangzhou"};
    must(kms_create_key(k, &c, &co, &m, &err), &err, "create key");
    must(kms_generate_data_key(k, &c, m.key_id, 32, NULL, NULL, &blob, &used, &err), &err, "gdk");
    b64 = malloc(sd_b64_enc_len(blob.len) + 1);
    must(b64 != NULL ? sd_b64_encode(blob.data, blob.len, b64, sd_b64_enc_len(blob.len) + 1, &err)
                     : SD_E_NOMEM,
         &err, "base64");
    signed_query("GenerateDataKey", "KeyId", m.key_id, &gq);
    signed_query("Decrypt", "CiphertextBlob", b64, &dq);
    printf("GenerateDataKey %.0f\n", run(i, k, &c, &gq, false, NULL, seconds));
    printf("Decrypt %.0f\n", run(i, k, &c, &dq, true, &blob, seconds));
    free(b64);
    sd_buf_free(&gq);
    sd_buf_free(&dq);
    sd_buf_free(&blob);
    sd_secret_free(secret);
    sd_secret_free(wrap);
    iam_close(i);
    kms_close(k);
    kms_rootkey_free(root);
    (void)snprintf(path, sizeof path, "rm -rf '%s'", dir);
    return system(path) == 0 ? 0 : 1; /* NOLINT(concurrency-mt-unsafe,cert-env33-c) */
}
