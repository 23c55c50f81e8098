/* kms_core.c: the kms handle, key rows and their insertion, key
 * resolution, the state table, versions and their cache, and destruction.
 *
 * File order: this file calls only kms_blob.c, kms_ctx.c and kms_rootkey.c;
 * kms_keys.c, kms_alias.c, kms_import.c, kms_envelope.c and kms_client.c
 * call it, never the reverse (scripts/check-layering.sh).  That is why key
 * insertion lives here: resolving alias/acs/ecs creates the service key.
 *
 * Invariants:
 *   1. Version material exists in plaintext only in kms_vkey entries
 *      (sd_secret, locked) and briefly during generation; the store holds
 *      it wrapped under the root key with AAD "sealdisk-cmk-v1|key|version".
 *   2. Every public call holds k->mu, so the cache and the store handle
 *      are used by one thread at a time.
 *   3. The state machine (each transition's function in brackets):
 *        (create) -> Enabled | PendingImport (EXTERNAL)
 *        Enabled <-> Disabled            [kms_disable_key / kms_enable_key]
 *        Enabled|Disabled|PendingImport -> PendingDeletion [kms_schedule_deletion]
 *        PendingDeletion -> Enabled      [kms_cancel_deletion]
 *        PendingDeletion -> (destroyed)  [kms__destroy, from kms_tick or a
 *                                         lookup after the window]
 *      Which operations each state refuses is kms__state_allows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kms/kms_int.h"

static const char verifier_aad[] = "sealdisk-root-key-verifier-v1";

/* A wrapped value as stored: the root key's wrap adds a fixed overhead to
 * at most 32 bytes (a version key, a verifier). */
typedef struct wrapped_row {
    uint8_t data[256];
    size_t len;
} wrapped_row;

static const store_col wrapped_cols[] = {STORE_COL_BLOB(wrapped_row, data, len)};

/* Checks (or, on a new data directory, records) that the root key is the
 * one this directory was created with. */
static sd_code check_root(kms *k, sd_err *err)
{
    sd_code rc = SD_OK;
    bool row = false;
    sd_secret *probe = NULL;
    sd_buf wrapped = SD_BUF_INIT(256);
    wrapped_row w;

    SD_TRY(store_query_one(k->st, "SELECT value FROM kms_meta WHERE name = 'root_verifier'",
                           STORE_NO_ARGS, STORE_COLS(wrapped_cols), &w, &row, err));
    if (row) {
        rc = kms__root_unwrap(k->root, verifier_aad, w.data, w.len, &probe, NULL);
        SD_ENSURE(rc == SD_OK, err, SD_E_AUTH,
                  "the root key does not match this data directory (it was created with "
                  "another one); nothing was changed");
        goto out;
    }
    SD_TRY(sd_secret_new(32, &probe, err));
    SD_TRY(sd_rng_fill(&k->rng, sd_secret_data(probe), 32, err));
    SD_TRY(kms__root_wrap(k->root, verifier_aad, probe, &k->rng, &wrapped, err));
    SD_TRY(store_run(k->st, "INSERT INTO kms_meta (name, value) VALUES ('root_verifier', ?)",
                     STORE_ARGS(STORE_BLOB(wrapped.data, wrapped.len)), err));
out:
    sd_secret_free(probe);
    sd_buf_free(&wrapped);
    return rc;
}

sd_code kms_open(const kms_opts *o, kms **out, sd_err *err)
{
    sd_code rc = SD_OK;
    kms *k = NULL;

    *out = NULL;
    SD_ENSURE(o->root != NULL && o->db_path != NULL && o->clock.now != NULL && o->rng.fill != NULL,
              err, SD_E_INVALID, "kms_open needs a store path, a root key, a clock and an RNG");
    k = calloc(1, sizeof *k);
    SD_ENSURE(k != NULL, err, SD_E_NOMEM, "out of memory");
    SD_ENSURE(pthread_mutex_init(&k->mu, NULL) == 0, err, SD_E_INTERNAL, "mutex init failed");
    k->root = o->root;
    k->clock = o->clock;
    k->rng = o->rng;
    k->quota = o->quota;
    k->mono = o->mono;
    k->mono_ctx = o->mono_ctx;
    SD_TRY(store_open_sqlite(o->db_path, &k->st, err));
    SD_TRY(check_root(k, err));
    *out = k;
    k = NULL;
out:
    kms_close(k);
    return rc;
}

