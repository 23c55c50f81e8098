/* api_kms_keys.c: the KMS actions that manage keys: lifecycle, versions,
 * rotation, aliases, tags, BYOK import, and DescribeRegions.
 *
 * Handlers are thin: read and check parameters (api_params), call kms,
 * write the response members with the types the SDK models declare
 * (alibaba-api.md §6.4: metadata members are strings, paging members are
 * numbers, lists are wrapped {"Keys":{"Key":[...]}}).  Every rule about
 * keys lives in kms. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"

#define TAGS_MAX    20  /* per TagResource call, as Alibaba allows */
#define TAG_KEY_MAX 128 /* bytes */
#define TAG_VAL_MAX 256

/* ---- shared with api_kms_crypto.c ----------------------------------- */

sd_code api__key_param(api_req *r, const char *name, const char **ref)
{
    sd_code rc = SD_OK;

    SD_TRY(api_param_req(r->params, name, ref, r->err));
    SD_TRY(api_param_str(r->params, name, KMS_ARN_MAX - 1, ref, r->err));
    if (r->resource[0] == '\0') {
        (void)snprintf(r->resource, sizeof r->resource, "%s", *ref); /* fits: checked above */
    }
out:
    return rc;
}

void api__note_key(api_req *r, const char *key_id, const char *version_id)
{
    (void)snprintf(r->key_id, sizeof r->key_id, "%s", key_id); /* KMS_ID_MAX both sides */
    if (version_id != NULL) {
        (void)snprintf(r->version_id, sizeof r->version_id, "%s", version_id);
    }
}

/* ---- helpers ----------------------------------------------------------- */

typedef struct page {
    int64_t number;
    int64_t size;
    int64_t total;
} page;

static sd_code page_params(api_req *r, page *pg)
{
    sd_code rc = SD_OK;

    SD_TRY(api_param_int(r->params, "PageNumber", 1, INT32_MAX, 1, &pg->number, r->err));
    SD_TRY(api_param_int(r->params, "PageSize", 1, 100, 10, &pg->size, r->err));
out:
    return rc;
}

static void page_members(api_req *r, const page *pg)
{
    sd_jw_int(r->j, "TotalCount", pg->total);
    sd_jw_int(r->j, "PageNumber", pg->number);
    sd_jw_int(r->j, "PageSize", pg->size);
}

static void time_member(sd_jw *j, const char *key, int64_t t)
{
    char iso[21];

    sd_time_iso8601(t, iso);
    sd_jw_str(j, key, iso);
}

static void key_arn(const api_req *r, const char *key_id, char *out, size_t cap)
{
    (void)snprintf(out, cap, "acs:kms:%s:%s:key/%s", r->caller.region, r->caller.account,
                   key_id); /* ids are bounded well below KMS_ARN_MAX */
}

/* KeyMetadata: every member a string, as the SDK model declares. */
static void key_metadata(api_req *r, const kms_key_meta *m, bool describe)
{
    sd_jw *j = r->j;
    char interval[32];

    sd_jw_obj_begin(j, "KeyMetadata");
    sd_jw_str(j, "KeyId", m->key_id);
    sd_jw_str(j, "Arn", m->arn);
    sd_jw_str(j, "Description", m->description);
    sd_jw_str(j, "KeyState", m->state);
    sd_jw_str(j, "KeyUsage", m->usage);
    sd_jw_str(j, "KeySpec", m->spec);
    sd_jw_str(j, "Origin", m->origin);
    sd_jw_str(j, "ProtectionLevel", m->protection);
    time_member(j, "CreationDate", m->created);
    sd_jw_str(j, "Creator", m->creator);
    if (m->delete_at != 0) {
        time_member(j, "DeleteDate", m->delete_at);
    }
    if (strcmp(m->origin, "EXTERNAL") == 0) {
        if (m->material_expire != 0) {
            time_member(j, "MaterialExpireTime", m->material_expire);
        } else {
            sd_jw_str(j, "MaterialExpireTime", "");
        }
    }
    sd_jw_str(j, "PrimaryKeyVersion", m->primary_version);
    sd_jw_str(j, "AutomaticRotation", m->rotation);
    if (m->rotation_seconds != 0) {
        (void)snprintf(interval, sizeof interval, "%llds", (long long)m->rotation_seconds);
        sd_jw_str(j, "RotationInterval", interval);
    }
    if (m->last_rotation != 0) {
        time_member(j, "LastRotationDate", m->last_rotation);
    }
    if (m->next_rotation != 0) {
        time_member(j, "NextRotationDate", m->next_rotation);
    }
    if (describe) {
        /* The service key cannot be deleted; others carry no protection. */
        sd_jw_str(j, "DeletionProtection", m->service ? "Enabled" : "Disabled");
        sd_jw_str(j, "DeletionProtectionDescription",
                  m->service ? "the service key of encrypted disks" : "");
    }
    sd_jw_obj_end(j);
}

