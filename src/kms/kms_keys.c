/* kms_keys.c: the key lifecycle: create, describe, list, enable, disable,
 * scheduled deletion, description, versions, rotation and the scheduler
 * step.  Each public function takes the handle's mutex, resolves the key,
 * checks the state table, then acts.
 *
 * File order: this file calls kms_core.c (resolution, key insertion,
 * versions, destruction) and nothing in it calls back here
 * (scripts/check-layering.sh). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kms/kms_int.h"

#define DAY ((int64_t)86400)

static sd_code invalid(sd_err *err, const char *param, const char *why)
{
    return sd_err_setc(err, SD_E_INVALID, "InvalidParameter", SD_HERE,
                       "The specified parameter \"%s\" is not valid: %s.", param, why);
}

sd_code kms_parse_interval(const char *s, int64_t *seconds, sd_err *err)
{
    char *end = NULL;
    long long n;
    int64_t unit;

    errno = 0;
    n = s != NULL ? strtoll(s, &end, 10) : 0;
    if (s == NULL || end == s || errno != 0 || n <= 0 || end == NULL || end[0] == '\0' ||
        end[1] != '\0') {
        return invalid(err, "RotationInterval", "expected a number and a unit: 365d or 604800s");
    }
    switch (end[0]) {
    case 'd':
        unit = DAY;
        break;
    case 'h':
        unit = 3600;
        break;
    case 'm':
        unit = 60;
        break;
    case 's':
        unit = 1;
        break;
    default:
        return invalid(err, "RotationInterval", "the unit must be d, h, m or s");
    }
    if (n > 730 * DAY || n * unit < 7 * DAY || n * unit > 730 * DAY) {
        return invalid(err, "RotationInterval", "must be from 7 to 730 days");
    }
    *seconds = (int64_t)n * unit;
    return SD_OK;
}

static const char *or_default(const char *v, const char *d)
{
    return v != NULL && v[0] != '\0' ? v : d;
}

sd_code kms_create_key(kms *k, const kms_caller *c, const kms_create_opts *o, kms_key_meta *out,
                       sd_err *err)
{
    sd_code rc = SD_OK;
    const char *desc = or_default(o->description, "");
    const char *usage = or_default(o->usage, "ENCRYPT/DECRYPT");
    const char *spec = or_default(o->spec, "Aliyun_AES_256");
    const char *origin = or_default(o->origin, "Aliyun_KMS");
    const char *prot = or_default(o->protection, "SOFTWARE");
    int64_t rotation = 0;

    pthread_mutex_lock(&k->mu);
    SD_TRY(kms__quota(k, c, KMS_Q_CREATE, err));
    if (strlen(desc) > KMS_DESC_MAX) {
        rc = invalid(err, "Description", "longer than 8192 characters");
        goto out;
    }
    if (strcmp(usage, "ENCRYPT/DECRYPT") != 0) {
        rc = invalid(err, "KeyUsage", "only ENCRYPT/DECRYPT is supported");
        goto out;
    }
    if (strcmp(spec, "Aliyun_AES_256") != 0) {
        rc = invalid(err, "KeySpec", "only Aliyun_AES_256 is supported");
        goto out;
    }
    if (strcmp(origin, "Aliyun_KMS") != 0 && strcmp(origin, "EXTERNAL") != 0) {
        rc = invalid(err, "Origin", "must be Aliyun_KMS or EXTERNAL");
        goto out;
    }
    if (strcmp(prot, "SOFTWARE") != 0) {
        rc = sd_err_setc(err, SD_E_INVALID, "Unsupported.ProtectionLevel", SD_HERE,
                         "ProtectionLevel %s is not supported: keys are SOFTWARE", prot);
        goto out;
    }
    if (o->rotation) {
        if (strcmp(origin, "EXTERNAL") == 0) {
            rc = sd_err_setc(err, SD_E_INVALID, "Unsupported.Origin", SD_HERE,
                             "keys with imported material cannot rotate automatically");
            goto out;
        }
        SD_TRY(kms_parse_interval(o->rotation_interval, &rotation, err));
    }
    rc = kms__insert_key(k, c, desc, usage, spec, origin, prot, rotation, false, out, err);
out:
    pthread_mutex_unlock(&k->mu);
    return rc;
}

sd_code kms_describe_key(kms *k, const kms_caller *c, const char *ref, kms_key_meta *out,
                         sd_err *err)
{
    sd_code rc;

    pthread_mutex_lock(&k->mu);
    rc = kms__resolve(k, c, ref, out, err);
    pthread_mutex_unlock(&k->mu);
    return rc;
}

/* Pages over a query: counts its rows in *total, then reads page (1-based)
 * of size rows into *row through cols, handing each to fn.  args are the
 * filter (at most 3 values); rows_sql ends in "LIMIT ? OFFSET ?". */
