/* blk_int.h: what the files of src/block share.  Not for other modules. */
#ifndef SD_BLK_INT_H
#define SD_BLK_INT_H

#include <pthread.h>

#include "block/block.h"
#include "store/store.h"

#define BLK_LAYER_ID_LEN 32 /* hex characters of a random 128-bit id */

typedef char blk_layer_id[BLK_LAYER_ID_LEN + 1];

/* Names of disks open in this process, so that one disk never has two
 * writers (two in-memory maps would overwrite each other's bits). */
typedef struct blk_open_name {
    struct blk_open_name *next;
    char name[BLK_NAME_MAX + 1];
} blk_open_name;

/* A job for the helper: fn(ctx) runs on the caller and maybe the helper
 * at the same time, so fn shares out its work itself (blk_par.c). */
typedef void (*blk_job_fn)(void *ctx);

typedef struct blk_job {
    blk_job_fn fn;
    void *ctx;
    bool done; /* the helper returned from fn (mu) */
} blk_job;

/* The store's I/O helper thread (blk_par.c). */
typedef struct blk_helper {
    pthread_mutex_t mu;
    pthread_cond_t wake; /* to the helper: a job was posted, or stop */
    pthread_cond_t done; /* to callers: a running job is done */
    blk_job *slot;       /* posted and not yet taken */
    bool busy;           /* the helper is running a job */
    bool started;
    bool failed; /* the thread could not start: never try again */
    bool stop;
    bool ready; /* mu and the conds are initialised */
    pthread_t thread;
} blk_helper;

struct blk_store {
    pthread_mutex_t mu; /* serialises every use of db and of the open list */
    store *db;
    blk_backend *be;
    blk_open_name *open;
    blk_helper helper;
    int lock_fd; /* the local store's lock file (held with flock), or -1 */
    /* Every open handle (blk__chain_open), so a merge can find the ones
     * whose chain holds the layer it removes.  Lock order: mu, then a
     * disk's flush_mu, then its drain. */
    blk_disk *handles;
    /* The merge under way (blk_store.c, merge_layer), which copies data
     * without mu: its lower layer and child ("" when none), and the closed
     * disk whose top the child is ("" if none).  Under mu; merge_cv is
     * broadcast when it ends.  Whatever could change those layers waits
     * for it (blk__merge_wait): a removal or replace, an open, snapshot,
     * resize of that disk, a snapshot or close of the handle writing the
     * child. */
    blk_layer_id merge_lower;
    blk_layer_id merge_child;
    char merge_disk[BLK_NAME_MAX + 1];
    pthread_cond_t merge_cv;
};

/* Waits (mu held, released while waiting) until no merge is under way or,
 * with name or top not NULL, until none involves disk name or the layer
 * top. */
void blk__merge_wait(blk_store *bs, const char *name, const char *top);

/* Initialises h (no thread yet).  SD_E_INTERNAL if a lock cannot be made. */
SD_MUST_USE sd_code blk__helper_init(blk_helper *h, sd_err *err);
/* Stops and joins the thread, if it ran; no job may be in flight.  Accepts
 * a helper whose init failed or never ran (zeroed). */
void blk__helper_stop(blk_helper *h);
/* Runs fn(ctx) on the calling thread and, if the helper is idle, on the
 * helper at the same time; returns once both calls have returned.  Never
 * waits for the helper to become idle.  Thread-safe. */
void blk__par_run(blk_helper *h, blk_job_fn fn, void *ctx);

/* Backend objects of a layer. */
static inline const blk_backend_ops *blk__ops(const blk_store *bs)
{
    return bs->be->ops;
}
sd_code blk__obj_name(const char *layer, const char *suffix, char *out, size_t n, sd_err *err);
/* Creates the empty .data and .map objects of a fresh layer; id receives
 * its new random name. */
SD_MUST_USE sd_code blk__layer_create_objects(blk_store *bs, blk_layer_id id, sd_err *err);
/* Removes a layer's objects; missing ones are fine (a crash may have taken
 * them already). */
void blk__layer_remove_objects(blk_store *bs, const char *id);
/* Opens one object of a layer ("data" or "map"). */
SD_MUST_USE sd_code blk__layer_open(blk_store *bs, const char *id, const char *suffix, void **obj,
                                    sd_err *err);

/* Metadata of disk (or snapshot) name: the chain bottom-first in
 * (*ids)[0..*depth), an array the caller frees (free()).  SD_E_NOT_FOUND. */
SD_MUST_USE sd_code blk__chain_load(blk_store *bs, bool snapshot, const char *name, uint64_t *size,
                                    bool *encrypted, blk_layer_id **ids, unsigned *depth,
                                    sd_err *err);
/* Opens the chain ids[0..depth) as a disk of size bytes; claim, when not
 * NULL, is the disk name to mark open (SD_E_CONFLICT if it is).  Writes go
 * to ids[depth-1]: only open a snapshot's chain to read it. */
SD_MUST_USE sd_code blk__chain_open(blk_store *bs, const blk_layer_id *ids, unsigned depth,
                                    uint64_t size, bool encrypted, const sd_secret *dk,
                                    const char *claim, blk_disk **out, sd_err *err);
/* Merges (bs->mu held).  The handle in bs->handles whose top layer is
 * `top` and that writes it (a disk's), or NULL. */
blk_disk *blk__handle_with_top(blk_store *bs, const char *top);
/* Merges the layer just below d's top (whose objects are lower_map and
 * lower_data) into d's top, through d: every sector the top leaves
 * UNALLOCATED takes the lower layer's state, DATA with its bytes (raw:
 * the XTS tweak is the sector's index in the disk, so ciphertext moves as
 * it is).  Then flushes d: data before map, as every write.  Without
 * bs->mu: the merge has marked d's top (blk__merge_wait). */
SD_MUST_USE sd_code blk__disk_absorb(blk_disk *d, void *lower_map, void *lower_data, sd_err *err);
/* Drops layer id (merged into the layer above it) from the chain of every
 * handle in bs->handles that has it below its top. */
void blk__handles_drop_layer(blk_store *bs, const char *id);
/* Frees d without flushing it (a half-made copy being thrown away). */
void blk__disk_discard(blk_disk *d);
/* Sector classes of blk__disk_run. */
#define BLK_RUN_HOLE 0u
#define BLK_RUN_ZERO 1u
#define BLK_RUN_DATA 2u
/* The class of sector s of d and how many sectors from s up to end have
 * it (>= 1); cheap over never-written 64 MiB groups. */
uint64_t blk__disk_run(const blk_disk *d, uint64_t s, uint64_t end, unsigned *cls);
uint64_t blk__disk_sectors(const blk_disk *d);
bool blk__disk_encrypted(const blk_disk *d);
/* In one transaction: the flat layer id (objects made and durable) and
 * disk name naming it.  SD_E_CONFLICT if name exists. */
SD_MUST_USE sd_code blk__commit_flat(blk_store *bs, const char *name, const char *id, uint64_t size,
                                     bool encrypted, sd_err *err);
/* Marks name open; SD_E_CONFLICT if it already is. */
SD_MUST_USE sd_code blk__claim(blk_store *bs, const char *name, sd_err *err);
void blk__release(blk_store *bs, const char *name);

/* The metadata step of a snapshot (bs->mu held), in one transaction: disk's top old_top
 * becomes frozen, new_top (objects already created) becomes its child and
 * the disk's top, and snapshot snap names old_top. */
SD_MUST_USE sd_code blk__commit_snapshot(blk_store *bs, const char *disk, const char *old_top,
                                         const char *new_top, const char *snap, sd_err *err);

#endif
