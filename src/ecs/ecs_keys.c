/* ecs_keys.c: which CMK a disk may use, data keys through kms_client, and
 * the account's default encryption settings (R8).
 *
 * The KMS speaks its own codes (Rejected.Disabled, Forbidden.KeyNotFound);
 * ECS callers expect ECS's (InvalidParameter.KMSKeyId.CMKNotEnabled, ...),
 * with a message that still names the key's state, so an operator who
 * disabled a key in an incident sees exactly why a disk will not open. */
#include <stdlib.h>
#include <string.h>

#include "ecs/ecs_int.h"

/* Rewrites a KMS refusal about key into ECS's vocabulary. */
static sd_code map_kms_error(const char *key, sd_err *kerr, sd_err *err)
{
    const char *code = kerr->api_code;

    if (kerr->code == SD_E_KEY_STATE) {
        return sd_err_setc(err, SD_E_DENIED, "InvalidParameter.KMSKeyId.CMKNotEnabled", SD_HERE,
                           "The CMK %s cannot be used: %s (%s).", key, kerr->msg, code);
    }
    if (kerr->code == SD_E_NOT_FOUND) {
        return sd_err_setc(err, SD_E_NOT_FOUND, "InvalidParameter.KMSKeyId.NotFound", SD_HERE,
                           "The specified KMSKeyId %s is not found (it may have been deleted).",
                           key);
    }
    /* throttling, I/O: as the KMS said */
    if (code[0] == '\0') {
        return sd_err_set(err, kerr->code, SD_HERE, "%s", kerr->msg);
    }
    return sd_err_setc(err, kerr->code, code, SD_HERE, "%s", kerr->msg);
}

static sd_code role_check(ecs *e, const ecs_caller *c, const char *key, sd_err *err)
{
    sd_err rerr = SD_ERR_INIT;
    sd_code rc = iam_role_get(e->iam, c->account, IAM_ECS_DISK_ROLE, NULL, &rerr);

    if (rc == SD_E_NOT_FOUND) {
        return sd_err_setc(err, SD_E_DENIED, "InvalidParameter.KMSKeyId.KMSUnauthorized", SD_HERE,
                           "ECS is not authorised to use the CMK %s: the account has no RAM "
                           "role %s.",
                           key, IAM_ECS_DISK_ROLE);
    }
    if (rc != SD_OK) {
        return sd_err_set(err, rc, SD_HERE, "%s", rerr.msg);
    }
    return SD_OK;
}

sd_code ecs__usable_key(ecs *e, const ecs_caller *c, const char *ref, char key_id[ECS_KEY_MAX],
                        sd_err *err)
{
    sd_code rc = SD_OK;
    kms_caller kc = {c->account, c->region};
    kms_key_meta *m = calloc(1, sizeof *m);
    sd_err kerr = SD_ERR_INIT;

    SD_ENSURE(m != NULL, err, SD_E_NOMEM, "out of memory");
    if (e->kms.ops->describe_key(e->kms.h, &kc, ref, m, &kerr) != SD_OK) {
        rc = map_kms_error(ref, &kerr, err);
        goto out;
    }
    SD_ENSUREC(strcmp(m->state, "Enabled") == 0, err, SD_E_DENIED,
               "InvalidParameter.KMSKeyId.CMKNotEnabled", "The CMK %s is %s.", m->key_id, m->state);
    if (!m->service) {
        SD_TRY(role_check(e, c, m->key_id, err));
    }
    ecs__cpy(key_id, ECS_KEY_MAX, m->key_id);
out:
    free(m);
    return rc;
}

sd_code ecs__new_dk(ecs *e, const ecs_caller *c, const char *key_id, sd_buf *blob, sd_secret **dk,
                    sd_err *err)
{
    kms_caller kc = {c->account, c->region};
    kms_used used;
    sd_secret *tmp = NULL;
    sd_err kerr = SD_ERR_INIT;
    sd_code rc;

    rc = e->kms.ops->generate_data_key(e->kms.h, &kc, key_id, NULL, &tmp, blob, &used, &kerr);
    if (rc != SD_OK) {
        return map_kms_error(key_id, &kerr, err);
    }
    if (dk != NULL) {
        *dk = tmp;
    } else {
        sd_secret_free(tmp); /* wiped: only the blob is kept (R2) */
    }
    return SD_OK;
}

