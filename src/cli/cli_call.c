/* cli_call.c: one signed API call, as the official SDKs make it.
 *
 * V3 (the default, as @alicloud/ecs20140526 signs): business parameters in
 * the query, action and version in x-acs-action / x-acs-version, an empty
 * body whose SHA-256 is x-acs-content-sha256, and an ACS3-HMAC-SHA256
 * Authorization header.  v1 (as @alicloud/kms20160120 signs): everything in
 * the query, with Signature over the sorted parameters.  Both signers are
 * iam's, the same code the server verifies with. */
#include <stdio.h>
#include <string.h>

#include <sys/random.h>

#include "cli/cli.h"
#include "iam/iam.h"

/* A fresh SignatureNonce: 128 random bits in hex. */
static sd_code nonce(char out[33], sd_err *err)
{
    uint8_t r[16];

    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
        return sd_err_set(err, SD_E_IO, SD_HERE, "cannot read random bytes for the nonce");
    }
    sd_hex(r, sizeof r, out);
    return SD_OK;
}

/* name=value&... with the canonical encoding (§3.2). */
static sd_code encode_query(const iam_params *p, sd_buf *q, sd_err *err)
{
    sd_code rc = SD_OK;

    for (size_t i = 0; i < p->n; i++) {
        if (i > 0) {
            SD_TRY(sd_buf_puts(q, "&", err));
        }
        SD_TRY(iam_pct_encode(p->v[i].name, strlen(p->v[i].name), q, err));
        SD_TRY(sd_buf_puts(q, "=", err));
        SD_TRY(iam_pct_encode(p->v[i].value, strlen(p->v[i].value), q, err));
    }
    SD_TRY(sd_buf_put_u8(q, 0, err));
    q->len--; /* NUL-terminated for curl, not counted */
out:
    return rc;
}

static sd_code add_params(iam_params *p, const cli_param *params, size_t n, const char *region,
                          sd_err *err)
{
    sd_code rc = SD_OK;
    bool has_region = false;

    for (size_t i = 0; i < n; i++) {
        SD_TRY(iam_params_add(p, params[i].name, params[i].value, err));
        has_region = has_region || strcmp(params[i].name, "RegionId") == 0;
    }
    if (!has_region && region != NULL && region[0] != '\0') {
        SD_TRY(iam_params_add(p, "RegionId", region, err));
    }
out:
    return rc;
}

static sd_code call_v1(const sd_profile *prof, const char *version, const char *action,
                       iam_params *p, int *status, sd_buf *body, sd_err *err)
{
    sd_code rc = SD_OK;
    sd_clock wall = sd_clock_system();
    sd_buf q = SD_BUF_INIT((size_t)1 << 20);
    char ts[21];
    char n[33];
    char sig[29];

    sd_time_iso8601(sd_now(&wall), ts);
    SD_TRY(nonce(n, err));
    SD_TRY(iam_params_add(p, "Action", action, err));
    SD_TRY(iam_params_add(p, "Version", version, err));
    SD_TRY(iam_params_add(p, "Format", "JSON", err));
    SD_TRY(iam_params_add(p, "AccessKeyId", prof->access_key_id, err));
    SD_TRY(iam_params_add(p, "SignatureMethod", "HMAC-SHA1", err));
    SD_TRY(iam_params_add(p, "SignatureVersion", "1.0", err));
    SD_TRY(iam_params_add(p, "SignatureNonce", n, err));
    SD_TRY(iam_params_add(p, "Timestamp", ts, err));
    SD_TRY(iam_sign_v1("POST", p, prof->access_key_secret, sig, err));
    SD_TRY(iam_params_add(p, "Signature", sig, err));
    SD_TRY(encode_query(p, &q, err));
    SD_TRY(cli_http_post(prof, (const char *)q.data, NULL, 0, status, body, err));
out:
    sd_buf_free(&q);
    return rc;
}