static sd_code page_rows(kms *k, const char *count_sql, const char *rows_sql, const store_arg *args,
                         int64_t page, int64_t size, const store_col *cols, size_t ncols, void *row,
                         void (*fn)(void *ctx, const void *row), void *ctx, int64_t *total,
                         sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;
    store_arg all[6] = {0};
    size_t n = 0;
    bool have = false;

    while (args[n].kind != STORE_ARG_END) {
        SD_ENSURE(n < 3, err, SD_E_INTERNAL, "too many filter values");
        all[n] = args[n];
        n++;
    }
    all[n++] = (store_arg)STORE_INT(size);
    all[n] = (store_arg)STORE_INT((page - 1) * size);
    SD_TRY(store_count(k->st, count_sql, args, total, err));
    SD_TRY(store_query(k->st, rows_sql, all, &st, err));
    for (;;) {
        SD_TRY(store_next(st, cols, ncols, row, &have, err));
        if (!have) {
            break;
        }
        fn(ctx, row);
    }
out:
    store_stmt_free(st);
    return rc;
}

typedef struct key_cb {
    kms_key_fn fn;
    void *ctx;
} key_cb;

typedef struct id_row {
    char key_id[KMS_ID_MAX];
} id_row;

static const store_col id_cols[] = {STORE_COL(id_row, key_id)};

static void key_row(void *ctx, const void *row)
{
    key_cb *cb = ctx;
    const id_row *r = row;
    cb->fn(cb->ctx, r->key_id);
}

sd_code kms_list_keys(kms *k, const kms_caller *c, int64_t page, int64_t size, kms_key_fn fn,
                      void *ctx, int64_t *total, sd_err *err)
{
    sd_code rc;
    key_cb cb = {fn, ctx};
    id_row r;

    pthread_mutex_lock(&k->mu);
    rc = page_rows(k, "SELECT count(*) FROM kms_keys WHERE account = ? AND region = ?",
                   "SELECT key_id FROM kms_keys WHERE account = ? AND region = ? "
                   "ORDER BY rowid LIMIT ? OFFSET ?",
                   STORE_ARGS(STORE_TEXT(c->account), STORE_TEXT(c->region)), page, size,
                   STORE_COLS(id_cols), &r, key_row, &cb, total, err);
    pthread_mutex_unlock(&k->mu);
    return rc;
}

static sd_code not_for_service_key(const kms_key_meta *m, const char *what, sd_err *err)
{
    if (!m->service) {
        return SD_OK;
    }
    return sd_err_setc(err, SD_E_INVALID, "Rejected.UnsupportedOperation", SD_HERE,
                       "The service key %s (alias/acs/ecs) cannot be %s: disks that use it "
                       "depend on it.",
                       m->key_id, what);
}

static sd_code set_state(kms *k, const char *key_id, const char *state, int64_t delete_at,
                         sd_err *err)
{
    sd_code rc = SD_OK;

    SD_TRY(store_run(k->st, "UPDATE kms_keys SET state = ?, delete_at = ? WHERE key_id = ?",
                     STORE_ARGS(STORE_TEXT(state), STORE_INT(delete_at), STORE_TEXT(key_id)), err));
    sd_log(SD_LOG_INFO, "kms", "key state key_id=%s state=%s", key_id, state);
out:
    return rc;
}

sd_code kms_enable_key(kms *k, const kms_caller *c, const char *ref, sd_err *err)
{
    sd_code rc = SD_OK;
    kms_key_meta m;

    pthread_mutex_lock(&k->mu);
    SD_TRY(kms__resolve(k, c, ref, &m, err));
    SD_TRY(kms__state_allows(&m, KMS_OP_ENABLE, err));
    SD_TRY(set_state(k, m.key_id, "Enabled", 0, err));
out:
    pthread_mutex_unlock(&k->mu);
    return rc;
}

sd_code kms_disable_key(kms *k, const kms_caller *c, const char *ref, sd_err *err)
{
    sd_code rc = SD_OK;
    kms_key_meta m;

    pthread_mutex_lock(&k->mu);
    SD_TRY(kms__resolve(k, c, ref, &m, err));
    SD_TRY(not_for_service_key(&m, "disabled", err));
    SD_TRY(kms__state_allows(&m, KMS_OP_ENABLE, err));
    SD_TRY(set_state(k, m.key_id, "Disabled", 0, err));
out:
    pthread_mutex_unlock(&k->mu);
    return rc;
}