static void cache_drop(kms *k, const char *key_id)
{
    kms_vkey **pp = &k->cache;
    while (*pp != NULL) {
        kms_vkey *v = *pp;
        if (key_id == NULL || strcmp(v->key_id, key_id) == 0) {
            *pp = v->next;
            sd_secret_free(v->key);
            free(v);
        } else {
            pp = &v->next;
        }
    }
}

void kms_close(kms *k)
{
    if (k == NULL) {
        return;
    }
    cache_drop(k, NULL);
    while (k->quotas != NULL) {
        kms_region_quota *q = k->quotas;
        k->quotas = q->next;
        sd_rate_free(q->crypto);
        sd_rate_free(q->reencrypt);
        sd_rate_free(q->create);
        free(q);
    }
    store_close(k->st);
    pthread_mutex_destroy(&k->mu);
    free(k);
}

/* ---- quotas ---------------------------------------------------------- */

static sd_code new_bucket(kms *k, double rate, sd_rate **out, sd_err *err)
{
    *out = NULL;
    if (rate <= 0) {
        return SD_OK; /* no quota */
    }
    return sd_rate_new(rate, rate, k->mono, k->mono_ctx, out, err);
}

sd_code kms__quota(kms *k, const kms_caller *c, kms_quota_class qc, sd_err *err)
{
    sd_code rc = SD_OK;
    kms_region_quota *q = k->quotas;
    sd_rate *bucket;
    static const char *const names[] = {"cryptographic", "ReEncrypt", "CreateKey"};

    while (q != NULL && strcmp(q->region, c->region) != 0) {
        q = q->next;
    }
    if (q == NULL) {
        SD_ENSURE(strlen(c->region) < sizeof q->region, err, SD_E_INVALID, "region too long");
        q = calloc(1, sizeof *q);
        SD_ENSURE(q != NULL, err, SD_E_NOMEM, "out of memory");
        memcpy(q->region, c->region, strlen(c->region) + 1);
        q->next = k->quotas;
        k->quotas = q;
        SD_TRY(new_bucket(k, k->quota.crypto, &q->crypto, err));
        SD_TRY(new_bucket(k, k->quota.reencrypt, &q->reencrypt, err));
        SD_TRY(new_bucket(k, k->quota.create, &q->create, err));
    }
    bucket = qc == KMS_Q_CRYPTO ? q->crypto : (qc == KMS_Q_REENCRYPT ? q->reencrypt : q->create);
    SD_ENSUREC(bucket == NULL || sd_rate_take(bucket), err, SD_E_THROTTLED, "Rejected.Throttling",
               "Request was denied due to request throttling: the %s request quota of region "
               "%s is exhausted.",
               names[qc], c->region);
out:
    return rc;
}

/* ---- rows ------------------------------------------------------------ */

#define KEY_COLUMNS                                                                           \
    "key_id, account, region, description, usage, spec, origin, protection, state, creator, " \
    "created, delete_at, rotation_seconds, last_rotation, primary_version, material_expire, " \
    "service"

/* A kms_keys row: the metadata plus what only the ARN needs. */
typedef struct key_row {
    kms_key_meta m;
    char account[KMS_ID_MAX];
    char region[64];
} key_row;

static const store_col key_cols[] = {
    STORE_COL(key_row, m.key_id),
    STORE_COL(key_row, account),
    STORE_COL(key_row, region),
    STORE_COL(key_row, m.description),
    STORE_COL(key_row, m.usage),
    STORE_COL(key_row, m.spec),
    STORE_COL(key_row, m.origin),
    STORE_COL(key_row, m.protection),
    STORE_COL(key_row, m.state),
    STORE_COL(key_row, m.creator),
    STORE_COL(key_row, m.created),
    STORE_COL(key_row, m.delete_at),
    STORE_COL(key_row, m.rotation_seconds),
    STORE_COL(key_row, m.last_rotation),
    STORE_COL(key_row, m.primary_version),
    STORE_COL(key_row, m.material_expire),
    STORE_COL(key_row, m.service),
};

