/* ecs_int.h: what the ecs module's files share.
 *
 * The files form layers, each calling only those below it (checked by
 * scripts/check-layering.sh; docs/dev/architecture.md says why this
 * order):
 *
 *   ecs_core.c       ecs_open, ecs_close, recovery after a restart
 *   ecs_instances.c  instances, attachments, ReInitDisk and friends
 *   ecs_images.c     images, import and export, sharing
 *   ecs_disks.c      disks and snapshots
 *   ecs_jobs.c       background jobs (calls up only through ecs_job_ops)
 *   ecs_keys.c       CMKs, data keys, default encryption (R8)
 *   ecs_rows.c       SQL helpers, ids, regions, image rows
 *
 * This header declares only what a file uses from a file below it, in one
 * section per layer, bottom first; everything else is static. */
#ifndef SD_ECS_INT_H
#define SD_ECS_INT_H

#include <pthread.h>

#include "ecs/ecs.h"
#include "store/store.h"

#define ECS_SERVICE_KEY "alias/acs/ecs"
#define ECS_ZONES_MAX   8 /* per region */
#define ECS_PATH_MAX    1024

/* A region served and its zones: those configured, else <region>-a and
 * <region>-b. */
typedef struct ecs_region {
    char name[64];
    char zone_buf[ECS_ZONES_MAX][72];
    const char *zones[ECS_ZONES_MAX];
    size_t nzones;
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
    /* background jobs (ecs_jobs.c), and requests waiting for them, are
     * counted so close can wait; jobs_cv is signalled when one ends */
    pthread_cond_t jobs_cv;
    unsigned jobs;
    unsigned waiters;
    bool stopping;
    ecs_job_hook job_hook;
    void *job_hook_ctx;
};

/* ---- rows (ecs_rows.c): what every layer uses ----------------------------- */

/* A new resource id: prefix ("d-", "s-", "i-") and 20 lower-case
 * alphanumerics, as Alibaba's. */
SD_MUST_USE sd_code ecs__new_id(ecs *e, const char *prefix, char out[ECS_ID_MAX], sd_err *err);
/* A copy of a row's blob column (a DK blob): *out NULL when the column is
 * NULL or empty.  SD_E_NOMEM. */
SD_MUST_USE sd_code ecs__col_blob(store_stmt *st, int col, uint8_t **out, size_t *len, sd_err *err);
/* Runs sql, one statement whose one parameter is id (a row's key). */
SD_MUST_USE sd_code ecs__exec_id(ecs *e, const char *sql, const char *id, sd_err *err);
/* Copies src into dst[cap], truncating. */
void ecs__cpy(char *dst, size_t cap, const char *src);
/* Runs sql, whose parameters are an id, the caller's account and its
 * region in that order, onto its first row, and leaves *st there for the
 * row's columns (the caller frees it, also on failure).  No row:
 * SD_E_NOT_FOUND with code, "The specified <what> <id> does not exist." */
SD_MUST_USE sd_code ecs__select_one(ecs *e, const ecs_caller *c, const char *sql, const char *id,
                                    const char *code, const char *what, store_stmt **st,
                                    sd_err *err);
/* DryRun's end: 400 DryRunOperation when c asked for a dry run, placed
 * after a mutator's checks and before its first change. */
SD_MUST_USE sd_code ecs__dry_run(const ecs_caller *c, sd_err *err);
/* Whether err is that answer. */
bool ecs__is_dry_run(const sd_err *err);
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

/* A source of data for a new disk: a snapshot, or an image's snapshot. */
typedef struct snap_row {
    ecs_snapshot s;
    uint8_t *dk_blob; /* owned; NULL when unencrypted */
    size_t dk_len;
    char owner[IAM_ACCOUNT_ID_LEN + 1]; /* "" for the caller's own; else who shared it */
} snap_row;

/* An image row: ecs_images.c makes and changes them; ecs_disks.c reads
 * one as a new disk's source (ecs__image_source). */
#define IMAGE_COLS                                                                        \
    "image_id, region, name, description, snapshot_id, size_gib, encrypted, kms_key_id, " \
    "dk_blob, source_image_id, created, status, progress"

