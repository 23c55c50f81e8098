/* blk_store.c: the block store's metadata: disks, snapshots, layer chains.
 *
 * Invariants (tables in schema 020_block.sql):
 *   1. Every disk names a top layer; every snapshot names a frozen layer;
 *      every layer's parent is frozen.  A disk's chain is its top and the
 *      parents below it, at most BLK_MAX_DEPTH long.
 *   2. A layer lives while any disk, snapshot or child layer names it; the
 *      transaction that drops the last reference deletes its row
 *      (release_layers), and its objects are removed after the commit.  A
 *      crash in between leaves orphan objects, never a row without objects.
 *   3. A layer's objects are created (and durable) before the transaction
 *      that first names it commits.  So objects no row names are a crash's
 *      leftovers, or a job's still under way: blk_store_gc removes them
 *      only when the store is idle (at open, under the directory's lock).
 * Transitions:
 *   nothing -> top layer of a disk          blk_disk_create, blk_disk_clone
 *   nothing -> flat layer of a disk         blk__commit_flat (copy, import)
 *   top layer -> frozen layer of a snapshot blk__commit_snapshot,
 *                                           blk_snapshot_create
 *   disk (and its top layer) grows          blk_disk_resize
 *   referenced -> deleted                   blk_disk_remove, blk_snapshot_remove
 *   only a child's background -> merged     merge_layer (after a removal, and
 *     into that child                       at open: merge_all) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/file.h>

#include "block/blk_int.h"
#include "crypto/crypto.h"

sd_code blk__obj_name(const char *layer, const char *suffix, char *out, size_t n, sd_err *err)
{
    sd_code rc = SD_OK;
    int k = snprintf(out, n, "%s.%s", layer, suffix);

    SD_ENSURE(k > 0 && (size_t)k < n, err, SD_E_INTERNAL, "object name too long");
out:
    return rc;
}

sd_code blk__layer_open(blk_store *bs, const char *id, const char *suffix, void **obj, sd_err *err)
{
    sd_code rc = SD_OK;
    char name[BLK_OBJ_NAME_MAX + 1];

    SD_TRY(blk__obj_name(id, suffix, name, sizeof name, err));
    SD_TRY(blk__ops(bs)->open(bs->be->h, name, 0, obj, err));
out:
    return rc;
}

sd_code blk__layer_create_objects(blk_store *bs, blk_layer_id id, sd_err *err)
{
    static const char *const suffixes[] = {"data", "map"};
    static const char hex[] = "0123456789abcdef";
    sd_code rc = SD_OK;
    uint8_t raw[BLK_LAYER_ID_LEN / 2];
    size_t made = 0;

    SD_TRY(crypto_rng_fill(raw, sizeof raw, err));
    for (size_t i = 0; i < sizeof raw; i++) {
        id[2 * i] = hex[raw[i] >> 4];
        id[2 * i + 1] = hex[raw[i] & 15];
    }
    id[BLK_LAYER_ID_LEN] = '\0';
    for (; made < 2; made++) {
        char name[BLK_OBJ_NAME_MAX + 1];
        void *obj = NULL;
        SD_TRY(blk__obj_name(id, suffixes[made], name, sizeof name, err));
        SD_TRY(blk__ops(bs)->open(bs->be->h, name, BLK_OBJ_CREATE, &obj, err));
        blk__ops(bs)->close(obj);
    }
out:
    if (rc != SD_OK && made > 0) {
        blk__layer_remove_objects(bs, id);
    }
    return rc;
}

void blk__layer_remove_objects(blk_store *bs, const char *id)
{
    static const char *const suffixes[] = {"data", "map"};

    for (size_t i = 0; i < 2; i++) {
        char name[BLK_OBJ_NAME_MAX + 1];
        sd_err e = SD_ERR_INIT;
        if (blk__obj_name(id, suffixes[i], name, sizeof name, NULL) != SD_OK) {
            continue;
        }
        sd_code rc = blk__ops(bs)->remove(bs->be->h, name, &e);
        if (rc != SD_OK && rc != SD_E_NOT_FOUND) {
            /* An orphan object wastes space but names nothing: log and go on. */
            sd_log(SD_LOG_WARN, "blk", "cannot remove object: name=%s reason=\"%s\"", name, e.msg);
        }
    }
}

/* ---- small SQL helpers (bs->mu held) ------------------------------------ */

/* One layer id: a parent, a child, a candidate for merging. */
typedef struct layer_row {
    blk_layer_id id;
} layer_row;

static const store_col layer_cols[] = {STORE_COL(layer_row, id)};

/* Parent of layer id into parent ("" for a base layer).  SD_E_NOT_FOUND. */
static sd_code layer_parent(blk_store *bs, const char *id, blk_layer_id parent, sd_err *err)
{
    sd_code rc = SD_OK;
    bool row = false;
    layer_row r;

    SD_TRY(store_query_one(bs->db, "SELECT parent FROM blk_layers WHERE id = ?",
                           STORE_ARGS(STORE_TEXT(id)), STORE_COLS(layer_cols), &r, &row, err));
    SD_ENSURE(row, err, SD_E_INTERNAL, "layer %s is missing from the chain", id);
    memcpy(parent, r.id, sizeof r.id);
out:
    return rc;
}

/* Depth of the chain whose top is id. */
static sd_code chain_depth(blk_store *bs, const char *id, unsigned *depth, sd_err *err)
{
    sd_code rc = SD_OK;
    blk_layer_id cur;

    *depth = 0;
    (void)snprintf(cur, sizeof cur, "%s", id);
    while (cur[0] != '\0') {
        SD_ENSURE(*depth < BLK_MAX_DEPTH, err, SD_E_INTERNAL, "layer chain too deep");
        (*depth)++;
        SD_TRY(layer_parent(bs, cur, cur, err));
    }
out:
    return rc;
}

/* Deletes the rows of layers from id downwards that nothing refers to any
 * more; their ids go to gone[0..*ngone) (BLK_MAX_DEPTH entries, from
 * new_gone) for object removal after commit,
 * and the first layer still referred to (or "") to stop. */