/* Fills what the row does not hold: rotation, next rotation and the ARN. */
static void finish_meta(const key_row *r, kms_key_meta *m)
{
    const char *account = r->account;
    const char *region = r->region;

    *m = r->m;
    memcpy(m->rotation, m->rotation_seconds > 0 ? "Enabled" : "Disabled",
           m->rotation_seconds > 0 ? sizeof "Enabled" : sizeof "Disabled");
    m->next_rotation = m->rotation_seconds > 0 ? m->last_rotation + m->rotation_seconds : 0;
    if (snprintf(m->arn, sizeof m->arn, "acs:kms:%s:%s:key/%s", region, account, m->key_id) >=
        (int)sizeof m->arn) {
        m->arn[0] = '\0';
    }
}

static sd_code key_not_found(sd_err *err, const char *ref)
{
    return sd_err_setc(err, SD_E_NOT_FOUND, "Forbidden.KeyNotFound", SD_HERE,
                       "The specified Key is not found: %s.", ref);
}

/* Loads key_id of the caller; SD_E_NOT_FOUND when absent. */
static sd_code load_by_id(kms *k, const kms_caller *c, const char *key_id, const char *ref,
                          kms_key_meta *m, sd_err *err)
{
    sd_code rc = SD_OK;
    bool row = false;
    key_row r = {0};

    SD_TRY(store_query_one(
        k->st,
        "SELECT " KEY_COLUMNS " FROM kms_keys WHERE key_id = ? AND account = ? AND region = ?",
        STORE_ARGS(STORE_TEXT(key_id), STORE_TEXT(c->account), STORE_TEXT(c->region)),
        STORE_COLS(key_cols), &r, &row, err));
    if (!row) {
        rc = key_not_found(err, ref);
        goto out;
    }
    finish_meta(&r, m);
out:
    return rc;
}

sd_code kms__insert_key(kms *k, const kms_caller *c, const char *desc, const char *usage,
                        const char *spec, const char *origin, const char *protection,
                        int64_t rotation, bool service, kms_key_meta *m, sd_err *err)
{
    sd_code rc = SD_OK;
    char key_id[KMS_ID_MAX];
    int64_t now = sd_now(&k->clock);
    bool external = strcmp(origin, "EXTERNAL") == 0;

    SD_TRY(sd_id_new(&k->rng, "key-", 20, key_id, sizeof key_id, err));
    SD_TRY(store_begin(k->st, err));
    SD_TRY(store_run(k->st,
                     "INSERT INTO kms_keys (key_id, account, region, description, usage, "
                     "spec, origin, protection, state, creator, created, rotation_seconds, "
                     "last_rotation, service) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                     STORE_ARGS(STORE_TEXT(key_id), STORE_TEXT(c->account), STORE_TEXT(c->region),
                                STORE_TEXT(desc), STORE_TEXT(usage), STORE_TEXT(spec),
                                STORE_TEXT(origin), STORE_TEXT(protection),
                                STORE_TEXT(external ? "PendingImport" : "Enabled"),
                                STORE_TEXT(service ? "Ecs" : c->account), STORE_INT(now),
                                STORE_INT(rotation), STORE_INT(now), STORE_INT(service ? 1 : 0)),
                     err));
    if (!external) {
        SD_TRY(kms__new_version(k, key_id, now, NULL, err));
    }
    if (service) {
        SD_TRY(store_run(
            k->st,
            "INSERT INTO kms_aliases (account, region, alias, key_id) "
            "VALUES (?, ?, '" KMS_SERVICE_ALIAS "', ?)",
            STORE_ARGS(STORE_TEXT(c->account), STORE_TEXT(c->region), STORE_TEXT(key_id)), err));
    }
    SD_TRY(store_commit(k->st, err));
    rc = load_by_id(k, c, key_id, key_id, m, err);
out:
    store_rollback(k->st);
    return rc;
}

