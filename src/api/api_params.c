/* api_params.c: typed and flattened parameter access, and the parameter
 * table (api_params.def) the handlers are held to.
 *
 * Lookups are linear: a request carries at most a few hundred parameters
 * (bounded by the body limit), and a handler reads a handful; the table
 * check, in test builds only, walks a few hundred rows. */
#include "api/api_params.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Only these types and needs compile: a typo in the table is a build error. */
enum param_type { API_PT_String, API_PT_Integer, API_PT_Boolean, API_PT_JSON };
enum param_need { API_NEED_Required, API_NEED_Optional };

typedef struct param_row {
    const char *product;
    const char *action;
    const char *name;
    enum param_type type;
    enum param_need need;
} param_row;

static const param_row param_rows[] = {
#define API_PARAM(prod, act, name, type, need, meaning) \
    {#prod, #act, name, API_PT_##type, API_NEED_##need},
#include "api/api_params.def"
#undef API_PARAM
};

bool api_param_declared(const char *product, const char *action, const char *name)
{
    if (strcmp(name, API_COMMON_PARAMS) == 0 ||
        (strcmp(product, "ECS") == 0 && strcmp(name, API_ECS_COMMON_PARAMS) == 0)) {
        return true;
    }
    for (size_t i = 0; i < sizeof param_rows / sizeof param_rows[0]; i++) {
        const param_row *r = &param_rows[i];
        if (strcmp(r->product, product) == 0 && strcmp(r->action, action) == 0 &&
            sd_name_match(r->name, name)) {
            return true;
        }
    }
    return false;
}

#ifdef SD_FAULTS
/* Whether some row of the action is prefix or a list or map under it. */
static bool prefix_declared(const char *product, const char *action, const char *prefix)
{
    for (size_t i = 0; i < sizeof param_rows / sizeof param_rows[0]; i++) {
        const param_row *r = &param_rows[i];
        if (strcmp(r->product, product) == 0 && strcmp(r->action, action) == 0 &&
            sd_name_has_prefix(r->name, prefix)) {
            return true;
        }
    }
    return false;
}
#endif

/* Test builds: a handler read what its action's table rows do not list.
 * Stopping here makes every API test a test of the table. */
static void check_declared(const api_params *p, const char *name, bool prefix)
{
#ifdef SD_FAULTS
    bool ok;

    if (p->product == NULL || p->action == NULL) {
        return;
    }
    ok = prefix ? prefix_declared(p->product, p->action, name)
                : api_param_declared(p->product, p->action, name);
    if (!ok) {
        sd_log(SD_LOG_ERROR, "api", "%s %s reads parameter %s, which api_params.def does not list",
               p->product, p->action, name);
        abort();
    }
#else
    (void)p;
    (void)name;
    (void)prefix;
#endif
}

const char *api_param(const api_params *p, const char *name)
{
    check_declared(p, name, false);
    return api_param_peek(p, name);
}

const char *api_param_peek(const api_params *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->pairs[i].name, name) == 0) {
            return p->pairs[i].value;
        }
    }
    return NULL;
}

static sd_code invalid(sd_err *err, const char *name, const char *why)
{
    return sd_err_setc(err, SD_E_INVALID, "InvalidParameter", SD_HERE,
                       "The specified parameter \"%s\" is not valid: %s.", name, why);
}

sd_code api_param_req(const api_params *p, const char *name, const char **out, sd_err *err)
{
    const char *v = api_param(p, name);

    *out = NULL;
    if (v == NULL || v[0] == '\0') {
        return sd_err_setc(err, SD_E_INVALID, "MissingParameter", SD_HERE,
                           "The parameter \"%s\" is needed but not provided.", name);
    }
    *out = v;
    return SD_OK;
}

sd_code api_param_str(const api_params *p, const char *name, size_t maxlen, const char **out,
                      sd_err *err)
{
    const char *v = api_param(p, name);

    *out = NULL;
    if (v != NULL && strlen(v) > maxlen) {
        char why[64];
        (void)snprintf(why, sizeof why,
                       /* a cut reason is still a reason */ "longer than %zu characters", maxlen);
        return invalid(err, name, why);
    }
    *out = v;
    return SD_OK;
}

