/* api_request.c: the request pipeline, between the HTTP glue and the
 * handlers:
 *
 *   1. parse the query of the raw request-target, and the body when it is
 *      application/x-www-form-urlencoded (our own decoder: signatures are
 *      computed over exactly what we decode);
 *   2. authenticate (iam_verify: scheme, timestamp, nonce, AccessKey,
 *      signature), which also yields the action and version: V3 requests
 *      carry them in x-acs-action / x-acs-version, v1 in parameters;
 *   3. pick the product from the version and the handler from the actions
 *      table; resolve the region;
 *   4. run the handler into a response that starts with RequestId;
 *   5. write one audit line for every KMS call, success or failure, and
 *      for every DescribeInstanceDataPlane (it hands out disk access).
 * A failure anywhere becomes the error body of the contract (§5.2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_int.h"

#define KMS_VERSION "2016-01-20"
#define ECS_VERSION "2014-05-26"
#define RAM_VERSION "2015-05-01"

typedef struct action {
    api_product product;
    const char *name;
    api_handler fn;
} action;

static const action actions[] = {
#define API_ACTION(product, name, summary) {API_##product, #name, api__##product##_##name},
#include "api/api_actions.def"
#undef API_ACTION
};

/* Everything one request allocates, released in one place. */
typedef struct pipeline {
    iam_params query;
    iam_params form;
    api_pair *pairs;
    api_params params;
    iam_auth auth;
    bool authenticated;
    api_product product;
    const action *act;
    api_req req;
} pipeline;

static const action *find_action(api_product product, const char *name)
{
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++) {
        if (actions[i].product == product && strcmp(actions[i].name, name) == 0) {
            return &actions[i];
        }
    }
    return NULL;
}

static const char *product_name(api_product p)
{
    switch (p) {
    case API_KMS:
        return "KMS";
    case API_ECS:
        return "ECS";
    case API_RAM:
        return "RAM";
    }
    return "?";
}

static const char *header(const api_http_req *hr, const char *name)
{
    for (size_t i = 0; i < hr->n_headers; i++) {
        if (strcmp(hr->headers[i].name, name) == 0) {
            return hr->headers[i].value;
        }
    }
    return NULL;
}

/* The product a request claims before it is authenticated, so that even
 * an authentication failure is answered in its product's vocabulary. */
static api_product claimed_product(const api_http_req *hr, const pipeline *pl)
{
    const char *v = header(hr, "x-acs-version");

    if (v == NULL) {
        v = iam_params_get(&pl->query, "Version");
    }
    if (v == NULL) {
        v = iam_params_get(&pl->form, "Version");
    }
    return v != NULL && strcmp(v, KMS_VERSION) == 0 ? API_KMS : API_ECS;
}

static bool is_form(const api_http_req *hr)
{
    const char *ct = header(hr, "content-type");
    static const char form[] = "application/x-www-form-urlencoded";

    return ct != NULL && strncasecmp(ct, form, sizeof form - 1) == 0 &&
           (ct[sizeof form - 1] == '\0' || ct[sizeof form - 1] == ';');
}

/* Step 1: query and form parameters, and the request view iam verifies. */
static sd_code parse(const api_http_req *hr, pipeline *pl, iam_request *ir, char *path, size_t cap,
                     sd_err *err)
{
    sd_code rc = SD_OK;
    const char *q = strchr(hr->target, '?');
    size_t plen = q != NULL ? (size_t)(q - hr->target) : strlen(hr->target);

    SD_ENSUREC(!hr->uri_too_long, err, SD_E_INVALID, "RequestURITooLong",
               "The request URI is longer than the server accepts.");
    SD_ENSUREC(!hr->headers_too_large, err, SD_E_INVALID, "RequestHeaderFieldsTooLarge",
               "The request headers are larger than the server accepts.");
    SD_ENSUREC(!hr->too_large, err, SD_E_INVALID, "InvalidParameter",
               "The request body is larger than the server accepts.");
    SD_ENSUREC(strcmp(hr->method, "POST") == 0 || strcmp(hr->method, "GET") == 0, err, SD_E_DENIED,
               "UnsupportedHTTPMethod", "The HTTP method %s is not supported; use POST or GET.",
               hr->method);
    SD_ENSUREC(plen < cap && memchr(hr->target, '%', plen) == NULL, err, SD_E_INVALID,
               "InvalidParameter", "The request path is not valid.");
    memcpy(path, hr->target, plen);
    path[plen] = '\0';
    if (q != NULL) {
        SD_TRY(iam_params_parse(q + 1, strlen(q + 1), NULL, &pl->query, err));
    }
    if (is_form(hr) && hr->body_len > 0) {
        SD_TRY(iam_params_parse((const char *)hr->body, hr->body_len, NULL, &pl->form, err));
    }
    *ir = (iam_request){
        .method = hr->method,
        .path = path,
        .query = &pl->query,
        .form = is_form(hr) ? &pl->form : NULL,
        .headers = hr->headers,
        .n_headers = hr->n_headers,
        .body = hr->body,
        .body_len = hr->body_len,
    };
out:
    return rc;
}