static sd_code release_layers(blk_store *bs, const char *id, blk_layer_id *gone, unsigned *ngone,
                              blk_layer_id stop, sd_err *err)
{
    sd_code rc = SD_OK;
    blk_layer_id cur;

    stop[0] = '\0';
    (void)snprintf(cur, sizeof cur, "%s", id);
    while (cur[0] != '\0' && *ngone < BLK_MAX_DEPTH) {
        int64_t refs = 0;
        int64_t n = 0;
        blk_layer_id parent;
        SD_TRY(store_count(bs->db, "SELECT count(*) FROM blk_disks WHERE top = ?",
                           STORE_ARGS(STORE_TEXT(cur)), &n, err));
        refs += n;
        SD_TRY(store_count(bs->db, "SELECT count(*) FROM blk_snapshots WHERE layer = ?",
                           STORE_ARGS(STORE_TEXT(cur)), &n, err));
        refs += n;
        SD_TRY(store_count(bs->db, "SELECT count(*) FROM blk_layers WHERE parent = ?",
                           STORE_ARGS(STORE_TEXT(cur)), &n, err));
        refs += n;
        if (refs > 0) {
            (void)snprintf(stop, sizeof(blk_layer_id), "%s", cur);
            break;
        }
        SD_TRY(layer_parent(bs, cur, parent, err));
        SD_TRY(store_run(bs->db, "DELETE FROM blk_layers WHERE id = ?", STORE_ARGS(STORE_TEXT(cur)),
                         err));
        (void)snprintf(gone[(*ngone)++], sizeof(blk_layer_id), "%s", cur);
        (void)snprintf(cur, sizeof cur, "%s", parent);
    }
out:
    return rc;
}

/* ---- merges ---------------------------------------------------------------- *
 *
 * A layer that no disk or snapshot names and that exactly one child layer
 * sits on is only that child's background: it is merged into the child,
 * so chains stay short however many snapshots a disk takes and deletes
 * over its life.  In three steps, each crash-safe; bs->mu is released
 * for step 1, the data copy, so a big merge stalls no other disk.  The
 * merge marks its layers (bs->merge_lower, merge_child, merge_disk) and
 * whatever could change them waits (blk__merge_wait): removals and
 * replaces (so merges run one at a time), the open, snapshot and resize
 * of the closed disk whose top is the child, and the snapshot and close
 * of the handle that writes it.  Readers of a chain that holds both
 * layers meanwhile are right either way (the child takes only the bytes
 * the chain resolved to):
 *   1. absorb: every sector the child leaves UNALLOCATED takes the lower
 *      layer's state, DATA with its bytes (raw ciphertext: the XTS tweak is
 *      the sector's index in the disk), data made durable before the map
 *      that claims it.  A crash here leaves the child holding some of the
 *      lower layer's sectors, the same bytes the chain resolved to anyway.
 *      Through the disk's open handle when the child is an open disk's top
 *      (blk__disk_absorb: under its stripes, so the guest's writes win);
 *      on the objects otherwise (the child is frozen, or the top of a
 *      closed disk, which nobody opens until the merge ends).
 *   2. (bs->mu again) one transaction: the child's parent becomes the lower layer's
 *      parent and the lower layer's row goes.
 *   3. open handles drop the layer from their chains (blk__handles_drop_
 *      layer), and its objects are removed.  A crash before that leaves
 *      orphan objects, which the next open reclaims.
 * A merge cut short is done again at the next open (merge_all). */

#define MERGE_PAGES 64u /* map pages per step of an object merge */

/* One span of map bytes (lp: the lower layer's, cp: the child's, len
 * bytes from map offset off).  Pass 0 copies the DATA sectors the child
 * leaves UNALLOCATED; pass 1 sets their states in cp (*changed if any). */
static sd_code absorb_span(blk_store *bs, int pass, const uint8_t *lp, uint8_t *cp, size_t len,
                           uint64_t off, void *ldata, void *cdata, uint8_t *sec, bool *changed,
                           sd_err *err)
{
    sd_code rc = SD_OK;
    const blk_backend_ops *o = blk__ops(bs);

    for (size_t b = 0; b < len; b++) {
        for (unsigned j = 0; j < 4 && lp[b] != 0; j++) {
            unsigned sh = j * 2;
            unsigned lv = (lp[b] >> sh) & 3u;
            uint64_t at = ((off + b) * 4 + j) * BLK_SECTOR;
            if (lv == 0 || ((cp[b] >> sh) & 3u) != 0) {
                continue;
            }
            if (pass == 1) {
                cp[b] = (uint8_t)(cp[b] | (lv << sh));
                *changed = true;
            } else if (lv == 1) { /* DATA */
                SD_TRY(o->pread(ldata, sec, BLK_SECTOR, at, err));
                SD_TRY(o->pwrite(cdata, sec, BLK_SECTOR, at, err));
            }
        }
    }
out:
    return rc;
}

/* Step 1 for a child that no open handle writes: data pass, sync, map
 * pass, sync. */
static sd_code absorb_objects(blk_store *bs, void *lmap, void *ldata, void *cmap, void *cdata,
                              sd_err *err)
{
    sd_code rc = SD_OK;
    const blk_backend_ops *o = blk__ops(bs);
    size_t chunk = (size_t)MERGE_PAGES * 4096u;
    uint8_t *lp = malloc(chunk);
    uint8_t *cp = malloc(chunk);
    uint8_t *sec = malloc(BLK_SECTOR);
    uint64_t lsize = 0;

    SD_ENSURE(lp != NULL && cp != NULL && sec != NULL, err, SD_E_NOMEM, "out of memory");
    SD_TRY(o->size(lmap, &lsize, err));
    for (int pass = 0; pass < 2; pass++) {
        for (uint64_t off = 0; off < lsize; off += chunk) {
            size_t len = lsize - off < chunk ? (size_t)(lsize - off) : chunk;
            bool changed = false;
            SD_TRY(o->pread(lmap, lp, len, off, err));
            SD_TRY(o->pread(cmap, cp, len, off, err));
            SD_TRY(absorb_span(bs, pass, lp, cp, len, off, ldata, cdata, sec, &changed, err));
            if (changed) {
                SD_TRY(o->pwrite(cmap, cp, len, off, err));
            }
        }
        /* data durable before the map that claims it (blk_disk.c invariant 2) */
        SD_TRY(o->sync(pass == 0 ? cdata : cmap, err));
        SD_ENSURE(pass == 1 || !SD_FAULT("blk.merge.absorbed"), err, SD_E_IO,
                  "merge: injected fault");
    }
out:
    free(lp);
    free(cp);
    free(sec);
    return rc;
}