sd_code kms_schedule_deletion(kms *k, const kms_caller *c, const char *ref, int64_t days,
                              sd_err *err)
{
    sd_code rc = SD_OK;
    kms_key_meta m;

    pthread_mutex_lock(&k->mu);
    SD_TRY(kms__resolve(k, c, ref, &m, err));
    SD_TRY(not_for_service_key(&m, "scheduled for deletion", err));
    if (days < 7 || days > 366) {
        rc = invalid(err, "PendingWindowInDays", "must be from 7 to 366");
        goto out;
    }
    SD_TRY(kms__state_allows(&m, KMS_OP_SCHEDULE, err));
    SD_TRY(set_state(k, m.key_id, "PendingDeletion", sd_now(&k->clock) + days * DAY, err));
out:
    pthread_mutex_unlock(&k->mu);
    return rc;
}

sd_code kms_cancel_deletion(kms *k, const kms_caller *c, const char *ref, sd_err *err)
{
    sd_code rc = SD_OK;
    kms_key_meta m;

    pthread_mutex_lock(&k->mu);
    SD_TRY(kms__resolve(k, c, ref, &m, err));
    SD_TRY(kms__state_allows(&m, KMS_OP_CANCEL, err));
    /* the contract returns the key to Enabled (not Disabled, unlike AWS) */
    SD_TRY(set_state(k, m.key_id, "Enabled", 0, err));
out:
    pthread_mutex_unlock(&k->mu);
    return rc;
}

sd_code kms_update_description(kms *k, const kms_caller *c, const char *ref,
                               const char *description, sd_err *err)
{
    sd_code rc = SD_OK;
    kms_key_meta m;

    pthread_mutex_lock(&k->mu);
    SD_TRY(kms__resolve(k, c, ref, &m, err));
    SD_TRY(kms__state_allows(&m, KMS_OP_META, err));
    if (description == NULL || strlen(description) > KMS_DESC_MAX) {
        rc = invalid(err, "Description", "missing or longer than 8192 characters");
        goto out;
    }
    SD_TRY(store_run(k->st, "UPDATE kms_keys SET description = ? WHERE key_id = ?",
                     STORE_ARGS(STORE_TEXT(description), STORE_TEXT(m.key_id)), err));
out:
    pthread_mutex_unlock(&k->mu);
    return rc;
}

/* ---- versions and rotation ------------------------------------------------ */

static sd_code no_versions_for_external(const kms_key_meta *m, sd_err *err)
{
    if (strcmp(m->origin, "EXTERNAL") != 0) {
        return SD_OK;
    }
    return sd_err_setc(err, SD_E_INVALID, "Unsupported.Origin", SD_HERE,
                       "the key %s holds imported material, which has no versions to rotate",
                       m->key_id);
}

sd_code kms_create_version(kms *k, const kms_caller *c, const char *ref, char *version_out,
                           int64_t *created, sd_err *err)
{
    sd_code rc = SD_OK;
    kms_key_meta m;
    int64_t now = sd_now(&k->clock);

    pthread_mutex_lock(&k->mu);
    SD_TRY(kms__resolve(k, c, ref, &m, err));
    SD_TRY(kms__state_allows(&m, KMS_OP_CRYPTO, err));
    SD_TRY(no_versions_for_external(&m, err));
    SD_TRY(store_begin(k->st, err));
    SD_TRY(kms__new_version(k, m.key_id, now, version_out, err));
    SD_TRY(store_commit(k->st, err));
    *created = now;
out:
    store_rollback(k->st);
    pthread_mutex_unlock(&k->mu);
    return rc;
}

typedef struct ver_cb {
    kms_version_fn fn;
    void *ctx;
} ver_cb;

typedef struct version_row {
    char version_id[KMS_ID_MAX];
    char key_id[KMS_ID_MAX];
    int64_t created;
} version_row;

static const store_col version_cols[] = {
    STORE_COL(version_row, version_id),
    STORE_COL(version_row, key_id),
    STORE_COL(version_row, created),
};

static void ver_row(void *ctx, const void *row)
{
    ver_cb *cb = ctx;
    const version_row *r = row;
    cb->fn(cb->ctx, r->key_id, r->version_id, r->created);
}

sd_code kms_list_versions(kms *k, const kms_caller *c, const char *ref, int64_t page, int64_t size,
                          kms_version_fn fn, void *ctx, int64_t *total, sd_err *err)
{
    sd_code rc = SD_OK;
    kms_key_meta m;
    ver_cb cb = {fn, ctx};
    version_row r;

    pthread_mutex_lock(&k->mu);
    SD_TRY(kms__resolve(k, c, ref, &m, err));
    SD_TRY(page_rows(k, "SELECT count(*) FROM kms_versions WHERE key_id = ?",
                     "SELECT version_id, key_id, created FROM kms_versions WHERE key_id = ? "
                     "ORDER BY rowid LIMIT ? OFFSET ?",
                     STORE_ARGS(STORE_TEXT(m.key_id)), page, size, STORE_COLS(version_cols), &r,
                     ver_row, &cb, total, err));
out:
    pthread_mutex_unlock(&k->mu);
    return rc;
}