const char *api__served_region(const api_server_opts *o, const char *region)
{
    if (strcmp(region, o->region) == 0) {
        return o->region;
    }
    for (size_t i = 0; i < o->nregions; i++) {
        if (strcmp(region, o->regions[i]) == 0) {
            return o->regions[i]; /* lives as long as the server, unlike the request */
        }
    }
    return NULL;
}

/* Step 3: product, action, merged parameters and region. */
static sd_code route(const api_server_opts *o, pipeline *pl, sd_err *err)
{
    sd_code rc = SD_OK;
    size_t n = pl->query.n + pl->form.n;
    const char *region;

    if (strcmp(pl->auth.version, KMS_VERSION) == 0) {
        pl->product = API_KMS;
    } else if (strcmp(pl->auth.version, ECS_VERSION) == 0) {
        pl->product = API_ECS;
    } else if (strcmp(pl->auth.version, RAM_VERSION) == 0) {
        pl->product = API_RAM;
    } else {
        SD_FAILC(err, SD_E_INVALID, "InvalidVersion",
                 "Specified parameter Version is not valid: \"%s\" (KMS is %s, ECS is %s, RAM is "
                 "%s).",
                 pl->auth.version, KMS_VERSION, ECS_VERSION, RAM_VERSION);
    }
    pl->act = find_action(pl->product, pl->auth.action);
    SD_ENSUREC(pl->act != NULL, err, SD_E_NOT_FOUND, "InvalidAction.NotFound",
               "Specified api is not found, please check your url and method: %s %s.",
               product_name(pl->product), pl->auth.action);
    pl->pairs = calloc(n > 0 ? n : 1, sizeof *pl->pairs);
    SD_ENSURE(pl->pairs != NULL, err, SD_E_NOMEM, "out of memory");
    for (size_t i = 0; i < pl->query.n; i++) {
        pl->pairs[i] = (api_pair){pl->query.v[i].name, pl->query.v[i].value};
    }
    for (size_t i = 0; i < pl->form.n; i++) {
        pl->pairs[pl->query.n + i] = (api_pair){pl->form.v[i].name, pl->form.v[i].value};
    }
    pl->params = (api_params){pl->pairs, n, product_name(pl->product), pl->act->name};
    region = api_param(&pl->params, "RegionId");
    if (region == NULL || region[0] == '\0') {
        region = o->region;
    }
    region = api__served_region(o, region);
    SD_ENSUREC(region != NULL, err, SD_E_INVALID, "InvalidRegionId",
               "The specified RegionId \"%s\" does not exist; see DescribeRegions for the regions "
               "served here.",
               api_param(&pl->params, "RegionId"));
    pl->req.caller = (kms_caller){pl->auth.account_id, region};
out:
    return rc;
}

/* Step 4: the handler's members after RequestId. */
static sd_code run(const api_server_opts *o, pipeline *pl, const api_http_req *hr, sd_buf *out,
                   sd_err *err)
{
    sd_code rc = SD_OK;
    sd_jw j;

    pl->req.dry_run = false;
    pl->req.secure_transport = hr->secure;
    if (pl->product == API_ECS) {
        SD_TRY(api_param_bool(&pl->params, "DryRun", false, &pl->req.dry_run, err));
    }
    sd_jw_init(&j, out, err);
    sd_jw_obj_begin(&j, NULL);
    sd_jw_str(&j, "RequestId", hr->request_id);
    pl->req.opts = o;
    pl->req.params = &pl->params;
    pl->req.j = &j;
    pl->req.err = err;
    SD_TRY(pl->act->fn(&pl->req));
    /* the mutators stop themselves before their first change (ecs_caller
     * dry_run); an action that changes nothing has run whole, and answers
     * as they do */
    SD_ENSUREC(!pl->req.dry_run, err, SD_E_INVALID, "DryRunOperation",
               "Request validation has been passed with DryRun flag set.");
    sd_jw_obj_end(&j);
    SD_TRY(sd_jw_finish(&j));
out:
    return rc;
}

