/* ecs: the ECS control plane for block storage and disk encryption:
 * disks, snapshots, instances and account-level default encryption, with
 * the rules R1-R16 of DESIGN §3 (except R13, policies).
 *
 * Keys: every encrypted disk lineage has its own 256-bit data key (DK),
 * made by the KMS under a CMK and stored only as its ciphertext blob.
 * Which CMK: the request's KMSKeyId, else the source snapshot's, else the
 * account's regional default, else the service key alias/acs/ecs (R1, R4,
 * R8).  A customer CMK needs the account's service role
 * AliyunECSDiskEncryptDefaultRole (R10).  Snapshots and clones share the
 * DK (R3, R4); a new key or a first encryption re-encrypts the data into a
 * new lineage (R4, R5); nothing ever decrypts a disk into a plain one (R6).
 *
 * The KMS is reached only through kms_client, as the ECS service on
 * behalf of the owning account, so its state checks and quotas apply (R11,
 * R14).  Data keys are unwrapped only to open a disk for a running
 * instance; they stay in locked memory inside the open disk and are wiped
 * when the instance stops.
 *
 * Exports: a running instance's disks are published through the exporter
 * the server wires to the NBD server (ecs never includes nbd).
 *
 * Errors carry the ECS API Code in sd_err.api_code (alibaba-api.md §7).
 * Thread model: an ecs handle is shared by the API threads; metadata
 * operations are serialised by one mutex. */
#ifndef SD_ECS_H
#define SD_ECS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block/block.h"
#include "common/common.h"
#include "iam/iam.h"
#include "kms/kms_client.h"

typedef struct ecs ecs;

#define ECS_ID_MAX      32
#define ECS_NAME_MAX    129
#define ECS_DESC_MAX    257
#define ECS_KEY_MAX     192
#define ECS_URI_MAX     256
#define ECS_REGIONS_MAX 16

#define ECS_DATA_DISKS_MAX 16

/* A running instance's data-plane identity: how its hypervisor reaches
 * its disks, and nothing else's (DescribeInstanceDataPlane). */
typedef struct ecs_dataplane {
    char socket[ECS_URI_MAX]; /* the instance's own unix socket; "" without */
    char tcp_address[80];     /* NBD over TLS, "host:port"; "" without */
    char psk_identity[128];   /* its TLS PSK identity; "" without TCP */
    sd_secret *psk;           /* its TLS PSK; NULL without TCP (ecs_dataplane_clear) */
    size_t ndisks;            /* its exported disks, system disk first */
    struct {
        char disk_id[ECS_ID_MAX];
        char uri[ECS_URI_MAX];
    } disks[ECS_DATA_DISKS_MAX + 1];
} ecs_dataplane;

/* Publishes and withdraws NBD exports (the server wires it to nbds).  An
 * instance's exports are reachable only with that instance's data-plane
 * identity, which the exporter makes with its first export and destroys
 * with its last. */
typedef struct ecs_exporter {
    /* Takes exp (its close wipes the key), reachable by instance_id only,
     * and writes the export's URI. */
    SD_MUST_USE sd_code (*add)(void *h, const char *instance_id, const char *name,
                               const blk_export *exp, char *uri, size_t cap, sd_err *err);
    /* Withdraws name: its connections are closed and exp->ops->close runs. */
    void (*remove)(void *h, const char *instance_id, const char *name);
    void *h;
    /* Fills the socket, TCP and PSK fields of out for instance_id, which
     * has exports.  NULL: instances have no identity to describe. */
    SD_MUST_USE sd_code (*describe)(void *h, const char *instance_id, ecs_dataplane *out,
                                    sd_err *err);
} ecs_exporter;

/* Called from a background job's thread, without locks, each time the
 * job reports progress on id (pct 0-99): an observer for tests. */
typedef void (*ecs_job_hook)(void *ctx, const char *id, int pct);

