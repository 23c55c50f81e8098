/* ecs_instances.c: instances, attachments and the moment keys are used.
 *
 * An instance here is what owns disk attachments: it has no CPU.  Starting
 * it is the moment the data keys are needed (R11): one KMS Decrypt per
 * encrypted disk, as the ECS service of the owning account, then the disk
 * is opened with its key in locked memory and exported over NBD.  Any
 * failure undoes the whole start, so a key that is disabled, pending
 * deletion or deleted (or a revoked service role) leaves nothing open, and
 * the error names why.  Stopping withdraws the exports; closing a disk
 * flushes it and wipes its key.  A running instance keeps its open disks
 * when its key is disabled (as the seeds describe) until it stops. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecs/ecs_int.h"

#define INST_COLS                                                                              \
    "instance_id, region, zone, name, description, instance_type, image_id, status, created, " \
    "started"

static void inst_from_row(store_stmt *st, ecs_instance *i)
{
    *i = (ecs_instance){.created = 0};
    ecs__cpy(i->instance_id, sizeof i->instance_id, store_col_text(st, 0));
    ecs__cpy(i->region, sizeof i->region, store_col_text(st, 1));
    ecs__cpy(i->zone, sizeof i->zone, store_col_text(st, 2));
    ecs__cpy(i->name, sizeof i->name, store_col_text(st, 3));
    ecs__cpy(i->description, sizeof i->description, store_col_text(st, 4));
    ecs__cpy(i->instance_type, sizeof i->instance_type, store_col_text(st, 5));
    ecs__cpy(i->image_id, sizeof i->image_id, store_col_text(st, 6));
    ecs__cpy(i->status, sizeof i->status, store_col_text(st, 7));
    i->created = store_col_int64(st, 8);
    i->started = store_col_int64(st, 9);
}

static sd_code load_instance(ecs *e, const ecs_caller *c, const char *id, ecs_instance *out,
                             sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;

    SD_TRY(ecs__select_one(e, c,
                           "SELECT " INST_COLS " FROM ecs_instances WHERE instance_id = ? AND "
                           "account = ? AND region = ?",
                           id, "InvalidInstanceId.NotFound", "instance", &st, err));
    inst_from_row(st, out);
out:
    store_stmt_free(st);
    return rc;
}

/* An instance whose disks are still being made takes no other change. */
static sd_code not_pending(const ecs_instance *i, sd_err *err)
{
    if (strcmp(i->status, "Pending") == 0) {
        return sd_err_setc(err, SD_E_DENIED, "IncorrectInstanceStatus.Initializing", SD_HERE,
                           "The instance %s is Pending: its disks are still being made.",
                           i->instance_id);
    }
    return SD_OK;
}

static sd_code set_status(ecs *e, const char *id, const char *status, sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;

    if (strcmp(status, "Running") == 0) {
        SD_TRY(store_prepare(
            e->st, "UPDATE ecs_instances SET status = ?, started = ? WHERE instance_id = ?", &st,
            err));
        SD_TRY(store_bind_text(st, 1, status, err));
        SD_TRY(store_bind_int64(st, 2, sd_now(&e->clock), err));
        SD_TRY(store_bind_text(st, 3, id, err));
    } else {
        SD_TRY(store_prepare(e->st, "UPDATE ecs_instances SET status = ? WHERE instance_id = ?",
                             &st, err));
        SD_TRY(store_bind_text(st, 1, status, err));
        SD_TRY(store_bind_text(st, 2, id, err));
    }
    SD_TRY(store_step_done(st, err));
out:
    store_stmt_free(st);
    return rc;
}

/* The ids of the disks attached to an instance, system disk first. */
typedef struct disk_ids {
    char id[ECS_DATA_DISKS_MAX + 1][ECS_ID_MAX];
    size_t n;
} disk_ids;

static sd_code attached_disks(ecs *e, const char *instance_id, disk_ids *out, sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;
    bool row = false;

    out->n = 0;
    SD_TRY(store_prepare(
        e->st, "SELECT disk_id FROM ecs_disks WHERE instance_id = ? ORDER BY device", &st, err));
    SD_TRY(store_bind_text(st, 1, instance_id, err));
    for (;;) {
        SD_TRY(store_step(st, &row, err));
        if (!row || out->n == ECS_DATA_DISKS_MAX + 1) {
            break;
        }
        ecs__cpy(out->id[out->n++], ECS_ID_MAX, store_col_text(st, 0));
    }
out:
    store_stmt_free(st);
    return rc;
}

/* ---- opening and closing disks --------------------------------------------------- */

static void close_open(ecs *e, size_t idx)
{
    ecs_open_disk *o = &e->open[idx];

    if (o->exported && e->exporter.remove != NULL) {
        /* closes the disk (flush, wipe); the last one of an instance also
         * ends its data-plane identity */
        e->exporter.remove(e->exporter.h, o->instance_id, o->disk_id);
    } else if (o->d != NULL) {
        sd_err err = SD_ERR_INIT;
        if (blk_disk_close(o->d, &err) != SD_OK) {
            sd_log(SD_LOG_ERROR, "ecs", "closing disk=%s: %s", o->disk_id, err.msg);
        }
    }
    sd_log(SD_LOG_INFO, "ecs", "closed disk=%s instance=%s", o->disk_id, o->instance_id);
    e->open[idx] = e->open[--e->nopen];
}

static void close_disk(ecs *e, const char *disk_id)
{
    for (size_t i = 0; i < e->nopen; i++) {
        if (strcmp(e->open[i].disk_id, disk_id) == 0) {
            close_open(e, i);
            return;
        }
    }
}