static sd_code call_v3(const sd_profile *prof, const char *version, const char *action,
                       iam_params *p, int *status, sd_buf *body, sd_err *err)
{
    sd_code rc = SD_OK;
    sd_clock wall = sd_clock_system();
    sd_buf q = SD_BUF_INIT((size_t)1 << 20);
    sd_buf auth = SD_BUF_INIT(1024);
    char ts[21];
    char n[33];
    char sha[65];
    const char *auth_text = NULL;
    iam_pair h[6];
    cli_header ch[7];
    iam_request req;

    sd_time_iso8601(sd_now(&wall), ts);
    SD_TRY(nonce(n, err));
    SD_TRY(iam_body_sha256_hex(NULL, 0, sha, err));
    h[0] = (iam_pair){"host", cli_endpoint_host(prof->endpoint)};
    h[1] = (iam_pair){"x-acs-action", action};
    h[2] = (iam_pair){"x-acs-version", version};
    h[3] = (iam_pair){"x-acs-date", ts};
    h[4] = (iam_pair){"x-acs-signature-nonce", n};
    h[5] = (iam_pair){"x-acs-content-sha256", sha};
    req = (iam_request){.method = "POST",
                        .path = "/",
                        .query = p,
                        .headers = h,
                        .n_headers = sizeof h / sizeof h[0]};
    SD_TRY(iam_sign_v3(&req, prof->access_key_id, prof->access_key_secret, &auth, err));
    SD_TRY(sd_buf_cstr(&auth, &auth_text, err));
    for (size_t i = 0; i < sizeof h / sizeof h[0]; i++) {
        ch[i] = (cli_header){h[i].name, h[i].value};
    }
    ch[6] = (cli_header){"authorization", auth_text};
    SD_TRY(encode_query(p, &q, err));
    SD_TRY(
        cli_http_post(prof, (const char *)q.data, ch, sizeof ch / sizeof ch[0], status, body, err));
out:
    sd_buf_free(&auth);
    sd_buf_free(&q);
    return rc;
}

sd_code cli_call(const sd_profile *prof, const char *version, const char *action,
                 const cli_param *params, size_t n, int *status, sd_buf *body, sd_err *err)
{
    sd_code rc = SD_OK;
    iam_params p = IAM_PARAMS_INIT;

    SD_TRY(add_params(&p, params, n, prof->region, err));
    if (prof->sign_v1) {
        SD_TRY(call_v1(prof, version, action, &p, status, body, err));
    } else {
        SD_TRY(call_v3(prof, version, action, &p, status, body, err));
    }
out:
    iam_params_free(&p);
    return rc;
}

sd_code cli_call_json(const sd_profile *prof, const char *version, const char *action,
                      const cli_param *params, size_t n, cli_result *out, sd_err *err)
{
    sd_code rc = SD_OK;
    const sd_json_val *root;
    const sd_json_val *v;
    sd_err perr = SD_ERR_INIT;

    *out = (cli_result){.body = SD_BUF_INIT((size_t)16 << 20)};
    SD_TRY(cli_call(prof, version, action, params, n, &out->status, &out->body, err));
    if (sd_json_parse((const char *)out->body.data, out->body.len, 1u << 16, &out->doc, &perr) !=
        SD_OK) {
        SD_FAIL(err, SD_E_IO, "%s answered something that is not JSON (HTTP %d)", action,
                out->status);
    }
    root = sd_json_root(out->doc);
    v = sd_json_get(root, "Code");
    if (out->status >= 400 || v != NULL) {
        (void)snprintf(out->code, sizeof out->code, "%s", v != NULL ? v->str : "Unknown");
        v = sd_json_get(root, "Message");
        (void)snprintf(out->message, sizeof out->message, "%s", v != NULL ? v->str : "");
    }
out:
    return rc;
}

void cli_result_free(cli_result *r)
{
    sd_json_doc_free(r->doc);
    sd_buf_free(&r->body);
    *r = (cli_result){.doc = NULL};
}

const sd_json_val *cli_json_path(const cli_result *r, const char *a, const char *b)
{
    const sd_json_val *v = r->doc != NULL ? sd_json_root(r->doc) : NULL;

    v = a != NULL ? sd_json_get(v, a) : v;
    return b != NULL ? sd_json_get(v, b) : v;
}