static sd_code create_service_key(kms *k, const kms_caller *c, kms_key_meta *m, sd_err *err)
{
    sd_log(SD_LOG_INFO, "kms", "creating the service key account=%s region=%s", c->account,
           c->region);
    return kms__insert_key(k, c, "Default key for ECS disk encryption (alias/acs/ecs)",
                           "ENCRYPT/DECRYPT", "Aliyun_AES_256", "Aliyun_KMS", "SOFTWARE", 0, true,
                           m, err);
}

sd_code kms__alias_target(kms *k, const kms_caller *c, const char *alias, char *key_id, bool *found,
                          sd_err *err)
{
    typedef struct alias_row {
        char key_id[KMS_ID_MAX];
    } alias_row;
    static const store_col cols[] = {STORE_COL(alias_row, key_id)};
    sd_code rc = SD_OK;
    alias_row r;

    SD_TRY(store_query_one(
        k->st,
        "SELECT key_id FROM kms_aliases WHERE account = ? AND region = ? AND "
        "alias = ?",
        STORE_ARGS(STORE_TEXT(c->account), STORE_TEXT(c->region), STORE_TEXT(alias)),
        STORE_COLS(cols), &r, found, err));
    if (*found && key_id != NULL) {
        memcpy(key_id, r.key_id, strlen(r.key_id) + 1);
    }
out:
    return rc;
}

/* "acs:kms:<region>:<account>:<rest>": *rest when it is the caller's. */
static bool arn_of_caller(const kms_caller *c, const char *ref, const char **rest)
{
    size_t rl = strlen(c->region);
    size_t al = strlen(c->account);
    const char *p = ref + strlen("acs:kms:");

    if (strncmp(p, c->region, rl) != 0 || p[rl] != ':') {
        return false;
    }
    p += rl + 1;
    if (strncmp(p, c->account, al) != 0 || p[al] != ':') {
        return false;
    }
    *rest = p + al + 1;
    return true;
}

sd_code kms__resolve(kms *k, const kms_caller *c, const char *ref, kms_key_meta *m, sd_err *err)
{
    sd_code rc = SD_OK;
    char key_id[KMS_ID_MAX];
    const char *rest = NULL;
    bool found = false;

    if (ref == NULL || ref[0] == '\0') {
        return sd_err_setc(err, SD_E_INVALID, "MissingParameter", SD_HERE,
                           "The parameter \"KeyId\" is needed but not provided.");
    }
    if (strncmp(ref, "acs:kms:", 8) == 0) {
        if (!arn_of_caller(c, ref, &rest)) {
            return key_not_found(err, ref);
        }
        if (strncmp(rest, "key/", 4) == 0) {
            rest += 4;
        } else if (strncmp(rest, "alias/", 6) != 0) {
            return key_not_found(err, ref);
        }
    } else {
        rest = ref;
    }
    if (strncmp(rest, "alias/", 6) == 0) {
        SD_TRY(kms__alias_target(k, c, rest, key_id, &found, err));
        if (!found && strcmp(rest, KMS_SERVICE_ALIAS) == 0) {
            SD_TRY(create_service_key(k, c, m, err));
            goto out;
        }
        SD_ENSUREC(found, err, SD_E_NOT_FOUND, "Forbidden.AliasNotFound",
                   "The specified Alias is not found: %s.", rest);
    } else {
        SD_ENSURE(strlen(rest) < KMS_ID_MAX, err, SD_E_NOT_FOUND, "key id too long");
        memcpy(key_id, rest, strlen(rest) + 1);
    }
    SD_TRY(load_by_id(k, c, key_id, ref, m, err));
    if (strcmp(m->state, "PendingDeletion") == 0 && sd_now(&k->clock) >= m->delete_at) {
        SD_TRY(kms__destroy(k, m->key_id, err));
        rc = key_not_found(err, ref);
    } else if (m->material_expire != 0 && sd_now(&k->clock) >= m->material_expire &&
               strcmp(m->state, "PendingImport") != 0) {
        /* imported material past its expiry: wiped, the key awaits import;
         * one transaction, so a crash never leaves an Enabled key without
         * material */
        SD_TRY(store_begin(k->st, err));
        rc = kms__wipe_material(k, m->key_id, err);
        if (rc != SD_OK) {
            store_rollback(k->st);
            goto out;
        }
        SD_TRY(store_commit(k->st, err));
        sd_log(SD_LOG_INFO, "kms", "imported material expired key_id=%s", m->key_id);
        SD_TRY(load_by_id(k, c, m->key_id, ref, m, err));
    }
out:
    if (rc != SD_OK && err != NULL && err->code == SD_E_NOT_FOUND && err->api_code[0] == '\0') {
        sd_err_clear(err);
        rc = key_not_found(err, ref);
    }
    return rc;
}

