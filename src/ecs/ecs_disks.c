/* ecs_disks.c: disks and snapshots, and the key rules that decide how a
 * disk is encrypted (R1-R6, R8, R9).
 *
 * Order of effects: the block store's data first, then the metadata row;
 * a failure in between removes the data again, and a crash in between
 * leaves only an orphan disk in the block store that no row names.  The
 * block store and the metadata live in two databases, so this ordering is
 * what keeps a half-made disk from ever being listed Available. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecs/ecs_int.h"

#define GIB ((uint64_t)1 << 30)

typedef struct category {
    const char *name;
    int64_t min_gib;
    int64_t max_gib;
    bool encryptable; /* R9: local disks never */
} category;

static const category category_table[] = {
    {"cloud", 5, 2000, true},           {"cloud_efficiency", 20, 32768, true},
    {"cloud_ssd", 20, 32768, true},     {"cloud_essd", 1, 65536, true},
    {"cloud_auto", 1, 65536, true},     {"cloud_essd_entry", 10, 32768, true},
    {"ephemeral_ssd", 5, 800, false},   {"local_ssd_pro", 5, 32768, false},
    {"local_hdd_pro", 5, 32768, false},
};

static const category *find_category(const char *name)
{
    for (size_t i = 0; i < sizeof category_table / sizeof category_table[0]; i++) {
        if (strcmp(category_table[i].name, name) == 0) {
            return &category_table[i];
        }
    }
    return NULL;
}

/* The block store holds disks of up to BLK_MAX_SIZE, less than some
 * categories allow on Alibaba Cloud: the smaller bound is the one served. */
static int64_t max_gib(const category *cat)
{
    int64_t blk_max = (int64_t)(BLK_MAX_SIZE / GIB);

    return cat->max_gib < blk_max ? cat->max_gib : blk_max;
}

int64_t ecs__category_max(const char *name)
{
    const category *cat = find_category(name);

    return cat != NULL ? max_gib(cat) : 0;
}

/* ---- rows ------------------------------------------------------------------- */

#define DISK_COLS                                                                     \
    "disk_id, region, zone, name, description, category, type, size_gib, encrypted, " \
    "kms_key_id, dk_blob, source_snapshot_id, image_id, instance_id, device, "        \
    "delete_with_instance, created, attached, detached, status, progress"

static sd_code disk_from_row(store_stmt *st, ecs_disk_row *r, sd_err *err)
{
    ecs_disk *d = &r->d;
    *r = (ecs_disk_row){0};
    ecs__cpy(d->disk_id, sizeof d->disk_id, store_col_text(st, 0));
    ecs__cpy(d->region, sizeof d->region, store_col_text(st, 1));
    ecs__cpy(d->zone, sizeof d->zone, store_col_text(st, 2));
    ecs__cpy(d->name, sizeof d->name, store_col_text(st, 3));
    ecs__cpy(d->description, sizeof d->description, store_col_text(st, 4));
    ecs__cpy(d->category, sizeof d->category, store_col_text(st, 5));
    ecs__cpy(d->type, sizeof d->type, store_col_text(st, 6));
    d->size_gib = store_col_int64(st, 7);
    d->encrypted = store_col_int64(st, 8) != 0;
    ecs__cpy(d->kms_key_id, sizeof d->kms_key_id, store_col_text(st, 9));
    if (ecs__col_blob(st, 10, &r->dk_blob, &r->dk_len, err) != SD_OK) {
        return SD_E_NOMEM;
    }
    ecs__cpy(d->source_snapshot_id, sizeof d->source_snapshot_id, store_col_text(st, 11));
    ecs__cpy(d->image_id, sizeof d->image_id, store_col_text(st, 12));
    ecs__cpy(d->instance_id, sizeof d->instance_id, store_col_text(st, 13));
    ecs__cpy(d->device, sizeof d->device, store_col_text(st, 14));
    d->delete_with_instance = store_col_int64(st, 15) != 0;
    d->created = store_col_int64(st, 16);
    d->attached = store_col_int64(st, 17);
    d->detached = store_col_int64(st, 18);
    d->progress = (int)store_col_int64(st, 20);
    if (strcmp(store_col_text(st, 19), "Creating") == 0 ||
        strcmp(store_col_text(st, 19), "ReIniting") == 0) {
        ecs__cpy(d->status, sizeof d->status, store_col_text(st, 19));
    } else {
        ecs__cpy(d->status, sizeof d->status, d->instance_id[0] != '\0' ? "In_use" : "Available");
    }
    return SD_OK;
}

void ecs__disk_row_free(ecs_disk_row *r)
{
    free(r->dk_blob);
    r->dk_blob = NULL;
}

ecs_open_disk *ecs__find_open(ecs *e, const char *disk_id)
{
    for (size_t i = 0; i < e->nopen; i++) {
        if (strcmp(e->open[i].disk_id, disk_id) == 0) {
            return &e->open[i];
        }
    }
    return NULL;
}

sd_code ecs__snapshot_disk(ecs *e, const char *disk_id, const char *name, sd_err *err)
{
    ecs_open_disk *o = ecs__find_open(e, disk_id);

    /* an open disk is frozen through its handle, which has writes in flight */
    return o != NULL ? blk_disk_snapshot(o->d, name, err)
                     : blk_snapshot_create(e->blocks, disk_id, name, err);
}

static void fill_runtime(ecs *e, ecs_disk *d)
{
    ecs_open_disk *o = ecs__find_open(e, d->disk_id);

    d->nbd_uri[0] = '\0';
    if (o != NULL && o->exported) {
        ecs__cpy(d->nbd_uri, sizeof d->nbd_uri, o->uri);
    }
}

