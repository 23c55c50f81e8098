/* ecs_rows.c: the bottom of the ecs module: SQL helpers, ids, request
 * fingerprints, DryRun, regions and zones, and the reading of image rows.
 *
 * Every other file of the module calls into this one and it calls none of
 * them (docs/dev/architecture.md has the order).  Image rows are read here
 * rather than in ecs_images.c because a disk is made from an image:
 * ecs_disks.c, below ecs_images.c, reads an image as a disk's source. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecs/ecs_int.h"

/* ---- ids, SQL, fingerprints, DryRun --------------------------------------- */

static const char *const categories[] = {
    "cloud",         "cloud_efficiency",
    "cloud_ssd",     "cloud_essd",
    "cloud_auto",    "cloud_essd_entry",
    "ephemeral_ssd", "local_ssd_pro",
    "local_hdd_pro", NULL,
};

const char *const *ecs_categories(void)
{
    return categories;
}

void ecs__cpy(char *dst, size_t cap, const char *src)
{
    size_t n = src != NULL ? strlen(src) : 0;

    if (n >= cap) {
        n = cap - 1;
    }
    if (n > 0) {
        memcpy(dst, src, n);
    }
    dst[n] = '\0';
}

sd_code ecs__col_blob(store_stmt *st, int col, uint8_t **out, size_t *len, sd_err *err)
{
    size_t n = 0;
    const uint8_t *blob = store_col_blob(st, col, &n);

    *out = NULL;
    *len = 0;
    if (blob == NULL || n == 0) {
        return SD_OK;
    }
    *out = malloc(n);
    if (*out == NULL) {
        return sd_err_set(err, SD_E_NOMEM, SD_HERE, "out of memory");
    }
    memcpy(*out, blob, n);
    *len = n;
    return SD_OK;
}

sd_code ecs__exec_id(ecs *e, const char *sql, const char *id, sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;

    SD_TRY(store_prepare(e->st, sql, &st, err));
    SD_TRY(store_bind_text(st, 1, id, err));
    SD_TRY(store_step_done(st, err));
out:
    store_stmt_free(st);
    return rc;
}

sd_code ecs__new_id(ecs *e, const char *prefix, char out[ECS_ID_MAX], sd_err *err)
{
    return sd_id_new(&e->rng, prefix, 20, out, ECS_ID_MAX, err);
}

void ecs__fp_init(ecs_fp *f)
{
    f->h = 1469598103934665603ull;
}

void ecs__fp_str(ecs_fp *f, const char *s)
{
    for (const char *p = s != NULL ? s : ""; *p != '\0'; p++) {
        f->h = (f->h ^ (uint8_t)*p) * 1099511628211ull;
    }
    f->h = (f->h ^ 0xffu) * 1099511628211ull; /* separator: ("a","bc") != ("ab","c") */
}

void ecs__fp_int(ecs_fp *f, int64_t v)
{
    char buf[24];

    (void)snprintf(buf, sizeof buf, "%lld", (long long)v);
    ecs__fp_str(f, buf);
}

void ecs__fp_hex(const ecs_fp *f, char out[17])
{
    (void)snprintf(out, 17, "%016llx", (unsigned long long)f->h);
}

sd_code ecs__select_one(ecs *e, const ecs_caller *c, const char *sql, const char *id,
                        const char *code, const char *what, store_stmt **st, sd_err *err)
{
    sd_code rc = SD_OK;
    bool row = false;

    SD_TRY(store_prepare(e->st, sql, st, err));
    SD_TRY(store_bind_text(*st, 1, id, err));
    SD_TRY(store_bind_text(*st, 2, c->account, err));
    SD_TRY(store_bind_text(*st, 3, c->region, err));
    SD_TRY(store_step(*st, &row, err));
    SD_ENSUREC(row, err, SD_E_NOT_FOUND, code, "The specified %s %s does not exist.", what, id);
out:
    return rc;
}

sd_code ecs__dry_run(const ecs_caller *c, sd_err *err)
{
    if (!c->dry_run) {
        return SD_OK;
    }
    return sd_err_setc(err, SD_E_INVALID, "DryRunOperation", SD_HERE,
                       "Request validation has been passed with DryRun flag set.");
}