typedef struct ecs_opts {
    const char *db_path;   /* the metadata store */
    blk_store *blocks;     /* borrowed */
    kms_client kms;        /* borrowed handle inside */
    iam *iam;              /* borrowed: the service role (R10) */
    ecs_exporter exporter; /* ops NULL: instances start without exports */
    const char *image_dir; /* import/export files live under <image_dir>/<account>/; NULL: off */
    const char *const *regions; /* the regions served, the default first */
    size_t nregions;
    /* Zones, each in the served region its id begins with (the longest:
     * cn-hangzhou-h, ap-southeast-1a); a region with none listed has
     * <region>-a and <region>-b. */
    const char *const *zones;
    size_t nzones;
    sd_clock clock;
    sd_rng rng;
    ecs_job_hook job_hook; /* may be NULL */
    void *job_hook_ctx;
} ecs_opts;

/* Caller owns *out.  Reopens disks of instances left Running (their keys
 * are unwrapped again, so a key disabled meanwhile keeps them closed). */
SD_MUST_USE sd_code ecs_open(const ecs_opts *o, ecs **out, sd_err *err);
/* Withdraws every export, wipes every key, closes; accepts NULL. */
void ecs_close(ecs *e);

typedef struct ecs_caller {
    const char *account;
    const char *region;
    /* DryRun: every check runs and nothing changes; a request that would
     * have been carried out fails with DryRunOperation instead */
    bool dry_run;
} ecs_caller;

/* ---- regions, zones, categories --------------------------------------- */

/* The region of account's disk, snapshot, image or instance id (borrowed
 * from e), or NULL when the account has none of that id. */
const char *ecs_resource_region(ecs *e, const char *account, const char *id);
/* The zones of region (borrowed strings); 0 when it is not served. */
size_t ecs_zones(const ecs *e, const char *region, const char *const **zones);
/* The disk categories served, NULL-terminated (borrowed). */
const char *const *ecs_categories(void);

/* ---- default encryption (R8) -------------------------------------------- */

SD_MUST_USE sd_code ecs_default_encryption(ecs *e, const ecs_caller *c, bool enable, sd_err *err);
/* *enabled, and the default key (the service key's id when none is set). */
SD_MUST_USE sd_code ecs_default_status(ecs *e, const ecs_caller *c, bool *enabled, char *key_id,
                                       size_t cap, sd_err *err);
/* key NULL: back to the service key.  A customer CMK needs the role. */
SD_MUST_USE sd_code ecs_default_key(ecs *e, const ecs_caller *c, const char *key, sd_err *err);

/* ---- disks ------------------------------------------------------------- */

typedef struct ecs_disk {
    char disk_id[ECS_ID_MAX];
    char region[64];
    char zone[64];
    char name[ECS_NAME_MAX];
    char description[ECS_DESC_MAX];
    char category[40];
    char type[8];    /* system, data */
    char status[16]; /* Creating (its data being re-encrypted), Available, In_use */
    int progress;    /* percent: below 100 only while Creating */
    int64_t size_gib;
    bool encrypted;
    char kms_key_id[ECS_KEY_MAX]; /* "" when unencrypted */
    char source_snapshot_id[ECS_ID_MAX];
    char image_id[ECS_ID_MAX];
    char instance_id[ECS_ID_MAX];
    char device[24];
    bool delete_with_instance;
    int64_t created;
    int64_t attached;
    int64_t detached;
    char nbd_uri[ECS_URI_MAX]; /* "" unless exported */
} ecs_disk;

typedef struct ecs_disk_spec {
    const char *zone;        /* NULL: the region's first zone */
    const char *category;    /* NULL: cloud_essd */
    int64_t size_gib;        /* 0: the snapshot's size */
    const char *snapshot_id; /* may be NULL */
    const char *name;
    const char *description;
    int encrypted;          /* -1 not given, 0 false, 1 true */
    const char *kms_key_id; /* id, alias or ARN; may be NULL */
    const char *client_token;
    const char *type;     /* NULL: data */
    const char *image_id; /* NULL; else the disk is made from this image's data */
} ecs_disk_spec;

/* A new disk, Available at once unless its data must be re-encrypted
 * (R4, R5, a shared source): then it is Creating with its progress while
 * a background job copies them, and becomes Available; a copy that fails
 * (or a restart that interrupts it) deletes the disk, so a half-made disk
 * is never listed Available.  A Creating disk cannot be attached,
 * snapshotted, reset, reinitialised or deleted (IncorrectDiskStatus). */