typedef struct image_row {
    ecs_image i;
    uint8_t *dk_blob;
    size_t dk_len;
    char job_disk[ECS_ID_MAX];   /* "" unless a background job writes it */
    char job_file[ECS_PATH_MAX]; /* "" unless a qcow2 import converts into it */
} image_row;

/* *r from the current row of a SELECT of IMAGE_COLS (r->dk_blob owned).
 * SD_E_NOMEM. */
SD_MUST_USE sd_code ecs__image_from_row(store_stmt *st, image_row *r, sd_err *err);
/* The caller's image id.  SD_E_NOT_FOUND as InvalidImageId.NotFound. */
SD_MUST_USE sd_code ecs__load_image(ecs *e, const ecs_caller *c, const char *id, image_row *out,
                                    sd_err *err);
/* Only an Available image has data to read: IncorrectImageStatus. */
SD_MUST_USE sd_code ecs__image_ready(const image_row *r, sd_err *err);
/* An image's data as a disk source (the block snapshot named image_id). */
SD_MUST_USE sd_code ecs__image_source(ecs *e, const ecs_caller *c, const char *image_id,
                                      snap_row *out, sd_err *err);
/* A snapshot another account shares with c: the data of an Available
 * image made from it and shared with c (sharing an image shares its
 * snapshot).  out->owner names the owner; image_id gets the image's id.
 * SD_E_NOT_FOUND as InvalidSnapshotId.NotFound. */
SD_MUST_USE sd_code ecs__shared_snapshot(ecs *e, const ecs_caller *c, const char *snapshot_id,
                                         snap_row *out, char image_id[ECS_ID_MAX], sd_err *err);

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

/* ---- background jobs (ecs_jobs.c) -------------------------------------------
 *
 * Jobs sit below the resources they make: ecs_disks.c, ecs_images.c and
 * ecs_instances.c start them, and a job reaches back up only through the
 * ecs_job_ops its starter gives (run, progress, finish), so the job
 * machinery knows no resource.
 *
 * A job makes one resource (an image, a disk), or rebuilds a disk's data
 * (ReInitDisk), whose data take long to write.  The request makes the row
 * (status Creating, or ReIniting for a rebuild; progress 0) and
 * starts the job under mu; the job's run works on its own thread without
 * mu, reporting progress through ecs__job_progress; then finish, under
 * mu, seals the resource (Available) or fails it.  When the server stops,
 * a running job is cancelled and finish is not called: the row stays
 * Creating, and the next ecs_open's recovery fails it and removes what
 * the job had made (ecs__recover_images, ecs__recover_disks). */

typedef struct ecs_job ecs_job;

typedef struct ecs_job_ops {
    /* The long part, without mu; SD_E_CONFLICT when cancelled. */
    SD_MUST_USE sd_code (*run)(ecs *e, ecs_job *j, sd_err *err);
    /* Under mu: records pct (0-99) on the row. */
    void (*progress)(ecs *e, const ecs_job *j, int pct);
    /* Under mu: seals the resource after run's rc, or fails it. */
    void (*finish)(ecs *e, const ecs_job *j, sd_code rc, const sd_err *err);
} ecs_job_ops;

struct ecs_job {
    const ecs_job_ops *ops;
    char target[ECS_ID_MAX]; /* the image or disk being made */
    char src[ECS_ID_MAX];    /* copies: the block snapshot read */
    char tmp[ECS_ID_MAX];    /* the block-store disk written */
    char snap[ECS_ID_MAX];   /* re-encrypting copies: the snapshot made with the image */
    char file[ECS_PATH_MAX]; /* imports: the file read */
    char raw[ECS_PATH_MAX];  /* qcow2 imports: the raw file made from it */
    uint64_t size;           /* imports: the size the data must have; disks: their size */
    sd_secret *src_dk;       /* owned: wiped when run ends */
    sd_secret *dst_dk;       /* owned: likewise */
    int last_pct;
};

/* A new job for target (caller owns; ecs__job_free).  SD_E_NOMEM. */
SD_MUST_USE sd_code ecs__job_new(const ecs_job_ops *ops, const char *target, ecs_job **out,
                                 sd_err *err);