/* ---- keys -------------------------------------------------------------- */

sd_code api__KMS_CreateKey(api_req *r)
{
    sd_code rc = SD_OK;
    kms_create_opts o = KMS_CREATE_OPTS_INIT;
    kms_key_meta *m = calloc(1, sizeof *m);

    SD_ENSURE(m != NULL, r->err, SD_E_NOMEM, "out of memory");
    SD_TRY(api_param_str(r->params, "Description", KMS_DESC_MAX, &o.description, r->err));
    SD_TRY(api_param_str(r->params, "KeyUsage", 32, &o.usage, r->err));
    SD_TRY(api_param_str(r->params, "KeySpec", 32, &o.spec, r->err));
    SD_TRY(api_param_str(r->params, "Origin", 32, &o.origin, r->err));
    SD_TRY(api_param_str(r->params, "ProtectionLevel", 32, &o.protection, r->err));
    SD_TRY(api_param_bool(r->params, "EnableAutomaticRotation", false, &o.rotation, r->err));
    SD_TRY(api_param_str(r->params, "RotationInterval", 32, &o.rotation_interval, r->err));
    SD_TRY(kms_create_key(r->opts->kms, &r->caller, &o, m, r->err));
    api__note_key(r, m->key_id, m->primary_version);
    key_metadata(r, m, false);
out:
    free(m);
    return rc;
}

sd_code api__KMS_DescribeKey(api_req *r)
{
    sd_code rc = SD_OK;
    const char *ref = NULL;
    kms_key_meta *m = calloc(1, sizeof *m);

    SD_ENSURE(m != NULL, r->err, SD_E_NOMEM, "out of memory");
    SD_TRY(api__key_param(r, "KeyId", &ref));
    SD_TRY(kms_describe_key(r->opts->kms, &r->caller, ref, m, r->err));
    api__note_key(r, m->key_id, NULL);
    key_metadata(r, m, true);
out:
    free(m);
    return rc;
}

static void list_key(void *ctx, const char *key_id)
{
    api_req *r = ctx;
    char arn[KMS_ARN_MAX];

    key_arn(r, key_id, arn, sizeof arn);
    sd_jw_obj_begin(r->j, NULL);
    sd_jw_str(r->j, "KeyId", key_id);
    sd_jw_str(r->j, "KeyArn", arn);
    sd_jw_obj_end(r->j);
}

sd_code api__KMS_ListKeys(api_req *r)
{
    sd_code rc = SD_OK;
    page pg = {0};

    SD_TRY(page_params(r, &pg));
    sd_jw_obj_begin(r->j, "Keys");
    sd_jw_arr_begin(r->j, "Key");
    SD_TRY(kms_list_keys(r->opts->kms, &r->caller, pg.number, pg.size, list_key, r, &pg.total,
                         r->err));
    sd_jw_arr_end(r->j);
    sd_jw_obj_end(r->j);
    page_members(r, &pg);
out:
    return rc;
}

sd_code api__KMS_EnableKey(api_req *r)
{
    sd_code rc = SD_OK;
    const char *ref = NULL;

    SD_TRY(api__key_param(r, "KeyId", &ref));
    SD_TRY(kms_enable_key(r->opts->kms, &r->caller, ref, r->err));
out:
    return rc;
}

sd_code api__KMS_DisableKey(api_req *r)
{
    sd_code rc = SD_OK;
    const char *ref = NULL;

    SD_TRY(api__key_param(r, "KeyId", &ref));
    SD_TRY(kms_disable_key(r->opts->kms, &r->caller, ref, r->err));
out:
    return rc;
}

sd_code api__KMS_ScheduleKeyDeletion(api_req *r)
{
    sd_code rc = SD_OK;
    const char *ref = NULL;
    const char *days_text = NULL;
    int64_t days = 0;

    SD_TRY(api__key_param(r, "KeyId", &ref));
    SD_TRY(api_param_req(r->params, "PendingWindowInDays", &days_text, r->err));
    SD_TRY(api_param_int(r->params, "PendingWindowInDays", 7, 366, 0, &days, r->err));
    SD_TRY(kms_schedule_deletion(r->opts->kms, &r->caller, ref, days, r->err));
out:
    return rc;
}