bool ecs__is_dry_run(const sd_err *err)
{
    return strcmp(err->api_code, "DryRunOperation") == 0;
}

/* ---- regions and zones ---------------------------------------------------- */

const ecs_region *ecs__region(const ecs *e, const char *name)
{
    for (size_t i = 0; name != NULL && i < e->nregions; i++) {
        if (strcmp(e->regions[i].name, name) == 0) {
            return &e->regions[i];
        }
    }
    return NULL;
}

const char *ecs_resource_region(ecs *e, const char *account, const char *id)
{
    store_stmt *st = NULL;
    bool row = false;
    const ecs_region *r = NULL;
    static const char sql[] =
        "SELECT region FROM ecs_disks WHERE disk_id = ?1 AND account = ?2 UNION ALL "
        "SELECT region FROM ecs_snapshots WHERE snapshot_id = ?1 AND account = ?2 UNION ALL "
        "SELECT region FROM ecs_images WHERE image_id = ?1 AND account = ?2 UNION ALL "
        "SELECT region FROM ecs_instances WHERE instance_id = ?1 AND account = ?2 LIMIT 1";

    pthread_mutex_lock(&e->mu);
    if (store_prepare(e->st, sql, &st, NULL) == SD_OK &&
        store_bind_text(st, 1, id, NULL) == SD_OK &&
        store_bind_text(st, 2, account, NULL) == SD_OK && store_step(st, &row, NULL) == SD_OK &&
        row) {
        r = ecs__region(e, store_col_text(st, 0));
    }
    store_stmt_free(st);
    pthread_mutex_unlock(&e->mu);
    return r != NULL ? r->name : NULL;
}

size_t ecs_zones(const ecs *e, const char *region, const char *const **zones)
{
    const ecs_region *r = ecs__region(e, region);

    *zones = r != NULL ? r->zones : NULL;
    return r != NULL ? r->nzones : 0;
}

sd_code ecs__check_zone(const ecs *e, const char *region, const char *zone, const char **out,
                        sd_err *err)
{
    const ecs_region *r = ecs__region(e, region);

    if (r == NULL) {
        return sd_err_setc(err, SD_E_INVALID, "InvalidRegionId.NotFound", SD_HERE,
                           "The region %s is not served here.", region);
    }
    for (size_t i = 0; i < r->nzones; i++) {
        if (zone == NULL || zone[0] == '\0' || strcmp(r->zones[i], zone) == 0) {
            *out = r->zones[i];
            return SD_OK;
        }
    }
    return sd_err_setc(err, SD_E_NOT_FOUND, "InvalidZoneId.NotFound", SD_HERE,
                       "The specified zone %s does not exist in region %s.", zone, region);
}

/* ---- image rows: an image as a disk's source ------------------------------ */

sd_code ecs__image_from_row(store_stmt *st, image_row *r, sd_err *err)
{
    ecs_image *i = &r->i;
    *r = (image_row){.dk_blob = NULL};
    ecs__cpy(i->image_id, sizeof i->image_id, store_col_text(st, 0));
    ecs__cpy(i->region, sizeof i->region, store_col_text(st, 1));
    ecs__cpy(i->name, sizeof i->name, store_col_text(st, 2));
    ecs__cpy(i->description, sizeof i->description, store_col_text(st, 3));
    ecs__cpy(i->snapshot_id, sizeof i->snapshot_id, store_col_text(st, 4));
    i->size_gib = store_col_int64(st, 5);
    i->encrypted = store_col_int64(st, 6) != 0;
    ecs__cpy(i->kms_key_id, sizeof i->kms_key_id, store_col_text(st, 7));
    if (ecs__col_blob(st, 8, &r->dk_blob, &r->dk_len, err) != SD_OK) {
        return SD_E_NOMEM;
    }
    ecs__cpy(i->source_image_id, sizeof i->source_image_id, store_col_text(st, 9));
    i->created = store_col_int64(st, 10);
    ecs__cpy(i->status, sizeof i->status, store_col_text(st, 11));
    i->progress = (int)store_col_int64(st, 12);
    return SD_OK;
}