/* Unwraps the disk's key (R11), opens and exports it. */
static sd_code open_disk(ecs *e, const ecs_caller *c, const char *instance_id, const char *disk_id,
                         sd_err *err)
{
    sd_code rc = SD_OK;
    ecs_disk_row r = {0};
    sd_secret *dk = NULL;
    ecs_open_disk *o;
    blk_export exp;

    SD_ENSURE(e->nopen < ECS_OPEN_MAX, err, SD_E_THROTTLED, "too many open disks");
    SD_TRY(ecs__load_disk(e, c, disk_id, &r, err));
    SD_TRY(ecs__disk_ready(&r.d, err));
    if (r.d.encrypted) {
        SD_TRY(ecs__unwrap_dk(e, c, r.d.kms_key_id, r.dk_blob, r.dk_len, &dk, err));
    }
    o = &e->open[e->nopen];
    *o = (ecs_open_disk){.exported = false};
    ecs__cpy(o->disk_id, sizeof o->disk_id, disk_id);
    ecs__cpy(o->instance_id, sizeof o->instance_id, instance_id);
    SD_TRY(blk_disk_open(e->blocks, disk_id, dk, &o->d, err));
    blk_disk_set_helper(o->d, false); /* NBD clients bring their own concurrency */
    e->nopen++;
    if (e->exporter.add != NULL) {
        blk_disk_export(o->d, &exp);
        exp.description = disk_id;
        rc = e->exporter.add(e->exporter.h, instance_id, disk_id, &exp, o->uri, sizeof o->uri, err);
        if (rc != SD_OK) {
            close_open(e, e->nopen - 1);
            goto out;
        }
        o->exported = true;
    }
    sd_log(SD_LOG_INFO, "ecs", "opened disk=%s instance=%s encrypted=%d uri=%s", disk_id,
           instance_id, r.d.encrypted, o->uri);
out:
    sd_secret_free(dk); /* the open disk holds its own derived key */
    ecs__disk_row_free(&r);
    return rc;
}

static void stop_locked(ecs *e, const char *instance_id)
{
    for (size_t i = e->nopen; i > 0; i--) {
        if (strcmp(e->open[i - 1].instance_id, instance_id) == 0) {
            close_open(e, i - 1);
        }
    }
}

static sd_code start_locked(ecs *e, const ecs_caller *c, const char *instance_id, sd_err *err)
{
    sd_code rc = SD_OK;
    disk_ids ids;

    SD_TRY(attached_disks(e, instance_id, &ids, err));
    for (size_t i = 0; i < ids.n; i++) {
        SD_TRY(open_disk(e, c, instance_id, ids.id[i], err));
    }
    SD_TRY(set_status(e, instance_id, "Running", err));
out:
    if (rc != SD_OK) {
        stop_locked(e, instance_id); /* all or nothing */
    }
    return rc;
}

/* ---- instances ---------------------------------------------------------------------- */

static void req_fingerprint(ecs_fp *f, const ecs_disk_req *d)
{
    ecs__fp_str(f, d->category);
    ecs__fp_int(f, d->size_gib);
    ecs__fp_str(f, d->snapshot_id);
    ecs__fp_str(f, d->name);
    ecs__fp_str(f, d->description);
    ecs__fp_int(f, d->encrypted);
    ecs__fp_str(f, d->kms_key_id);
    ecs__fp_int(f, d->delete_with_instance ? 1 : 0);
}

static void instance_fingerprint(const ecs_instance_spec *s, char out[17])
{
    ecs_fp f;

    ecs__fp_init(&f);
    ecs__fp_str(&f, s->zone);
    ecs__fp_str(&f, s->instance_type);
    ecs__fp_str(&f, s->name);
    ecs__fp_str(&f, s->description);
    ecs__fp_str(&f, s->image_id);
    ecs__fp_int(&f, s->start ? 1 : 0);
    req_fingerprint(&f, &s->system_disk);
    for (size_t i = 0; i < s->n_data_disks; i++) {
        req_fingerprint(&f, &s->data_disks[i]);
    }
    ecs__fp_hex(&f, out);
}

/* ClientToken: the instance an earlier request with this token made. */
static sd_code find_instance_token(ecs *e, const ecs_caller *c, const ecs_instance_spec *s,
                                   const char *fp, char *id, bool *found, sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;

    *found = false;
    if (s->client_token == NULL || s->client_token[0] == '\0') {
        return SD_OK;
    }
    SD_TRY(store_prepare(e->st,
                         "SELECT instance_id, request_hash FROM ecs_instances WHERE account = ? "
                         "AND client_token = ?",
                         &st, err));
    SD_TRY(store_bind_text(st, 1, c->account, err));
    SD_TRY(store_bind_text(st, 2, s->client_token, err));
    SD_TRY(store_step(st, found, err));
    if (*found) {
        SD_ENSUREC(store_col_text(st, 1) != NULL && strcmp(store_col_text(st, 1), fp) == 0, err,
                   SD_E_INVALID, "IdempotentParameterMismatch",
                   "The ClientToken %s was used before with other parameters.", s->client_token);
        ecs__cpy(id, ECS_ID_MAX, store_col_text(st, 0));
    }
out:
    store_stmt_free(st);
    return rc;
}

