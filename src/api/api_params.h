/* api_params.h: typed access to a request's decoded parameters, with the
 * contract's errors.  A topic header of api (STYLE B2 §1), public like
 * api.h: it states the parameter contract of api_params.def, which the
 * handlers and the unit tests read through; nothing here is private to
 * one file of api (that is api_int.h).
 *
 * Parameters are decoded (name, value) pairs from the query string and the
 * form body.  Accessors return SD_E_INVALID with Code MissingParameter
 * ("The parameter \"X\" is needed but not provided.") or InvalidParameter
 * ("The specified parameter \"X\" is not valid.") plus the reason, as the
 * SDKs expect.  Flattened forms (alibaba-api.md §4.1) are read too:
 * `Name.N.Field` lists (N from 1, gaps tolerated, sorted numerically) and
 * `Name.<key>` maps.
 * Thread model: a params view belongs to one request. */
#ifndef SD_API_PARAMS_H
#define SD_API_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

typedef struct api_pair {
    const char *name;
    const char *value;
} api_pair;

typedef struct api_params {
    const api_pair *pairs;
    size_t n;
    /* The action whose rows of api_params.def a handler may read ("KMS",
     * "CreateKey"); NULL: any.  In test builds (SD_FAULTS) reading another
     * parameter stops the server, so the table cannot drift. */
    const char *product;
    const char *action;
} api_params;

/* Parameters every action takes besides its rows in api_params.def. */
#define API_COMMON_PARAMS "RegionId"
/* ECS's: every ECS action runs its checks alone on DryRun=true. */
#define API_ECS_COMMON_PARAMS "DryRun"

/* Whether action (of product) takes parameter name, by api_params.def and
 * the common parameters; flattened names match their row's pattern. */
bool api_param_declared(const char *product, const char *action, const char *name);

/* The value of name, or NULL. */
const char *api_param(const api_params *p, const char *name);
/* api_param without the table check, for the pipeline's own probes (the
 * region a resource id implies). */
const char *api_param_peek(const api_params *p, const char *name);
/* *out = the value; MissingParameter when absent or empty. */
SD_MUST_USE sd_code api_param_req(const api_params *p, const char *name, const char **out,
                                  sd_err *err);
/* Optional string of at most maxlen bytes (*out = NULL when absent). */
SD_MUST_USE sd_code api_param_str(const api_params *p, const char *name, size_t maxlen,
                                  const char **out, sd_err *err);
/* Optional decimal integer in [min, max]; *out = dflt when absent. */
SD_MUST_USE sd_code api_param_int(const api_params *p, const char *name, int64_t min, int64_t max,
                                  int64_t dflt, int64_t *out, sd_err *err);
/* Optional boolean "true"/"false" (any case); *out = dflt when absent. */
SD_MUST_USE sd_code api_param_bool(const api_params *p, const char *name, bool dflt, bool *out,
                                   sd_err *err);

/* Members `prefix.<key>` as pairs whose name is <key>, in request order;
 * *out is allocated (caller frees), *n their count.  Used for
 * EncryptionContext.<k> maps flattened by the kms20160120 SDK. */
SD_MUST_USE sd_code api_param_map(const api_params *p, const char *prefix, api_pair **out,
                                  size_t *n, sd_err *err);

/* The list indices N present as `prefix.N` or `prefix.N.<field>`, sorted
 * and de-duplicated, at most max; *out allocated (caller frees). */
SD_MUST_USE sd_code api_param_list(const api_params *p, const char *prefix, size_t max,
                                   unsigned **out, size_t *n, sd_err *err);
/* The value of `prefix.N.field` (field NULL: `prefix.N`), or NULL. */
const char *api_param_item(const api_params *p, const char *prefix, unsigned index,
                           const char *field);

#endif