sd_code ecs__unwrap_dk(ecs *e, const ecs_caller *c, const char *key_id, const uint8_t *blob,
                       size_t len, sd_secret **dk, sd_err *err)
{
    sd_code rc = SD_OK;
    kms_caller kc = {c->account, c->region};
    kms_used used;
    sd_err kerr = SD_ERR_INIT;

    *dk = NULL;
    /* the service role is checked at every unwrap: revoking it stops
     * later unwrapping of customer-CMK disks (R10) */
    if (strncmp(key_id, "key-", 4) == 0) {
        kms_key_meta *m = calloc(1, sizeof *m);
        SD_ENSURE(m != NULL, err, SD_E_NOMEM, "out of memory");
        if (e->kms.ops->describe_key(e->kms.h, &kc, key_id, m, &kerr) == SD_OK && !m->service) {
            rc = role_check(e, c, key_id, err);
        }
        free(m);
        sd_err_clear(&kerr);
        SD_TRY(rc);
    }
    if (e->kms.ops->decrypt_data_key(e->kms.h, &kc, blob, len, NULL, dk, &used, &kerr) != SD_OK) {
        rc = map_kms_error(key_id, &kerr, err);
    }
out:
    return rc;
}

/* ---- default encryption (R8) ---------------------------------------------- */

sd_code ecs__settings(ecs *e, const ecs_caller *c, bool *encrypt_default,
                      char default_key[ECS_KEY_MAX], sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;
    bool row = false;

    *encrypt_default = false;
    default_key[0] = '\0';
    SD_TRY(store_prepare(e->st,
                         "SELECT encrypt_default, default_key FROM ecs_settings WHERE account = ? "
                         "AND region = ?",
                         &st, err));
    SD_TRY(store_bind_text(st, 1, c->account, err));
    SD_TRY(store_bind_text(st, 2, c->region, err));
    SD_TRY(store_step(st, &row, err));
    if (row) {
        *encrypt_default = store_col_int64(st, 0) != 0;
        ecs__cpy(default_key, ECS_KEY_MAX, store_col_text(st, 1));
    }
out:
    store_stmt_free(st);
    return rc;
}

static sd_code save_settings(ecs *e, const ecs_caller *c, bool enabled, const char *key,
                             sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;

    SD_TRY(store_prepare(e->st,
                         "INSERT INTO ecs_settings (account, region, encrypt_default, default_key) "
                         "VALUES (?, ?, ?, ?) ON CONFLICT (account, region) DO UPDATE SET "
                         "encrypt_default = excluded.encrypt_default, "
                         "default_key = excluded.default_key",
                         &st, err));
    SD_TRY(store_bind_text(st, 1, c->account, err));
    SD_TRY(store_bind_text(st, 2, c->region, err));
    SD_TRY(store_bind_int64(st, 3, enabled ? 1 : 0, err));
    SD_TRY(store_bind_text(st, 4, key, err));
    SD_TRY(store_step_done(st, err));
out:
    store_stmt_free(st);
    return rc;
}

sd_code ecs_default_encryption(ecs *e, const ecs_caller *c, bool enable, sd_err *err)
{
    sd_code rc = SD_OK;
    bool on = false;
    char key[ECS_KEY_MAX];

    pthread_mutex_lock(&e->mu);
    SD_TRY(ecs__settings(e, c, &on, key, err));
    if (enable && key[0] == '\0') {
        /* the first enable uses the region's service key */
        SD_TRY(ecs__usable_key(e, c, ECS_SERVICE_KEY, key, err));
    }
    SD_TRY(ecs__dry_run(c, err));
    SD_TRY(save_settings(e, c, enable, key, err));
out:
    pthread_mutex_unlock(&e->mu);
    return rc;
}

sd_code ecs_default_status(ecs *e, const ecs_caller *c, bool *enabled, char *key_id, size_t cap,
                           sd_err *err)
{
    sd_code rc = SD_OK;
    char key[ECS_KEY_MAX];

    pthread_mutex_lock(&e->mu);
    SD_TRY(ecs__settings(e, c, enabled, key, err));
    if (key[0] == '\0') {
        SD_TRY(ecs__usable_key(e, c, ECS_SERVICE_KEY, key, err));
    }
    ecs__cpy(key_id, cap, key);
out:
    pthread_mutex_unlock(&e->mu);
    return rc;
}

sd_code ecs_default_key(ecs *e, const ecs_caller *c, const char *ref, sd_err *err)
{
    sd_code rc = SD_OK;
    bool on = false;
    char key[ECS_KEY_MAX];

    pthread_mutex_lock(&e->mu);
    SD_TRY(ecs__settings(e, c, &on, key, err));
    SD_ENSUREC(on, err, SD_E_DENIED, "OperationDenied",
               "Disk encryption by default is not enabled in region %s; enable it first.",
               c->region);
    SD_TRY(ecs__usable_key(e, c, ref != NULL ? ref : ECS_SERVICE_KEY, key, err));
    SD_TRY(ecs__dry_run(c, err));
    SD_TRY(save_settings(e, c, on, key, err));
out:
    pthread_mutex_unlock(&e->mu);
    return rc;
}