sd_code kms__state_allows(const kms_key_meta *m, kms_op op, sd_err *err)
{
    const char *s = m->state;
    bool enabled = strcmp(s, "Enabled") == 0;
    bool disabled = strcmp(s, "Disabled") == 0;
    bool pending_del = strcmp(s, "PendingDeletion") == 0;
    bool pending_imp = strcmp(s, "PendingImport") == 0;
    const char *code = NULL;

    switch (op) {
    case KMS_OP_CRYPTO:
        if (disabled) {
            code = "Rejected.Disabled";
        } else if (pending_del) {
            code = "Rejected.PendingDeletion";
        } else if (pending_imp) {
            code = "Rejected.PendingImport";
        }
        break;
    case KMS_OP_READ:
        break;
    case KMS_OP_META:
    case KMS_OP_ALIAS_TARGET:
        code = pending_del ? "Rejected.PendingDeletion" : NULL;
        break;
    case KMS_OP_ENABLE:
        code = (pending_del || pending_imp) ? "Rejected.StateModifiedFailed" : NULL;
        break;
    case KMS_OP_SCHEDULE:
    case KMS_OP_CREATE_ALIAS:
        code = pending_del ? "Rejected.StateModifiedFailed" : NULL;
        break;
    case KMS_OP_CANCEL:
        code = pending_del ? NULL : "Rejected.StateModifiedFailed";
        break;
    }
    (void)enabled;
    if (code == NULL) {
        return SD_OK;
    }
    return sd_err_setc(err, SD_E_KEY_STATE, code, SD_HERE,
                       "The key %s is %s, which does not allow this operation.", m->key_id, s);
}

/* ---- versions ------------------------------------------------------------ */

static void version_aad(char *out, size_t cap, const char *key_id, const char *version_id)
{
    if (snprintf(out, cap, "sealdisk-cmk-v1|%s|%s", key_id, version_id) >= (int)cap) {
        out[0] = '\0';
    }
}

sd_code kms__put_version(kms *k, const char *key_id, const char *version_id,
                         const sd_secret *material, int64_t now, sd_err *err)
{
    sd_code rc = SD_OK;
    sd_buf wrapped = SD_BUF_INIT(256);
    char aad[192];

    version_aad(aad, sizeof aad, key_id, version_id);
    SD_TRY(kms__root_wrap(k->root, aad, material, &k->rng, &wrapped, err));
    SD_TRY(store_run(k->st,
                     "INSERT INTO kms_versions (version_id, key_id, created, wrapped) "
                     "VALUES (?, ?, ?, ?) ON CONFLICT (version_id) DO UPDATE SET "
                     "wrapped = excluded.wrapped",
                     STORE_ARGS(STORE_TEXT(version_id), STORE_TEXT(key_id), STORE_INT(now),
                                STORE_BLOB(wrapped.data, wrapped.len)),
                     err));
    SD_TRY(store_run(k->st,
                     "UPDATE kms_keys SET primary_version = ?, last_rotation = ? "
                     "WHERE key_id = ?",
                     STORE_ARGS(STORE_TEXT(version_id), STORE_INT(now), STORE_TEXT(key_id)), err));
out:
    sd_buf_free(&wrapped);
    return rc;
}

sd_code kms__new_version(kms *k, const char *key_id, int64_t now, char *version_out, sd_err *err)
{
    sd_code rc = SD_OK;
    sd_secret *material = NULL;
    char vid[37];

    SD_TRY(sd_id_uuid(&k->rng, vid, err));
    SD_TRY(sd_secret_new(32, &material, err));
    SD_TRY(sd_rng_fill(&k->rng, sd_secret_data(material), 32, err));
    SD_TRY(kms__put_version(k, key_id, vid, material, now, err));
    if (version_out != NULL) {
        memcpy(version_out, vid, sizeof vid);
    }
out:
    sd_secret_free(material);
    return rc;
}

