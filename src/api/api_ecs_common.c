/* api_ecs_common.c: what the ECS handlers share: the caller, paging done
 * in the handler over a full walk of ecs's lists, JSON id-list filters,
 * and tri-state booleans.
 *
 * ECS lists are walked whole and filtered here, because every filter of
 * DescribeDisks/Snapshots/Instances is an API concern; a region holds at
 * most a few thousand resources per account, so a walk is cheap. */
#include <stdio.h>
#include <string.h>

#include "api/api_int.h"

#define ID_LIST_MAX ((size_t)100)

/* One endpoint serves every region.  Alibaba takes the region of a call
 * without RegionId (DeleteDisk, StartInstance ... have none in the SDKs)
 * from the endpoint; here it is the region of the resource it names, so
 * those calls reach resources in any region. */
static const char *implied_region(api_req *r)
{
    static const char *const ids[] = {"InstanceId", "DiskId", "SnapshotId", "ImageId"};
    const char *region = api_param_peek(r->params, "RegionId");

    if (region != NULL && region[0] != '\0') {
        return NULL;
    }
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        const char *id = api_param_peek(r->params, ids[i]);
        if (id != NULL && id[0] != '\0') {
            return ecs_resource_region(r->opts->ecs, r->caller.account, id);
        }
    }
    return NULL;
}

sd_code api__ecs_begin(api_req *r, ecs_caller *c)
{
    const char *implied = NULL;

    *c = (ecs_caller){r->caller.account, r->caller.region, r->dry_run};
    if (r->opts->ecs == NULL) {
        return sd_err_setc(r->err, SD_E_NOMEM, "ServiceUnavailable", SD_HERE,
                           "This server does not serve ECS.");
    }
    implied = implied_region(r);
    if (implied != NULL) {
        c->region = implied;
    }
    return SD_OK;
}

sd_code api__page_params(api_req *r, api_page *pg)
{
    sd_code rc = SD_OK;

    pg->total = 0;
    SD_TRY(api_param_int(r->params, "PageNumber", 1, INT32_MAX, 1, &pg->number, r->err));
    SD_TRY(api_param_int(r->params, "PageSize", 1, 100, 10, &pg->size, r->err));
out:
    return rc;
}

bool api__page_take(api_page *pg)
{
    int64_t first = (pg->number - 1) * pg->size; /* both bounded: no overflow */
    int64_t i = pg->total++;

    return i >= first && i < first + pg->size;
}

void api__page_members(api_req *r, const api_page *pg)
{
    sd_jw_int(r->j, "TotalCount", pg->total);
    sd_jw_int(r->j, "PageNumber", pg->number);
    sd_jw_int(r->j, "PageSize", pg->size);
    sd_jw_str(r->j, "NextToken", "");
}

sd_code api__id_list(api_req *r, const char *name, sd_json_doc **doc)
{
    sd_code rc = SD_OK;
    const char *text = api_param(r->params, name);
    sd_err why = SD_ERR_INIT;
    const sd_json_val *root;
    char code[SD_ERR_API_MAX];

    *doc = NULL;
    if (text == NULL || text[0] == '\0') {
        goto out;
    }
    (void)snprintf(code, sizeof code, "InvalidParameter.%s", name); /* names are short */
    if (sd_json_parse(text, strlen(text), 4 * ID_LIST_MAX, doc, &why) != SD_OK) {
        SD_FAILC(r->err, SD_E_INVALID, code,
                 "The specified parameter \"%s\" is not valid: not a JSON array of ids (%s).", name,
                 why.msg);
    }
    root = sd_json_root(*doc);
    SD_ENSUREC(root->type == SD_JSON_ARRAY, r->err, SD_E_INVALID, code,
               "The specified parameter \"%s\" is not valid: not a JSON array of ids.", name);
    for (const sd_json_val *v = root->child; v != NULL; v = v->next) {
        SD_ENSUREC(v->type == SD_JSON_STRING, r->err, SD_E_INVALID, code,
                   "The specified parameter \"%s\" is not valid: every id is a string.", name);
    }
    (void)snprintf(code, sizeof code, "Invalid%s.Malformed", name);
    SD_ENSUREC(root->n <= ID_LIST_MAX, r->err, SD_E_DENIED, code,
               "The specified parameter \"%s\" is malformed: at most %zu ids.", name, ID_LIST_MAX);
out:
    if (rc != SD_OK) {
        sd_json_doc_free(*doc);
        *doc = NULL;
    }
    return rc;
}

bool api__id_listed(const sd_json_doc *doc, const char *id)
{
    if (doc == NULL) {
        return true;
    }
    for (const sd_json_val *v = sd_json_root(doc)->child; v != NULL; v = v->next) {
        if (strcmp(v->str, id) == 0) {
            return true;
        }
    }
    return false;
}

sd_code api__tristate(api_req *r, const char *name, int *out)
{
    sd_code rc = SD_OK;
    bool b = false;

    *out = -1;
    if (api_param(r->params, name) == NULL) {
        goto out;
    }
    SD_TRY(api_param_bool(r->params, name, false, &b, r->err));
    *out = b ? 1 : 0;
out:
    return rc;
}

void api__time_member(sd_jw *j, const char *key, int64_t t)
{
    char iso[21];

    if (t == 0) {
        sd_jw_str(j, key, "");
        return;
    }
    sd_time_iso8601(t, iso);
    sd_jw_str(j, key, iso);
}

bool api__str_match(const char *filter, const char *value)
{
    return filter == NULL || filter[0] == '\0' || strcmp(filter, value) == 0;
}