sd_code api__KMS_CancelKeyDeletion(api_req *r)
{
    sd_code rc = SD_OK;
    const char *ref = NULL;

    SD_TRY(api__key_param(r, "KeyId", &ref));
    SD_TRY(kms_cancel_deletion(r->opts->kms, &r->caller, ref, r->err));
out:
    return rc;
}

sd_code api__KMS_UpdateKeyDescription(api_req *r)
{
    sd_code rc = SD_OK;
    const char *ref = NULL;
    const char *desc = NULL;

    SD_TRY(api__key_param(r, "KeyId", &ref));
    /* Present but possibly empty: clearing a description is allowed. */
    SD_ENSUREC(api_param(r->params, "Description") != NULL, r->err, SD_E_INVALID,
               "MissingParameter", "The parameter \"Description\" is needed but not provided.");
    SD_TRY(api_param_str(r->params, "Description", KMS_DESC_MAX, &desc, r->err));
    SD_TRY(kms_update_description(r->opts->kms, &r->caller, ref, desc, r->err));
out:
    return rc;
}

/* ---- versions and rotation ------------------------------------------------ */

static void key_version(sd_jw *j, const char *key_id, const char *version_id, int64_t created)
{
    sd_jw_str(j, "KeyId", key_id);
    sd_jw_str(j, "KeyVersionId", version_id);
    time_member(j, "CreationDate", created);
}

sd_code api__KMS_CreateKeyVersion(api_req *r)
{
    sd_code rc = SD_OK;
    const char *ref = NULL;
    char version[KMS_ID_MAX];
    int64_t created = 0;
    kms_key_meta *m = calloc(1, sizeof *m);

    SD_ENSURE(m != NULL, r->err, SD_E_NOMEM, "out of memory");
    SD_TRY(api__key_param(r, "KeyId", &ref));
    SD_TRY(kms_create_version(r->opts->kms, &r->caller, ref, version, &created, r->err));
    SD_TRY(kms_describe_key(r->opts->kms, &r->caller, ref, m, r->err));
    api__note_key(r, m->key_id, version);
    sd_jw_obj_begin(r->j, "KeyVersion");
    key_version(r->j, m->key_id, version, created);
    sd_jw_obj_end(r->j);
out:
    free(m);
    return rc;
}

static void list_version(void *ctx, const char *key_id, const char *version_id, int64_t created)
{
    api_req *r = ctx;

    sd_jw_obj_begin(r->j, NULL);
    key_version(r->j, key_id, version_id, created);
    sd_jw_obj_end(r->j);
}

sd_code api__KMS_ListKeyVersions(api_req *r)
{
    sd_code rc = SD_OK;
    const char *ref = NULL;
    page pg = {0};

    SD_TRY(api__key_param(r, "KeyId", &ref));
    SD_TRY(page_params(r, &pg));
    sd_jw_obj_begin(r->j, "KeyVersions");
    sd_jw_arr_begin(r->j, "KeyVersion");
    SD_TRY(kms_list_versions(r->opts->kms, &r->caller, ref, pg.number, pg.size, list_version, r,
                             &pg.total, r->err));
    sd_jw_arr_end(r->j);
    sd_jw_obj_end(r->j);
    page_members(r, &pg);
out:
    return rc;
}

sd_code api__KMS_DescribeKeyVersion(api_req *r)
{
    sd_code rc = SD_OK;
    const char *ref = NULL;
    const char *version = NULL;
    char key_id[KMS_ID_MAX];
    int64_t created = 0;

    SD_TRY(api__key_param(r, "KeyId", &ref));
    SD_TRY(api_param_req(r->params, "KeyVersionId", &version, r->err));
    SD_TRY(api_param_str(r->params, "KeyVersionId", KMS_ID_MAX - 1, &version, r->err));
    SD_TRY(kms_describe_version(r->opts->kms, &r->caller, ref, version, &created, key_id, r->err));
    api__note_key(r, key_id, version);
    sd_jw_obj_begin(r->j, "KeyVersion");
    key_version(r->j, key_id, version, created);
    sd_jw_obj_end(r->j);
out:
    return rc;
}