SD_MUST_USE sd_code ecs_create_disk(ecs *e, const ecs_caller *c, const ecs_disk_spec *s,
                                    char disk_id[ECS_ID_MAX], sd_err *err);
SD_MUST_USE sd_code ecs_describe_disk(ecs *e, const ecs_caller *c, const char *disk_id,
                                      ecs_disk *out, sd_err *err);
/* Every disk of the caller's region, oldest first. */
typedef void (*ecs_disk_fn)(void *ctx, const ecs_disk *d);
SD_MUST_USE sd_code ecs_list_disks(ecs *e, const ecs_caller *c, ecs_disk_fn fn, void *ctx,
                                   sd_err *err);
SD_MUST_USE sd_code ecs_delete_disk(ecs *e, const ecs_caller *c, const char *disk_id, sd_err *err);
/* name/description NULL: unchanged. */
SD_MUST_USE sd_code ecs_modify_disk(ecs *e, const ecs_caller *c, const char *disk_id,
                                    const char *name, const char *description,
                                    int delete_with_instance, sd_err *err);

/* ResetDisk: the disk's data become the snapshot's (a snapshot of this
 * disk).  ReInitDisk: back to the image or snapshot it was made from, or
 * empty.  Both need the disk detached or its instance stopped, and (R11)
 * its key usable: the DK is unwrapped once as the check.  Both are done
 * when they return, except a ReInitDisk whose source has another data key
 * (a re-encrypting copy): the disk is then ReIniting with its progress
 * until a background job's new data replace its data whole, and like a
 * Creating disk it takes no use meanwhile (IncorrectDiskStatus).  Should
 * the copy fail, or a restart interrupt it, the disk keeps its old data
 * and is Available again. */
SD_MUST_USE sd_code ecs_reset_disk(ecs *e, const ecs_caller *c, const char *disk_id,
                                   const char *snapshot_id, sd_err *err);
SD_MUST_USE sd_code ecs_reinit_disk(ecs *e, const ecs_caller *c, const char *disk_id, sd_err *err);
/* ResizeDisk (offline): grows the disk to new_gib, within its category's
 * range.  Its instance must be stopped (a running export has told its
 * clients the size) and (R11) its key usable.  The new space reads as
 * zeros; a later ResetDisk or ReInitDisk keeps the new size. */
SD_MUST_USE sd_code ecs_resize_disk(ecs *e, const ecs_caller *c, const char *disk_id,
                                    int64_t new_gib, sd_err *err);

/* ---- snapshots ------------------------------------------------------------ */

typedef struct ecs_snapshot {
    char snapshot_id[ECS_ID_MAX];
    char region[64];
    char name[ECS_NAME_MAX];
    char description[ECS_DESC_MAX];
    char source_disk_id[ECS_ID_MAX];
    int64_t source_disk_size;
    char source_disk_type[8];
    char status[16]; /* accomplished */
    bool encrypted;
    char kms_key_id[ECS_KEY_MAX];
    int64_t created;
} ecs_snapshot;

SD_MUST_USE sd_code ecs_create_snapshot(ecs *e, const ecs_caller *c, const char *disk_id,
                                        const char *name, const char *description,
                                        char snapshot_id[ECS_ID_MAX], sd_err *err);
typedef void (*ecs_snapshot_fn)(void *ctx, const ecs_snapshot *s);
SD_MUST_USE sd_code ecs_list_snapshots(ecs *e, const ecs_caller *c, ecs_snapshot_fn fn, void *ctx,
                                       sd_err *err);
SD_MUST_USE sd_code ecs_delete_snapshot(ecs *e, const ecs_caller *c, const char *snapshot_id,
                                        bool force, sd_err *err);

/* ---- instances ------------------------------------------------------------- */

typedef struct ecs_instance {
    char instance_id[ECS_ID_MAX];
    char region[64];
    char zone[64];
    char name[ECS_NAME_MAX];
    char description[ECS_DESC_MAX];
    char instance_type[40];
    char image_id[ECS_ID_MAX];
    char status[16]; /* Stopped, Running */
    int64_t created;
    int64_t started;
} ecs_instance;