sd_code kms_describe_version(kms *k, const kms_caller *c, const char *ref, const char *version_id,
                             int64_t *created, char *key_id_out, sd_err *err)
{
    sd_code rc = SD_OK;
    typedef struct created_row {
        int64_t created;
    } created_row;
    static const store_col cols[] = {STORE_COL(created_row, created)};
    kms_key_meta m;
    created_row r;
    bool row = false;

    pthread_mutex_lock(&k->mu);
    SD_TRY(kms__resolve(k, c, ref, &m, err));
    SD_TRY(store_query_one(
        k->st, "SELECT created FROM kms_versions WHERE key_id = ? AND version_id = ?",
        STORE_ARGS(STORE_TEXT(m.key_id), STORE_TEXT(version_id != NULL ? version_id : "")),
        STORE_COLS(cols), &r, &row, err));
    SD_ENSUREC(row, err, SD_E_NOT_FOUND, "Forbidden.KeyNotFound",
               "The key version %s of key %s is not found.", version_id, m.key_id);
    *created = r.created;
    memcpy(key_id_out, m.key_id, strlen(m.key_id) + 1);
out:
    pthread_mutex_unlock(&k->mu);
    return rc;
}

sd_code kms_update_rotation(kms *k, const kms_caller *c, const char *ref, bool enable,
                            const char *interval, sd_err *err)
{
    sd_code rc = SD_OK;
    kms_key_meta m;
    int64_t seconds = 0;

    pthread_mutex_lock(&k->mu);
    SD_TRY(kms__resolve(k, c, ref, &m, err));
    SD_TRY(kms__state_allows(&m, KMS_OP_CRYPTO, err));
    SD_TRY(no_versions_for_external(&m, err));
    if (enable) {
        if (interval == NULL || interval[0] == '\0') {
            SD_ENSUREC(m.rotation_seconds > 0, err, SD_E_INVALID, "MissingParameter",
                       "The parameter \"RotationInterval\" is needed but not provided.");
            seconds = m.rotation_seconds;
        } else {
            SD_TRY(kms_parse_interval(interval, &seconds, err));
        }
    }
    SD_TRY(store_run(k->st, "UPDATE kms_keys SET rotation_seconds = ? WHERE key_id = ?",
                     STORE_ARGS(STORE_INT(seconds), STORE_TEXT(m.key_id)), err));
out:
    pthread_mutex_unlock(&k->mu);
    return rc;
}

/* Collects up to 64 key ids matching sql (one integer bind: now). */
static sd_code due_keys(kms *k, const char *sql, int64_t now, char ids[][KMS_ID_MAX], size_t *n,
                        sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;
    bool row = false;
    id_row r;

    *n = 0;
    SD_TRY(store_query(k->st, sql, STORE_ARGS(STORE_INT(now)), &st, err));
    while (*n < 64) {
        SD_TRY(store_next(st, STORE_COLS(id_cols), &r, &row, err));
        if (!row) {
            break;
        }
        memcpy(ids[(*n)++], r.key_id, sizeof r.key_id);
    }
out:
    store_stmt_free(st);
    return rc;
}

sd_code kms_tick(kms *k, sd_err *err)
{
    sd_code rc = SD_OK;
    char ids[64][KMS_ID_MAX];
    size_t n = 0;
    int64_t now = sd_now(&k->clock);

    pthread_mutex_lock(&k->mu);
    SD_TRY(due_keys(k,
                    "SELECT key_id FROM kms_keys WHERE state = 'PendingDeletion' AND "
                    "delete_at <= ?",
                    now, ids, &n, err));
    for (size_t i = 0; i < n; i++) {
        SD_TRY(kms__destroy(k, ids[i], err));
    }
    SD_TRY(due_keys(k,
                    "SELECT key_id FROM kms_keys WHERE state = 'Enabled' AND "
                    "rotation_seconds > 0 AND last_rotation + rotation_seconds <= ?",
                    now, ids, &n, err));
    for (size_t i = 0; i < n; i++) {
        SD_TRY(store_begin(k->st, err));
        SD_TRY(kms__new_version(k, ids[i], now, NULL, err));
        SD_TRY(store_commit(k->st, err));
        sd_log(SD_LOG_INFO, "kms", "rotated key key_id=%s", ids[i]);
    }
out:
    store_rollback(k->st);
    pthread_mutex_unlock(&k->mu);
    return rc;
}