sd_code ecs__load_disk(ecs *e, const ecs_caller *c, const char *disk_id, ecs_disk_row *out,
                       sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;

    SD_TRY(ecs__select_one(e, c,
                           "SELECT " DISK_COLS " FROM ecs_disks WHERE disk_id = ? AND account = ? "
                           "AND region = ?",
                           disk_id, "InvalidDiskId.NotFound", "disk", &st, err));
    SD_TRY(disk_from_row(st, out, err));
    fill_runtime(e, &out->d);
out:
    store_stmt_free(st);
    return rc;
}

#define SNAP_COLS                                                                \
    "snapshot_id, region, name, description, source_disk_id, source_disk_size, " \
    "source_disk_type, encrypted, kms_key_id, dk_blob, created"

static sd_code snap_from_row(store_stmt *st, snap_row *r, sd_err *err)
{
    ecs_snapshot *s = &r->s;
    *r = (snap_row){0};
    ecs__cpy(s->snapshot_id, sizeof s->snapshot_id, store_col_text(st, 0));
    ecs__cpy(s->region, sizeof s->region, store_col_text(st, 1));
    ecs__cpy(s->name, sizeof s->name, store_col_text(st, 2));
    ecs__cpy(s->description, sizeof s->description, store_col_text(st, 3));
    ecs__cpy(s->source_disk_id, sizeof s->source_disk_id, store_col_text(st, 4));
    s->source_disk_size = store_col_int64(st, 5);
    ecs__cpy(s->source_disk_type, sizeof s->source_disk_type, store_col_text(st, 6));
    s->encrypted = store_col_int64(st, 7) != 0;
    ecs__cpy(s->kms_key_id, sizeof s->kms_key_id, store_col_text(st, 8));
    if (ecs__col_blob(st, 9, &r->dk_blob, &r->dk_len, err) != SD_OK) {
        return SD_E_NOMEM;
    }
    s->created = store_col_int64(st, 10);
    ecs__cpy(s->status, sizeof s->status, "accomplished");
    return SD_OK;
}

sd_code ecs__load_snapshot(ecs *e, const ecs_caller *c, const char *id, snap_row *out, sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;

    SD_TRY(ecs__select_one(e, c,
                           "SELECT " SNAP_COLS " FROM ecs_snapshots WHERE snapshot_id = ? AND "
                           "account = ? AND region = ?",
                           id, "InvalidSnapshotId.NotFound", "snapshot", &st, err));
    SD_TRY(snap_from_row(st, out, err));
out:
    store_stmt_free(st);
    return rc;
}

sd_code ecs__system_disk(ecs *e, const ecs_caller *c, const char *instance_id,
                         char disk_id[ECS_ID_MAX], sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;
    bool row = false;

    SD_TRY(store_prepare(e->st,
                         "SELECT disk_id FROM ecs_disks WHERE instance_id = ? AND account = ? AND "
                         "region = ? AND type = 'system'",
                         &st, err));
    SD_TRY(store_bind_text(st, 1, instance_id, err));
    SD_TRY(store_bind_text(st, 2, c->account, err));
    SD_TRY(store_bind_text(st, 3, c->region, err));
    SD_TRY(store_step(st, &row, err));
    SD_ENSUREC(row, err, SD_E_NOT_FOUND, "InvalidInstanceId.NotFound",
               "The specified instance %s does not exist or has no system disk.", instance_id);
    ecs__cpy(disk_id, ECS_ID_MAX, store_col_text(st, 0));
out:
    store_stmt_free(st);
    return rc;
}

/* ---- creating a disk -------------------------------------------------------- */

/* What a new disk will be, decided before anything is made. */
typedef struct plan {
    const category *cat;
    const char *zone;
    int64_t size_gib;
    bool encrypted;
    char key_id[ECS_KEY_MAX];
    snap_row snap;
    bool has_snap;
    bool same_lineage;         /* clone the snapshot's chain and share its DK */
    char image_id[ECS_ID_MAX]; /* the image the data come from, "" if none */
} plan;

static sd_code plan_size(const ecs_disk_spec *s, plan *p, sd_err *err)
{
    sd_code rc = SD_OK;
    int64_t size = s->size_gib;

    if (p->has_snap) {
        SD_ENSUREC(size == 0 || size >= p->snap.s.source_disk_size, err, SD_E_DENIED,
                   "InvalidDiskSize.TooSmall",
                   "The disk size %lld GiB is smaller than the snapshot's %lld GiB.",
                   (long long)size, (long long)p->snap.s.source_disk_size);
        size = size == 0 ? p->snap.s.source_disk_size : size;
    }
    SD_ENSUREC(size > 0, err, SD_E_INVALID, "MissingParameter",
               "The parameter \"Size\" is needed when no SnapshotId is given.");
    SD_ENSUREC(size >= p->cat->min_gib && size <= max_gib(p->cat), err, SD_E_INVALID,
               "InvalidDiskSize.NotSupported",
               "The size %lld GiB is out of range for category %s (%lld-%lld GiB).",
               (long long)size, p->cat->name, (long long)p->cat->min_gib,
               (long long)max_gib(p->cat));
    p->size_gib = size;
out:
    return rc;
}