static sd_code insert_instance(ecs *e, const ecs_caller *c, const ecs_instance_spec *s,
                               const char *id, const char *zone, const char *fp, sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;

    SD_TRY(store_prepare(e->st,
                         "INSERT INTO ecs_instances (instance_id, account, region, zone, name, "
                         "description, instance_type, image_id, status, created, started, "
                         "client_token, request_hash) VALUES "
                         "(?, ?, ?, ?, ?, ?, ?, ?, 'Pending', ?, 0, ?, ?)",
                         &st, err));
    SD_TRY(store_bind_text(st, 1, id, err));
    SD_TRY(store_bind_text(st, 2, c->account, err));
    SD_TRY(store_bind_text(st, 3, c->region, err));
    SD_TRY(store_bind_text(st, 4, zone, err));
    SD_TRY(store_bind_text(st, 5, s->name != NULL ? s->name : id, err));
    SD_TRY(store_bind_text(st, 6, s->description != NULL ? s->description : "", err));
    SD_TRY(
        store_bind_text(st, 7, s->instance_type != NULL ? s->instance_type : "ecs.g7.large", err));
    SD_TRY(store_bind_text(st, 8, s->image_id != NULL ? s->image_id : "", err));
    SD_TRY(store_bind_int64(st, 9, sd_now(&e->clock), err));
    if (s->client_token != NULL && s->client_token[0] != '\0') {
        SD_TRY(store_bind_text(st, 10, s->client_token, err));
    } else {
        SD_TRY(store_bind_null(st, 10, err));
    }
    SD_TRY(store_bind_text(st, 11, fp, err));
    SD_TRY(store_step_done(st, err));
out:
    store_stmt_free(st);
    return rc;
}

static sd_code delete_instance_row(ecs *e, const char *id, sd_err *err)
{
    return ecs__exec_id(e, "DELETE FROM ecs_instances WHERE instance_id = ?", id, err);
}

static void device_name(size_t index, char out[24])
{
    (void)snprintf(out, 24, "/dev/xvd%c", (char)('a' + (int)index)); /* index <= 16 */
}

/* One disk of a new instance, made and attached. */
/* image is NULL for a data disk; "" or an image id for the system disk
 * (R7: from an encrypted image, an encrypted system disk). */
static sd_code add_disk(ecs *e, const ecs_caller *c, const char *instance_id, const char *zone,
                        const ecs_disk_req *d, const char *image, size_t index,
                        char disk_id[ECS_ID_MAX], sd_err *err)
{
    sd_code rc = SD_OK;
    bool system = index == 0;
    bool from_image = image != NULL && image[0] != '\0';
    char dev[24];
    ecs_disk_spec spec = {
        .zone = zone,
        .category = d->category,
        .size_gib = d->size_gib != 0 || from_image ? d->size_gib : (system ? 40 : 0),
        .snapshot_id = d->snapshot_id,
        .name = d->name,
        .description = d->description,
        .encrypted = d->encrypted,
        .kms_key_id = d->kms_key_id,
        .type = system ? "system" : "data",
        .image_id = from_image ? image : NULL,
    };

    SD_TRY(ecs__create_disk_locked(e, c, &spec, disk_id, err));
    device_name(index, dev);
    SD_TRY(ecs__set_attachment(e, disk_id, instance_id, dev,
                               system || d->delete_with_instance ? 1 : 0, err));
out:
    return rc;
}

/* DryRun: each disk is planned (category, size, source, key, role) as if
 * it were made, and none is. */
static sd_code dry_run_disks(ecs *e, const ecs_caller *c, const char *zone,
                             const ecs_instance_spec *s, sd_err *err)
{
    for (size_t i = 0; i <= s->n_data_disks; i++) {
        sd_err one = SD_ERR_INIT;
        char id[ECS_ID_MAX];
        sd_code rc = add_disk(e, c, "", zone, i == 0 ? &s->system_disk : &s->data_disks[i - 1],
                              i == 0 ? s->image_id : NULL, i, id, &one);
        if (rc != SD_OK && !ecs__is_dry_run(&one)) {
            *err = one;
            return rc;
        }
    }
    return ecs__dry_run(c, err);
}

/* Removes what a failed create made: its disks and its row. */
static void undo_create(ecs *e, const ecs_caller *c, const char *instance_id)
{
    disk_ids ids;

    if (attached_disks(e, instance_id, &ids, NULL) == SD_OK) {
        for (size_t i = 0; i < ids.n; i++) {
            sd_ignore(ecs__remove_disk_locked(e, c, ids.id[i], NULL)); /* an orphan at worst */
        }
    }
    sd_ignore(delete_instance_row(e, instance_id, NULL)); /* as above */
}

sd_code ecs_create_instance(ecs *e, const ecs_caller *c, const ecs_instance_spec *s,
                            char instance_id[ECS_ID_MAX], sd_err *err)
{
    sd_code rc = SD_OK;
    const char *zone = NULL;
    bool made = false;
    bool found = false;
    char fp[17];
    disk_ids ids;

    pthread_mutex_lock(&e->mu);
    SD_ENSUREC(s->n_data_disks <= ECS_DATA_DISKS_MAX, err, SD_E_INVALID, "InvalidParameter",
               "At most %d data disks.", ECS_DATA_DISKS_MAX);
    SD_TRY(ecs__check_zone(e, c->region, s->zone, &zone, err));
    instance_fingerprint(s, fp);
    SD_TRY(find_instance_token(e, c, s, fp, instance_id, &found, err));
    if (found) {
        goto out; /* the same request again: the same instance */
    }
    if (c->dry_run) {
        SD_TRY(dry_run_disks(e, c, zone, s, err));
    }
    SD_TRY(ecs__new_id(e, "i-", instance_id, err));
    SD_TRY(insert_instance(e, c, s, instance_id, zone, fp, err));
    made = true;
    SD_TRY(add_disk(e, c, instance_id, zone, &s->system_disk, s->image_id, 0, ids.id[0], err));
    for (size_t i = 0; i < s->n_data_disks; i++) {
        SD_TRY(
            add_disk(e, c, instance_id, zone, &s->data_disks[i], NULL, i + 1, ids.id[i + 1], err));
    }
    /* Pending while disks are re-encrypted in the background: the request
     * waits for them, without the lock, then starts the instance or
     * leaves it Stopped */
    for (size_t i = 0; i < s->n_data_disks + 1; i++) {
        SD_TRY(ecs__wait_disk(e, c, ids.id[i], err));
    }
    if (s->start) {
        SD_TRY(start_locked(e, c, instance_id, err));
    } else {
        SD_TRY(set_status(e, instance_id, "Stopped", err));
    }
out:
    if (rc != SD_OK && made) {
        undo_create(e, c, instance_id);
    }
    pthread_mutex_unlock(&e->mu);
    return rc;
}