sd_code ecs__load_image(ecs *e, const ecs_caller *c, const char *id, image_row *out, sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;

    SD_TRY(ecs__select_one(e, c,
                           "SELECT " IMAGE_COLS " FROM ecs_images WHERE image_id = ? AND "
                           "account = ? AND region = ?",
                           id, "InvalidImageId.NotFound", "image", &st, err));
    SD_TRY(ecs__image_from_row(st, out, err));
out:
    store_stmt_free(st);
    return rc;
}

/* Only an Available image has data to read. */
sd_code ecs__image_ready(const image_row *r, sd_err *err)
{
    if (strcmp(r->i.status, "Available") != 0) {
        return sd_err_setc(err, SD_E_INVALID, "IncorrectImageStatus", SD_HERE,
                           "The image %s is %s (%d%%); wait until it is Available.", r->i.image_id,
                           r->i.status, r->i.progress);
    }
    return SD_OK;
}

/* An image another account shares with the caller; *owner gets its id. */
static sd_code load_shared_image(ecs *e, const ecs_caller *c, const char *id, image_row *out,
                                 char owner[IAM_ACCOUNT_ID_LEN + 1], sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;

    SD_TRY(ecs__select_one(e, c,
                           "SELECT " IMAGE_COLS ", account FROM ecs_images WHERE image_id = ? AND "
                           "image_id IN (SELECT image_id FROM ecs_image_shares WHERE account = "
                           "?) AND region = ?",
                           id, "InvalidImageId.NotFound", "image", &st, err));
    SD_TRY(ecs__image_from_row(st, out, err));
    ecs__cpy(owner, IAM_ACCOUNT_ID_LEN + 1, store_col_text(st, 13));
out:
    store_stmt_free(st);
    return rc;
}

sd_code ecs__image_source(ecs *e, const ecs_caller *c, const char *image_id, snap_row *out,
                          sd_err *err)
{
    sd_code rc = SD_OK;
    image_row r = {.dk_blob = NULL};
    char owner[IAM_ACCOUNT_ID_LEN + 1] = "";

    rc = ecs__load_image(e, c, image_id, &r, err);
    if (rc == SD_E_NOT_FOUND) {
        sd_err_clear(err);
        rc = load_shared_image(e, c, image_id, &r, owner, err);
    }
    SD_TRY(rc);
    SD_TRY(ecs__image_ready(&r, err));
    *out = (snap_row){.dk_blob = r.dk_blob, .dk_len = r.dk_len};
    ecs__cpy(out->owner, sizeof out->owner, owner);
    r.dk_blob = NULL;
    ecs__cpy(out->s.snapshot_id, sizeof out->s.snapshot_id, r.i.image_id); /* its block snapshot */
    out->s.source_disk_size = r.i.size_gib;
    out->s.encrypted = r.i.encrypted;
    ecs__cpy(out->s.kms_key_id, sizeof out->s.kms_key_id, r.i.kms_key_id);
out:
    free(r.dk_blob);
    return rc;
}

sd_code ecs__shared_snapshot(ecs *e, const ecs_caller *c, const char *snapshot_id, snap_row *out,
                             char image_id[ECS_ID_MAX], sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;
    bool row = false;

    image_id[0] = '\0';
    SD_TRY(store_prepare(e->st,
                         "SELECT image_id FROM ecs_images WHERE snapshot_id = ? AND region = ? AND "
                         "status = 'Available' AND account <> ? AND image_id IN (SELECT image_id "
                         "FROM ecs_image_shares WHERE account = ?) ORDER BY created LIMIT 1",
                         &st, err));
    SD_TRY(store_bind_text(st, 1, snapshot_id, err));
    SD_TRY(store_bind_text(st, 2, c->region, err));
    SD_TRY(store_bind_text(st, 3, c->account, err));
    SD_TRY(store_bind_text(st, 4, c->account, err));
    SD_TRY(store_step(st, &row, err));
    SD_ENSUREC(row, err, SD_E_NOT_FOUND, "InvalidSnapshotId.NotFound",
               "The specified snapshot %s does not exist.", snapshot_id);
    ecs__cpy(image_id, ECS_ID_MAX, store_col_text(st, 0));
    SD_TRY(ecs__image_source(e, c, image_id, out, err));
out:
    store_stmt_free(st);
    return rc;
}