typedef struct ecs_disk_req {
    const char *category;
    int64_t size_gib;
    const char *snapshot_id;
    const char *name;
    const char *description;
    int encrypted; /* -1, 0, 1 as in ecs_disk_spec */
    const char *kms_key_id;
    bool delete_with_instance;
} ecs_disk_req;

typedef struct ecs_instance_spec {
    const char *zone;
    const char *instance_type; /* NULL: ecs.g7.large */
    const char *name;
    const char *description;
    const char *image_id; /* NULL: an empty system disk; else from the image (R7) */
    ecs_disk_req system_disk;
    ecs_disk_req data_disks[ECS_DATA_DISKS_MAX];
    size_t n_data_disks;
    const char *client_token;
    bool start; /* RunInstances: start it */
} ecs_instance_spec;

SD_MUST_USE sd_code ecs_create_instance(ecs *e, const ecs_caller *c, const ecs_instance_spec *s,
                                        char instance_id[ECS_ID_MAX], sd_err *err);
typedef void (*ecs_instance_fn)(void *ctx, const ecs_instance *i);
SD_MUST_USE sd_code ecs_list_instances(ecs *e, const ecs_caller *c, ecs_instance_fn fn, void *ctx,
                                       sd_err *err);
/* Unwraps each disk's DK (one Decrypt each), opens and exports the disks;
 * on any failure nothing stays open or exported and the error names the
 * key's state (R11). */
SD_MUST_USE sd_code ecs_start_instance(ecs *e, const ecs_caller *c, const char *instance_id,
                                       sd_err *err);
/* Withdraws the exports, flushes and closes the disks, wipes the keys. */
SD_MUST_USE sd_code ecs_stop_instance(ecs *e, const ecs_caller *c, const char *instance_id,
                                      sd_err *err);
/* The data-plane identity of the caller's Running instance and the URIs of
 * its exported disks (sealdisk extension).  *out is the caller's: release
 * with ecs_dataplane_clear, also on failure.  InvalidInstanceId.NotFound
 * (also another account's instance); IncorrectInstanceStatus: not
 * Running; SD_E_INVALID (OperationDenied): no exporter identity. */
SD_MUST_USE sd_code ecs_describe_dataplane(ecs *e, const ecs_caller *c, const char *instance_id,
                                           ecs_dataplane *out, sd_err *err);
/* Wipes and frees out->psk; accepts a zeroed struct. */
void ecs_dataplane_clear(ecs_dataplane *d);
SD_MUST_USE sd_code ecs_delete_instance(ecs *e, const ecs_caller *c, const char *instance_id,
                                        bool force, sd_err *err);
SD_MUST_USE sd_code ecs_attach_disk(ecs *e, const ecs_caller *c, const char *instance_id,
                                    const char *disk_id, int delete_with_instance, sd_err *err);
SD_MUST_USE sd_code ecs_detach_disk(ecs *e, const ecs_caller *c, const char *instance_id,
                                    const char *disk_id, sd_err *err);

/* ReplaceSystemDisk: a Stopped instance gets a new system disk from
 * image_id (encrypted as ecs_disk_spec decides: Encrypted, KMSKeyId, the
 * image's own encryption, the default); the old one is deleted.  R15's
 * last step.  The new disk's id into disk_id. */
SD_MUST_USE sd_code ecs_replace_system_disk(ecs *e, const ecs_caller *c, const char *instance_id,
                                            const char *image_id, int encrypted,
                                            const char *kms_key_id, char disk_id[ECS_ID_MAX],
                                            sd_err *err);

/* ---- images ---------------------------------------------------------------- */

typedef struct ecs_image {
    char image_id[ECS_ID_MAX];
    char region[64];
    char name[ECS_NAME_MAX];
    char description[ECS_DESC_MAX];
    char snapshot_id[ECS_ID_MAX]; /* the system disk's data */
    int64_t size_gib;
    bool encrypted;
    char kms_key_id[ECS_KEY_MAX];
    char source_image_id[ECS_ID_MAX]; /* "" unless a copy */
    int64_t created;
    char status[16]; /* Available, Creating (a copy in progress), CreateFailed */
    int progress;    /* percent */
} ecs_image;