void blk__merge_wait(blk_store *bs, const char *name, const char *top)
{
    for (;;) {
        bool busy = bs->merge_lower[0] != '\0';
        if (busy && (name != NULL || top != NULL)) {
            busy = (name != NULL && strcmp(bs->merge_disk, name) == 0) ||
                   (top != NULL && strcmp(bs->merge_child, top) == 0);
        }
        if (!busy) {
            return;
        }
        pthread_cond_wait(&bs->merge_cv, &bs->mu);
    }
}

/* The disk whose top is layer id into name ("" if none: a frozen layer). */
static sd_code disk_with_top(blk_store *bs, const char *id, char name[BLK_NAME_MAX + 1],
                             sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;
    bool row = false;

    name[0] = '\0';
    SD_TRY(store_prepare(bs->db, "SELECT name FROM blk_disks WHERE top = ?", &st, err));
    SD_TRY(store_bind_text(st, 1, id, err));
    SD_TRY(store_step(st, &row, err));
    if (row) {
        (void)snprintf(name, BLK_NAME_MAX + 1, "%s", store_col_text(st, 0));
    }
out:
    store_stmt_free(st);
    return rc;
}

/* Step 1 of a merge, without bs->mu (blk__merge_wait keeps the layers
 * still): lower's sectors into child, through h when it is not NULL. */
static sd_code absorb(blk_store *bs, blk_disk *h, const char *lower, const char *child, void **lmap,
                      void **ldata, sd_err *err)
{
    sd_code rc = SD_OK;
    void *cmap = NULL;
    void *cdata = NULL;

    SD_TRY(blk__layer_open(bs, lower, "map", lmap, err));
    SD_TRY(blk__layer_open(bs, lower, "data", ldata, err));
    if (h != NULL) {
        SD_TRY(blk__disk_absorb(h, *lmap, *ldata, err));
    } else {
        SD_TRY(blk__layer_open(bs, child, "map", &cmap, err));
        SD_TRY(blk__layer_open(bs, child, "data", &cdata, err));
        SD_TRY(absorb_objects(bs, *lmap, *ldata, cmap, cdata, err));
    }
out:
    if (cmap != NULL) {
        blk__ops(bs)->close(cmap);
    }
    if (cdata != NULL) {
        blk__ops(bs)->close(cdata);
    }
    return rc;
}

/* Merges layer lower into child, its only referrer (bs->mu held on entry
 * and return, released while the data move: a big merge must not stall
 * every other disk's open and snapshot). */
static sd_code merge_layer(blk_store *bs, const char *lower, const char *child, sd_err *err)
{
    sd_code rc = SD_OK;
    void *lmap = NULL;
    void *ldata = NULL;
    bool in_tx = false;
    bool marked = false;
    blk_disk *h = blk__handle_with_top(bs, child);

    /* A closed disk whose top is child must stay closed (an open handle
     * would write the child under the absorb); h's own disk is claimed. */
    if (h == NULL) {
        SD_TRY(disk_with_top(bs, child, bs->merge_disk, err));
    }
    (void)snprintf(bs->merge_lower, sizeof bs->merge_lower, "%s", lower);
    (void)snprintf(bs->merge_child, sizeof bs->merge_child, "%s", child);
    marked = true;
    pthread_mutex_unlock(&bs->mu);
    rc = absorb(bs, h, lower, child, &lmap, &ldata, err);
    pthread_mutex_lock(&bs->mu);
    SD_TRY(rc);
    SD_ENSURE(!SD_FAULT("blk.merge.synced"), err, SD_E_IO, "merge: injected fault");
    SD_TRY(store_begin(bs->db, err));
    in_tx = true;
    SD_TRY(store_run(bs->db,
                     "UPDATE blk_layers SET parent = (SELECT parent FROM blk_layers WHERE id = ?) "
                     "WHERE id = ?",
                     STORE_ARGS(STORE_TEXT(lower), STORE_TEXT(child)), err));
    SD_TRY(store_run(bs->db, "DELETE FROM blk_layers WHERE id = ?", STORE_ARGS(STORE_TEXT(lower)),
                     err));
    SD_TRY(store_commit(bs->db, err));
    in_tx = false;
    blk__handles_drop_layer(bs, lower);
    SD_ENSURE(!SD_FAULT("blk.merge.committed"), err, SD_E_IO, "merge: injected fault");
    blk__ops(bs)->close(lmap);
    blk__ops(bs)->close(ldata);
    lmap = NULL;
    ldata = NULL;
    blk__layer_remove_objects(bs, lower);
out:
    if (in_tx) {
        store_rollback(bs->db);
    }
    if (marked) {
        bs->merge_lower[0] = '\0';
        bs->merge_child[0] = '\0';
        bs->merge_disk[0] = '\0';
        pthread_cond_broadcast(&bs->merge_cv);
    }
    if (lmap != NULL) {
        blk__ops(bs)->close(lmap);
    }
    if (ldata != NULL) {
        blk__ops(bs)->close(ldata);
    }
    return rc;
}

/* The only child of layer id if nothing else refers to it: the layer is
 * then only that child's background.  "" otherwise. */
static sd_code lone_child(blk_store *bs, const char *id, blk_layer_id child, sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;
    bool row = false;
    int64_t n = 0;
    layer_row r;

    child[0] = '\0';
    SD_TRY(store_count(bs->db, "SELECT count(*) FROM blk_disks WHERE top = ?",
                       STORE_ARGS(STORE_TEXT(id)), &n, err));
    if (n > 0) {
        goto out;
    }
    SD_TRY(store_count(bs->db, "SELECT count(*) FROM blk_snapshots WHERE layer = ?",
                       STORE_ARGS(STORE_TEXT(id)), &n, err));
    if (n > 0) {
        goto out;
    }
    SD_TRY(store_query(bs->db, "SELECT id FROM blk_layers WHERE parent = ? LIMIT 2",
                       STORE_ARGS(STORE_TEXT(id)), &st, err));
    SD_TRY(store_next(st, STORE_COLS(layer_cols), &r, &row, err));
    if (!row) {
        goto out;
    }
    memcpy(child, r.id, sizeof r.id);
    SD_TRY(store_next(st, STORE_COLS(layer_cols), &r, &row, err));
    if (row) {
        child[0] = '\0'; /* two children share it: it stays */
    }
out:
    store_stmt_free(st);
    return rc;
}