void ecs__job_free(ecs_job *j);
/* Starts *j on its own thread (caller holds mu); takes *j, also on failure. */
SD_MUST_USE sd_code ecs__job_start(ecs *e, ecs_job **j, sd_err *err);
/* From the job's thread, without mu: records pct (0-99) when it changed;
 * false when the server stops and the job must end. */
bool ecs__job_progress(ecs *e, ecs_job *j, int pct);
/* A block-store progress report (blk_progress_fn) scaled into from..to
 * percent of the job: ctx is an ecs_job_span. */
typedef struct ecs_job_span {
    ecs *e;
    ecs_job *j;
    int from;
    int to;
} ecs_job_span;
bool ecs__job_span_progress(void *ctx, uint64_t done, uint64_t total);
/* A run that copies j->src (j->src_dk) into a new disk j->tmp (j->dst_dk),
 * re-encrypting every data sector (blk_copy) with progress. */
SD_MUST_USE sd_code ecs__job_copy(ecs *e, ecs_job *j, sd_err *err);
/* Asks the jobs to stop and waits for them and their waiters (ecs_close). */
void ecs__stop_jobs(ecs *e);

/* ---- disks and snapshots (ecs_disks.c) ------------------------------------ */

/* The largest size of a disk category, GiB (0: no such category). */
int64_t ecs__category_max(const char *name);

typedef struct ecs_disk_row {
    ecs_disk d;
    uint8_t *dk_blob; /* owned; NULL when unencrypted */
    size_t dk_len;
} ecs_disk_row;

SD_MUST_USE sd_code ecs__load_snapshot(ecs *e, const ecs_caller *c, const char *id, snap_row *out,
                                       sd_err *err);
/* The system disk of an instance of the caller. */
SD_MUST_USE sd_code ecs__system_disk(ecs *e, const ecs_caller *c, const char *instance_id,
                                     char disk_id[ECS_ID_MAX], sd_err *err);
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
/* Block snapshot `name` of disk_id, through its handle when it is open.  O(1). */
SD_MUST_USE sd_code ecs__snapshot_disk(ecs *e, const char *disk_id, const char *name, sd_err *err);
/* Deletes the disks a restart interrupted while Creating, and gives back
 * their old data to those it interrupted while ReIniting (ecs_open). */
void ecs__recover_disks(ecs *e);
/* Records a disk's stored status (Creating, ReIniting, Available) and
 * progress. */
SD_MUST_USE sd_code ecs__set_disk_state(ecs *e, const char *disk_id, const char *status,
                                        int progress, sd_err *err);
/* A disk job's progress report (under mu): ecs__set_disk_state, and a log
 * line if it cannot be recorded (the job goes on). */
void ecs__disk_progress(ecs *e, const char *disk_id, const char *status, int pct);
/* The block-store name a disk's data are rebuilt under before they
 * replace the disk's (ResetDisk, ReInitDisk). */
void ecs__rebuild_name(const char *disk_id, char out[ECS_ID_MAX + 8]);
/* Whether a disk can be used: a Creating or ReIniting one cannot
 * (IncorrectDiskStatus). */
SD_MUST_USE sd_code ecs__disk_ready(const ecs_disk *d, sd_err *err);
/* Waits, releasing mu (held on entry and on return), until the caller's
 * disk is no longer Creating.  SD_E_IO when its creation failed (the disk
 * is gone), SD_E_CONFLICT when the server stops meanwhile. */
SD_MUST_USE sd_code ecs__wait_disk(ecs *e, const ecs_caller *c, const char *disk_id, sd_err *err);

/* ---- images (ecs_images.c) ------------------------------------------------- */

/* Marks images a restart interrupted CreateFailed and removes their
 * temporary data and files (ecs_open). */
void ecs__recover_images(ecs *e);

/* ---- instances (ecs_instances.c) ------------------------------------------- */

/* Deletes the instances whose creation a restart interrupted while they
 * were Pending, with their disks (ecs_open, after ecs__recover_disks). */
void ecs__recover_instances(ecs *e);
/* Starts every Running instance again after a restart (ecs_open). */
void ecs__resume_instances(ecs *e);
/* Closes every open disk (ecs_close). */
void ecs__close_all(ecs *e);

#endif