sd_code api__KMS_UpdateRotationPolicy(api_req *r)
{
    sd_code rc = SD_OK;
    const char *ref = NULL;
    const char *flag = NULL;
    const char *interval = NULL;
    bool enable = false;

    SD_TRY(api__key_param(r, "KeyId", &ref));
    SD_TRY(api_param_req(r->params, "EnableAutomaticRotation", &flag, r->err));
    SD_TRY(api_param_bool(r->params, "EnableAutomaticRotation", false, &enable, r->err));
    SD_TRY(api_param_str(r->params, "RotationInterval", 32, &interval, r->err));
    SD_TRY(kms_update_rotation(r->opts->kms, &r->caller, ref, enable, interval, r->err));
out:
    return rc;
}

/* ---- aliases ---------------------------------------------------------------- */

static sd_code alias_param(api_req *r, const char **alias)
{
    sd_code rc = SD_OK;

    SD_TRY(api_param_req(r->params, "AliasName", alias, r->err));
    SD_TRY(api_param_str(r->params, "AliasName", 255, alias, r->err));
    (void)snprintf(r->resource, sizeof r->resource, "%s", *alias); /* 255 < KMS_ARN_MAX? cut */
out:
    return rc;
}

sd_code api__KMS_CreateAlias(api_req *r)
{
    sd_code rc = SD_OK;
    const char *alias = NULL;
    const char *ref = NULL;

    SD_TRY(alias_param(r, &alias));
    SD_TRY(api_param_req(r->params, "KeyId", &ref, r->err));
    SD_TRY(api_param_str(r->params, "KeyId", KMS_ARN_MAX - 1, &ref, r->err));
    SD_TRY(kms_create_alias(r->opts->kms, &r->caller, alias, ref, r->err));
out:
    return rc;
}

sd_code api__KMS_UpdateAlias(api_req *r)
{
    sd_code rc = SD_OK;
    const char *alias = NULL;
    const char *ref = NULL;

    SD_TRY(alias_param(r, &alias));
    SD_TRY(api_param_req(r->params, "KeyId", &ref, r->err));
    SD_TRY(api_param_str(r->params, "KeyId", KMS_ARN_MAX - 1, &ref, r->err));
    SD_TRY(kms_update_alias(r->opts->kms, &r->caller, alias, ref, r->err));
out:
    return rc;
}

sd_code api__KMS_DeleteAlias(api_req *r)
{
    sd_code rc = SD_OK;
    const char *alias = NULL;

    SD_TRY(alias_param(r, &alias));
    SD_TRY(kms_delete_alias(r->opts->kms, &r->caller, alias, r->err));
out:
    return rc;
}

static void list_alias(void *ctx, const char *alias, const char *key_id)
{
    api_req *r = ctx;
    char arn[KMS_ARN_MAX + 256];

    (void)snprintf(arn, sizeof arn, "acs:kms:%s:%s:%s", r->caller.region, r->caller.account,
                   alias); /* sized for the longest alias */
    sd_jw_obj_begin(r->j, NULL);
    sd_jw_str(r->j, "AliasName", alias);
    sd_jw_str(r->j, "AliasArn", arn);
    sd_jw_str(r->j, "KeyId", key_id);
    sd_jw_obj_end(r->j);
}

static sd_code list_aliases(api_req *r, const char *ref)
{
    sd_code rc = SD_OK;
    page pg = {0};

    SD_TRY(page_params(r, &pg));
    sd_jw_obj_begin(r->j, "Aliases");
    sd_jw_arr_begin(r->j, "Alias");
    SD_TRY(kms_list_aliases(r->opts->kms, &r->caller, ref, pg.number, pg.size, list_alias, r,
                            &pg.total, r->err));
    sd_jw_arr_end(r->j);
    sd_jw_obj_end(r->j);
    page_members(r, &pg);
out:
    return rc;
}

sd_code api__KMS_ListAliases(api_req *r)
{
    return list_aliases(r, NULL);
}

sd_code api__KMS_ListAliasesByKeyId(api_req *r)
{
    sd_code rc = SD_OK;
    const char *ref = NULL;

    SD_TRY(api__key_param(r, "KeyId", &ref));
    SD_TRY(list_aliases(r, ref));
out:
    return rc;
}

/* ---- tags ------------------------------------------------------------------- */

