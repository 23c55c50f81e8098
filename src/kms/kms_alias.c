/* kms_alias.c: aliases and tags.
 *
 * An alias is "alias/" plus 1-249 characters of [A-Za-z0-9:/_-], unique per
 * account and region.  "alias/acs" and below are reserved for service keys:
 * no caller creates, moves or deletes them.  Tags are key/value strings on
 * a key (keys 1-128 characters, not starting with "acs:"; values up to 256). */
#include <string.h>

#include "kms/kms_int.h"

#define ALIAS_MAX     255 /* "alias/" and up to 249 characters */
#define TAG_KEY_MAX   128
#define TAG_VALUE_MAX 256

static sd_code check_alias_name(const char *alias, sd_err *err)
{
    size_t n = alias != NULL ? strlen(alias) : 0;

    if (n == 0) {
        return sd_err_setc(err, SD_E_INVALID, "MissingParameter", SD_HERE,
                           "The parameter \"AliasName\" is needed but not provided.");
    }
    if (n <= 6 || n > ALIAS_MAX || strncmp(alias, "alias/", 6) != 0) {
        return sd_err_setc(err, SD_E_INVALID, "InvalidParameter", SD_HERE,
                           "The specified parameter \"AliasName\" is not valid: it must be "
                           "alias/ followed by 1 to 249 characters.");
    }
    for (size_t i = 6; i < n; i++) {
        char c = alias[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == ':' || c == '/' || c == '_' || c == '-')) {
            return sd_err_setc(err, SD_E_INVALID, "InvalidParameter", SD_HERE,
                               "The specified parameter \"AliasName\" is not valid: only "
                               "letters, digits and : / _ - are allowed.");
        }
    }
    if (strncmp(alias, "alias/acs", 9) == 0) {
        return sd_err_setc(err, SD_E_INVALID, "InvalidParameter", SD_HERE,
                           "The specified parameter \"AliasName\" is not valid: alias/acs is "
                           "reserved for service keys such as alias/acs/ecs.");
    }
    return SD_OK;
}

sd_code kms_create_alias(kms *k, const kms_caller *c, const char *alias, const char *ref,
                         sd_err *err)
{
    sd_code rc = SD_OK;
    kms_key_meta m;
    bool found = false;

    pthread_mutex_lock(&k->mu);
    SD_TRY(check_alias_name(alias, err));
    SD_TRY(kms__resolve(k, c, ref, &m, err));
    SD_TRY(kms__state_allows(&m, KMS_OP_CREATE_ALIAS, err));
    SD_TRY(kms__alias_target(k, c, alias, NULL, &found, err));
    SD_ENSUREC(!found, err, SD_E_INVALID, "AliasAlreadyExists",
               "The alias %s already exists in this region.", alias);
    SD_TRY(store_run(k->st,
                     "INSERT INTO kms_aliases (account, region, alias, key_id) "
                     "VALUES (?, ?, ?, ?)",
                     STORE_ARGS(STORE_TEXT(c->account), STORE_TEXT(c->region), STORE_TEXT(alias),
                                STORE_TEXT(m.key_id)),
                     err));
out:
    pthread_mutex_unlock(&k->mu);
    return rc;
}

sd_code kms_update_alias(kms *k, const kms_caller *c, const char *alias, const char *ref,
                         sd_err *err)
{
    sd_code rc = SD_OK;
    kms_key_meta m;
    bool found = false;

    pthread_mutex_lock(&k->mu);
    SD_TRY(check_alias_name(alias, err));
    SD_TRY(kms__alias_target(k, c, alias, NULL, &found, err));
    SD_ENSUREC(found, err, SD_E_NOT_FOUND, "Forbidden.AliasNotFound",
               "The specified Alias is not found: %s.", alias);
    SD_TRY(kms__resolve(k, c, ref, &m, err));
    SD_TRY(kms__state_allows(&m, KMS_OP_ALIAS_TARGET, err));
    SD_TRY(store_run(k->st,
                     "UPDATE kms_aliases SET key_id = ? WHERE account = ? AND region = ? "
                     "AND alias = ?",
                     STORE_ARGS(STORE_TEXT(m.key_id), STORE_TEXT(c->account), STORE_TEXT(c->region),
                                STORE_TEXT(alias)),
                     err));
out:
    pthread_mutex_unlock(&k->mu);
    return rc;
}

sd_code kms_delete_alias(kms *k, const kms_caller *c, const char *alias, sd_err *err)
{
    sd_code rc = SD_OK;
    bool found = false;

    pthread_mutex_lock(&k->mu);
    SD_TRY(check_alias_name(alias, err));
    SD_TRY(kms__alias_target(k, c, alias, NULL, &found, err));
    SD_ENSUREC(found, err, SD_E_NOT_FOUND, "Forbidden.AliasNotFound",
               "The specified Alias is not found: %s.", alias);
    SD_TRY(store_run(
        k->st, "DELETE FROM kms_aliases WHERE account = ? AND region = ? AND alias = ?",
        STORE_ARGS(STORE_TEXT(c->account), STORE_TEXT(c->region), STORE_TEXT(alias)), err));
out:
    pthread_mutex_unlock(&k->mu);
    return rc;
}