/* R1, R4, R5, R6, R8, R9, R10: whether and under which CMK. */
static sd_code plan_key(ecs *e, const ecs_caller *c, const ecs_disk_spec *s, plan *p, sd_err *err)
{
    sd_code rc = SD_OK;
    bool default_on = false;
    char default_key[ECS_KEY_MAX];
    const char *ref = NULL;

    SD_ENSUREC(s->kms_key_id == NULL || s->kms_key_id[0] == '\0' || s->encrypted == 1, err,
               SD_E_INVALID, "InvalidParameter.EncryptedIllegal",
               "The specified parameter Encrypted must be true when kmsKeyId is not empty.");
    SD_ENSUREC(!(p->has_snap && p->snap.s.encrypted && s->encrypted == 0), err, SD_E_INVALID,
               "EncryptedOption.Conflict",
               "A disk made from the encrypted snapshot %s is encrypted; encryption cannot be "
               "undone.",
               p->snap.s.snapshot_id);
    SD_TRY(ecs__settings(e, c, &default_on, default_key, err));
    p->encrypted = s->encrypted == 1 || (p->has_snap && p->snap.s.encrypted) ||
                   (default_on && p->cat->encryptable);
    if (!p->encrypted) {
        goto out;
    }
    SD_ENSUREC(p->cat->encryptable, err, SD_E_INVALID, "InvalidParameter.EncryptedNotSupported",
               "Disks of category %s cannot be encrypted.", p->cat->name);
    /* R1; and R4: what another account shared gets the recipient's
     * service key, never the owner's CMK */
    ref = ECS_SERVICE_KEY;
    if (s->kms_key_id != NULL && s->kms_key_id[0] != '\0') {
        ref = s->kms_key_id;
    } else if (p->has_snap && p->snap.s.encrypted) {
        ref = p->snap.owner[0] != '\0' ? ECS_SERVICE_KEY : p->snap.s.kms_key_id;
    } else if (default_on && default_key[0] != '\0') {
        ref = default_key;
    }
    SD_TRY(ecs__usable_key(e, c, ref, p->key_id, err));
    p->same_lineage = p->has_snap && p->snap.s.encrypted && p->snap.owner[0] == '\0' &&
                      strcmp(p->key_id, p->snap.s.kms_key_id) == 0;
out:
    return rc;
}

/* ---- re-encrypting copies in the background (ecs_jobs.c) -------------------- */

sd_code ecs__set_disk_state(ecs *e, const char *disk_id, const char *status, int progress,
                            sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;

    SD_TRY(store_prepare(e->st, "UPDATE ecs_disks SET status = ?, progress = ? WHERE disk_id = ?",
                         &st, err));
    SD_TRY(store_bind_text(st, 1, status, err));
    SD_TRY(store_bind_int64(st, 2, progress, err));
    SD_TRY(store_bind_text(st, 3, disk_id, err));
    SD_TRY(store_step_done(st, err));
out:
    store_stmt_free(st);
    return rc;
}

void ecs__disk_progress(ecs *e, const char *disk_id, const char *status, int pct)
{
    sd_err err = SD_ERR_INIT;

    if (ecs__set_disk_state(e, disk_id, status, pct, &err) != SD_OK) {
        sd_log(SD_LOG_ERROR, "ecs", "disk=%s: cannot record progress: %s", disk_id, err.msg);
    }
}

static void disk_progress(ecs *e, const ecs_job *j, int pct)
{
    ecs__disk_progress(e, j->target, "Creating", pct);
}

/* Deletes a disk whose data could not be made: the row first, so it is
 * never listed without its data. */
static void disk_drop(ecs *e, const char *disk_id)
{
    sd_err err = SD_ERR_INIT;

    if (ecs__exec_id(e, "DELETE FROM ecs_disks WHERE disk_id = ?", disk_id, &err) != SD_OK) {
        sd_log(SD_LOG_ERROR, "ecs", "disk=%s: cannot delete it: %s", disk_id, err.msg);
    }
    sd_ignore(blk_disk_remove(e->blocks, disk_id, NULL)); /* may not exist: an orphan at worst */
}

/* The copy wrote the disk itself: Available, or deleted with its row. */
static void disk_finish(ecs *e, const ecs_job *j, sd_code rc, const sd_err *err)
{
    sd_err serr = SD_ERR_INIT;

    if (rc == SD_OK) {
        /* a disk asked larger than its source grows once the data are in */
        rc = blk_disk_resize(e->blocks, j->target, j->size, &serr);
        err = &serr;
    }
    if (rc == SD_OK) {
        rc = ecs__set_disk_state(e, j->target, "Available", 100, &serr);
    }
    if (rc == SD_OK && store_changes(e->st) == 0) {
        /* the row went while the copy ran (its instance's creation failed) */
        rc = sd_err_set(&serr, SD_E_NOT_FOUND, SD_HERE, "the disk was deleted meanwhile");
    }
    if (rc == SD_OK) {
        sd_log(SD_LOG_INFO, "ecs", "disk=%s made", j->target);
        return;
    }
    disk_drop(e, j->target);
    sd_log(SD_LOG_ERROR, "ecs", "disk=%s could not be made and is deleted: %s", j->target,
           err->msg);
}

static const ecs_job_ops disk_copy_ops = {ecs__job_copy, disk_progress, disk_finish};

/* A disk is rebuilt (rolled back, reinitialised) under a second block
 * name, whose data then replace the disk's in one step: a crash leaves the
 * old disk whole, and at worst this name an orphan that the next rebuild
 * removes. */
void ecs__rebuild_name(const char *disk_id, char out[ECS_ID_MAX + 8])
{
    (void)snprintf(out, ECS_ID_MAX + 8, "%s-new", disk_id);
}