sd_code ecs_list_instances(ecs *e, const ecs_caller *c, ecs_instance_fn fn, void *ctx, sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;
    bool row = false;
    ecs_instance i;

    pthread_mutex_lock(&e->mu);
    SD_TRY(store_prepare(e->st,
                         "SELECT " INST_COLS " FROM ecs_instances WHERE account = ? AND region = ? "
                         "ORDER BY created, rowid",
                         &st, err));
    SD_TRY(store_bind_text(st, 1, c->account, err));
    SD_TRY(store_bind_text(st, 2, c->region, err));
    for (;;) {
        SD_TRY(store_step(st, &row, err));
        if (!row) {
            break;
        }
        inst_from_row(st, &i);
        fn(ctx, &i);
    }
out:
    store_stmt_free(st);
    pthread_mutex_unlock(&e->mu);
    return rc;
}

sd_code ecs_start_instance(ecs *e, const ecs_caller *c, const char *instance_id, sd_err *err)
{
    sd_code rc = SD_OK;
    ecs_instance i;

    pthread_mutex_lock(&e->mu);
    SD_TRY(load_instance(e, c, instance_id, &i, err));
    SD_ENSUREC(strcmp(i.status, "Stopped") == 0, err, SD_E_DENIED, "IncorrectInstanceStatus",
               "The instance %s is %s; only a Stopped instance can start.", instance_id, i.status);
    SD_TRY(ecs__dry_run(c, err));
    SD_TRY(start_locked(e, c, instance_id, err));
out:
    pthread_mutex_unlock(&e->mu);
    return rc;
}

sd_code ecs_stop_instance(ecs *e, const ecs_caller *c, const char *instance_id, sd_err *err)
{
    sd_code rc = SD_OK;
    ecs_instance i;

    pthread_mutex_lock(&e->mu);
    SD_TRY(load_instance(e, c, instance_id, &i, err));
    SD_ENSUREC(strcmp(i.status, "Running") == 0, err, SD_E_DENIED, "IncorrectInstanceStatus",
               "The instance %s is %s; only a Running instance can stop.", instance_id, i.status);
    SD_TRY(ecs__dry_run(c, err));
    stop_locked(e, instance_id);
    SD_TRY(set_status(e, instance_id, "Stopped", err));
out:
    pthread_mutex_unlock(&e->mu);
    return rc;
}

void ecs_dataplane_clear(ecs_dataplane *d)
{
    sd_secret_free(d->psk);
    d->psk = NULL;
}

sd_code ecs_describe_dataplane(ecs *e, const ecs_caller *c, const char *instance_id,
                               ecs_dataplane *out, sd_err *err)
{
    sd_code rc = SD_OK;
    ecs_instance i;
    disk_ids ids;

    *out = (ecs_dataplane){.ndisks = 0};
    pthread_mutex_lock(&e->mu);
    /* load_instance is scoped to the caller's account: another account's
     * instance is as absent as a missing one */
    SD_TRY(load_instance(e, c, instance_id, &i, err));
    SD_ENSUREC(strcmp(i.status, "Running") == 0, err, SD_E_DENIED, "IncorrectInstanceStatus",
               "The instance %s is %s; only a Running instance has a data plane.", instance_id,
               i.status);
    SD_ENSUREC(e->exporter.describe != NULL, err, SD_E_INVALID, "OperationDenied",
               "This server exports no disks.");
    SD_TRY(e->exporter.describe(e->exporter.h, instance_id, out, err));
    SD_TRY(attached_disks(e, instance_id, &ids, err));
    for (size_t k = 0; k < ids.n; k++) {
        for (size_t j = 0; j < e->nopen; j++) {
            if (e->open[j].exported && strcmp(e->open[j].disk_id, ids.id[k]) == 0) {
                ecs__cpy(out->disks[out->ndisks].disk_id, ECS_ID_MAX, ids.id[k]);
                ecs__cpy(out->disks[out->ndisks].uri, ECS_URI_MAX, e->open[j].uri);
                out->ndisks++;
            }
        }
    }
out:
    pthread_mutex_unlock(&e->mu);
    return rc;
}

/* ecs__disk_ready of the caller's disk disk_id. */
static sd_code disk_usable(ecs *e, const ecs_caller *c, const char *disk_id, sd_err *err)
{
    sd_code rc = SD_OK;
    ecs_disk_row r = {.dk_blob = NULL};

    SD_TRY(ecs__load_disk(e, c, disk_id, &r, err));
    SD_TRY(ecs__disk_ready(&r.d, err));
out:
    ecs__disk_row_free(&r);
    return rc;
}

sd_code ecs_delete_instance(ecs *e, const ecs_caller *c, const char *instance_id, bool force,
                            sd_err *err)
{
    sd_code rc = SD_OK;
    ecs_instance i;
    disk_ids ids;
    ecs_disk_row r = {0};

    pthread_mutex_lock(&e->mu);
    SD_TRY(load_instance(e, c, instance_id, &i, err));
    SD_TRY(not_pending(&i, err));
    SD_ENSUREC(force || strcmp(i.status, "Stopped") == 0, err, SD_E_DENIED,
               "IncorrectInstanceStatus", "The instance %s is %s; stop it first or use Force.",
               instance_id, i.status);
    SD_TRY(attached_disks(e, instance_id, &ids, err));
    for (size_t k = 0; k < ids.n; k++) {
        SD_TRY(disk_usable(e, c, ids.id[k], err)); /* none goes while one is rebuilt */
    }
    SD_TRY(ecs__dry_run(c, err));
    stop_locked(e, instance_id);
    for (size_t k = 0; k < ids.n; k++) {
        SD_TRY(ecs__load_disk(e, c, ids.id[k], &r, err));
        if (r.d.delete_with_instance) {
            SD_TRY(ecs__remove_disk_locked(e, c, ids.id[k], err));
        } else {
            SD_TRY(ecs__set_attachment(e, ids.id[k], "", "", -1, err));
        }
        ecs__disk_row_free(&r);
    }
    SD_TRY(delete_instance_row(e, instance_id, err));
out:
    ecs__disk_row_free(&r);
    pthread_mutex_unlock(&e->mu);
    return rc;
}