/* A JSON parameter parsed whole; *doc owned by the caller. */
static sd_code json_param(api_req *r, const char *name, sd_json_type type, sd_json_doc **doc)
{
    sd_code rc = SD_OK;
    const char *text = NULL;
    sd_err why = SD_ERR_INIT;

    SD_TRY(api_param_req(r->params, name, &text, r->err));
    if (sd_json_parse(text, strlen(text), 256, doc, &why) != SD_OK) {
        SD_FAILC(r->err, SD_E_INVALID, "InvalidParameter",
                 "The specified parameter \"%s\" is not valid: %s.", name, why.msg);
    }
    SD_ENSUREC(sd_json_root(*doc)->type == type, r->err, SD_E_INVALID, "InvalidParameter",
               "The specified parameter \"%s\" is not valid: expected a JSON %s.", name,
               type == SD_JSON_ARRAY ? "array" : "object");
out:
    return rc;
}

static sd_code tag_field(api_req *r, const sd_json_val *tag, const char *name, size_t max,
                         bool nonempty, const char **out)
{
    const sd_json_val *v = sd_json_get(tag, name);

    if (v == NULL || v->type != SD_JSON_STRING || v->len > max || (nonempty && v->len == 0)) {
        return sd_err_setc(r->err, SD_E_INVALID, "InvalidParameter", SD_HERE,
                           "The specified parameter \"Tags\" is not valid: each tag needs a "
                           "string %s of at most %zu bytes%s.",
                           name, max, nonempty ? ", not empty" : "");
    }
    *out = v->str;
    return SD_OK;
}

sd_code api__KMS_TagResource(api_req *r)
{
    sd_code rc = SD_OK;
    const char *ref = NULL;
    sd_json_doc *doc = NULL;
    const sd_json_val *tags;
    const char *k = NULL;
    const char *v = NULL;

    SD_TRY(api__key_param(r, "KeyId", &ref));
    SD_TRY(json_param(r, "Tags", SD_JSON_ARRAY, &doc));
    tags = sd_json_root(doc);
    SD_ENSUREC(tags->n >= 1 && tags->n <= TAGS_MAX, r->err, SD_E_INVALID, "InvalidParameter",
               "The specified parameter \"Tags\" is not valid: 1 to %d tags.", TAGS_MAX);
    /* Check every tag before applying any, so a bad list changes nothing. */
    for (const sd_json_val *t = tags->child; t != NULL; t = t->next) {
        SD_TRY(tag_field(r, t, "TagKey", TAG_KEY_MAX, true, &k));
        SD_TRY(tag_field(r, t, "TagValue", TAG_VAL_MAX, false, &v));
    }
    for (const sd_json_val *t = tags->child; t != NULL; t = t->next) {
        SD_TRY(tag_field(r, t, "TagKey", TAG_KEY_MAX, true, &k));
        SD_TRY(tag_field(r, t, "TagValue", TAG_VAL_MAX, false, &v));
        SD_TRY(kms_tag(r->opts->kms, &r->caller, ref, k, v, r->err));
    }
out:
    sd_json_doc_free(doc);
    return rc;
}

sd_code api__KMS_UntagResource(api_req *r)
{
    sd_code rc = SD_OK;
    const char *ref = NULL;
    sd_json_doc *doc = NULL;
    const sd_json_val *keys;

    SD_TRY(api__key_param(r, "KeyId", &ref));
    SD_TRY(json_param(r, "TagKeys", SD_JSON_ARRAY, &doc));
    keys = sd_json_root(doc);
    SD_ENSUREC(keys->n >= 1 && keys->n <= TAGS_MAX, r->err, SD_E_INVALID, "InvalidParameter",
               "The specified parameter \"TagKeys\" is not valid: 1 to %d keys.", TAGS_MAX);
    for (const sd_json_val *k = keys->child; k != NULL; k = k->next) {
        SD_ENSUREC(k->type == SD_JSON_STRING && k->len > 0 && k->len <= TAG_KEY_MAX, r->err,
                   SD_E_INVALID, "InvalidParameter",
                   "The specified parameter \"TagKeys\" is not valid: a list of tag keys.");
    }
    for (const sd_json_val *k = keys->child; k != NULL; k = k->next) {
        SD_TRY(kms_untag(r->opts->kms, &r->caller, ref, k->str, r->err));
    }
out:
    sd_json_doc_free(doc);
    return rc;
}

static void list_tag(void *ctx, const char *key_id, const char *key, const char *value)
{
    api_req *r = ctx;

    sd_jw_obj_begin(r->j, NULL);
    sd_jw_str(r->j, "KeyId", key_id);
    sd_jw_str(r->j, "TagKey", key);
    sd_jw_str(r->j, "TagValue", value);
    sd_jw_obj_end(r->j);
}