sd_code kms__wipe_material(kms *k, const char *key_id, sd_err *err)
{
    sd_code rc = SD_OK;

    cache_drop(k, key_id);
    SD_TRY(store_run(k->st,
                     "UPDATE kms_versions SET wrapped = zeroblob(length(wrapped)) WHERE key_id = ?",
                     STORE_ARGS(STORE_TEXT(key_id)), err));
    SD_TRY(store_run(k->st, "UPDATE kms_versions SET wrapped = X'' WHERE key_id = ?",
                     STORE_ARGS(STORE_TEXT(key_id)), err));
    SD_TRY(store_run(k->st,
                     "UPDATE kms_keys SET material_expire = 0, state = CASE state WHEN "
                     "'PendingDeletion' THEN state ELSE 'PendingImport' END WHERE key_id = ?",
                     STORE_ARGS(STORE_TEXT(key_id)), err));
out:
    return rc;
}

sd_code kms__version_key(kms *k, const char *key_id, const char *version_id, const sd_secret **out,
                         sd_err *err)
{
    sd_code rc = SD_OK;
    bool row = false;
    kms_vkey *v = NULL;
    wrapped_row w;
    char aad[192];

    *out = NULL;
    for (kms_vkey *c = k->cache; c != NULL; c = c->next) {
        if (strcmp(c->version_id, version_id) == 0 && strcmp(c->key_id, key_id) == 0) {
            *out = c->key;
            return SD_OK;
        }
    }
    SD_TRY(store_query_one(k->st,
                           "SELECT wrapped FROM kms_versions WHERE version_id = ? AND key_id = ?",
                           STORE_ARGS(STORE_TEXT(version_id), STORE_TEXT(key_id)),
                           STORE_COLS(wrapped_cols), &w, &row, err));
    SD_ENSUREC(row, err, SD_E_AUTH, "InvalidParameter",
               "The CiphertextBlob names a key version that does not exist.");
    v = calloc(1, sizeof *v);
    SD_ENSURE(v != NULL, err, SD_E_NOMEM, "out of memory");
    version_aad(aad, sizeof aad, key_id, version_id);
    rc = kms__root_unwrap(k->root, aad, w.data, w.len, &v->key, NULL);
    SD_ENSURE(rc == SD_OK, err, SD_E_INTERNAL,
              "the stored material of key version %s does not authenticate", version_id);
    memcpy(v->version_id, version_id, strlen(version_id) + 1);
    memcpy(v->key_id, key_id, strlen(key_id) + 1);
    v->next = k->cache;
    k->cache = v;
    *out = v->key;
    v = NULL;
out:
    free(v);
    return rc;
}

/* What kms__destroy runs, in order: the wrapped material is overwritten
 * before its row is deleted (secure_delete then zeroes the freed pages). */
static const char *const destroy_sql[] = {
    "UPDATE kms_versions SET wrapped = zeroblob(length(wrapped)) WHERE key_id = ?",
    "DELETE FROM kms_versions WHERE key_id = ?",
    "DELETE FROM kms_aliases WHERE key_id = ?",
    "DELETE FROM kms_tags WHERE key_id = ?",
    "DELETE FROM kms_imports WHERE key_id = ?",
    "DELETE FROM kms_material_check WHERE key_id = ?",
    "DELETE FROM kms_keys WHERE key_id = ?",
};

sd_code kms__destroy(kms *k, const char *key_id, sd_err *err)
{
    sd_code rc = SD_OK;

    cache_drop(k, key_id);
    SD_TRY(store_begin(k->st, err));
    for (size_t i = 0; i < sizeof destroy_sql / sizeof destroy_sql[0]; i++) {
        SD_TRY(store_run(k->st, destroy_sql[i], STORE_ARGS(STORE_TEXT(key_id)), err));
    }
    SD_TRY(store_commit(k->st, err));
    SD_TRY(store_checkpoint(k->st, err));
    sd_log(SD_LOG_INFO, "kms", "destroyed key key_id=%s", key_id);
out:
    store_rollback(k->st);
    return rc;
}