/* After a removal that left layer id referred to (bs->mu held): merges it
 * into its child if that child is now its only referrer.  The removal has
 * committed and stands: a merge that fails is logged and done again at
 * the next open. */
static void merge_if_alone(blk_store *bs, const char *id)
{
    blk_layer_id child;
    sd_err e = SD_ERR_INIT;

    if (id[0] == '\0') {
        return;
    }
    if (lone_child(bs, id, child, &e) == SD_OK && child[0] == '\0') {
        return;
    }
    if (e.code == SD_OK && merge_layer(bs, id, child, &e) == SD_OK) {
        return;
    }
    sd_log(SD_LOG_WARN, "blk", "merge deferred to the next open: layer=%s reason=\"%s\"", id,
           e.msg);
}

/* At open: merges every layer that is only its child's background (what
 * a merge cut short by a crash, or an older version, left). */
static sd_code merge_all(blk_store *bs, uint64_t *merged, sd_err *err)
{
    sd_code rc = SD_OK;
    bool row = false;

    *merged = 0;
    pthread_mutex_lock(&bs->mu);
    for (;;) {
        layer_row r;
        const char *id = r.id;
        blk_layer_id child;
        SD_TRY(store_query_one(bs->db,
                               "SELECT l.id FROM blk_layers l WHERE "
                               "NOT EXISTS (SELECT 1 FROM blk_disks WHERE top = l.id) AND "
                               "NOT EXISTS (SELECT 1 FROM blk_snapshots WHERE layer = l.id) AND "
                               "(SELECT count(*) FROM blk_layers c WHERE c.parent = l.id) = 1 "
                               "LIMIT 1",
                               STORE_NO_ARGS, STORE_COLS(layer_cols), &r, &row, err));
        if (!row) {
            break;
        }
        SD_TRY(lone_child(bs, id, child, err));
        SD_ENSURE(child[0] != '\0', err, SD_E_INTERNAL, "layer %s has no lone child", id);
        SD_TRY(merge_layer(bs, id, child, err));
        (*merged)++;
    }
out:
    pthread_mutex_unlock(&bs->mu);
    return rc;
}

/* ---- the store ------------------------------------------------------------ */

sd_code blk_store_open(const char *db_path, blk_backend **be, blk_store **out, sd_err *err)
{
    sd_code rc = SD_OK;
    blk_store *bs = NULL;

    *out = NULL;
    bs = calloc(1, sizeof *bs);
    SD_ENSURE(bs != NULL, err, SD_E_NOMEM, "out of memory");
    bs->lock_fd = -1;
    bs->be = *be;
    *be = NULL;
    SD_ENSURE(pthread_mutex_init(&bs->mu, NULL) == 0, err, SD_E_INTERNAL, "mutex init");
    SD_ENSURE(pthread_cond_init(&bs->merge_cv, NULL) == 0, err, SD_E_INTERNAL, "cond init");
    SD_TRY(blk__helper_init(&bs->helper, err));
    SD_TRY(store_open_sqlite(db_path, &bs->db, err));
    *out = bs;
    bs = NULL;
out:
    if (bs != NULL) {
        blk__helper_stop(&bs->helper);
        blk_backend_free(bs->be);
        store_close(bs->db);
        free(bs);
    }
    blk_backend_free(*be);
    *be = NULL;
    return rc;
}

/* Takes dir's lock file for this process (flock, released when the
 * descriptor closes, so also when the process dies).  ".lock": object
 * names never start with a dot, so it is no object. */
static sd_code lock_dir(const char *dir, int *fd, sd_err *err)
{
    sd_code rc = SD_OK;
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/.lock", dir);

    *fd = -1;
    SD_ENSURE(n > 0 && (size_t)n < sizeof path, err, SD_E_INVALID, "directory path too long");
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    SD_ENSURE(*fd >= 0, err, sd_errno_kind(errno), "cannot open %s: %s", path,
              strerrordesc_np(errno));
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(*fd);
        *fd = -1;
        SD_ENSURE(e != EWOULDBLOCK, err, SD_E_CONFLICT,
                  "the block store in %s is in use by another process (a running server?)", dir);
        SD_FAIL(err, SD_E_IO, "cannot lock %s: %s", path, strerrordesc_np(e));
    }
out:
    return rc;
}

static sd_code open_local(const char *dir, bool reclaim, blk_store **out, sd_err *err)
{
    sd_code rc = SD_OK;
    blk_backend *be = NULL;
    char db[4096];
    int n = snprintf(db, sizeof db, "%s/block.db", dir);
    int fd = -1;
    uint64_t gone = 0;

    *out = NULL;
    SD_ENSURE(n > 0 && (size_t)n < sizeof db, err, SD_E_INVALID, "directory path too long");
    SD_TRY(lock_dir(dir, &fd, err));
    SD_TRY(blk_backend_local(dir, &be, err));
    SD_TRY(blk_store_open(db, &be, out, err));
    (*out)->lock_fd = fd;
    fd = -1;
    if (reclaim) {
        uint64_t merged = 0;
        /* Nothing runs in this store yet: every unnamed object is a crash's. */
        rc = merge_all(*out, &merged, err);
        if (rc == SD_OK) {
            rc = blk_store_gc(*out, false, NULL, NULL, &gone, err);
        }
        if (merged > 0) {
            sd_log(SD_LOG_INFO, "blk", "merged lone layers: dir=%s count=%llu", dir,
                   (unsigned long long)merged);
        }
        if (rc != SD_OK) {
            blk_store_close(*out);
            *out = NULL;
            goto out;
        }
        if (gone > 0) {
            sd_log(SD_LOG_INFO, "blk", "reclaimed orphan objects: dir=%s count=%llu", dir,
                   (unsigned long long)gone);
        }
    }
out:
    if (fd >= 0) {
        close(fd);
    }
    blk_backend_free(be);
    return rc;
}

sd_code blk_store_open_local(const char *dir, blk_store **out, sd_err *err)
{
    return open_local(dir, true, out, err);
}

void blk_store_close(blk_store *bs)
{
    if (bs == NULL) {
        return;
    }
    blk__helper_stop(&bs->helper); /* every disk is closed: no job is in flight */
    store_close(bs->db);
    blk_backend_free(bs->be);
    while (bs->open != NULL) {
        blk_open_name *n = bs->open;
        bs->open = n->next;
        free(n);
    }
    if (bs->lock_fd >= 0) {
        close(bs->lock_fd); /* after the database: the lock covers it too */
    }
    pthread_cond_destroy(&bs->merge_cv);
    pthread_mutex_destroy(&bs->mu);
    free(bs);
}

