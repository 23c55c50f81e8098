/* api_int.h: what the api module's files share. */
#ifndef SD_API_INT_H
#define SD_API_INT_H

#include "api/api.h"
#include "api/api_params.h"
#include "common/sd_json.h"
#include "ecs/ecs.h"
#include "iam/iam.h"
#include "kms/kms.h"

typedef enum api_product {
    API_KMS,
    API_ECS,
    API_RAM,
} api_product;

/* Status and Code for a failure (the one mapping table, api_errors.c). */
void api__error_map(api_product product, const sd_err *err, int *status, const char **code);

/* The server-lifetime copy of region when it is served, else NULL. */
const char *api__served_region(const api_server_opts *o, const char *region);

/* One authenticated request as a handler sees it.  The handler reads
 * params, writes its response members into j (the pipeline has opened the
 * object and written RequestId) and names what it touched for the audit
 * log; on failure it returns the error and whatever it wrote is dropped. */
typedef struct api_req {
    const api_server_opts *opts;
    const api_params *params;
    kms_caller caller;     /* account and region of the request */
    bool dry_run;          /* ECS DryRun=true: check, change nothing */
    bool secure_transport; /* over TLS: RAM's acs:SecureTransport condition key */
    sd_jw *j;
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

/* ---- shared by the ECS handlers (api_ecs_common.c) ---------------------- */

/* The ECS view of the caller; fails (ServiceUnavailable) when the server
 * serves no ECS. */
SD_MUST_USE sd_code api__ecs_begin(api_req *r, ecs_caller *c);

/* PageNumber/PageSize (1-based; size 1..100, default 10) and the running
 * count of matches while a list is walked. */
typedef struct api_page {
    int64_t number;
    int64_t size;
    int64_t total; /* matches seen so far */
} api_page;

SD_MUST_USE sd_code api__page_params(api_req *r, api_page *pg);
/* Counts one match; true when it falls on the requested page. */
bool api__page_take(api_page *pg);
/* TotalCount, PageNumber, PageSize and NextToken "". */
void api__page_members(api_req *r, const api_page *pg);

/* An optional JSON array of at most 100 id strings (DiskIds, SnapshotIds,
 * InstanceIds); *doc NULL when absent.  Not a JSON array of strings: 400
 * InvalidParameter.<name>; more than 100: 403 Invalid<name>.Malformed. */
SD_MUST_USE sd_code api__id_list(api_req *r, const char *name, sd_json_doc **doc);
/* Whether the list (NULL: no filter) names id. */
bool api__id_listed(const sd_json_doc *doc, const char *id);

/* An optional boolean as -1 (absent), 0 or 1. */
SD_MUST_USE sd_code api__tristate(api_req *r, const char *name, int *out);
/* An ISO 8601 time member; "" for 0. */
void api__time_member(sd_jw *j, const char *key, int64_t t);
/* Whether a string filter (NULL: none) admits value. */
bool api__str_match(const char *filter, const char *value);

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
    bool too_large;         /* the body exceeded max_body and was dropped */
    bool uri_too_long;      /* the target exceeded API_MAX_URI */
    bool headers_too_large; /* more header bytes or fields than kept */
    bool secure;            /* it came over TLS */
    const char *request_id;
    const char *host_id;
} api_http_req;

/* Parses, authenticates, dispatches and audits one request; fills out
 * with the JSON body and returns the HTTP status (api_request.c). */
int api__process(const api_server_opts *o, const api_http_req *hr, sd_buf *out);

#endif