/* The error body of the contract (§5.2); returns the status. */
static int error_body(api_product product, const api_http_req *hr, const sd_err *err, sd_buf *out,
                      const char **code)
{
    sd_jw j;
    int status = 500;

    *code = "InternalError";
    api__error_map(product, err, &status, code);
    sd_buf_reset(out);
    sd_jw_init(&j, out, NULL);
    sd_jw_obj_begin(&j, NULL);
    sd_jw_str(&j, "RequestId", hr->request_id);
    sd_jw_str(&j, "HostId", hr->host_id);
    sd_jw_str(&j, "Code", *code);
    sd_jw_str(&j, "Message", err->msg[0] != '\0' ? err->msg : *code);
    sd_jw_str(&j, "Recommend", "");
    sd_jw_int(&j, "HttpStatus", status);
    sd_jw_obj_end(&j);
    if (sd_jw_finish(&j) != SD_OK) {
        static const char fallback[] =
            "{\"Code\":\"InternalError\",\"Message\":\"response too large\"}";
        sd_buf_reset(out);
        sd_ignore(sd_buf_append(out, fallback, sizeof fallback - 1, NULL)); /* fits any max */
        status = 500;
    }
    return status;
}

/* Step 5: one line per KMS call, whatever its outcome, and per request for
 * an instance's data-plane credential (who asked for a key to its disks). */
static void audit(const api_server_opts *o, const pipeline *pl, const api_http_req *hr,
                  const char *code, int status)
{
    api_audit_rec rec;
    bool dataplane = pl->product == API_ECS && pl->act != NULL &&
                     strcmp(pl->act->name, "DescribeInstanceDataPlane") == 0;

    if (o->audit == NULL || (pl->product != API_KMS && !dataplane)) {
        return;
    }
    rec = (api_audit_rec){
        .time = sd_now(&o->clock),
        .request_id = hr->request_id,
        .account = pl->authenticated ? pl->auth.account_id : "",
        .access_key_id = pl->authenticated ? pl->auth.access_key_id : "",
        .action = pl->act != NULL ? pl->act->name : pl->auth.action,
        .key_id = pl->req.key_id[0] != '\0' ? pl->req.key_id : NULL,
        .key_version_id = pl->req.version_id[0] != '\0' ? pl->req.version_id : NULL,
        .resource = pl->req.resource[0] != '\0' ? pl->req.resource : NULL,
        .code = code,
        .status = status,
    };
    api_audit_write(o->audit, &rec);
}

int api__process(const api_server_opts *o, const api_http_req *hr, sd_buf *out)
{
    sd_code rc = SD_OK;
    sd_err err = SD_ERR_INIT;
    pipeline pl = {.query = IAM_PARAMS_INIT, .form = IAM_PARAMS_INIT, .product = API_ECS};
    iam_request ir;
    char path[256];
    const char *code = "OK";
    int status = 200;

    SD_TRY(parse(hr, &pl, &ir, path, sizeof path, &err));
    pl.product = claimed_product(hr, &pl);
    SD_TRY(iam_verify(o->iam, &ir, &pl.auth, &err));
    pl.authenticated = true;
    SD_TRY(route(o, &pl, &err));
    SD_TRY(run(o, &pl, hr, out, &err));
out:
    if (rc != SD_OK) {
        status = error_body(pl.product, hr, &err, out, &code);
        if (status >= 500) {
            sd_log(SD_LOG_ERROR, "api", "request=%s action=%s: %s", hr->request_id, pl.auth.action,
                   err.msg);
        }
    }
    audit(o, &pl, hr, code, status);
    free(pl.pairs);
    iam_params_free(&pl.query);
    iam_params_free(&pl.form);
    return status;
}