sd_code ecs_attach_disk(ecs *e, const ecs_caller *c, const char *instance_id, const char *disk_id,
                        int delete_with_instance, sd_err *err)
{
    sd_code rc = SD_OK;
    ecs_instance i;
    ecs_disk_row r = {0};
    disk_ids ids;
    char dev[24];
    bool attached = false;

    pthread_mutex_lock(&e->mu);
    SD_TRY(load_instance(e, c, instance_id, &i, err));
    SD_TRY(not_pending(&i, err));
    SD_TRY(ecs__load_disk(e, c, disk_id, &r, err));
    SD_TRY(ecs__disk_ready(&r.d, err));
    SD_ENSUREC(r.d.instance_id[0] == '\0', err, SD_E_DENIED, "IncorrectDiskStatus",
               "The disk %s is already attached to %s.", disk_id, r.d.instance_id);
    SD_ENSUREC(strcmp(r.d.zone, i.zone) == 0, err, SD_E_DENIED, "OperationDenied",
               "The disk %s is in zone %s and the instance in %s.", disk_id, r.d.zone, i.zone);
    SD_TRY(attached_disks(e, instance_id, &ids, err));
    SD_ENSUREC(ids.n <= ECS_DATA_DISKS_MAX, err, SD_E_DENIED, "InstanceDiskLimitExceeded",
               "The instance %s has the most disks it can.", instance_id);
    device_name(ids.n, dev);
    SD_TRY(ecs__dry_run(c, err));
    SD_TRY(ecs__set_attachment(e, disk_id, instance_id, dev, delete_with_instance, err));
    attached = true;
    if (strcmp(i.status, "Running") == 0) {
        SD_TRY(open_disk(e, c, instance_id, disk_id, err)); /* R11: the key is needed now */
    }
out:
    if (rc != SD_OK && attached) {
        sd_ignore(ecs__set_attachment(e, disk_id, "", "", -1, NULL)); /* back to Available */
    }
    ecs__disk_row_free(&r);
    pthread_mutex_unlock(&e->mu);
    return rc;
}

sd_code ecs_detach_disk(ecs *e, const ecs_caller *c, const char *instance_id, const char *disk_id,
                        sd_err *err)
{
    sd_code rc = SD_OK;
    ecs_instance i;
    ecs_disk_row r = {0};

    pthread_mutex_lock(&e->mu);
    SD_TRY(load_instance(e, c, instance_id, &i, err));
    SD_TRY(not_pending(&i, err));
    SD_TRY(ecs__load_disk(e, c, disk_id, &r, err));
    SD_ENSUREC(strcmp(r.d.instance_id, instance_id) == 0, err, SD_E_DENIED, "IncorrectDiskStatus",
               "The disk %s is not attached to %s.", disk_id, instance_id);
    SD_ENSUREC(strcmp(r.d.type, "system") != 0, err, SD_E_DENIED, "IncorrectDiskStatus",
               "The system disk %s cannot be detached.", disk_id);
    SD_TRY(ecs__dry_run(c, err));
    close_disk(e, disk_id);
    SD_TRY(ecs__set_attachment(e, disk_id, "", "", -1, err));
out:
    ecs__disk_row_free(&r);
    pthread_mutex_unlock(&e->mu);
    return rc;
}

/* ---- after a restart, and at close ----------------------------------------------------- */

/* An instance a restart finds in some status. */
typedef struct inst_ref {
    char id[ECS_ID_MAX];
    char account[IAM_ACCOUNT_ID_LEN + 1];
    char region[64];
} inst_ref;

#define SWEEP_MAX 64

/* Up to SWEEP_MAX instances in status, into out; their number. */
static size_t instances_in(ecs *e, const char *status, inst_ref out[SWEEP_MAX])
{
    store_stmt *st = NULL;
    bool row = false;
    size_t n = 0;

    if (store_prepare(e->st,
                      "SELECT instance_id, account, region FROM ecs_instances WHERE status = ? "
                      "LIMIT 64",
                      &st, NULL) != SD_OK ||
        store_bind_text(st, 1, status, NULL) != SD_OK) {
        store_stmt_free(st);
        return 0;
    }
    while (n < SWEEP_MAX && store_step(st, &row, NULL) == SD_OK && row) {
        ecs__cpy(out[n].id, sizeof out[n].id, store_col_text(st, 0));
        ecs__cpy(out[n].account, sizeof out[n].account, store_col_text(st, 1));
        ecs__cpy(out[n].region, sizeof out[n].region, store_col_text(st, 2));
        n++;
    }
    store_stmt_free(st);
    return n;
}

void ecs__resume_instances(ecs *e)
{
    inst_ref refs[SWEEP_MAX];
    size_t n = instances_in(e, "Running", refs);

    for (size_t i = 0; i < n; i++) {
        ecs_caller c = {refs[i].account, refs[i].region, false};
        sd_err err = SD_ERR_INIT;
        if (start_locked(e, &c, refs[i].id, &err) != SD_OK) {
            /* its keys cannot be unwrapped now (R11): it stays down */
            sd_log(SD_LOG_WARN, "ecs", "instance=%s could not restart: %s", refs[i].id, err.msg);
            sd_ignore(set_status(e, refs[i].id, "Stopped", NULL)); /* logged above */
        }
    }
}