/* The ids (at most 64) of the disks whose stored status is `status`. */
static size_t disks_in(ecs *e, const char *status, char ids[64][ECS_ID_MAX])
{
    store_stmt *st = NULL;
    bool row = false;
    size_t n = 0;

    if (store_prepare(e->st, "SELECT disk_id FROM ecs_disks WHERE status = ? LIMIT 64", &st,
                      NULL) != SD_OK ||
        store_bind_text(st, 1, status, NULL) != SD_OK) {
        store_stmt_free(st);
        return 0;
    }
    while (n < 64 && store_step(st, &row, NULL) == SD_OK && row) {
        ecs__cpy(ids[n++], ECS_ID_MAX, store_col_text(st, 0));
    }
    store_stmt_free(st);
    return n;
}

void ecs__recover_disks(ecs *e)
{
    char ids[64][ECS_ID_MAX];
    size_t n = disks_in(e, "Creating", ids);

    for (size_t i = 0; i < n; i++) {
        disk_drop(e, ids[i]);
        sd_log(SD_LOG_WARN, "ecs", "disk=%s: its copy was interrupted by a restart; deleted",
               ids[i]);
    }
    /* a rebuild's new data never replaced the disk's: it keeps its old ones */
    n = disks_in(e, "ReIniting", ids);
    for (size_t i = 0; i < n; i++) {
        char tmp[ECS_ID_MAX + 8];
        sd_err err = SD_ERR_INIT;

        ecs__rebuild_name(ids[i], tmp);
        sd_ignore(blk_disk_remove(e->blocks, tmp, NULL)); /* may not exist */
        if (ecs__set_disk_state(e, ids[i], "Available", 100, &err) != SD_OK) {
            sd_log(SD_LOG_ERROR, "ecs", "disk=%s: cannot end its rebuild: %s", ids[i], err.msg);
            continue;
        }
        sd_log(SD_LOG_WARN, "ecs",
               "disk=%s: its ReInitDisk was interrupted by a restart; it keeps its data", ids[i]);
    }
}

sd_code ecs__disk_ready(const ecs_disk *d, sd_err *err)
{
    if (strcmp(d->status, "Creating") == 0 || strcmp(d->status, "ReIniting") == 0) {
        return sd_err_setc(err, SD_E_DENIED, "IncorrectDiskStatus", SD_HERE,
                           "The disk %s is %s (%d%%); wait until it is Available.", d->disk_id,
                           d->status, d->progress);
    }
    return SD_OK;
}

sd_code ecs__wait_disk(ecs *e, const ecs_caller *c, const char *disk_id, sd_err *err)
{
    sd_code rc = SD_OK;
    ecs_disk_row r = {.dk_blob = NULL};

    e->waiters++;
    for (;;) {
        rc = ecs__load_disk(e, c, disk_id, &r, err);
        if (rc == SD_E_NOT_FOUND) {
            sd_err_clear(err);
            SD_FAILC(err, SD_E_IO, "InternalError", "Creating the disk %s failed.", disk_id);
        }
        SD_TRY(rc);
        if (strcmp(r.d.status, "Creating") != 0) {
            break;
        }
        ecs__disk_row_free(&r);
        SD_ENSURE(!e->stopping, err, SD_E_CONFLICT, "the server is stopping");
        pthread_cond_wait(&e->jobs_cv, &e->mu);
    }
out:
    ecs__disk_row_free(&r);
    e->waiters--;
    pthread_cond_broadcast(&e->jobs_cv);
    return rc;
}

/* The block-store side: a new disk or a clone, made now; or *job, a
 * re-encrypting copy for the caller to start once the row names the disk.
 * *blob gets the DK blob the row keeps. */
static sd_code make_data(ecs *e, const ecs_caller *c, const plan *p, const char *disk_id,
                         sd_buf *blob, ecs_job **job, sd_err *err)
{
    sd_code rc = SD_OK;
    ecs_job *j = NULL;

    if (!p->has_snap) {
        if (p->encrypted) {
            SD_TRY(ecs__new_dk(e, c, p->key_id, blob, NULL, err));
        }
        SD_TRY(blk_disk_create(e->blocks, disk_id, (uint64_t)p->size_gib * GIB, p->encrypted, err));
        goto out;
    }
    if (p->same_lineage || (!p->encrypted && !p->snap.s.encrypted)) {
        if (p->encrypted) {
            SD_TRY(sd_buf_append(blob, p->snap.dk_blob, p->snap.dk_len, err));
        }
        SD_TRY(blk_disk_clone(e->blocks, p->snap.s.snapshot_id, disk_id, err));
        /* larger than the source: the new space reads as zeros */
        SD_TRY(blk_disk_resize(e->blocks, disk_id, (uint64_t)p->size_gib * GIB, err));
        goto out;
    }
    /* a new lineage: the data are re-encrypted under a new DK (R4, R5), in
     * the background; the keys are unwrapped now, so a refusal is this
     * request's */
    SD_TRY(ecs__job_new(&disk_copy_ops, disk_id, &j, err));
    ecs__cpy(j->src, sizeof j->src, p->snap.s.snapshot_id);
    ecs__cpy(j->tmp, sizeof j->tmp, disk_id);
    j->size = (uint64_t)p->size_gib * GIB;
    if (p->snap.s.encrypted) {
        /* a shared image's key is its owner's, unwrapped on behalf of the
         * owner who shared it; the recipient's disk gets a DK of its own */
        ecs_caller src_owner = {p->snap.owner[0] != '\0' ? p->snap.owner : c->account, c->region,
                                false};
        SD_TRY(ecs__unwrap_dk(e, &src_owner, p->snap.s.kms_key_id, p->snap.dk_blob, p->snap.dk_len,
                              &j->src_dk, err));
    }
    SD_TRY(ecs__new_dk(e, c, p->key_id, blob, &j->dst_dk, err));
    *job = j;
    j = NULL;
out:
    ecs__job_free(j);
    return rc;
}

