/* ecs_int.h: what the ecs module's files share. */
#ifndef SD_ECS_INT_H
#define SD_ECS_INT_H

#include <pthread.h>

#include "ecs/ecs.h"
#include "store/store.h"

#define ECS_SERVICE_KEY "alias/acs/ecs"
#define ECS_ZONES       2 /* per region: <region>-a and <region>-b */

/* A region served: its zones are named after it. */
typedef struct ecs_region {
    char name[64];
    char zone_buf[ECS_ZONES][72];
    const char *zones[ECS_ZONES];
} ecs_region;

/* A disk opened for a running instance: its key is inside d (locked
 * memory), and d is owned by the exporter once exported. */
typedef struct ecs_open_disk {
    char disk_id[ECS_ID_MAX];
    char instance_id[ECS_ID_MAX];
    blk_disk *d;
    bool exported;
    char uri[ECS_URI_MAX];
} ecs_open_disk;

#define ECS_OPEN_MAX 1024

struct ecs {
    pthread_mutex_t mu;
    store *st;
    blk_store *blocks;
    kms_client kms;
    iam *iam;
    ecs_exporter exporter;
    ecs_region regions[ECS_REGIONS_MAX]; /* the default region first */
    size_t nregions;
    char image_dir[512]; /* "" when import and export are off */
    sd_clock clock;
    sd_rng rng;
    ecs_open_disk open[ECS_OPEN_MAX];
    size_t nopen;
    /* background copies (ecs_images.c): counted so close can wait */
    pthread_cond_t jobs_cv;
    unsigned jobs;
    bool stopping;
};

/* A new resource id: prefix ("d-", "s-", "i-") and 20 lower-case
 * alphanumerics, as Alibaba's. */
SD_MUST_USE sd_code ecs__new_id(ecs *e, const char *prefix, char out[ECS_ID_MAX], sd_err *err);
/* A copy of a row's blob column (a DK blob): *out NULL when the column is
 * NULL or empty.  SD_E_NOMEM. */
SD_MUST_USE sd_code ecs__col_blob(store_stmt *st, int col, uint8_t **out, size_t *len, sd_err *err);
/* Copies src into dst[cap], truncating. */
void ecs__cpy(char *dst, size_t cap, const char *src);
/* DryRun's end: 400 DryRunOperation when c asked for a dry run, placed
 * after a mutator's checks and before its first change. */
SD_MUST_USE sd_code ecs__dry_run(const ecs_caller *c, sd_err *err);
/* Whether err is that answer. */
bool ecs__is_dry_run(const sd_err *err);
/* The largest size of a disk category, GiB (0: no such category). */
int64_t ecs__category_max(const char *name);
/* The region named, or NULL when it is not served. */
const ecs_region *ecs__region(const ecs *e, const char *name);
/* Whether zone is one of region's zones (NULL or "": its first); *out
 * gets the zone's lasting name. */
SD_MUST_USE sd_code ecs__check_zone(const ecs *e, const char *region, const char *zone,
                                    const char **out, sd_err *err);

/* A request's fingerprint for ClientToken idempotency (FNV-1a over its
 * parameters, NUL-separated; not a security boundary: the token is the
 * caller's own). */
typedef struct ecs_fp {
    uint64_t h;
} ecs_fp;
void ecs__fp_init(ecs_fp *f);
void ecs__fp_str(ecs_fp *f, const char *s);
void ecs__fp_int(ecs_fp *f, int64_t v);
void ecs__fp_hex(const ecs_fp *f, char out[17]);

/* ---- keys (ecs_keys.c) ---------------------------------------------------- */

/* Resolves ref (id, alias, ARN) to an Enabled CMK ECS may use for the
 * caller's disks: the service key always; a customer CMK only with the
 * service role (R10).  *key_id gets its id.  Errors with ECS's codes:
 * InvalidParameter.KMSKeyId.NotFound, .CMKNotEnabled, .KMSUnauthorized. */
SD_MUST_USE sd_code ecs__usable_key(ecs *e, const ecs_caller *c, const char *ref,
                                    char key_id[ECS_KEY_MAX], sd_err *err);
/* A fresh DK under key_id: its blob appended to blob; *dk (caller owns)
 * when dk is not NULL. */
SD_MUST_USE sd_code ecs__new_dk(ecs *e, const ecs_caller *c, const char *key_id, sd_buf *blob,
                                sd_secret **dk, sd_err *err);
/* Unwraps a disk's DK blob (exactly one KMS Decrypt), mapping the KMS's
 * refusal to ECS's codes naming the key's state (R11). */
SD_MUST_USE sd_code ecs__unwrap_dk(ecs *e, const ecs_caller *c, const char *key_id,
                                   const uint8_t *blob, size_t len, sd_secret **dk, sd_err *err);
/* The account's regional settings (R8). */
SD_MUST_USE sd_code ecs__settings(ecs *e, const ecs_caller *c, bool *encrypt_default,
                                  char default_key[ECS_KEY_MAX], sd_err *err);

/* ---- rows ----------------------------------------------------------------- */

typedef struct ecs_disk_row {
    ecs_disk d;
    uint8_t *dk_blob; /* owned; NULL when unencrypted */
    size_t dk_len;
} ecs_disk_row;

/* A source of data for a new disk: a snapshot, or an image's snapshot. */
typedef struct snap_row {
    ecs_snapshot s;
    uint8_t *dk_blob; /* owned; NULL when unencrypted */
    size_t dk_len;
    char owner[IAM_ACCOUNT_ID_LEN + 1]; /* "" for the caller's own; else who shared it */
} snap_row;

SD_MUST_USE sd_code ecs__load_snapshot(ecs *e, const ecs_caller *c, const char *id, snap_row *out,
                                       sd_err *err);
/* The system disk of an instance of the caller. */
SD_MUST_USE sd_code ecs__system_disk(ecs *e, const ecs_caller *c, const char *instance_id,
                                     char disk_id[ECS_ID_MAX], sd_err *err);

/* An image's data as a disk source (the block snapshot named image_id). */
SD_MUST_USE sd_code ecs__image_source(ecs *e, const ecs_caller *c, const char *image_id,
                                      snap_row *out, sd_err *err);

SD_MUST_USE sd_code ecs__load_disk(ecs *e, const ecs_caller *c, const char *disk_id,
                                   ecs_disk_row *out, sd_err *err);
void ecs__disk_row_free(ecs_disk_row *r);
/* Creates a disk (the whole of ecs_create_disk, under the lock). */
SD_MUST_USE sd_code ecs__create_disk_locked(ecs *e, const ecs_caller *c, const ecs_disk_spec *s,
                                            char disk_id[ECS_ID_MAX], sd_err *err);
SD_MUST_USE sd_code ecs__set_attachment(ecs *e, const char *disk_id, const char *instance_id,
                                        const char *device, int delete_with_instance, sd_err *err);
SD_MUST_USE sd_code ecs__remove_disk_locked(ecs *e, const ecs_caller *c, const char *disk_id,
                                            sd_err *err);
/* The open disk of disk_id, or NULL. */
ecs_open_disk *ecs__find_open(ecs *e, const char *disk_id);

/* Marks images a restart interrupted CreateFailed and removes their
 * temporary data (ecs_open). */
void ecs__recover_images(ecs *e);
/* Asks background copies to stop and waits for them (ecs_close). */
void ecs__stop_jobs(ecs *e);

/* ---- instances (ecs_instances.c) ------------------------------------------- */

/* Starts every Running instance again after a restart (ecs_open). */
void ecs__resume_instances(ecs *e);
/* Closes every open disk (ecs_close). */
void ecs__close_all(ecs *e);

#endif
