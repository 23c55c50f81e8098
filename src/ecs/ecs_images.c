/* ecs_images.c: custom images, and R7: copies keep or gain encryption.
 *
 * An image's data are a block-store snapshot named after the image.  Every
 * way of making one ends the same: a temporary disk holding the data (a
 * clone, a re-encrypting copy or an import) is snapshotted under the
 * image's id and removed, so an image never shares a name with anything a
 * user can delete.  The DK blob and CMK travel with the data: an image
 * from an encrypted snapshot is encrypted under the same key, and a copy
 * under another key is re-encrypted into a new lineage, which the copy
 * also owns as a snapshot (R7): its SnapshotId names data under its own
 * key, never the source's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sys/stat.h>

#include "ecs/ecs_int.h"
#include "ecs/ecs_qemu.h"

#define GIB          ((uint64_t)1 << 30)
#define IMG_PATH_MAX ECS_PATH_MAX
#define QEMU_INFO_MS 60000 /* qemu-img info reads headers only: a minute is plenty */

static sd_code insert_image(ecs *e, const ecs_caller *c, const image_row *r, sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;

    SD_TRY(store_prepare(e->st,
                         "INSERT INTO ecs_images (image_id, account, region, name, description, "
                         "snapshot_id, size_gib, encrypted, kms_key_id, dk_blob, source_image_id, "
                         "created, status, progress, job_disk, job_file) VALUES "
                         "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         &st, err));
    SD_TRY(store_bind_text(st, 1, r->i.image_id, err));
    SD_TRY(store_bind_text(st, 2, c->account, err));
    SD_TRY(store_bind_text(st, 3, c->region, err));
    SD_TRY(store_bind_text(st, 4, r->i.name, err));
    SD_TRY(store_bind_text(st, 5, r->i.description, err));
    SD_TRY(store_bind_text(st, 6, r->i.snapshot_id, err));
    SD_TRY(store_bind_int64(st, 7, r->i.size_gib, err));
    SD_TRY(store_bind_int64(st, 8, r->i.encrypted ? 1 : 0, err));
    SD_TRY(store_bind_text(st, 9, r->i.kms_key_id, err));
    if (r->dk_blob != NULL) {
        SD_TRY(store_bind_blob(st, 10, r->dk_blob, r->dk_len, err));
    } else {
        SD_TRY(store_bind_null(st, 10, err));
    }
    SD_TRY(store_bind_text(st, 11, r->i.source_image_id, err));
    SD_TRY(store_bind_int64(st, 12, sd_now(&e->clock), err));
    SD_TRY(store_bind_text(st, 13, r->i.status[0] != '\0' ? r->i.status : "Available", err));
    SD_TRY(store_bind_int64(st, 14, r->i.status[0] != '\0' ? r->i.progress : 100, err));
    SD_TRY(store_bind_text(st, 15, r->job_disk, err));
    SD_TRY(store_bind_text(st, 16, r->job_file, err));
    SD_TRY(store_step_done(st, err));
out:
    store_stmt_free(st);
    return rc;
}

/* Freezes the temporary disk tmp as the image's block snapshot and removes
 * tmp; on success the image row follows. */
static sd_code seal_image(ecs *e, const ecs_caller *c, const char *tmp, image_row *r, sd_err *err)
{
    sd_code rc = SD_OK;
    bool snapped = false;

    SD_TRY(blk_snapshot_create(e->blocks, tmp, r->i.image_id, err));
    snapped = true;
    SD_TRY(insert_image(e, c, r, err));
out:
    if (rc != SD_OK && snapped) {
        sd_ignore(blk_snapshot_remove(e->blocks, r->i.image_id, NULL)); /* an orphan at worst */
    }
    sd_ignore(blk_disk_remove(e->blocks, tmp, NULL)); /* the snapshot keeps the layers */
    return rc;
}

static void names(image_row *r, const char *name, const char *description)
{
    ecs__cpy(r->i.name, sizeof r->i.name, name != NULL && name[0] != '\0' ? name : r->i.image_id);
    ecs__cpy(r->i.description, sizeof r->i.description, description);
}

/* r keeps a copy of the DK blob in blob. */
static sd_code take_blob(image_row *r, const sd_buf *blob, sd_err *err)
{
    r->dk_blob = malloc(blob->len);
    if (r->dk_blob == NULL) {
        return sd_err_set(err, SD_E_NOMEM, SD_HERE, "out of memory");
    }
    memcpy(r->dk_blob, blob->data, blob->len);
    r->dk_len = blob->len;
    return SD_OK;
}

/* The system disk of an instance, snapshotted as the image. */
static sd_code image_from_instance(ecs *e, const ecs_caller *c, const char *instance_id,
                                   image_row *r, sd_err *err)
{
    sd_code rc = SD_OK;
    ecs_disk_row d = {.dk_blob = NULL};
    char disk_id[ECS_ID_MAX];
    bool snapped = false;

    SD_TRY(ecs__system_disk(e, c, instance_id, disk_id, err));
    SD_TRY(ecs__load_disk(e, c, disk_id, &d, err));
    SD_TRY(ecs__disk_ready(&d.d, err));
    SD_TRY(ecs__dry_run(c, err));
    SD_TRY(ecs__snapshot_disk(e, disk_id, r->i.image_id, err));
    snapped = true;
    r->i.size_gib = d.d.size_gib;
    r->i.encrypted = d.d.encrypted;
    ecs__cpy(r->i.kms_key_id, sizeof r->i.kms_key_id, d.d.kms_key_id);
    r->dk_blob = d.dk_blob;
    r->dk_len = d.dk_len;
    d.dk_blob = NULL;
    SD_TRY(insert_image(e, c, r, err));
out:
    if (rc != SD_OK && snapped) {
        sd_ignore(blk_snapshot_remove(e->blocks, r->i.image_id, NULL)); /* an orphan at worst */
    }
    ecs__disk_row_free(&d);
    return rc;
}

/* A snapshot's data, cloned and sealed as the image (O(1)). */
static sd_code image_from_snapshot(ecs *e, const ecs_caller *c, const char *snapshot_id,
                                   image_row *r, sd_err *err)
{
    sd_code rc = SD_OK;
    snap_row s = {.dk_blob = NULL};
    char tmp[ECS_ID_MAX];

    SD_TRY(ecs__load_snapshot(e, c, snapshot_id, &s, err));
    SD_TRY(ecs__dry_run(c, err));
    SD_TRY(ecs__new_id(e, "d-", tmp, err));
    SD_TRY(blk_disk_clone(e->blocks, snapshot_id, tmp, err));
    r->i.size_gib = s.s.source_disk_size;
    r->i.encrypted = s.s.encrypted;
    ecs__cpy(r->i.kms_key_id, sizeof r->i.kms_key_id, s.s.kms_key_id);
    ecs__cpy(r->i.snapshot_id, sizeof r->i.snapshot_id, snapshot_id);
    r->dk_blob = s.dk_blob;
    r->dk_len = s.dk_len;
    s.dk_blob = NULL;
    SD_TRY(seal_image(e, c, tmp, r, err));
out:
    free(s.dk_blob);
    return rc;
}

sd_code ecs_create_image(ecs *e, const ecs_caller *c, const char *snapshot_id,
                         const char *instance_id, const char *name, const char *description,
                         char image_id[ECS_ID_MAX], sd_err *err)
{
    sd_code rc = SD_OK;
    image_row r = {.dk_blob = NULL};
    bool from_snap = snapshot_id != NULL && snapshot_id[0] != '\0';
    bool from_inst = instance_id != NULL && instance_id[0] != '\0';

    pthread_mutex_lock(&e->mu);
    SD_ENSUREC(from_snap != from_inst, err, SD_E_INVALID, "MissingParameter",
               "Give exactly one of SnapshotId and InstanceId.");
    SD_TRY(ecs__new_id(e, "m-", image_id, err));
    ecs__cpy(r.i.image_id, sizeof r.i.image_id, image_id);
    names(&r, name, description);
    if (from_inst) {
        SD_TRY(image_from_instance(e, c, instance_id, &r, err));
    } else {
        SD_TRY(image_from_snapshot(e, c, snapshot_id, &r, err));
    }
out:
    free(r.dk_blob);
    pthread_mutex_unlock(&e->mu);
    return rc;
}

/* Calls fn with each image the query selects; sql binds the caller's
 * account as ?1 and region as ?2. */
static sd_code list_images_where(ecs *e, const ecs_caller *c, const char *sql, ecs_image_fn fn,
                                 void *ctx, sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;
    bool row = false;
    image_row r = {.dk_blob = NULL};

    pthread_mutex_lock(&e->mu);
    SD_TRY(store_prepare(e->st, sql, &st, err));
    SD_TRY(store_bind_text(st, 1, c->account, err));
    SD_TRY(store_bind_text(st, 2, c->region, err));
    for (;;) {
        SD_TRY(store_step(st, &row, err));
        if (!row) {
            break;
        }
        SD_TRY(ecs__image_from_row(st, &r, err));
        fn(ctx, &r.i);
        free(r.dk_blob);
        r.dk_blob = NULL;
    }
out:
    free(r.dk_blob);
    store_stmt_free(st);
    pthread_mutex_unlock(&e->mu);
    return rc;
}

sd_code ecs_list_images(ecs *e, const ecs_caller *c, ecs_image_fn fn, void *ctx, sd_err *err)
{
    return list_images_where(e, c,
                             "SELECT " IMAGE_COLS " FROM ecs_images WHERE account = ?1 AND "
                             "region = ?2 ORDER BY created, rowid",
                             fn, ctx, err);
}

static sd_code delete_image_row(ecs *e, const char *image_id, sd_err *err)
{
    return ecs__exec_id(e, "DELETE FROM ecs_images WHERE image_id = ?", image_id, err);
}

sd_code ecs_delete_image(ecs *e, const ecs_caller *c, const char *image_id, bool force, sd_err *err)
{
    sd_code rc = SD_OK;
    image_row r = {.dk_blob = NULL};
    store_stmt *st = NULL;
    bool row = false;

    pthread_mutex_lock(&e->mu);
    SD_TRY(ecs__load_image(e, c, image_id, &r, err));
    /* its job is still writing it: the contract's codes for a copy and an import */
    SD_ENSUREC(strcmp(r.i.status, "Creating") != 0, err, SD_E_DENIED,
               r.i.source_image_id[0] != '\0' ? "OperationDenied.ImageCopying" : "ImageIsImporting",
               "The image %s is being made (%d%%); delete it when it is Available or failed.",
               image_id, r.i.progress);
    SD_TRY(store_prepare(e->st, "SELECT count(*) FROM ecs_instances WHERE image_id = ?", &st, err));
    SD_TRY(store_bind_text(st, 1, image_id, err));
    SD_TRY(store_step(st, &row, err));
    SD_ENSUREC(force || !row || store_col_int64(st, 0) == 0, err, SD_E_DENIED,
               "ImageUsingByInstance", "Instances use the image %s; use Force to delete it.",
               image_id);
    SD_TRY(ecs__dry_run(c, err));
    SD_TRY(delete_image_row(e, image_id, err));
    rc = blk_snapshot_remove(e->blocks, image_id, err); /* disks made from it keep their layers */
    if (rc == SD_E_NOT_FOUND) {
        sd_err_clear(err);
        rc = SD_OK;
    }
out:
    store_stmt_free(st);
    free(r.dk_blob);
    pthread_mutex_unlock(&e->mu);
    return rc;
}

/* ---- background jobs: copies and imports ----------------------------------------- */

static sd_code store_image_state(ecs *e, const char *image, const char *status, int progress,
                                 bool clear_job, sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;

    SD_TRY(store_prepare(e->st,
                         clear_job
                             ? "UPDATE ecs_images SET status = ?, progress = ?, job_disk = '', "
                               "job_file = '' WHERE image_id = ?"
                             : "UPDATE ecs_images SET status = ?, progress = ? WHERE image_id = ?",
                         &st, err));
    SD_TRY(store_bind_text(st, 1, status, err));
    SD_TRY(store_bind_int64(st, 2, progress, err));
    SD_TRY(store_bind_text(st, 3, image, err));
    SD_TRY(store_step_done(st, err));
out:
    store_stmt_free(st);
    return rc;
}

static void set_image_state(ecs *e, const char *image, const char *status, int progress,
                            bool clear_job)
{
    sd_err err = SD_ERR_INIT;

    if (store_image_state(e, image, status, progress, clear_job, &err) != SD_OK) {
        sd_log(SD_LOG_ERROR, "ecs", "image=%s: cannot record %s: %s", image, status, err.msg);
    }
}

/* CreateFailed; a SnapshotId that names no snapshot (the one a failed
 * copy was to own) goes too, so the image never reports a missing one. */
static void fail_image(ecs *e, const char *image)
{
    set_image_state(e, image, "CreateFailed", 0, true);
    sd_ignore(ecs__exec_id(e,
                           "UPDATE ecs_images SET snapshot_id = '' WHERE image_id = ? AND "
                           "snapshot_id NOT IN (SELECT snapshot_id FROM ecs_snapshots)",
                           image, NULL)); /* at worst it names a snapshot that is gone */
}

static void image_progress(ecs *e, const ecs_job *j, int pct)
{
    set_image_state(e, j->target, "Creating", pct, false);
}

/* R7: a re-encrypting copy's own snapshot, in the image's region under its
 * key and DK blob, made for it (ecs_delete_snapshot refuses it while the
 * image exists). */
static sd_code insert_copy_snapshot(ecs *e, const ecs_job *j, sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;

    SD_TRY(store_prepare(e->st,
                         "INSERT INTO ecs_snapshots (snapshot_id, account, region, name, "
                         "description, source_disk_id, source_disk_size, source_disk_type, "
                         "encrypted, kms_key_id, dk_blob, created, image_id) SELECT ?, account, "
                         "region, '', 'Created for image ' || image_id || ' by CopyImage from ' "
                         "|| source_image_id, '', size_gib, 'system', encrypted, kms_key_id, "
                         "dk_blob, ?, image_id FROM ecs_images WHERE image_id = ?",
                         &st, err));
    SD_TRY(store_bind_text(st, 1, j->snap, err));
    SD_TRY(store_bind_int64(st, 2, sd_now(&e->clock), err));
    SD_TRY(store_bind_text(st, 3, j->target, err));
    SD_TRY(store_step_done(st, err));
out:
    store_stmt_free(st);
    return rc;
}

/* The image Available with its snapshot row, both or neither. */
static sd_code seal_job_image(ecs *e, const ecs_job *j, sd_err *err)
{
    sd_code rc = SD_OK;

    SD_TRY(store_begin(e->st, err));
    if (j->snap[0] != '\0') {
        rc = insert_copy_snapshot(e, j, err);
    }
    if (rc == SD_OK) {
        rc = store_image_state(e, j->target, "Available", 100, true, err);
    }
    if (rc == SD_OK) {
        rc = store_commit(e->st, err);
    }
    if (rc != SD_OK) {
        store_rollback(e->st);
    }
out:
    return rc;
}

/* The job's disk, once written, becomes the image's block snapshot, and a
 * re-encrypting copy's own snapshot too. */
static void image_finish(ecs *e, const ecs_job *j, sd_code rc, const sd_err *err)
{
    sd_err serr = SD_ERR_INIT;
    bool snapped = false;

    if (rc == SD_OK) {
        rc = blk_snapshot_create(e->blocks, j->tmp, j->target, &serr);
        err = &serr;
        snapped = rc == SD_OK;
    }
    if (rc == SD_OK && j->snap[0] != '\0') {
        rc = blk_snapshot_create(e->blocks, j->tmp, j->snap, &serr);
    }
    sd_ignore(blk_disk_remove(e->blocks, j->tmp, NULL)); /* the snapshots keep the layers */
    if (rc == SD_OK) {
        rc = seal_job_image(e, j, &serr);
    }
    if (rc == SD_OK) {
        sd_log(SD_LOG_INFO, "ecs", "image=%s made snapshot=%s", j->target,
               j->snap[0] != '\0' ? j->snap : "-");
        return;
    }
    if (snapped) {
        sd_ignore(blk_snapshot_remove(e->blocks, j->target, NULL)); /* an orphan at worst */
    }
    if (j->snap[0] != '\0') {
        sd_ignore(blk_snapshot_remove(e->blocks, j->snap, NULL)); /* may not exist */
    }
    fail_image(e, j->target);
    sd_log(SD_LOG_ERROR, "ecs", "image=%s failed: %s", j->target, err->msg);
}

static const ecs_job_ops copy_ops = {ecs__job_copy, image_progress, image_finish};

void ecs__recover_images(ecs *e)
{
    store_stmt *st = NULL;
    bool row = false;
    char ids[64][ECS_ID_MAX];
    char disks[64][ECS_ID_MAX];
    char files[64][ECS_PATH_MAX];
    char snaps[64][ECS_ID_MAX];
    size_t n = 0;

    /* a copy's own snapshot has a row only once the image is Available
     * (seal_job_image), so a SnapshotId without one names, at most, an
     * orphan block snapshot of the interrupted job */
    if (store_prepare(e->st,
                      "SELECT image_id, job_disk, job_file, CASE WHEN snapshot_id IN (SELECT "
                      "snapshot_id FROM ecs_snapshots) THEN '' ELSE snapshot_id END FROM "
                      "ecs_images WHERE status = 'Creating' LIMIT 64",
                      &st, NULL) != SD_OK) {
        return;
    }
    while (n < 64 && store_step(st, &row, NULL) == SD_OK && row) {
        ecs__cpy(ids[n], ECS_ID_MAX, store_col_text(st, 0));
        ecs__cpy(disks[n], ECS_ID_MAX, store_col_text(st, 1));
        ecs__cpy(files[n], ECS_PATH_MAX, store_col_text(st, 2));
        ecs__cpy(snaps[n], ECS_ID_MAX, store_col_text(st, 3));
        n++;
    }
    store_stmt_free(st);
    for (size_t i = 0; i < n; i++) {
        /* whatever the job had made goes; the image says it failed */
        if (disks[i][0] != '\0') {
            sd_ignore(blk_disk_remove(e->blocks, disks[i], NULL)); /* may not exist yet */
        }
        if (files[i][0] != '\0') {
            (void)unlink(files[i]); /* likewise */
        }
        sd_ignore(blk_snapshot_remove(e->blocks, ids[i], NULL)); /* likewise */
        if (snaps[i][0] != '\0') {
            sd_ignore(blk_snapshot_remove(e->blocks, snaps[i], NULL)); /* likewise */
        }
        fail_image(e, ids[i]);
        sd_log(SD_LOG_WARN, "ecs", "image=%s: its making was interrupted by a restart", ids[i]);
    }
}

/* Inserts r (status Creating, job_disk j->tmp) and starts j on it. */
static sd_code start_image_job(ecs *e, const ecs_caller *c, image_row *r, ecs_job **j, sd_err *err)
{
    sd_code rc = SD_OK;
    bool inserted = false;

    ecs__cpy(r->i.status, sizeof r->i.status, "Creating");
    r->i.progress = 0;
    ecs__cpy(r->job_disk, sizeof r->job_disk, (*j)->tmp);
    ecs__cpy(r->job_file, sizeof r->job_file, (*j)->raw);
    SD_TRY(insert_image(e, c, r, err));
    inserted = true;
    SD_TRY(ecs__job_start(e, j, err));
out:
    if (rc != SD_OK && inserted) {
        sd_ignore(delete_image_row(e, r->i.image_id, NULL)); /* a failed request makes nothing */
    }
    ecs__job_free(*j);
    *j = NULL;
    return rc;
}

/* Whether and under which key a copy of src is encrypted. */
static sd_code copy_key(ecs *e, const ecs_caller *c, const image_row *src, int encrypted,
                        const char *kms_key_id, bool *enc, char key[ECS_KEY_MAX], sd_err *err)
{
    sd_code rc = SD_OK;
    bool default_on = false;
    char default_key[ECS_KEY_MAX];
    const char *ref;

    SD_ENSUREC(kms_key_id == NULL || kms_key_id[0] == '\0' || encrypted == 1, err, SD_E_INVALID,
               "InvalidParameter.EncryptedIllegal",
               "The specified parameter Encrypted must be true when kmsKeyId is not empty.");
    SD_ENSUREC(!(src->i.encrypted && encrypted == 0), err, SD_E_INVALID, "EncryptedOption.Conflict",
               "A copy of the encrypted image %s is encrypted; encryption cannot be undone.",
               src->i.image_id);
    SD_TRY(ecs__settings(e, c, &default_on, default_key, err));
    *enc = encrypted == 1 || src->i.encrypted || default_on;
    key[0] = '\0';
    if (!*enc) {
        goto out;
    }
    if (kms_key_id != NULL && kms_key_id[0] != '\0') {
        ref = kms_key_id;
    } else if (src->i.encrypted && strcmp(src->i.region, c->region) == 0) {
        ref = src->i.kms_key_id;
    } else if (default_on && default_key[0] != '\0') {
        ref = default_key;
    } else {
        ref = ECS_SERVICE_KEY;
    }
    SD_TRY(ecs__usable_key(e, c, ref, key, err));
out:
    return rc;
}

sd_code ecs_copy_image(ecs *e, const ecs_caller *c, const char *image_id, const char *dest_region,
                       const char *name, const char *description, int encrypted,
                       const char *kms_key_id, char image_id_out[ECS_ID_MAX], sd_err *err)
{
    sd_code rc = SD_OK;
    image_row src = {.dk_blob = NULL};
    image_row dst = {.dk_blob = NULL};
    sd_buf blob = SD_BUF_INIT(KMS_BLOB_MAX);
    ecs_job *j = NULL;
    char tmp[ECS_ID_MAX];
    bool enc = false;
    char key[ECS_KEY_MAX];

    /* R7: the copy belongs to the destination region: its key, default
     * encryption and row are that region's */
    const ecs_region *to =
        ecs__region(e, dest_region != NULL && dest_region[0] != '\0' ? dest_region : c->region);
    ecs_caller d = {c->account, to != NULL ? to->name : c->region, c->dry_run};

    pthread_mutex_lock(&e->mu);
    SD_ENSUREC(to != NULL, err, SD_E_INVALID, "DestinationRegion.NotFound",
               "The destination region %s is not served here (see DescribeRegions).", dest_region);
    SD_TRY(ecs__load_image(e, c, image_id, &src, err));
    SD_TRY(ecs__image_ready(&src, err));
    SD_TRY(copy_key(e, &d, &src, encrypted, kms_key_id, &enc, key, err));
    SD_TRY(ecs__dry_run(c, err));
    SD_TRY(ecs__new_id(e, "m-", image_id_out, err));
    SD_TRY(ecs__new_id(e, "d-", tmp, err));
    dst.i = src.i;
    ecs__cpy(dst.i.image_id, sizeof dst.i.image_id, image_id_out);
    ecs__cpy(dst.i.source_image_id, sizeof dst.i.source_image_id, image_id);
    names(&dst, name, description != NULL ? description : src.i.description);
    dst.i.encrypted = enc;
    ecs__cpy(dst.i.kms_key_id, sizeof dst.i.kms_key_id, key);
    if (!enc || (src.i.encrypted && strcmp(key, src.i.kms_key_id) == 0)) {
        /* plain, or same key and lineage: an O(1) clone sharing the DK */
        SD_TRY(blk_disk_clone(e->blocks, image_id, tmp, err));
        dst.dk_blob = enc ? src.dk_blob : NULL;
        dst.dk_len = enc ? src.dk_len : 0;
        src.dk_blob = enc ? NULL : src.dk_blob;
        SD_TRY(seal_image(e, &d, tmp, &dst, err));
        goto out;
    }
    /* R7: a first encryption, a new key or a new region re-encrypts every data sector,
     * in the background; the keys are unwrapped now, so a refusal is
     * this request's */
    SD_TRY(ecs__job_new(&copy_ops, image_id_out, &j, err));
    ecs__cpy(j->src, sizeof j->src, image_id);
    ecs__cpy(j->tmp, sizeof j->tmp, tmp);
    /* the new lineage is the copy's own snapshot, reported from the start
     * and made when the data are (image_finish): not the source's, whose
     * key the copy no longer depends on */
    SD_TRY(ecs__new_id(e, "s-", j->snap, err));
    ecs__cpy(dst.i.snapshot_id, sizeof dst.i.snapshot_id, j->snap);
    if (src.i.encrypted) {
        SD_TRY(ecs__unwrap_dk(e, c, src.i.kms_key_id, src.dk_blob, src.dk_len, &j->src_dk, err));
    }
    SD_TRY(ecs__new_dk(e, &d, key, &blob, &j->dst_dk, err));
    SD_TRY(take_blob(&dst, &blob, err));
    SD_TRY(start_image_job(e, &d, &dst, &j, err));
out:
    if (rc == SD_OK) {
        sd_log(SD_LOG_INFO, "ecs", "copying image=%s to %s in %s encrypted=%d key=%s", image_id,
               image_id_out, d.region, enc, enc ? key : "-");
    }
    ecs__job_free(j);
    sd_buf_free(&blob);
    free(src.dk_blob);
    free(dst.dk_blob);
    pthread_mutex_unlock(&e->mu);
    return rc;
}

/* ---- import and export ---------------------------------------------------------------- */

/* Whether rel is a plain relative path: not absolute, no "." or ".."
 * component, no empty component, printable. */
static bool relative_ok(const char *rel)
{
    const char *p = rel;

    if (rel == NULL || rel[0] == '\0' || rel[0] == '/' || strlen(rel) >= 512) {
        return false;
    }
    while (*p != '\0') {
        size_t n = strcspn(p, "/");
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
            return false;
        }
        for (size_t i = 0; i < n; i++) {
            if ((unsigned char)p[i] < 0x20) {
                return false;
            }
        }
        p += n;
        p += *p == '/' ? 1 : 0;
    }
    return true;
}

/* The account's directory for image files (created 0700), resolved. */
static sd_code account_dir(ecs *e, const ecs_caller *c, char out[IMG_PATH_MAX], sd_err *err)
{
    sd_code rc = SD_OK;
    char dir[IMG_PATH_MAX];

    SD_ENSUREC(e->image_dir[0] != '\0', err, SD_E_DENIED, "OperationDenied",
               "Image import and export are not configured on this server (image_dir).");
    SD_ENSURE(snprintf(dir, sizeof dir, "%s/%s", e->image_dir, c->account) < (int)sizeof dir, err,
              SD_E_INVALID, "image directory path too long");
    SD_TRY(sd_mkdirs(dir, 0700, err));
    SD_ENSURE(sd_realpath(dir, out, IMG_PATH_MAX, NULL) == SD_OK, err, SD_E_IO,
              "cannot resolve the image directory");
out:
    return rc;
}

/* rel under the account's directory, for reading an existing file or for
 * writing a new one; whatever symlinks the path holds, the file (or, for
 * a new file, its directory) must resolve inside the account's directory. */
static sd_code image_file(ecs *e, const ecs_caller *c, const char *rel, bool create,
                          char out[IMG_PATH_MAX], sd_err *err)
{
    sd_code rc = SD_OK;
    char base[IMG_PATH_MAX];
    char joined[IMG_PATH_MAX * 2];
    char real[IMG_PATH_MAX];
    char *slash;
    size_t blen;
    sd_code rr;

    SD_ENSUREC(relative_ok(rel), err, SD_E_INVALID, "InvalidParameter",
               "The image file \"%s\" must be a relative path inside your image directory "
               "(no '/' at the start, no '.' or '..').",
               rel != NULL ? rel : "");
    SD_TRY(account_dir(e, c, base, err));
    blen = strlen(base);
    SD_ENSURE(snprintf(joined, sizeof joined, "%s/%s", base, rel) < (int)sizeof joined, err,
              SD_E_INVALID, "image file path too long");
    if (create) {
        slash = strrchr(joined, '/'); /* always after base */
        *slash = '\0';
        if (strchr(joined + blen + 1, '/') == NULL && slash > joined + blen) {
            /* a bucket: one directory right under the account's, made on
             * demand (mkdir does not follow a final symlink) */
            (void)mkdir(joined, 0700);
        }
        /* NULL err: the caller hears the API's reason, not libc's */
        rr = sd_realpath(joined, real, sizeof real, NULL);
        SD_ENSUREC(rr != SD_E_INVALID, err, SD_E_INVALID, "InvalidParameter",
                   "The directory of \"%s\" resolves to a path that is too long.", rel);
        SD_ENSUREC(rr == SD_OK, err, SD_E_NOT_FOUND, "InvalidParameter",
                   "The directory of \"%s\" does not exist in your image directory.", rel);
        *slash = '/';
        SD_ENSUREC(strncmp(real, base, blen) == 0 && (real[blen] == '\0' || real[blen] == '/'), err,
                   SD_E_DENIED, "OperationDenied", "\"%s\" leads out of your image directory.",
                   rel);
        SD_ENSURE(snprintf(out, IMG_PATH_MAX, "%s/%s", real, slash + 1) < IMG_PATH_MAX, err,
                  SD_E_INVALID, "image file path too long");
    } else {
        rr = sd_realpath(joined, real, sizeof real, NULL);
        SD_ENSUREC(rr != SD_E_INVALID, err, SD_E_INVALID, "InvalidParameter",
                   "The image file \"%s\" resolves to a path that is too long.", rel);
        SD_ENSUREC(rr == SD_OK, err, SD_E_NOT_FOUND, "InvalidImageFile.NotFound",
                   "The image file \"%s\" does not exist.", rel);
        SD_ENSUREC(strncmp(real, base, blen) == 0 && real[blen] == '/', err, SD_E_DENIED,
                   "OperationDenied", "\"%s\" leads out of your image directory.", rel);
        ecs__cpy(out, IMG_PATH_MAX, real);
    }
out:
    return rc;
}

/* Runs qemu-img (ecs_qemu.h) on the caller's file rel; its standard output
 * goes to out when not NULL.  The answer names rel only: qemu-img's own
 * words hold the server's paths, so they go to the log. */
static sd_code qemu_img(const char *const args[], const char *const files[], const char *rel,
                        sd_buf *out, int64_t timeout_ms, sd_err *err)
{
    ecs_qemu_opts o = ECS_QEMU_OPTS_INIT;
    sd_err qerr = SD_ERR_INIT;
    sd_code rc;

    o.out = out;
    o.timeout_ms = timeout_ms;
    rc = ecs_qemu_run(&o, args, files, &qerr);
    if (rc == SD_OK) {
        return SD_OK;
    }
    sd_log(SD_LOG_WARN, "ecs", "qemu-img on %s failed: %s", rel, qerr.msg);
    if (rc == SD_E_NOT_FOUND || rc == SD_E_INTERNAL) {
        return sd_err_set(err, SD_E_IO, SD_HERE, "cannot run qemu-img to read a qcow2 image: %s",
                          qerr.msg);
    }
    return sd_err_setc(err, SD_E_INVALID, "InvalidImage.Format", SD_HERE,
                       "qemu-img could not read %s as qcow2.", rel);
}

/* The virtual size of a qcow2 file, from qemu-img info.  A qcow2 image
 * with a backing file is refused: converting it would read a file the
 * caller names, which may lie outside the account's directory. */
static sd_code qcow2_size(const char *path, const char *rel, uint64_t *size, sd_err *err)
{
    sd_code rc = SD_OK;
    sd_buf text = SD_BUF_INIT((size_t)1 << 20);
    sd_json_doc *doc = NULL;
    const sd_json_val *v;
    const char *const args[] = {"info", "--output=json", "-f", "qcow2", NULL};
    const char *const files[] = {path, NULL};
    char *end = NULL;

    SD_TRY(qemu_img(args, files, rel, &text, QEMU_INFO_MS, err));
    rc = sd_json_parse((const char *)text.data, text.len, 4096, &doc, NULL);
    SD_ENSUREC(rc == SD_OK, err, SD_E_INVALID, "InvalidImage.Format",
               "qemu-img could not describe %s.", rel);
    SD_ENSUREC(sd_json_get(sd_json_root(doc), "backing-filename") == NULL, err, SD_E_INVALID,
               "InvalidImage.Format",
               "The qcow2 image %s has a backing file; import a standalone image (qemu-img "
               "convert).",
               rel);
    v = sd_json_get(sd_json_root(doc), "virtual-size");
    SD_ENSUREC(v != NULL && v->type == SD_JSON_NUMBER, err, SD_E_INVALID, "InvalidImage.Format",
               "qemu-img gave no size for %s.", rel);
    errno = 0;
    *size = strtoull(v->str, &end, 10);
    SD_ENSUREC(errno == 0 && end != v->str && *end == '\0', err, SD_E_INVALID,
               "InvalidImage.Format", "qemu-img gave no size for %s.", rel);
out:
    sd_json_doc_free(doc);
    sd_buf_free(&text);
    return rc;
}

/* The background part of an import: qcow2 to raw (beside the source),
 * then the raw data into the job's disk, encrypted with its DK. */
static sd_code import_run(ecs *e, ecs_job *j, sd_err *err)
{
    sd_code rc = SD_OK;
    const char *const args[] = {"convert", "-q", "-f", "qcow2", "-O", "raw", NULL};
    const char *const files[] = {j->file, j->raw, NULL};
    uint64_t size = 0;
    /* a qcow2 conversion counts as the first half, in one step */
    ecs_job_span span = {e, j, j->raw[0] != '\0' ? 50 : 0, 99};

    SD_ENSURE(ecs__job_progress(e, j, 0), err, SD_E_CONFLICT, "import cancelled");
    if (j->raw[0] != '\0') {
        /* no time limit: a conversion takes as long as its image is large */
        SD_TRY(qemu_img(args, files, j->file, NULL, 0, err));
        SD_ENSURE(ecs__job_progress(e, j, 50), err, SD_E_CONFLICT, "import cancelled");
    }
    SD_TRY(blk_import_raw(e->blocks, j->raw[0] != '\0' ? j->raw : j->file, j->tmp, j->dst_dk,
                          ecs__job_span_progress, &span, err));
    /* the file may have changed since the request measured it */
    SD_TRY(blk_disk_info(e->blocks, j->tmp, &size, NULL, err));
    SD_ENSUREC(size == j->size, err, SD_E_INVALID, "InvalidImage.Size",
               "The image file changed size during the import.");
out:
    if (j->raw[0] != '\0') {
        (void)unlink(j->raw); /* plaintext: gone as soon as it is read */
    }
    return rc;
}

static const ecs_job_ops import_ops = {import_run, image_progress, image_finish};

/* The size of the data an import will give: the file's, or a qcow2
 * file's virtual size.  Disks are sized in GiB: an image of another size
 * would make disks whose Size and NBD size disagree. */
static sd_code import_size(const char *file, const char *rel, bool qcow2, uint64_t *size,
                           sd_err *err)
{
    sd_code rc = SD_OK;
    struct stat sb;

    SD_ENSUREC(stat(file, &sb) == 0 && S_ISREG(sb.st_mode), err, SD_E_NOT_FOUND,
               "InvalidImageFile.NotFound", "The image file %s does not exist.", rel);
    *size = (uint64_t)sb.st_size;
    if (qcow2) {
        SD_TRY(qcow2_size(file, rel, size, err));
    }
    SD_ENSUREC(*size > 0 && *size % GIB == 0, err, SD_E_INVALID, "InvalidImage.Size",
               "The image is %llu bytes; disks are sized in whole GiB, so an image must be too "
               "(extend it with truncate -s, or qemu-img resize).",
               (unsigned long long)*size);
out:
    return rc;
}

sd_code ecs_import_image(ecs *e, const ecs_caller *c, const char *path, const char *format,
                         const char *name, char image_id[ECS_ID_MAX], sd_err *err)
{
    sd_code rc = SD_OK;
    image_row r = {.dk_blob = NULL};
    sd_buf blob = SD_BUF_INIT(KMS_BLOB_MAX);
    ecs_job *j = NULL;
    bool qcow2 = format != NULL && strcasecmp(format, "qcow2") == 0;
    bool default_on = false;
    char key[ECS_KEY_MAX];

    pthread_mutex_lock(&e->mu);
    SD_ENSUREC(format == NULL || strcasecmp(format, "raw") == 0 || qcow2, err, SD_E_INVALID,
               "InvalidParameter.Format", "The image format %s is not supported (RAW or QCOW2).",
               format);
    SD_TRY(ecs__new_id(e, "m-", image_id, err));
    SD_TRY(ecs__job_new(&import_ops, image_id, &j, err));
    SD_TRY(image_file(e, c, path, false, j->file, err));
    SD_TRY(import_size(j->file, path, qcow2, &j->size, err));
    SD_TRY(ecs__dry_run(c, err));
    SD_TRY(ecs__new_id(e, "d-", j->tmp, err));
    if (qcow2) {
        SD_ENSURE(snprintf(j->raw, sizeof j->raw, "%s.%s.raw", j->file, j->tmp) <
                      (int)sizeof j->raw,
                  err, SD_E_INVALID, "image file path too long"); /* beside the source */
    }
    SD_TRY(ecs__settings(e, c, &default_on, key, err));
    if (default_on) {
        SD_TRY(ecs__usable_key(e, c, key[0] != '\0' ? key : ECS_SERVICE_KEY, key, err));
        SD_TRY(ecs__new_dk(e, c, key, &blob, &j->dst_dk, err));
        SD_TRY(take_blob(&r, &blob, err));
    }
    ecs__cpy(r.i.image_id, sizeof r.i.image_id, image_id);
    names(&r, name, "imported");
    r.i.size_gib = (int64_t)(j->size / GIB);
    r.i.encrypted = default_on;
    ecs__cpy(r.i.kms_key_id, sizeof r.i.kms_key_id, default_on ? key : "");
    SD_TRY(start_image_job(e, c, &r, &j, err));
    sd_log(SD_LOG_INFO, "ecs", "importing image=%s account=%s format=%s encrypted=%d", image_id,
           c->account, qcow2 ? "qcow2" : "raw", default_on);
out:
    ecs__job_free(j);
    sd_buf_free(&blob);
    free(r.dk_blob);
    pthread_mutex_unlock(&e->mu);
    return rc;
}

sd_code ecs_export_image(ecs *e, const ecs_caller *c, const char *image_id, const char *path,
                         sd_err *err)
{
    sd_code rc = SD_OK;
    image_row r = {.dk_blob = NULL};
    char file[IMG_PATH_MAX];

    pthread_mutex_lock(&e->mu);
    SD_TRY(ecs__load_image(e, c, image_id, &r, err));
    SD_TRY(ecs__image_ready(&r, err));
    SD_ENSUREC(!r.i.encrypted, err, SD_E_INVALID, "ImageNotSupported",
               "The image %s is encrypted; encrypted images cannot be exported.", image_id);
    SD_TRY(image_file(e, c, path, true, file, err));
    SD_TRY(ecs__dry_run(c, err));
    SD_TRY(blk_export_raw(e->blocks, image_id, NULL, file, err));
out:
    free(r.dk_blob);
    pthread_mutex_unlock(&e->mu);
    return rc;
}

/* ---- sharing (R4) ------------------------------------------------------------------------ */

static sd_code share_one(ecs *e, const char *image_id, const char *account, bool add, sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;

    if (add) {
        sd_err ierr = SD_ERR_INIT;
        if (iam_account_get(e->iam, account, NULL, &ierr) != SD_OK) {
            SD_FAILC(err, SD_E_NOT_FOUND, "InvalidAccount.NotFound",
                     "The account %s does not exist.", account);
        }
    }
    SD_TRY(store_prepare(e->st,
                         add ? "INSERT OR IGNORE INTO ecs_image_shares (image_id, account, shared) "
                               "VALUES (?, ?, ?)"
                             : "DELETE FROM ecs_image_shares WHERE image_id = ? AND account = ? "
                               "AND ? IS NOT NULL",
                         &st, err));
    SD_TRY(store_bind_text(st, 1, image_id, err));
    SD_TRY(store_bind_text(st, 2, account, err));
    SD_TRY(store_bind_int64(st, 3, sd_now(&e->clock), err));
    SD_TRY(store_step_done(st, err));
out:
    store_stmt_free(st);
    return rc;
}

sd_code ecs_share_image(ecs *e, const ecs_caller *c, const char *image_id, const char *const *add,
                        size_t n_add, const char *const *remove, size_t n_remove, sd_err *err)
{
    sd_code rc = SD_OK;
    image_row r = {.dk_blob = NULL};

    pthread_mutex_lock(&e->mu);
    SD_ENSUREC(n_add <= 10 && n_remove <= 10, err, SD_E_INVALID, "InvalidParameter",
               "At most 10 accounts to add and 10 to remove at a time.");
    SD_TRY(ecs__load_image(e, c, image_id, &r, err)); /* only the owner shares */
    SD_TRY(ecs__dry_run(c, err));
    SD_TRY(store_begin(e->st, err));
    for (size_t i = 0; i < n_add && rc == SD_OK; i++) {
        rc = strcmp(add[i], c->account) == 0
                 ? sd_err_setc(err, SD_E_INVALID, "InvalidAccount.Self", SD_HERE,
                               "An image cannot be shared with its owner.")
                 : share_one(e, image_id, add[i], true, err);
    }
    for (size_t i = 0; i < n_remove && rc == SD_OK; i++) {
        rc = share_one(e, image_id, remove[i], false, err);
    }
    if (rc != SD_OK) {
        store_rollback(e->st);
        goto out;
    }
    SD_TRY(store_commit(e->st, err));
out:
    free(r.dk_blob);
    pthread_mutex_unlock(&e->mu);
    return rc;
}

sd_code ecs_list_image_shares(ecs *e, const ecs_caller *c, const char *image_id, ecs_share_fn fn,
                              void *ctx, sd_err *err)
{
    sd_code rc = SD_OK;
    image_row r = {.dk_blob = NULL};
    store_stmt *st = NULL;
    bool row = false;

    pthread_mutex_lock(&e->mu);
    SD_TRY(ecs__load_image(e, c, image_id, &r, err));
    SD_TRY(store_prepare(e->st,
                         "SELECT account, shared FROM ecs_image_shares WHERE image_id = ? ORDER BY "
                         "shared, account",
                         &st, err));
    SD_TRY(store_bind_text(st, 1, image_id, err));
    for (;;) {
        SD_TRY(store_step(st, &row, err));
        if (!row) {
            break;
        }
        fn(ctx, store_col_text(st, 0), store_col_int64(st, 1));
    }
out:
    store_stmt_free(st);
    free(r.dk_blob);
    pthread_mutex_unlock(&e->mu);
    return rc;
}

sd_code ecs_list_shared_images(ecs *e, const ecs_caller *c, ecs_image_fn fn, void *ctx, sd_err *err)
{
    return list_images_where(e, c,
                             "SELECT " IMAGE_COLS " FROM ecs_images WHERE region = ?2 AND "
                             "image_id IN (SELECT image_id FROM ecs_image_shares WHERE account = "
                             "?1) ORDER BY created, rowid",
                             fn, ctx, err);
}