static bool from_image(const ecs_disk_spec *s)
{
    return s->image_id != NULL && s->image_id[0] != '\0';
}

static sd_code insert_disk(ecs *e, const ecs_caller *c, const ecs_disk_spec *s, const plan *p,
                           const char *disk_id, const sd_buf *blob, const char *fp, bool creating,
                           sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;
    bool token = s->client_token != NULL && s->client_token[0] != '\0';

    SD_TRY(store_prepare(
        e->st,
        "INSERT INTO ecs_disks (disk_id, account, region, zone, name, description, category, type, "
        "size_gib, encrypted, kms_key_id, dk_blob, source_snapshot_id, image_id, instance_id, "
        "device, delete_with_instance, created, attached, detached, client_token, request_hash, "
        "status, progress) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', '', 0, ?, 0, 0, ?, ?, ?, ?)",
        &st, err));
    SD_TRY(store_bind_text(st, 1, disk_id, err));
    SD_TRY(store_bind_text(st, 2, c->account, err));
    SD_TRY(store_bind_text(st, 3, c->region, err));
    SD_TRY(store_bind_text(st, 4, p->zone, err));
    SD_TRY(store_bind_text(st, 5, s->name != NULL ? s->name : "", err));
    SD_TRY(store_bind_text(st, 6, s->description != NULL ? s->description : "", err));
    SD_TRY(store_bind_text(st, 7, p->cat->name, err));
    SD_TRY(store_bind_text(st, 8, s->type != NULL ? s->type : "data", err));
    SD_TRY(store_bind_int64(st, 9, p->size_gib, err));
    SD_TRY(store_bind_int64(st, 10, p->encrypted ? 1 : 0, err));
    SD_TRY(store_bind_text(st, 11, p->encrypted ? p->key_id : "", err));
    if (p->encrypted) {
        SD_TRY(store_bind_blob(st, 12, blob->data, blob->len, err));
    } else {
        SD_TRY(store_bind_null(st, 12, err));
    }
    /* the snapshot asked for, also one shared through an image (which
     * image_id then names) */
    SD_TRY(store_bind_text(
        st, 13, p->has_snap && !from_image(s) && s->snapshot_id != NULL ? s->snapshot_id : "",
        err));
    SD_TRY(store_bind_text(st, 14, p->image_id, err));
    SD_TRY(store_bind_int64(st, 15, sd_now(&e->clock), err));
    if (token) {
        SD_TRY(store_bind_text(st, 16, s->client_token, err));
    } else {
        SD_TRY(store_bind_null(st, 16, err));
    }
    SD_TRY(store_bind_text(st, 17, fp, err));
    SD_TRY(store_bind_text(st, 18, creating ? "Creating" : "Available", err));
    SD_TRY(store_bind_int64(st, 19, creating ? 0 : 100, err));
    SD_TRY(store_step_done(st, err));
out:
    store_stmt_free(st);
    return rc;
}

static void disk_fingerprint(const ecs_disk_spec *s, char out[17])
{
    ecs_fp f;

    ecs__fp_init(&f);
    ecs__fp_str(&f, s->zone);
    ecs__fp_str(&f, s->category);
    ecs__fp_int(&f, s->size_gib);
    ecs__fp_str(&f, s->snapshot_id);
    ecs__fp_str(&f, s->name);
    ecs__fp_str(&f, s->description);
    ecs__fp_int(&f, s->encrypted);
    ecs__fp_str(&f, s->kms_key_id);
    ecs__fp_str(&f, s->type);
    ecs__fp_str(&f, s->image_id);
    ecs__fp_hex(&f, out);
}

/* ClientToken: the disk an earlier request with this token made; the same
 * token with other parameters is IdempotentParameterMismatch. */
static sd_code find_token(ecs *e, const ecs_caller *c, const ecs_disk_spec *s, const char *fp,
                          char *disk_id, bool *found, sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;

    *found = false;
    if (s->client_token == NULL || s->client_token[0] == '\0') {
        return SD_OK;
    }
    SD_TRY(store_prepare(e->st,
                         "SELECT disk_id, request_hash FROM ecs_disks WHERE account = ? AND "
                         "client_token = ?",
                         &st, err));
    SD_TRY(store_bind_text(st, 1, c->account, err));
    SD_TRY(store_bind_text(st, 2, s->client_token, err));
    SD_TRY(store_step(st, found, err));
    if (*found) {
        SD_ENSUREC(strcmp(store_col_text(st, 1), fp) == 0, err, SD_E_INVALID,
                   "IdempotentParameterMismatch",
                   "The ClientToken %s was used before with other parameters.", s->client_token);
        ecs__cpy(disk_id, ECS_ID_MAX, store_col_text(st, 0));
    }
out:
    store_stmt_free(st);
    return rc;
}