void ecs__recover_instances(ecs *e)
{
    inst_ref refs[SWEEP_MAX];
    size_t n = instances_in(e, "Pending", refs);

    for (size_t i = 0; i < n; i++) {
        /* its creation never answered: it goes, as a failed request's would */
        ecs_caller c = {refs[i].account, refs[i].region, false};
        undo_create(e, &c, refs[i].id);
        sd_log(SD_LOG_WARN, "ecs", "instance=%s: its creation was interrupted by a restart",
               refs[i].id);
    }
}

void ecs__close_all(ecs *e)
{
    while (e->nopen > 0) {
        close_open(e, e->nopen - 1);
    }
}

/* ---- dependencies on a key (R12) ------------------------------------------------------------ */

sd_code ecs_key_dependents(ecs *e, const ecs_caller *c, const char *key, ecs_dep_fn fn, void *ctx,
                           sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;
    bool row = false;
    kms_caller kc = {c->account, c->region};
    kms_key_meta *m = calloc(1, sizeof *m);
    sd_err kerr = SD_ERR_INIT;

    pthread_mutex_lock(&e->mu);
    SD_ENSURE(m != NULL, err, SD_E_NOMEM, "out of memory");
    if (e->kms.ops->describe_key(e->kms.h, &kc, key, m, &kerr) != SD_OK) {
        SD_FAILC(err, SD_E_NOT_FOUND, "InvalidParameter.KMSKeyId.NotFound",
                 "The specified KMSKeyId %s is not found.", key);
    }
    SD_TRY(store_prepare(e->st,
                         "SELECT 'disk', d.disk_id, CASE WHEN d.instance_id = '' THEN 'Available' "
                         "ELSE 'In_use' END FROM ecs_disks d WHERE d.account = ?1 AND d.region = "
                         "?2 AND d.kms_key_id = ?3 "
                         "UNION ALL SELECT 'snapshot', s.snapshot_id, 'accomplished' FROM "
                         "ecs_snapshots s WHERE s.account = ?1 AND s.region = ?2 AND s.kms_key_id "
                         "= ?3 "
                         "UNION ALL SELECT 'image', m.image_id, m.status FROM ecs_images m "
                         "WHERE m.account = ?1 AND m.region = ?2 AND m.encrypted = 1 AND "
                         "m.kms_key_id = ?3 "
                         "UNION ALL SELECT DISTINCT 'instance', i.instance_id, i.status FROM "
                         "ecs_instances i JOIN ecs_disks d ON d.instance_id = i.instance_id WHERE "
                         "i.account = ?1 AND i.region = ?2 AND d.kms_key_id = ?3",
                         &st, err));
    SD_TRY(store_bind_text(st, 1, c->account, err));
    SD_TRY(store_bind_text(st, 2, c->region, err));
    SD_TRY(store_bind_text(st, 3, m->key_id, err));
    for (;;) {
        SD_TRY(store_step(st, &row, err));
        if (!row) {
            break;
        }
        fn(ctx, store_col_text(st, 0), store_col_text(st, 1), store_col_text(st, 2));
    }
out:
    store_stmt_free(st);
    free(m);
    pthread_mutex_unlock(&e->mu);
    return rc;
}

/* ---- rolling back, reinitialising, replacing ---------------------------------------- */

/* The disk must not be in use by a running instance. */
static sd_code quiescent(ecs *e, const ecs_caller *c, const ecs_disk_row *r, sd_err *err)
{
    sd_code rc = SD_OK;
    ecs_instance i;

    if (r->d.instance_id[0] != '\0') {
        SD_TRY(load_instance(e, c, r->d.instance_id, &i, err));
        SD_ENSUREC(strcmp(i.status, "Stopped") == 0, err, SD_E_DENIED, "IncorrectInstanceStatus",
                   "The instance %s is %s; stop it first.", i.instance_id, i.status);
    }
out:
    return rc;
}

/* R11: rolling back or reinitialising needs the disk's key. */
static sd_code key_check(ecs *e, const ecs_caller *c, const ecs_disk_row *r, sd_err *err)
{
    sd_code rc = SD_OK;
    sd_secret *dk = NULL;

    if (r->d.encrypted) {
        SD_TRY(ecs__unwrap_dk(e, c, r->d.kms_key_id, r->dk_blob, r->dk_len, &dk, err));
    }
out:
    sd_secret_free(dk);
    return rc;
}

/* Ends a rebuild: the new data, grown to the disk's size (the source's
 * may end earlier), become the disk's.  On failure the new data go. */
static sd_code rebuild_commit(ecs *e, const char *disk_id, uint64_t size, const char *tmp,
                              sd_code rc, sd_err *err)
{
    if (rc == SD_OK) {
        rc = blk_disk_resize(e->blocks, tmp, size, err);
    }
    if (rc == SD_OK) {
        rc = blk_disk_replace(e->blocks, disk_id, tmp, err);
    }
    if (rc != SD_OK) {
        sd_ignore(blk_disk_remove(e->blocks, tmp, NULL)); /* may not exist */
    }
    return rc;
}

/* The disk's data replaced by a clone of source (a block snapshot name),
 * or by an empty disk when source is NULL. */
static sd_code refill(ecs *e, const ecs_disk_row *r, const char *source, sd_err *err)
{
    sd_code rc = SD_OK;
    char tmp[ECS_ID_MAX + 8];

    ecs__rebuild_name(r->d.disk_id, tmp);
    sd_ignore(blk_disk_remove(e->blocks, tmp, NULL)); /* a crashed rebuild's leftover */
    if (source != NULL) {
        rc = blk_disk_clone(e->blocks, source, tmp, err);
    } else {
        rc = blk_disk_create(e->blocks, tmp, (uint64_t)r->d.size_gib << 30, r->d.encrypted, err);
    }
    return rebuild_commit(e, r->d.disk_id, (uint64_t)r->d.size_gib << 30, tmp, rc, err);
}