sd_code api_param_int(const api_params *p, const char *name, int64_t min, int64_t max, int64_t dflt,
                      int64_t *out, sd_err *err)
{
    const char *v = api_param(p, name);
    char *end = NULL;
    long long n;
    char why[96];

    *out = dflt;
    if (v == NULL) {
        return SD_OK;
    }
    errno = 0;
    n = strtoll(v, &end, 10);
    if (v[0] == '\0' || errno != 0 || end == NULL || *end != '\0' || v[0] == '+' || v[0] == ' ') {
        return invalid(err, name, "not an integer");
    }
    if (n < min || n > max) {
        (void)snprintf(why, sizeof why,
                       /* a cut reason is still a reason */ "must be from %" PRId64 " to %" PRId64,
                       min, max);
        return invalid(err, name, why);
    }
    *out = (int64_t)n;
    return SD_OK;
}

sd_code api_param_bool(const api_params *p, const char *name, bool dflt, bool *out, sd_err *err)
{
    const char *v = api_param(p, name);

    *out = dflt;
    if (v == NULL) {
        return SD_OK;
    }
    if (strcasecmp(v, "true") == 0) {
        *out = true;
    } else if (strcasecmp(v, "false") == 0) {
        *out = false;
    } else {
        return invalid(err, name, "must be true or false");
    }
    return SD_OK;
}

sd_code api_param_map(const api_params *p, const char *prefix, api_pair **out, size_t *n,
                      sd_err *err)
{
    sd_code rc = SD_OK;
    size_t plen = strlen(prefix);
    size_t count = 0;

    check_declared(p, prefix, true);
    *out = NULL;
    *n = 0;
    for (size_t i = 0; i < p->n; i++) {
        const char *name = p->pairs[i].name;
        if (strncmp(name, prefix, plen) == 0 && name[plen] == '.' && name[plen + 1] != '\0') {
            count++;
        }
    }
    if (count == 0) {
        goto out;
    }
    *out = calloc(count, sizeof **out);
    SD_ENSURE(*out != NULL, err, SD_E_NOMEM, "out of memory");
    for (size_t i = 0; i < p->n; i++) {
        const char *name = p->pairs[i].name;
        if (strncmp(name, prefix, plen) == 0 && name[plen] == '.' && name[plen + 1] != '\0') {
            (*out)[*n].name = name + plen + 1;
            (*out)[*n].value = p->pairs[i].value;
            (*n)++;
        }
    }
out:
    return rc;
}

/* The N of `prefix.N` or `prefix.N.x`, or 0 when name is not of that form. */
static unsigned list_index(const char *name, const char *prefix, size_t plen)
{
    const char *d;
    unsigned long v = 0;

    if (strncmp(name, prefix, plen) != 0 || name[plen] != '.') {
        return 0;
    }
    d = name + plen + 1;
    if (*d < '1' || *d > '9') {
        return 0;
    }
    for (; *d >= '0' && *d <= '9'; d++) {
        v = v * 10 + (unsigned long)(*d - '0');
        if (v > 100000) {
            return 0;
        }
    }
    return (*d == '\0' || *d == '.') ? (unsigned)v : 0;
}

static int cmp_unsigned(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a;
    unsigned y = *(const unsigned *)b;
    return (x > y) - (x < y);
}

sd_code api_param_list(const api_params *p, const char *prefix, size_t max, unsigned **out,
                       size_t *n, sd_err *err)
{
    sd_code rc = SD_OK;
    size_t plen = strlen(prefix);
    size_t k = 0;
    unsigned *idx = NULL;

    check_declared(p, prefix, true);
    *out = NULL;
    *n = 0;
    idx = calloc(p->n + 1, sizeof *idx);
    SD_ENSURE(idx != NULL, err, SD_E_NOMEM, "out of memory");
    for (size_t i = 0; i < p->n; i++) {
        unsigned v = list_index(p->pairs[i].name, prefix, plen);
        if (v != 0) {
            idx[k++] = v;
        }
    }
    qsort(idx, k, sizeof *idx, cmp_unsigned);
    for (size_t i = 0; i < k; i++) {
        if (*n == 0 || idx[*n - 1] != idx[i]) {
            idx[(*n)++] = idx[i];
        }
    }
    if (*n > max) {
        char why[64];
        (void)snprintf(why, sizeof why, /* a cut reason is still a reason */ "more than %zu items",
                       max);
        rc = invalid(err, prefix, why);
        goto out;
    }
    *out = idx;
    idx = NULL;
out:
    free(idx);
    if (rc != SD_OK) {
        *n = 0;
    }
    return rc;
}

const char *api_param_item(const api_params *p, const char *prefix, unsigned index,
                           const char *field)
{
    char name[256];
    int w = field != NULL ? snprintf(name, sizeof name, "%s.%u.%s", prefix, index, field)
                          : snprintf(name, sizeof name, "%s.%u", prefix, index);

    if (w < 0 || (size_t)w >= sizeof name) {
        return NULL;
    }
    return api_param(p, name);
}