sd_code ecs__create_disk_locked(ecs *e, const ecs_caller *c, const ecs_disk_spec *s,
                                char disk_id[ECS_ID_MAX], sd_err *err)
{
    sd_code rc = SD_OK;
    plan p = {0};
    sd_buf blob = SD_BUF_INIT(KMS_BLOB_MAX);
    ecs_job *job = NULL;
    bool found = false;
    bool made = false;
    char fp[17];

    disk_fingerprint(s, fp);
    SD_TRY(find_token(e, c, s, fp, disk_id, &found, err));
    if (found) {
        goto out; /* the same request again: the same disk */
    }
    p.cat = find_category(s->category != NULL ? s->category : "cloud_essd");
    SD_ENSUREC(p.cat != NULL, err, SD_E_INVALID, "InvalidDiskCategory.ValueNotSupported",
               "The disk category %s is not supported.", s->category);
    SD_TRY(ecs__check_zone(e, c->region, s->zone, &p.zone, err));
    if (from_image(s)) {
        SD_TRY(ecs__image_source(e, c, s->image_id, &p.snap, err));
        p.has_snap = true;
        ecs__cpy(p.image_id, sizeof p.image_id, s->image_id);
    } else if (s->snapshot_id != NULL && s->snapshot_id[0] != '\0') {
        rc = ecs__load_snapshot(e, c, s->snapshot_id, &p.snap, err);
        if (rc == SD_E_NOT_FOUND) {
            /* another account's snapshot, shared through an image (R4) */
            sd_err_clear(err);
            rc = ecs__shared_snapshot(e, c, s->snapshot_id, &p.snap, p.image_id, err);
        }
        SD_TRY(rc);
        p.has_snap = true;
    }
    SD_TRY(plan_size(s, &p, err));
    SD_TRY(plan_key(e, c, s, &p, err));
    SD_TRY(ecs__dry_run(c, err));
    SD_TRY(ecs__new_id(e, "d-", disk_id, err));
    SD_TRY(make_data(e, c, &p, disk_id, &blob, &job, err));
    made = job == NULL;
    SD_TRY(insert_disk(e, c, s, &p, disk_id, &blob, fp, job != NULL, err));
    if (job != NULL) {
        rc = ecs__job_start(e, &job, err);
        if (rc != SD_OK) {
            disk_drop(e, disk_id);
            goto out;
        }
    }
    sd_log(SD_LOG_INFO, "ecs", "created disk=%s account=%s encrypted=%d key=%s snapshot=%s copy=%d",
           disk_id, c->account, p.encrypted, p.encrypted ? p.key_id : "-",
           p.has_snap ? p.snap.s.snapshot_id : "-", !made);
out:
    if (rc != SD_OK && made) {
        sd_ignore(blk_disk_remove(e->blocks, disk_id, NULL)); /* best effort: an orphan at worst */
    }
    ecs__job_free(job);
    free(p.snap.dk_blob);
    sd_buf_free(&blob);
    return rc;
}

sd_code ecs_create_disk(ecs *e, const ecs_caller *c, const ecs_disk_spec *s,
                        char disk_id[ECS_ID_MAX], sd_err *err)
{
    sd_code rc;

    pthread_mutex_lock(&e->mu);
    rc = ecs__create_disk_locked(e, c, s, disk_id, err);
    pthread_mutex_unlock(&e->mu);
    return rc;
}

sd_code ecs_describe_disk(ecs *e, const ecs_caller *c, const char *disk_id, ecs_disk *out,
                          sd_err *err)
{
    sd_code rc = SD_OK;
    ecs_disk_row r = {0};

    pthread_mutex_lock(&e->mu);
    SD_TRY(ecs__load_disk(e, c, disk_id, &r, err));
    *out = r.d;
out:
    ecs__disk_row_free(&r);
    pthread_mutex_unlock(&e->mu);
    return rc;
}

sd_code ecs_list_disks(ecs *e, const ecs_caller *c, ecs_disk_fn fn, void *ctx, sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;
    bool row = false;
    ecs_disk_row r = {0};

    pthread_mutex_lock(&e->mu);
    SD_TRY(store_prepare(e->st,
                         "SELECT " DISK_COLS " FROM ecs_disks WHERE account = ? AND region = ? "
                         "ORDER BY created, rowid",
                         &st, err));
    SD_TRY(store_bind_text(st, 1, c->account, err));
    SD_TRY(store_bind_text(st, 2, c->region, err));
    for (;;) {
        SD_TRY(store_step(st, &row, err));
        if (!row) {
            break;
        }
        SD_TRY(disk_from_row(st, &r, err));
        fill_runtime(e, &r.d);
        fn(ctx, &r.d);
        ecs__disk_row_free(&r);
    }
out:
    ecs__disk_row_free(&r);
    store_stmt_free(st);
    pthread_mutex_unlock(&e->mu);
    return rc;
}

sd_code ecs__remove_disk_locked(ecs *e, const ecs_caller *c, const char *disk_id, sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;

    SD_TRY(store_prepare(
        e->st, "DELETE FROM ecs_disks WHERE disk_id = ? AND account = ? AND region = ?", &st, err));
    SD_TRY(store_bind_text(st, 1, disk_id, err));
    SD_TRY(store_bind_text(st, 2, c->account, err));
    SD_TRY(store_bind_text(st, 3, c->region, err));
    SD_TRY(store_step_done(st, err));
    /* the row first: a crash after it leaves an orphan, never a listed
     * disk without data */
    rc = blk_disk_remove(e->blocks, disk_id, err);
    if (rc == SD_E_NOT_FOUND) {
        sd_err_clear(err);
        rc = SD_OK;
    }
out:
    store_stmt_free(st);
    return rc;
}

sd_code ecs_delete_disk(ecs *e, const ecs_caller *c, const char *disk_id, sd_err *err)
{
    sd_code rc = SD_OK;
    ecs_disk_row r = {0};

    pthread_mutex_lock(&e->mu);
    SD_TRY(ecs__load_disk(e, c, disk_id, &r, err));
    SD_TRY(ecs__disk_ready(&r.d, err));
    SD_ENSUREC(r.d.instance_id[0] == '\0', err, SD_E_DENIED, "DiskStillAttached",
               "The disk %s is attached to %s; detach it first.", disk_id, r.d.instance_id);
    SD_TRY(ecs__dry_run(c, err));
    SD_TRY(ecs__remove_disk_locked(e, c, disk_id, err));
out:
    ecs__disk_row_free(&r);
    pthread_mutex_unlock(&e->mu);
    return rc;
}