sd_code kms_list_aliases(kms *k, const kms_caller *c, const char *ref, int64_t page, int64_t size,
                         kms_alias_fn fn, void *ctx, int64_t *total, sd_err *err)
{
    sd_code rc = SD_OK;
    typedef struct alias_row {
        char alias[ALIAS_MAX + 1];
        char key_id[KMS_ID_MAX];
    } alias_row;
    static const store_col cols[] = {STORE_COL(alias_row, alias), STORE_COL(alias_row, key_id)};
    kms_key_meta m;
    store_stmt *st = NULL;
    bool row = false;
    const char *key_filter = NULL;
    int64_t skip;
    int64_t seen = 0;
    alias_row r;

    pthread_mutex_lock(&k->mu);
    if (ref != NULL) {
        SD_TRY(kms__resolve(k, c, ref, &m, err));
        key_filter = m.key_id;
    }
    SD_TRY(store_query(k->st,
                       "SELECT alias, key_id FROM kms_aliases WHERE account = ? AND "
                       "region = ? AND (? IS NULL OR key_id = ?) ORDER BY rowid",
                       STORE_ARGS(STORE_TEXT(c->account), STORE_TEXT(c->region),
                                  STORE_TEXT(key_filter), STORE_TEXT(key_filter)),
                       &st, err));
    skip = (page - 1) * size;
    for (;;) {
        SD_TRY(store_next(st, STORE_COLS(cols), &r, &row, err));
        if (!row) {
            break;
        }
        if (seen >= skip && seen < skip + size) {
            fn(ctx, r.alias, r.key_id);
        }
        seen++;
    }
    *total = seen;
out:
    store_stmt_free(st);
    pthread_mutex_unlock(&k->mu);
    return rc;
}

static sd_code check_tag(const char *key, const char *value, sd_err *err)
{
    if (key == NULL || key[0] == '\0' || strlen(key) > TAG_KEY_MAX ||
        strncmp(key, "acs:", 4) == 0 || (value != NULL && strlen(value) > TAG_VALUE_MAX)) {
        return sd_err_setc(err, SD_E_INVALID, "InvalidParameter", SD_HERE,
                           "The specified parameter \"Tags\" is not valid: a TagKey is 1 to "
                           "128 characters and may not start with acs:, a TagValue at most "
                           "256.");
    }
    return SD_OK;
}

sd_code kms_tag(kms *k, const kms_caller *c, const char *ref, const char *key, const char *value,
                sd_err *err)
{
    sd_code rc = SD_OK;
    kms_key_meta m;

    pthread_mutex_lock(&k->mu);
    SD_TRY(kms__resolve(k, c, ref, &m, err));
    SD_TRY(kms__state_allows(&m, KMS_OP_META, err));
    SD_TRY(check_tag(key, value != NULL ? value : "", err));
    SD_TRY(store_run(
        k->st,
        "INSERT INTO kms_tags (key_id, tag_key, tag_value) VALUES (?, ?, ?) "
        "ON CONFLICT (key_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value",
        STORE_ARGS(STORE_TEXT(m.key_id), STORE_TEXT(key), STORE_TEXT(value != NULL ? value : "")),
        err));
out:
    pthread_mutex_unlock(&k->mu);
    return rc;
}

sd_code kms_untag(kms *k, const kms_caller *c, const char *ref, const char *key, sd_err *err)
{
    sd_code rc = SD_OK;
    kms_key_meta m;

    pthread_mutex_lock(&k->mu);
    SD_TRY(kms__resolve(k, c, ref, &m, err));
    SD_TRY(kms__state_allows(&m, KMS_OP_META, err));
    SD_TRY(check_tag(key, "", err));
    SD_TRY(store_run(k->st, "DELETE FROM kms_tags WHERE key_id = ? AND tag_key = ?",
                     STORE_ARGS(STORE_TEXT(m.key_id), STORE_TEXT(key)), err));
out:
    pthread_mutex_unlock(&k->mu);
    return rc;
}

sd_code kms_list_tags(kms *k, const kms_caller *c, const char *ref, kms_tag_fn fn, void *ctx,
                      sd_err *err)
{
    sd_code rc = SD_OK;
    typedef struct tag_row {
        char key[TAG_KEY_MAX + 1];
        char value[TAG_VALUE_MAX + 1];
    } tag_row;
    static const store_col cols[] = {STORE_COL(tag_row, key), STORE_COL(tag_row, value)};
    kms_key_meta m;
    store_stmt *st = NULL;
    bool row = false;
    tag_row r;

    pthread_mutex_lock(&k->mu);
    SD_TRY(kms__resolve(k, c, ref, &m, err));
    SD_TRY(store_query(k->st,
                       "SELECT tag_key, tag_value FROM kms_tags WHERE key_id = ? ORDER BY tag_key",
                       STORE_ARGS(STORE_TEXT(m.key_id)), &st, err));
    for (;;) {
        SD_TRY(store_next(st, STORE_COLS(cols), &r, &row, err));
        if (!row) {
            break;
        }
        fn(ctx, m.key_id, r.key, r.value);
    }
out:
    store_stmt_free(st);
    pthread_mutex_unlock(&k->mu);
    return rc;
}
