/* ecs_core.c: the handle, ids, zones and the account-level default
 * encryption settings (R8). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecs/ecs_int.h"

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

/* The served region a zone id belongs to: the longest region name it
 * begins with, followed by more. */
static ecs_region *zone_region(ecs *e, const char *zone)
{
    ecs_region *best = NULL;
    size_t best_len = 0;

    for (size_t i = 0; i < e->nregions; i++) {
        size_t n = strlen(e->regions[i].name);
        if (n > best_len && strncmp(zone, e->regions[i].name, n) == 0 && zone[n] != '\0') {
            best = &e->regions[i];
            best_len = n;
        }
    }
    return best;
}

static sd_code set_zones(ecs *e, const ecs_opts *o, sd_err *err)
{
    sd_code rc = SD_OK;

    for (size_t i = 0; i < o->nzones; i++) {
        ecs_region *r = zone_region(e, o->zones[i]);
        SD_ENSURE(r != NULL, err, SD_E_INVALID, "zone %s is in no region served", o->zones[i]);
        SD_ENSURE(r->nzones < ECS_ZONES_MAX && strlen(o->zones[i]) < sizeof r->zone_buf[0], err,
                  SD_E_INVALID, "region %s: at most %d zones of at most %zu characters", r->name,
                  ECS_ZONES_MAX, sizeof r->zone_buf[0] - 1);
        ecs__cpy(r->zone_buf[r->nzones], sizeof r->zone_buf[0], o->zones[i]);
        r->zones[r->nzones] = r->zone_buf[r->nzones];
        r->nzones++;
    }
    for (size_t i = 0; i < e->nregions; i++) {
        ecs_region *r = &e->regions[i];
        char name[sizeof r->name]; /* snprintf must not read what it writes */
        if (r->nzones > 0) {
            continue;
        }
        memcpy(name, r->name, sizeof name);
        for (size_t z = 0; z < 2; z++) {
            (void)snprintf(r->zone_buf[z], sizeof r->zone_buf[z], "%s-%c", name, (char)('a' + z));
            r->zones[z] = r->zone_buf[z];
        }
        r->nzones = 2;
    }
out:
    return rc;
}

sd_code ecs_open(const ecs_opts *o, ecs **out, sd_err *err)
{
    sd_code rc = SD_OK;
    ecs *e = NULL;

    *out = NULL;
    e = calloc(1, sizeof *e);
    SD_ENSURE(e != NULL, err, SD_E_NOMEM, "out of memory");
    SD_ENSURE(pthread_mutex_init(&e->mu, NULL) == 0 && pthread_cond_init(&e->jobs_cv, NULL) == 0,
              err, SD_E_INTERNAL, "cannot make a lock");
    e->blocks = o->blocks;
    e->kms = o->kms;
    e->iam = o->iam;
    e->exporter = o->exporter;
    e->clock = o->clock;
    e->rng = o->rng;
    ecs__cpy(e->image_dir, sizeof e->image_dir, o->image_dir);
    SD_ENSURE(o->nregions > 0 && o->nregions <= ECS_REGIONS_MAX, err, SD_E_INVALID,
              "1 to %d regions can be served", ECS_REGIONS_MAX);
    for (size_t i = 0; i < o->nregions; i++) {
        ecs__cpy(e->regions[e->nregions++].name, sizeof e->regions[0].name, o->regions[i]);
    }
    SD_TRY(set_zones(e, o, err));
    SD_TRY(store_open_sqlite(o->db_path, &e->st, err));
    e->job_hook = o->job_hook;
    e->job_hook_ctx = o->job_hook_ctx;
    ecs__recover_images(e);
    ecs__recover_disks(e);
    ecs__recover_instances(e);
    ecs__resume_instances(e);
    *out = e;
    e = NULL;
out:
    ecs_close(e);
    return rc;
}

void ecs_close(ecs *e)
{
    if (e == NULL) {
        return;
    }
    if (e->st != NULL) {
        ecs__stop_jobs(e);
    }
    ecs__close_all(e);
    store_close(e->st);
    pthread_cond_destroy(&e->jobs_cv);
    pthread_mutex_destroy(&e->mu);
    free(e);
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