sd_code ecs_modify_disk(ecs *e, const ecs_caller *c, const char *disk_id, const char *name,
                        const char *description, int delete_with_instance, sd_err *err)
{
    sd_code rc = SD_OK;
    ecs_disk_row r = {0};
    store_stmt *st = NULL;

    pthread_mutex_lock(&e->mu);
    SD_TRY(ecs__load_disk(e, c, disk_id, &r, err));
    SD_TRY(ecs__dry_run(c, err));
    SD_TRY(store_prepare(e->st,
                         "UPDATE ecs_disks SET name = ?, description = ?, delete_with_instance = ? "
                         "WHERE disk_id = ?",
                         &st, err));
    SD_TRY(store_bind_text(st, 1, name != NULL ? name : r.d.name, err));
    SD_TRY(store_bind_text(st, 2, description != NULL ? description : r.d.description, err));
    SD_TRY(store_bind_int64(
        st, 3, delete_with_instance < 0 ? (r.d.delete_with_instance ? 1 : 0) : delete_with_instance,
        err));
    SD_TRY(store_bind_text(st, 4, disk_id, err));
    SD_TRY(store_step_done(st, err));
out:
    store_stmt_free(st);
    ecs__disk_row_free(&r);
    pthread_mutex_unlock(&e->mu);
    return rc;
}

sd_code ecs__set_attachment(ecs *e, const char *disk_id, const char *instance_id,
                            const char *device, int delete_with_instance, sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;
    bool attach = instance_id[0] != '\0';

    SD_TRY(store_prepare(e->st,
                         attach ? "UPDATE ecs_disks SET instance_id = ?, device = ?, attached = ?, "
                                  "delete_with_instance = CASE WHEN ? < 0 THEN "
                                  "delete_with_instance ELSE ? END WHERE disk_id = ?"
                                : "UPDATE ecs_disks SET instance_id = ?, device = ?, detached = ?, "
                                  "delete_with_instance = CASE WHEN ? < 0 THEN "
                                  "delete_with_instance ELSE ? END WHERE disk_id = ?",
                         &st, err));
    SD_TRY(store_bind_text(st, 1, instance_id, err));
    SD_TRY(store_bind_text(st, 2, device, err));
    SD_TRY(store_bind_int64(st, 3, sd_now(&e->clock), err));
    SD_TRY(store_bind_int64(st, 4, delete_with_instance, err));
    SD_TRY(store_bind_int64(st, 5, delete_with_instance, err));
    SD_TRY(store_bind_text(st, 6, disk_id, err));
    SD_TRY(store_step_done(st, err));
out:
    store_stmt_free(st);
    return rc;
}

/* ---- snapshots ---------------------------------------------------------------- */