sd_code ecs_reset_disk(ecs *e, const ecs_caller *c, const char *disk_id, const char *snapshot_id,
                       sd_err *err)
{
    sd_code rc = SD_OK;
    ecs_disk_row r = {.dk_blob = NULL};
    snap_row s = {.dk_blob = NULL};

    pthread_mutex_lock(&e->mu);
    SD_TRY(ecs__load_disk(e, c, disk_id, &r, err));
    SD_TRY(ecs__disk_ready(&r.d, err));
    SD_TRY(ecs__load_snapshot(e, c, snapshot_id, &s, err));
    SD_ENSUREC(strcmp(s.s.source_disk_id, disk_id) == 0, err, SD_E_DENIED,
               "InvalidParameter.Mismatch", "The snapshot %s was not taken of the disk %s.",
               snapshot_id, disk_id);
    SD_TRY(quiescent(e, c, &r, err));
    SD_TRY(key_check(e, c, &r, err));
    SD_TRY(ecs__dry_run(c, err));
    SD_TRY(refill(e, &r, snapshot_id, err));
out:
    free(s.dk_blob);
    ecs__disk_row_free(&r);
    pthread_mutex_unlock(&e->mu);
    return rc;
}

/* Whether a disk and its source share one data key (a clone suffices). */
static bool same_lineage(const ecs_disk_row *r, const snap_row *src)
{
    if (!r->d.encrypted || !src->s.encrypted) {
        return r->d.encrypted == src->s.encrypted;
    }
    return r->dk_len == src->dk_len && memcmp(r->dk_blob, src->dk_blob, r->dk_len) == 0;
}

static void reinit_progress(ecs *e, const ecs_job *j, int pct)
{
    ecs__disk_progress(e, j->target, "ReIniting", pct);
}

/* The copy wrote the new data beside the disk: they replace its data, or
 * go, and either way the disk is Available again, whole. */
static void reinit_finish(ecs *e, const ecs_job *j, sd_code rc, const sd_err *err)
{
    sd_err serr = SD_ERR_INIT;

    if (err != NULL) {
        serr = *err;
    }
    rc = rebuild_commit(e, j->target, j->size, j->tmp, rc, &serr);
    if (ecs__set_disk_state(e, j->target, "Available", 100, NULL) != SD_OK) {
        sd_log(SD_LOG_ERROR, "ecs", "disk=%s: cannot end its rebuild", j->target);
    }
    if (rc == SD_OK) {
        sd_log(SD_LOG_INFO, "ecs", "disk=%s reinitialised", j->target);
    } else {
        sd_log(SD_LOG_ERROR, "ecs", "disk=%s could not be reinitialised and keeps its data: %s",
               j->target, serr.msg);
    }
}

static const ecs_job_ops reinit_ops = {ecs__job_copy, reinit_progress, reinit_finish};

/* Refills the disk from a source of another lineage: its data re-encrypted
 * from the source's DK into the disk's own, in the background (a copy of
 * many GiB must not hold mu); the disk is ReIniting meanwhile.  The keys
 * are unwrapped now, so a refusal is this request's. */
static sd_code recopy(ecs *e, const ecs_caller *c, const ecs_disk_row *r, const snap_row *src,
                      sd_err *err)
{
    sd_code rc = SD_OK;
    ecs_job *j = NULL;
    char tmp[ECS_ID_MAX + 8];

    SD_TRY(ecs__job_new(&reinit_ops, r->d.disk_id, &j, err));
    if (src->s.encrypted) {
        /* a shared image's DK is unwrapped on behalf of its owner */
        ecs_caller owner = {src->owner[0] != '\0' ? src->owner : c->account, c->region, false};
        SD_TRY(ecs__unwrap_dk(e, &owner, src->s.kms_key_id, src->dk_blob, src->dk_len, &j->src_dk,
                              err));
    }
    if (r->d.encrypted) {
        SD_TRY(ecs__unwrap_dk(e, c, r->d.kms_key_id, r->dk_blob, r->dk_len, &j->dst_dk, err));
    }
    ecs__rebuild_name(r->d.disk_id, tmp);
    SD_ENSURE(strlen(tmp) < sizeof j->tmp, err, SD_E_INTERNAL, "disk id too long: %s",
              r->d.disk_id);
    ecs__cpy(j->tmp, sizeof j->tmp, tmp);
    ecs__cpy(j->src, sizeof j->src, src->s.snapshot_id);
    j->size = (uint64_t)r->d.size_gib << 30;
    sd_ignore(blk_disk_remove(e->blocks, tmp, NULL)); /* a crashed rebuild's leftover */
    SD_TRY(ecs__set_disk_state(e, r->d.disk_id, "ReIniting", 0, err));
    rc = ecs__job_start(e, &j, err);
    if (rc != SD_OK) {
        sd_ignore(ecs__set_disk_state(e, r->d.disk_id, "Available", 100, NULL)); /* as it was */
    }
out:
    ecs__job_free(j);
    return rc;
}