/* ---- orphan objects ----------------------------------------------------- */

typedef struct orphan {
    char name[BLK_OBJ_NAME_MAX + 1];
    uint64_t bytes;
} orphan;

typedef struct orphan_list {
    orphan *v;
    size_t n;
    size_t cap;
} orphan_list;

/* Whether name is "<32 lower-case hex>.data" or ".map": the shape of every
 * object the store makes (blk__layer_create_objects), and nothing else. */
static bool layer_object(const char *name)
{
    size_t i = 0;

    for (; i < BLK_LAYER_ID_LEN; i++) {
        char c = name[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return strcmp(name + i, ".data") == 0 || strcmp(name + i, ".map") == 0;
}

static sd_code collect_object(void *ctx, const char *name, uint64_t bytes, sd_err *err)
{
    sd_code rc = SD_OK;
    orphan_list *l = ctx;

    if (!layer_object(name)) {
        goto out;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap == 0 ? 64 : l->cap * 2;
        orphan *v = realloc(l->v, cap * sizeof *v);
        SD_ENSURE(v != NULL, err, SD_E_NOMEM, "out of memory");
        l->v = v;
        l->cap = cap;
    }
    (void)snprintf(l->v[l->n].name, sizeof l->v[l->n].name, "%s", name);
    l->v[l->n].bytes = bytes;
    l->n++;
out:
    return rc;
}

sd_code blk_store_gc(blk_store *bs, bool dry_run, blk_orphan_fn fn, void *ctx, uint64_t *count,
                     sd_err *err)
{
    sd_code rc = SD_OK;
    orphan_list l = {0};
    uint64_t found = 0;

    if (count != NULL) {
        *count = 0;
    }
    pthread_mutex_lock(&bs->mu);
    SD_TRY(blk__ops(bs)->list(bs->be->h, collect_object, &l, err));
    for (size_t i = 0; i < l.n; i++) {
        blk_layer_id id;
        int64_t rows = 0;
        memcpy(id, l.v[i].name, BLK_LAYER_ID_LEN);
        id[BLK_LAYER_ID_LEN] = '\0';
        SD_TRY(store_count(bs->db, "SELECT count(*) FROM blk_layers WHERE id = ?",
                           STORE_ARGS(STORE_TEXT(id)), &rows, err));
        if (rows > 0) {
            continue;
        }
        found++;
        if (fn != NULL) {
            fn(ctx, l.v[i].name, l.v[i].bytes);
        }
        if (!dry_run) {
            sd_err e = SD_ERR_INIT;
            rc = blk__ops(bs)->remove(bs->be->h, l.v[i].name, &e);
            SD_ENSURE(rc == SD_OK || rc == SD_E_NOT_FOUND, err, rc, "cannot remove %s: %s",
                      l.v[i].name, e.msg);
            rc = SD_OK;
        }
    }
    if (count != NULL) {
        *count = found;
    }
out:
    pthread_mutex_unlock(&bs->mu);
    free(l.v);
    return rc;
}

sd_code blk_store_gc_local(const char *dir, bool dry_run, blk_orphan_fn fn, void *ctx,
                           uint64_t *count, sd_err *err)
{
    sd_code rc = SD_OK;
    blk_store *bs = NULL;

    SD_TRY(open_local(dir, false, &bs, err));
    SD_TRY(blk_store_gc(bs, dry_run, fn, ctx, count, err));
out:
    blk_store_close(bs);
    return rc;
}

sd_code blk_store_layer_count(blk_store *bs, int64_t *out, sd_err *err)
{
    sd_code rc;

    pthread_mutex_lock(&bs->mu);
    rc = store_count(bs->db, "SELECT count(*) FROM blk_layers", STORE_NO_ARGS, out, err);
    pthread_mutex_unlock(&bs->mu);
    return rc;
}

sd_code blk__claim(blk_store *bs, const char *name, sd_err *err)
{
    sd_code rc = SD_OK;
    blk_open_name *n = NULL;

    pthread_mutex_lock(&bs->mu);
    blk__merge_wait(bs, name, NULL); /* its top is being merged into */
    for (blk_open_name *o = bs->open; o != NULL; o = o->next) {
        SD_ENSURE(strcmp(o->name, name) != 0, err, SD_E_CONFLICT, "disk %s is already open", name);
    }
    n = calloc(1, sizeof *n);
    SD_ENSURE(n != NULL, err, SD_E_NOMEM, "out of memory");
    (void)snprintf(n->name, sizeof n->name, "%s", name);
    n->next = bs->open;
    bs->open = n;
out:
    pthread_mutex_unlock(&bs->mu);
    return rc;
}

void blk__release(blk_store *bs, const char *name)
{
    pthread_mutex_lock(&bs->mu);
    for (blk_open_name **p = &bs->open; *p != NULL; p = &(*p)->next) {
        if (strcmp((*p)->name, name) == 0) {
            blk_open_name *n = *p;
            *p = n->next;
            free(n);
            break;
        }
    }
    pthread_mutex_unlock(&bs->mu);
}

static bool is_open(blk_store *bs, const char *name)
{
    for (blk_open_name *o = bs->open; o != NULL; o = o->next) {
        if (strcmp(o->name, name) == 0) {
            return true;
        }
    }
    return false;
}

/* ---- disks and snapshots -------------------------------------------------- */

/* In one transaction: layer id (objects already made) over parent ("" for
 * none) and disk name whose top it is. */
static sd_code insert_disk(blk_store *bs, const char *name, const char *id, const char *parent,
                           uint64_t size, bool encrypted, sd_err *err)
{
    sd_code rc = SD_OK;
    bool in_tx = false;
    int64_t sz = (int64_t)size;
    int64_t enc = encrypted ? 1 : 0;

    SD_TRY(store_begin(bs->db, err));
    in_tx = true;
    SD_TRY(store_run(
        bs->db, "INSERT INTO blk_layers (id, parent, size) VALUES (?, ?, ?)",
        STORE_ARGS(STORE_TEXT(id), STORE_TEXT(parent[0] != '\0' ? parent : NULL), STORE_INT(sz)),
        err));
    SD_TRY(store_run(
        bs->db, "INSERT INTO blk_disks (name, top, size, encrypted) VALUES (?, ?, ?, ?)",
        STORE_ARGS(STORE_TEXT(name), STORE_TEXT(id), STORE_INT(sz), STORE_INT(enc)), err));
    SD_TRY(store_commit(bs->db, err));
    in_tx = false;
out:
    if (in_tx) {
        store_rollback(bs->db);
    }
    return rc;
}

/* A new top layer over parent ("" for none) and a disk naming it. */
static sd_code new_disk(blk_store *bs, const char *name, const char *parent, uint64_t size,
                        bool encrypted, sd_err *err)
{
    sd_code rc = SD_OK;
    blk_layer_id id;
    bool made = false;

    SD_TRY(blk__layer_create_objects(bs, id, err));
    made = true;
    SD_TRY(insert_disk(bs, name, id, parent, size, encrypted, err));
    made = false;
out:
    if (made) {
        blk__layer_remove_objects(bs, id);
    }
    return rc;
}

sd_code blk__commit_flat(blk_store *bs, const char *name, const char *id, uint64_t size,
                         bool encrypted, sd_err *err)
{
    sd_code rc = SD_OK;

    pthread_mutex_lock(&bs->mu);
    SD_ENSURE(sd_name_ok(name, BLK_NAME_MAX), err, SD_E_INVALID, "bad disk name");
    SD_TRY(insert_disk(bs, name, id, "", size, encrypted, err));
out:
    pthread_mutex_unlock(&bs->mu);
    return rc;
}

sd_code blk_disk_create(blk_store *bs, const char *name, uint64_t size, bool encrypted, sd_err *err)
{
    sd_code rc = SD_OK;

    pthread_mutex_lock(&bs->mu);
    SD_ENSURE(sd_name_ok(name, BLK_NAME_MAX), err, SD_E_INVALID, "bad disk name");
    SD_ENSURE(size > 0 && size % BLK_SECTOR == 0 && size <= BLK_MAX_SIZE, err, SD_E_INVALID,
              "disk size %llu is not a positive multiple of %u up to %llu",
              (unsigned long long)size, BLK_SECTOR, (unsigned long long)BLK_MAX_SIZE);
    SD_TRY(new_disk(bs, name, "", size, encrypted, err));
out:
    pthread_mutex_unlock(&bs->mu);
    return rc;
}

/* Reads size and encryption of row name in disks or snapshots; the layer
 * it names into layer (may be NULL). */
static sd_code read_row(blk_store *bs, bool snapshot, const char *name, uint64_t *size,
                        bool *encrypted, char *layer, sd_err *err)
{
    typedef struct disk_row {
        blk_layer_id layer;
        uint64_t size;
        bool encrypted;
    } disk_row;
    static const store_col cols[] = {
        STORE_COL(disk_row, layer),
        STORE_COL(disk_row, size),
        STORE_COL(disk_row, encrypted),
    };
    sd_code rc = SD_OK;
    bool row = false;
    disk_row r;
    const char *sql = snapshot ? "SELECT layer, size, encrypted FROM blk_snapshots WHERE name = ?"
                               : "SELECT top, size, encrypted FROM blk_disks WHERE name = ?";

    SD_ENSURE(sd_name_ok(name, BLK_NAME_MAX), err, SD_E_INVALID, "bad name");
    SD_TRY(store_query_one(bs->db, sql, STORE_ARGS(STORE_TEXT(name)), STORE_COLS(cols), &r, &row,
                           err));
    SD_ENSURE(row, err, SD_E_NOT_FOUND, "%s %s does not exist", snapshot ? "snapshot" : "disk",
              name);
    if (layer != NULL) {
        memcpy(layer, r.layer, sizeof r.layer);
    }
    if (size != NULL) {
        *size = r.size;
    }
    if (encrypted != NULL) {
        *encrypted = r.encrypted;
    }
out:
    return rc;
}

sd_code blk_disk_info(blk_store *bs, const char *name, uint64_t *size, bool *encrypted, sd_err *err)
{
    sd_code rc = SD_OK;

    pthread_mutex_lock(&bs->mu);
    SD_TRY(read_row(bs, false, name, size, encrypted, NULL, err));
out:
    pthread_mutex_unlock(&bs->mu);
    return rc;
}

sd_code blk_snapshot_info(blk_store *bs, const char *snap, uint64_t *size, bool *encrypted,
                          sd_err *err)
{
    sd_code rc = SD_OK;

    pthread_mutex_lock(&bs->mu);
    SD_TRY(read_row(bs, true, snap, size, encrypted, NULL, err));
out:
    pthread_mutex_unlock(&bs->mu);
    return rc;
}

sd_code blk_disk_clone(blk_store *bs, const char *snap, const char *name, sd_err *err)
{
    sd_code rc = SD_OK;
    blk_layer_id layer;
    uint64_t size = 0;
    bool enc = false;
    unsigned depth = 0;

    pthread_mutex_lock(&bs->mu);
    SD_ENSURE(sd_name_ok(name, BLK_NAME_MAX), err, SD_E_INVALID, "bad disk name");
    SD_TRY(read_row(bs, true, snap, &size, &enc, layer, err));
    SD_TRY(chain_depth(bs, layer, &depth, err));
    /* A clone's snapshots need room above its base (BLK_MAX_DEPTH). */
    SD_ENSURE(depth <= BLK_MAX_BASE, err, SD_E_CONFLICT,
              "snapshot %s is %u layers deep: a clone takes at most %u", snap, depth, BLK_MAX_BASE);
    SD_TRY(new_disk(bs, name, layer, size, enc, err));
out:
    pthread_mutex_unlock(&bs->mu);
    return rc;
}

sd_code blk_disk_resize(blk_store *bs, const char *name, uint64_t new_size, sd_err *err)
{
    sd_code rc = SD_OK;
    blk_layer_id top;
    uint64_t size = 0;
    int64_t sz = (int64_t)new_size;
    bool in_tx = false;

    /* bs->mu throughout: nobody can open the disk between the check and
     * the commit. */
    pthread_mutex_lock(&bs->mu);
    blk__merge_wait(bs, name, NULL);
    SD_ENSURE(new_size > 0 && new_size % BLK_SECTOR == 0 && new_size <= BLK_MAX_SIZE, err,
              SD_E_INVALID, "disk size %llu is not a positive multiple of %u up to %llu",
              (unsigned long long)new_size, BLK_SECTOR, (unsigned long long)BLK_MAX_SIZE);
    SD_TRY(read_row(bs, false, name, &size, NULL, top, err));
    SD_ENSURE(new_size >= size, err, SD_E_INVALID,
              "disk %s is %llu bytes: shrinking it to %llu is not supported", name,
              (unsigned long long)size, (unsigned long long)new_size);
    if (new_size == size) {
        goto out;
    }
    SD_ENSURE(!is_open(bs, name), err, SD_E_CONFLICT,
              "disk %s is open in this process: close it before resizing", name);
    /* Only the rows change.  The map objects need no growing: they are
     * sparse and read as UNALLOCATED past their end, so the new sectors are
     * holes in every layer (a lower layer, frozen at a smaller size, never
     * has a bit at or past its size) and read as zeroes. */
    SD_TRY(store_begin(bs->db, err));
    in_tx = true;
    SD_TRY(store_run(bs->db, "UPDATE blk_disks SET size = ? WHERE name = ?",
                     STORE_ARGS(STORE_INT(sz), STORE_TEXT(name)), err));
    SD_TRY(store_run(bs->db, "UPDATE blk_layers SET size = ? WHERE id = ?",
                     STORE_ARGS(STORE_INT(sz), STORE_TEXT(top)), err));
    SD_TRY(store_commit(bs->db, err));
    in_tx = false;
out:
    if (in_tx) {
        store_rollback(bs->db);
    }
    pthread_mutex_unlock(&bs->mu);
    return rc;
}

/* Room for the layers release_layers may drop: a whole chain, 16 KiB, too
 * big for a stack. */
static sd_code new_gone(blk_layer_id **gone, sd_err *err)
{
    *gone = calloc(BLK_MAX_DEPTH, sizeof **gone);
    return *gone != NULL ? SD_OK : sd_err_set(err, SD_E_NOMEM, SD_HERE, "out of memory");
}

/* Commits the transaction that dropped the layers in gone, then removes
 * their objects: rows first, objects after, so a crash between leaves
 * orphans, not holes.  A failed commit has rolled back: the objects stay. */
static sd_code commit_release(blk_store *bs, const blk_layer_id *gone, unsigned ngone, sd_err *err)
{
    sd_code rc = SD_OK;

    SD_TRY(store_commit(bs->db, err));
    for (unsigned i = 0; i < ngone; i++) {
        blk__layer_remove_objects(bs, gone[i]);
    }
out:
    return rc;
}

/* Deletes row name from disks or snapshots and the layers it alone held. */
static sd_code remove_row(blk_store *bs, bool snapshot, const char *name, sd_err *err)
{
    sd_code rc = SD_OK;
    blk_layer_id layer;
    blk_layer_id *gone = NULL;
    blk_layer_id stop;
    unsigned ngone = 0;
    bool in_tx = false;
    bool locked = false;

    SD_TRY(new_gone(&gone, err));
    pthread_mutex_lock(&bs->mu);
    locked = true;
    /* A removal may drop the layers a merge is moving, and may start a
     * merge of its own: one at a time. */
    blk__merge_wait(bs, NULL, NULL);
    SD_ENSURE(snapshot || !is_open(bs, name), err, SD_E_CONFLICT, "disk %s is open", name);
    SD_TRY(store_begin(bs->db, err));
    in_tx = true;
    SD_TRY(read_row(bs, snapshot, name, NULL, NULL, layer, err));
    SD_TRY(store_run(bs->db,
                     snapshot ? "DELETE FROM blk_snapshots WHERE name = ?"
                              : "DELETE FROM blk_disks WHERE name = ?",
                     STORE_ARGS(STORE_TEXT(name)), err));
    SD_TRY(release_layers(bs, layer, gone, &ngone, stop, err));
    in_tx = false;
    SD_TRY(commit_release(bs, gone, ngone, err));
    merge_if_alone(bs, stop);
out:
    if (in_tx) {
        store_rollback(bs->db);
    }
    if (locked) {
        pthread_mutex_unlock(&bs->mu);
    }
    free(gone);
    return rc;
}

sd_code blk_disk_replace(blk_store *bs, const char *name, const char *from, sd_err *err)
{
    sd_code rc = SD_OK;
    blk_layer_id old_top;
    blk_layer_id new_top;
    blk_layer_id *gone = NULL;
    blk_layer_id stop;
    unsigned ngone = 0;
    uint64_t size = 0;
    bool encrypted = false;
    int64_t sz = 0;
    int64_t enc = 0;
    bool in_tx = false;
    bool locked = false;

    SD_TRY(new_gone(&gone, err));
    pthread_mutex_lock(&bs->mu);
    locked = true;
    blk__merge_wait(bs, NULL, NULL); /* as remove_row */
    SD_ENSURE(strcmp(name, from) != 0, err, SD_E_INVALID, "disk %s cannot replace itself", name);
    SD_ENSURE(!is_open(bs, name) && !is_open(bs, from), err, SD_E_CONFLICT, "disk %s or %s is open",
              name, from);
    SD_TRY(store_begin(bs->db, err));
    in_tx = true;
    SD_TRY(read_row(bs, false, name, NULL, NULL, old_top, err));
    SD_TRY(read_row(bs, false, from, &size, &encrypted, new_top, err));
    sz = (int64_t)size;
    enc = encrypted ? 1 : 0;
    SD_TRY(store_run(bs->db, "DELETE FROM blk_disks WHERE name = ?", STORE_ARGS(STORE_TEXT(from)),
                     err));
    SD_TRY(store_run(
        bs->db, "UPDATE blk_disks SET top = ?, size = ?, encrypted = ? WHERE name = ?",
        STORE_ARGS(STORE_TEXT(new_top), STORE_INT(sz), STORE_INT(enc), STORE_TEXT(name)), err));
    SD_TRY(release_layers(bs, old_top, gone, &ngone, stop, err));
    in_tx = false;
    SD_TRY(commit_release(bs, gone, ngone, err));
    merge_if_alone(bs, stop);
out:
    if (in_tx) {
        store_rollback(bs->db);
    }
    if (locked) {
        pthread_mutex_unlock(&bs->mu);
    }
    free(gone);
    return rc;
}

sd_code blk_disk_remove(blk_store *bs, const char *name, sd_err *err)
{
    return remove_row(bs, false, name, err);
}

sd_code blk_snapshot_remove(blk_store *bs, const char *snap, sd_err *err)
{
    return remove_row(bs, true, snap, err);
}

sd_code blk__chain_load(blk_store *bs, bool snapshot, const char *name, uint64_t *size,
                        bool *encrypted, blk_layer_id **ids, unsigned *depth, sd_err *err)
{
    sd_code rc = SD_OK;
    blk_layer_id *v = calloc(BLK_MAX_DEPTH, sizeof *v); /* 16 KiB: too big for a stack */
    blk_layer_id cur;
    unsigned n = 0;

    *ids = NULL;
    *depth = 0;
    pthread_mutex_lock(&bs->mu);
    SD_ENSURE(v != NULL, err, SD_E_NOMEM, "out of memory");
    if (!snapshot) {
        blk__merge_wait(bs, name, NULL); /* its chain is about to lose a layer */
    }
    SD_TRY(read_row(bs, snapshot, name, size, encrypted, cur, err));
    while (cur[0] != '\0') {
        SD_ENSURE(n < BLK_MAX_DEPTH, err, SD_E_INTERNAL, "layer chain of %s too deep", name);
        (void)snprintf(v[n++], sizeof(blk_layer_id), "%s", cur);
        SD_TRY(layer_parent(bs, cur, cur, err));
    }
    for (unsigned i = 0; i < n / 2; i++) { /* top-first as walked: turn it bottom-first */
        memcpy(cur, v[i], sizeof cur);
        memcpy(v[i], v[n - 1 - i], sizeof cur);
        memcpy(v[n - 1 - i], cur, sizeof cur);
    }
    *ids = v;
    v = NULL;
    *depth = n;
out:
    pthread_mutex_unlock(&bs->mu);
    free(v);
    return rc;
}

/* The metadata step of a snapshot (bs->mu held): see blk__commit_snapshot. */
static sd_code commit_snapshot_locked(blk_store *bs, const char *disk, const char *old_top,
                                      const char *new_top, const char *snap, sd_err *err)
{
    sd_code rc = SD_OK;
    bool in_tx = false;
    blk_layer_id cur;
    uint64_t size = 0;
    bool enc = false;
    int64_t sz = 0;
    int64_t e = 0;

    SD_ENSURE(sd_name_ok(snap, BLK_NAME_MAX), err, SD_E_INVALID, "bad snapshot name");
    SD_TRY(store_begin(bs->db, err));
    in_tx = true;
    SD_TRY(read_row(bs, false, disk, &size, &enc, cur, err));
    SD_ENSURE(strcmp(cur, old_top) == 0, err, SD_E_CONFLICT, "disk %s changed under its handle",
              disk);
    sz = (int64_t)size;
    e = enc ? 1 : 0;
    SD_TRY(store_run(
        bs->db, "INSERT INTO blk_snapshots (name, layer, size, encrypted) VALUES (?, ?, ?, ?)",
        STORE_ARGS(STORE_TEXT(snap), STORE_TEXT(old_top), STORE_INT(sz), STORE_INT(e)), err));
    SD_TRY(store_run(bs->db, "UPDATE blk_layers SET frozen = 1 WHERE id = ?",
                     STORE_ARGS(STORE_TEXT(old_top)), err));
    SD_TRY(store_run(bs->db, "INSERT INTO blk_layers (id, parent, size) VALUES (?, ?, ?)",
                     STORE_ARGS(STORE_TEXT(new_top), STORE_TEXT(old_top), STORE_INT(sz)), err));
    SD_TRY(store_run(bs->db, "UPDATE blk_disks SET top = ? WHERE name = ?",
                     STORE_ARGS(STORE_TEXT(new_top), STORE_TEXT(disk)), err));
    SD_TRY(store_commit(bs->db, err));
    in_tx = false;
out:
    if (in_tx) {
        store_rollback(bs->db);
    }
    return rc;
}

sd_code blk__commit_snapshot(blk_store *bs, const char *disk, const char *old_top,
                             const char *new_top, const char *snap, sd_err *err)
{
    return commit_snapshot_locked(bs, disk, old_top, new_top, snap, err);
}

/* Makes both objects of layer id durable as they stand. */
static sd_code sync_layer(blk_store *bs, const char *id, sd_err *err)
{
    static const char *const suffixes[] = {"data", "map"};
    sd_code rc = SD_OK;
    void *obj = NULL;

    for (size_t i = 0; i < 2; i++) {
        SD_TRY(blk__layer_open(bs, id, suffixes[i], &obj, err));
        rc = blk__ops(bs)->sync(obj, err);
        blk__ops(bs)->close(obj);
        obj = NULL;
        SD_TRY(rc);
    }
out:
    return rc;
}

sd_code blk_snapshot_create(blk_store *bs, const char *disk, const char *snap, sd_err *err)
{
    sd_code rc = SD_OK;
    blk_layer_id top;
    blk_layer_id id;
    unsigned depth = 0;
    bool made = false;

    /* bs->mu throughout: nobody can open the disk between the check and
     * the commit. */
    pthread_mutex_lock(&bs->mu);
    blk__merge_wait(bs, disk, NULL);
    SD_ENSURE(sd_name_ok(snap, BLK_NAME_MAX), err, SD_E_INVALID, "bad snapshot name");
    SD_ENSURE(sd_name_ok(disk, BLK_NAME_MAX), err, SD_E_INVALID, "bad disk name");
    SD_ENSURE(!is_open(bs, disk), err, SD_E_CONFLICT,
              "disk %s is open in this process: snapshot it through its handle", disk);
    SD_TRY(read_row(bs, false, disk, NULL, NULL, top, err));
    SD_TRY(chain_depth(bs, top, &depth, err));
    SD_ENSURE(depth < BLK_MAX_DEPTH, err, SD_E_CONFLICT,
              "disk %s already has %u layers: no more snapshots", disk, depth);
    /* The last close flushed; a process that died with the disk open did
     * not, and what it left in the page cache must not change under the
     * frozen layer's readers after a later power cut. */
    SD_TRY(sync_layer(bs, top, err));
    SD_TRY(blk__layer_create_objects(bs, id, err));
    made = true;
    SD_TRY(commit_snapshot_locked(bs, disk, top, id, snap, err));
    made = false;
out:
    pthread_mutex_unlock(&bs->mu);
    if (made) {
        blk__layer_remove_objects(bs, id);
    }
    return rc;
}