static sd_code insert_snapshot(ecs *e, const ecs_caller *c, const ecs_disk_row *d, const char *id,
                               const char *name, const char *description, sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;

    SD_TRY(store_prepare(e->st,
                         "INSERT INTO ecs_snapshots (snapshot_id, account, region, name, "
                         "description, source_disk_id, source_disk_size, source_disk_type, "
                         "encrypted, kms_key_id, dk_blob, created) VALUES "
                         "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         &st, err));
    SD_TRY(store_bind_text(st, 1, id, err));
    SD_TRY(store_bind_text(st, 2, c->account, err));
    SD_TRY(store_bind_text(st, 3, c->region, err));
    SD_TRY(store_bind_text(st, 4, name != NULL ? name : "", err));
    SD_TRY(store_bind_text(st, 5, description != NULL ? description : "", err));
    SD_TRY(store_bind_text(st, 6, d->d.disk_id, err));
    SD_TRY(store_bind_int64(st, 7, d->d.size_gib, err));
    SD_TRY(store_bind_text(st, 8, d->d.type, err));
    SD_TRY(store_bind_int64(st, 9, d->d.encrypted ? 1 : 0, err));
    SD_TRY(store_bind_text(st, 10, d->d.kms_key_id, err));
    if (d->dk_blob != NULL) {
        SD_TRY(store_bind_blob(st, 11, d->dk_blob, d->dk_len, err));
    } else {
        SD_TRY(store_bind_null(st, 11, err));
    }
    SD_TRY(store_bind_int64(st, 12, sd_now(&e->clock), err));
    SD_TRY(store_step_done(st, err));
out:
    store_stmt_free(st);
    return rc;
}

/* Alibaba's CreateSnapshot refuses a disk that keeps 256 manual snapshots
 * (QuotaExceed.Snapshot, 403); the block store's chains have room for
 * exactly those (BLK_MAX_SNAPSHOTS).  A copy's own snapshot (image_id set)
 * is not the user's and does not count. */
static sd_code snapshot_room(ecs *e, const char *disk_id, sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;
    bool row = false;
    int64_t n = 0;

    SD_TRY(store_prepare(e->st,
                         "SELECT count(*) FROM ecs_snapshots WHERE source_disk_id = ? AND "
                         "image_id = ''",
                         &st, err));
    SD_TRY(store_bind_text(st, 1, disk_id, err));
    SD_TRY(store_step(st, &row, err));
    n = row ? store_col_int64(st, 0) : 0;
    SD_ENSUREC(n < (int64_t)BLK_MAX_SNAPSHOTS, err, SD_E_CONFLICT, "QuotaExceed.Snapshot",
               "The snapshot quota exceeds: disk %s already has %lld snapshots, the most a disk "
               "keeps is %u. Delete a snapshot of it first.",
               disk_id, (long long)n, BLK_MAX_SNAPSHOTS);
out:
    store_stmt_free(st);
    return rc;
}

sd_code ecs_create_snapshot(ecs *e, const ecs_caller *c, const char *disk_id, const char *name,
                            const char *description, char snapshot_id[ECS_ID_MAX], sd_err *err)
{
    sd_code rc = SD_OK;
    ecs_disk_row d = {0};
    bool made = false;

    pthread_mutex_lock(&e->mu);
    SD_TRY(ecs__load_disk(e, c, disk_id, &d, err));
    SD_TRY(ecs__disk_ready(&d.d, err));
    SD_TRY(snapshot_room(e, disk_id, err));
    SD_TRY(ecs__dry_run(c, err));
    SD_TRY(ecs__new_id(e, "s-", snapshot_id, err));
    /* R3: the snapshot shares the disk's chain, DK and CMK */
    SD_TRY(ecs__snapshot_disk(e, disk_id, snapshot_id, err));
    made = true;
    SD_TRY(insert_snapshot(e, c, &d, snapshot_id, name, description, err));
out:
    if (rc != SD_OK && made) {
        sd_ignore(blk_snapshot_remove(e->blocks, snapshot_id, NULL)); /* an orphan at worst */
    }
    ecs__disk_row_free(&d);
    pthread_mutex_unlock(&e->mu);
    return rc;
}

sd_code ecs_list_snapshots(ecs *e, const ecs_caller *c, ecs_snapshot_fn fn, void *ctx, sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;
    bool row = false;
    snap_row r = {0};

    pthread_mutex_lock(&e->mu);
    SD_TRY(store_prepare(e->st,
                         "SELECT " SNAP_COLS " FROM ecs_snapshots WHERE account = ? AND region = ? "
                         "ORDER BY created, rowid",
                         &st, err));
    SD_TRY(store_bind_text(st, 1, c->account, err));
    SD_TRY(store_bind_text(st, 2, c->region, err));
    for (;;) {
        SD_TRY(store_step(st, &row, err));
        if (!row) {
            break;
        }
        SD_TRY(snap_from_row(st, &r, err));
        fn(ctx, &r.s);
        free(r.dk_blob);
        r.dk_blob = NULL;
    }
out:
    free(r.dk_blob);
    store_stmt_free(st);
    pthread_mutex_unlock(&e->mu);
    return rc;
}

static sd_code snapshot_users(ecs *e, const char *id, int64_t *n, sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;
    bool row = false;

    SD_TRY(store_prepare(e->st, "SELECT count(*) FROM ecs_disks WHERE source_snapshot_id = ?", &st,
                         err));
    SD_TRY(store_bind_text(st, 1, id, err));
    SD_TRY(store_step(st, &row, err));
    *n = row ? store_col_int64(st, 0) : 0;
out:
    store_stmt_free(st);
    return rc;
}

/* The image a snapshot was made for (a re-encrypting copy's, R7) while it
 * exists; "" otherwise. */
static sd_code snapshot_image(ecs *e, const char *id, char image_id[ECS_ID_MAX], sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;
    bool row = false;

    image_id[0] = '\0';
    SD_TRY(store_prepare(e->st,
                         "SELECT i.image_id FROM ecs_snapshots s JOIN ecs_images i ON i.image_id "
                         "= s.image_id WHERE s.snapshot_id = ? AND s.image_id <> ''",
                         &st, err));
    SD_TRY(store_bind_text(st, 1, id, err));
    SD_TRY(store_step(st, &row, err));
    if (row) {
        ecs__cpy(image_id, ECS_ID_MAX, store_col_text(st, 0));
    }
out:
    store_stmt_free(st);
    return rc;
}

sd_code ecs_delete_snapshot(ecs *e, const ecs_caller *c, const char *snapshot_id, bool force,
                            sd_err *err)
{
    sd_code rc = SD_OK;
    snap_row s = {0};
    store_stmt *st = NULL;
    int64_t users = 0;
    char image_id[ECS_ID_MAX];

    pthread_mutex_lock(&e->mu);
    SD_TRY(ecs__load_snapshot(e, c, snapshot_id, &s, err));
    /* Force is about disks: an image's own snapshot goes after the image */
    SD_TRY(snapshot_image(e, snapshot_id, image_id, err));
    SD_ENSUREC(image_id[0] == '\0', err, SD_E_DENIED, "SnapshotCreatedImage",
               "The snapshot %s was created for the image %s; delete the image first.", snapshot_id,
               image_id);
    SD_TRY(snapshot_users(e, snapshot_id, &users, err));
    SD_ENSUREC(force || users == 0, err, SD_E_DENIED, "SnapshotCreatedDisk",
               "Disks were created from the snapshot %s; use Force to delete it anyway.",
               snapshot_id);
    SD_TRY(ecs__dry_run(c, err));
    SD_TRY(store_prepare(e->st, "DELETE FROM ecs_snapshots WHERE snapshot_id = ?", &st, err));
    SD_TRY(store_bind_text(st, 1, snapshot_id, err));
    SD_TRY(store_step_done(st, err));
    /* the layers stay while disks cloned from it still use them */
    rc = blk_snapshot_remove(e->blocks, snapshot_id, err);
    if (rc == SD_E_NOT_FOUND) {
        sd_err_clear(err);
        rc = SD_OK;
    }
out:
    store_stmt_free(st);
    free(s.dk_blob);
    pthread_mutex_unlock(&e->mu);
    return rc;
}