sd_code ecs_reinit_disk(ecs *e, const ecs_caller *c, const char *disk_id, sd_err *err)
{
    sd_code rc = SD_OK;
    ecs_disk_row r = {.dk_blob = NULL};
    snap_row src = {.dk_blob = NULL};
    bool has_src = false;

    pthread_mutex_lock(&e->mu);
    SD_TRY(ecs__load_disk(e, c, disk_id, &r, err));
    SD_TRY(ecs__disk_ready(&r.d, err));
    SD_TRY(quiescent(e, c, &r, err));
    SD_TRY(key_check(e, c, &r, err));
    if (r.d.image_id[0] != '\0') {
        rc = ecs__image_source(e, c, r.d.image_id, &src, err);
        has_src = true;
    } else if (r.d.source_snapshot_id[0] != '\0') {
        rc = ecs__load_snapshot(e, c, r.d.source_snapshot_id, &src, err);
        has_src = true;
    }
    if (rc == SD_E_NOT_FOUND) {
        sd_err_clear(err);
        SD_FAILC(err, SD_E_DENIED, "InvalidSourceSnapshot",
                 "The image or snapshot the disk %s was made from no longer exists.", disk_id);
    }
    SD_TRY(rc);
    SD_TRY(ecs__dry_run(c, err));
    if (!has_src) {
        SD_TRY(refill(e, &r, NULL, err));
    } else if (same_lineage(&r, &src)) {
        SD_TRY(refill(e, &r, src.s.snapshot_id, err));
    } else {
        SD_TRY(recopy(e, c, &r, &src, err));
    }
out:
    free(src.dk_blob);
    ecs__disk_row_free(&r);
    pthread_mutex_unlock(&e->mu);
    return rc;
}

sd_code ecs_replace_system_disk(ecs *e, const ecs_caller *c, const char *instance_id,
                                const char *image_id, int encrypted, const char *kms_key_id,
                                char disk_id[ECS_ID_MAX], sd_err *err)
{
    sd_code rc = SD_OK;
    ecs_instance i;
    char old[ECS_ID_MAX];
    ecs_disk_spec spec = {.encrypted = encrypted, .kms_key_id = kms_key_id, .type = "system"};
    bool made = false;

    pthread_mutex_lock(&e->mu);
    SD_TRY(load_instance(e, c, instance_id, &i, err));
    SD_ENSUREC(strcmp(i.status, "Stopped") == 0, err, SD_E_DENIED, "IncorrectInstanceStatus",
               "The instance %s is %s; stop it first.", instance_id, i.status);
    SD_TRY(ecs__system_disk(e, c, instance_id, old, err));
    SD_TRY(disk_usable(e, c, old, err)); /* not while a ReInitDisk rebuilds it */
    spec.zone = i.zone;
    spec.image_id = image_id;
    /* a dry run ends inside, once the new disk is planned */
    SD_TRY(ecs__create_disk_locked(e, c, &spec, disk_id, err));
    made = true;
    /* a re-encrypted disk is made in the background: the swap waits for
     * it (without the lock), then checks the instance again */
    SD_TRY(ecs__wait_disk(e, c, disk_id, err));
    SD_TRY(load_instance(e, c, instance_id, &i, err));
    SD_ENSUREC(strcmp(i.status, "Stopped") == 0, err, SD_E_DENIED, "IncorrectInstanceStatus",
               "The instance %s is %s; stop it first.", instance_id, i.status);
    SD_TRY(disk_usable(e, c, old, err));
    SD_TRY(ecs__set_attachment(e, old, "", "", -1, err));
    SD_TRY(ecs__set_attachment(e, disk_id, instance_id, "/dev/xvda", 1, err));
    SD_TRY(ecs__remove_disk_locked(e, c, old, err));
    made = false;
out:
    if (made) {
        sd_ignore(ecs__remove_disk_locked(e, c, disk_id, NULL)); /* undo: an orphan at worst */
        sd_ignore(ecs__set_attachment(e, old, instance_id, "/dev/xvda", 1, NULL)); /* as above */
    }
    pthread_mutex_unlock(&e->mu);
    return rc;
}

sd_code ecs_resize_disk(ecs *e, const ecs_caller *c, const char *disk_id, int64_t new_gib,
                        sd_err *err)
{
    sd_code rc = SD_OK;
    ecs_disk_row r = {.dk_blob = NULL};
    store_stmt *st = NULL;
    int64_t max = 0;

    pthread_mutex_lock(&e->mu);
    SD_TRY(ecs__load_disk(e, c, disk_id, &r, err));
    SD_TRY(ecs__disk_ready(&r.d, err));
    max = ecs__category_max(r.d.category);
    SD_ENSUREC(new_gib > r.d.size_gib, err, SD_E_DENIED, "InvalidDiskSize.TooSmall",
               "The new size %lld GiB must be larger than the disk's %lld GiB; disks only grow.",
               (long long)new_gib, (long long)r.d.size_gib);
    SD_ENSUREC(new_gib <= max, err, SD_E_DENIED, "InvalidDiskSize.TooLarge",
               "The new size %lld GiB is over the %lld GiB of category %s.", (long long)new_gib,
               (long long)max, r.d.category);
    SD_TRY(quiescent(e, c, &r, err));
    SD_ENSUREC(ecs__find_open(e, disk_id) == NULL, err, SD_E_DENIED, "IncorrectDiskStatus",
               "The disk %s is open; stop its instance first.", disk_id);
    SD_TRY(key_check(e, c, &r, err));
    SD_TRY(ecs__dry_run(c, err));
    SD_TRY(store_begin(e->st, err));
    SD_TRY(store_prepare(e->st, "UPDATE ecs_disks SET size_gib = ? WHERE disk_id = ?", &st, err));
    SD_TRY(store_bind_int64(st, 1, new_gib, err));
    SD_TRY(store_bind_text(st, 2, disk_id, err));
    SD_TRY(store_step_done(st, err));
    /* the row changes with the data or not at all */
    SD_TRY(blk_disk_resize(e->blocks, disk_id, (uint64_t)new_gib << 30, err));
    SD_TRY(store_commit(e->st, err));
    sd_log(SD_LOG_INFO, "ecs", "resized disk=%s to %lld GiB", disk_id, (long long)new_gib);
out:
    store_stmt_free(st);
    if (rc != SD_OK) {
        store_rollback(e->st); /* no-op when none is open */
    }
    ecs__disk_row_free(&r);
    pthread_mutex_unlock(&e->mu);
    return rc;
}
