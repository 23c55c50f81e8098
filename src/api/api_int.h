/* api_int.h: what the api module's files share. */
#ifndef SD_API_INT_H
#define SD_API_INT_H

#include "api/api.h"
#include "api/api_json.h"
#include "api/api_params.h"
#include "iam/iam.h"
#include "kms/kms.h"

typedef enum api_product {
    API_KMS,
    API_ECS,
    API_RAM,
} api_product;

/* Status and Code for a failure (the one mapping table, api_errors.c). */
void api__error_map(api_product product, const sd_err *err, int *status, const char **code);

/* One authenticated request as a handler sees it.  The handler reads
 * params, writes its response members into j (the pipeline has opened the
 * object and written RequestId) and names what it touched for the audit
 * log; on failure it returns the error and whatever it wrote is dropped. */
typedef struct api_req {
    const api_server_opts *opts;
    const api_params *params;
    kms_caller caller; /* account and region of the request */
    api_json *j;
    sd_err *err;
    char key_id[KMS_ID_MAX];     /* audit: the key the call used, if any */
    char version_id[KMS_ID_MAX]; /* audit: its version, if known */
    char resource[KMS_ARN_MAX];  /* audit: alias or key reference as given */
} api_req;

typedef sd_code (*api_handler)(api_req *r);

/* The key reference parameter name (required, bounded); also noted as the
 * audit record's resource. */
SD_MUST_USE sd_code api__key_param(api_req *r, const char *name, const char **ref);
/* Notes the key (and version, may be NULL) a call used, for the audit log. */
void api__note_key(api_req *r, const char *key_id, const char *version_id);

#define API_ACTION(product, name, summary) SD_MUST_USE sd_code api__##product##_##name(api_req *r);
#include "api/api_actions.def"
#undef API_ACTION

/* What the HTTP layer hands the pipeline (all borrowed). */
typedef struct api_http_req {
    const char *method;
    const char *target;      /* raw request-target: path and query, undecoded */
    const iam_pair *headers; /* names lower case */
    size_t n_headers;
    const uint8_t *body;
    size_t body_len;
    bool too_large; /* the body exceeded max_body and was dropped */
    const char *request_id;
    const char *host_id;
} api_http_req;

/* Parses, authenticates, dispatches and audits one request; fills out
 * with the JSON body and returns the HTTP status (api_request.c). */
int api__process(const api_server_opts *o, const api_http_req *hr, sd_buf *out);

#endif