sd_code api__KMS_ListResourceTags(api_req *r)
{
    sd_code rc = SD_OK;
    const char *ref = NULL;

    SD_TRY(api__key_param(r, "KeyId", &ref));
    sd_jw_obj_begin(r->j, "Tags");
    sd_jw_arr_begin(r->j, "Tag");
    SD_TRY(kms_list_tags(r->opts->kms, &r->caller, ref, list_tag, r, r->err));
    sd_jw_arr_end(r->j);
    sd_jw_obj_end(r->j);
out:
    return rc;
}

/* ---- BYOK ---------------------------------------------------------------------- */

sd_code api__KMS_GetParametersForImport(api_req *r)
{
    sd_code rc = SD_OK;
    const char *ref = NULL;
    const char *alg = NULL;
    const char *spec = NULL;
    sd_buf pub = SD_BUF_INIT(4096);
    char token[KMS_ID_MAX];
    char *b64 = NULL;
    int64_t expires = 0;
    kms_key_meta *m = calloc(1, sizeof *m);

    SD_ENSURE(m != NULL, r->err, SD_E_NOMEM, "out of memory");
    SD_TRY(api__key_param(r, "KeyId", &ref));
    SD_TRY(api_param_req(r->params, "WrappingAlgorithm", &alg, r->err));
    SD_TRY(api_param_req(r->params, "WrappingKeySpec", &spec, r->err));
    SD_TRY(
        kms_import_params(r->opts->kms, &r->caller, ref, alg, spec, &pub, token, &expires, r->err));
    SD_TRY(kms_describe_key(r->opts->kms, &r->caller, ref, m, r->err));
    api__note_key(r, m->key_id, NULL);
    b64 = malloc(sd_b64_enc_len(pub.len) + 1);
    SD_ENSURE(b64 != NULL, r->err, SD_E_NOMEM, "out of memory");
    SD_TRY(sd_b64_encode(pub.data, pub.len, b64, sd_b64_enc_len(pub.len) + 1, r->err));
    sd_jw_str(r->j, "KeyId", m->key_id);
    sd_jw_str(r->j, "ImportToken", token);
    sd_jw_str(r->j, "PublicKey", b64);
    time_member(r->j, "TokenExpireTime", expires);
out:
    free(b64);
    free(m);
    sd_buf_free(&pub);
    return rc;
}

sd_code api__KMS_ImportKeyMaterial(api_req *r)
{
    sd_code rc = SD_OK;
    const char *ref = NULL;
    const char *material = NULL;
    const char *token = NULL;
    const char *expire_text = NULL;
    int64_t expire = 0;
    uint8_t wrapped[1024];
    size_t n = 0;

    SD_TRY(api__key_param(r, "KeyId", &ref));
    SD_TRY(api_param_req(r->params, "EncryptedKeyMaterial", &material, r->err));
    SD_TRY(api_param_req(r->params, "ImportToken", &token, r->err));
    SD_TRY(api_param_str(r->params, "ImportToken", KMS_ID_MAX - 1, &token, r->err));
    SD_TRY(api_param_req(r->params, "KeyMaterialExpireUnix", &expire_text, r->err));
    SD_TRY(api_param_int(r->params, "KeyMaterialExpireUnix", 0, INT64_MAX / 2, 0, &expire, r->err));
    if (sd_b64_decode(material, strlen(material), wrapped, sizeof wrapped, &n, NULL) != SD_OK) {
        SD_FAILC(r->err, SD_E_INVALID, "InvalidParameter",
                 "The specified parameter \"EncryptedKeyMaterial\" is not valid: not base64 "
                 "of at most %zu bytes.",
                 sizeof wrapped);
    }
    SD_TRY(kms_import_material(r->opts->kms, &r->caller, ref, wrapped, n, token, expire, r->err));
out:
    return rc;
}

sd_code api__KMS_DeleteKeyMaterial(api_req *r)
{
    sd_code rc = SD_OK;
    const char *ref = NULL;

    SD_TRY(api__key_param(r, "KeyId", &ref));
    SD_TRY(kms_delete_material(r->opts->kms, &r->caller, ref, r->err));
out:
    return rc;
}

/* ---- service ------------------------------------------------------------------- */

sd_code api__KMS_DescribeRegions(api_req *r)
{
    sd_jw_obj_begin(r->j, "Regions");
    sd_jw_arr_begin(r->j, "Region");
    sd_jw_obj_begin(r->j, NULL);
    sd_jw_str(r->j, "RegionId", r->opts->region);
    sd_jw_obj_end(r->j);
    sd_jw_arr_end(r->j);
    sd_jw_obj_end(r->j);
    return SD_OK;
}