/* From a snapshot (snapshot_id) or an instance's system disk (instance_id):
 * the image gets a snapshot of its own, sharing the data (O(1)) and the
 * source's encryption. */
SD_MUST_USE sd_code ecs_create_image(ecs *e, const ecs_caller *c, const char *snapshot_id,
                                     const char *instance_id, const char *name,
                                     const char *description, char image_id[ECS_ID_MAX],
                                     sd_err *err);
typedef void (*ecs_image_fn)(void *ctx, const ecs_image *i);
SD_MUST_USE sd_code ecs_list_images(ecs *e, const ecs_caller *c, ecs_image_fn fn, void *ctx,
                                    sd_err *err);
SD_MUST_USE sd_code ecs_delete_image(ecs *e, const ecs_caller *c, const char *image_id, bool force,
                                     sd_err *err);
/* R7: a copy in dest_region (NULL: this one) that is encrypted when asked,
 * when the source is, or by the region's default; under kms_key_id, else
 * the source's key, else the default or service key.  A same-key or plain
 * copy is an O(1) clone, Available at once; a new key (or a first
 * encryption) re-encrypts every data sector in the background: the image
 * is Creating with its progress until it is Available (or CreateFailed,
 * also after a restart).  The keys are checked and unwrapped before this
 * returns, so a refusal is the caller's. */
SD_MUST_USE sd_code ecs_copy_image(ecs *e, const ecs_caller *c, const char *image_id,
                                   const char *dest_region, const char *name,
                                   const char *description, int encrypted, const char *kms_key_id,
                                   char image_id_out[ECS_ID_MAX], sd_err *err);
/* An image from a raw or qcow2 file (qcow2 through qemu-img); encrypted
 * when the region's default encryption is on.  path is relative to the
 * account's own directory IMAGE_DIR/<account>/ (ecs_opts.image_dir): an
 * absolute path, a ".." component or a symlink leading out of it is
 * refused, so a tenant can never read the server's files or another
 * tenant's (403 OperationDenied when no image_dir is configured). */
SD_MUST_USE sd_code ecs_import_image(ecs *e, const ecs_caller *c, const char *path,
                                     const char *format, const char *name,
                                     char image_id[ECS_ID_MAX], sd_err *err);
/* Writes a plain image as a raw file (a new file, 0600) at path, relative
 * to the account's directory as for import.  Encrypted images are refused
 * (400 ImageNotSupported), as the contract says. */
SD_MUST_USE sd_code ecs_export_image(ecs *e, const ecs_caller *c, const char *image_id,
                                     const char *path, sd_err *err);

/* Shares an image with other accounts (add) or stops sharing (remove);
 * account ids, at most 10 each.  A recipient can make disks and instances
 * from it: an encrypted shared image gives the recipient a disk
 * re-encrypted under the recipient's KMSKeyId or service key, never the
 * owner's CMK (R4).  Unknown accounts: InvalidAccount.NotFound. */
SD_MUST_USE sd_code ecs_share_image(ecs *e, const ecs_caller *c, const char *image_id,
                                    const char *const *add, size_t n_add, const char *const *remove,
                                    size_t n_remove, sd_err *err);
typedef void (*ecs_share_fn)(void *ctx, const char *account, int64_t shared);
SD_MUST_USE sd_code ecs_list_image_shares(ecs *e, const ecs_caller *c, const char *image_id,
                                          ecs_share_fn fn, void *ctx, sd_err *err);
/* The images other accounts share with the caller. */
SD_MUST_USE sd_code ecs_list_shared_images(ecs *e, const ecs_caller *c, ecs_image_fn fn, void *ctx,
                                           sd_err *err);

/* ---- dependencies on a key (R12) ------------------------------------------- */

typedef void (*ecs_dep_fn)(void *ctx, const char *kind, const char *id, const char *status);
/* Disks, snapshots, encrypted images and instances (running or not: a
 * stopped one cannot start again) whose data depend on key (id, alias or
 * ARN); kind is "disk", "snapshot", "image" or "instance". */
SD_MUST_USE sd_code ecs_key_dependents(ecs *e, const ecs_caller *c, const char *key, ecs_dep_fn fn,
                                       void *ctx, sd_err *err);

#endif
