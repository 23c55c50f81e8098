/* blk_backend_rados.c: the Ceph RADOS backend (librados).
 *
 * Layout.  A block-store object "<name>" is one RADOS header object named
 * "<name>", whose xattr "sd.size" records the object's size as 16 hex
 * digits, plus its bytes striped over RADOS objects of BLK_BACKEND_STRIPE
 * bytes named "<name>.<16 hex digits of the stripe number>" (RBD's data
 * object naming).  A stripe exists only once something was written into it;
 * an absent stripe, and the part past a stripe's end, read as zeroes (RADOS
 * answers -ENOENT and short reads there).  So block-store names that end in
 * "." and 16 hex digits are refused: they would be stripe names.
 *
 * Invariants:
 *   1. The header exists iff the object does: rados_open creates it
 *      exclusively (with size 0), rados_remove deletes it last, after every
 *      stripe, so a crash inside remove leaves an object that a second
 *      remove finishes.
 *   2. No stripe lies past the recorded size.  rados_pwrite raises
 *      "sd.size" (size_raise) before it writes a byte past it, so a crash
 *      between the two leaves a size larger than the data, which reads as
 *      zeroes as any unwritten range does; the unacknowledged write was not
 *      promised.
 *   3. The size only grows (punch keeps it, as FALLOC_FL_KEEP_SIZE does):
 *      size_raise is one atomic RADOS op, "compare sd.size < new, then set
 *      it", and the fixed-width hex makes the OSD's string comparison a
 *      numeric one, so racing handles never lower it.
 *   4. Every stripe that exists has a key (its number, 16 hex digits) in
 *      the header's omap, set before the stripe's first write
 *      (stripes_note); a key may outlive its stripe (punch keeps keys).
 *      remove, list and large punches visit only those stripes
 *      (stripes_each), so a sparse 1 TiB object costs what its data does,
 *      not what its size would.
 *   5. Durability: RADOS acknowledges a write once every replica has it, and
 *      rados_pwrite returns only after every op it issued was acknowledged,
 *      reporting the first failure (ENOSPC as SD_E_NOSPACE).  rados_sync
 *      therefore has nothing to flush: it waits for the ops that other
 *      threads still have in flight on this handle.  A write never fails
 *      later, after it returned, so there is no deferred error to report;
 *      blk_disk's poisoning after a failed flush applies unchanged.
 *
 * Large requests are cut at stripe boundaries and into RADOS_CHUNK pieces,
 * issued as aio with at most RADOS_INFLIGHT of them outstanding per
 * request, so a 1 MiB request is served by several OSD ops in parallel.
 *
 * Metadata stays where the block store keeps it: the chains of layers in
 * the store's SQLite database, and each layer's map as the backend object
 * "<layer>.map" (so in RADOS too).  Nothing here needs more than one writer
 * per object; the exclusive lock that makes that true across nodes comes
 * with the node leases (issue #14). */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rados/librados.h>

#include "block/blk_backend.h"

#define RADOS_CHUNK      (256u << 10) /* the largest single OSD op of a request */
#define RADOS_INFLIGHT   8u           /* aio ops outstanding per request */
#define SIZE_XATTR       "sd.size"
#define SIZE_HEX         16 /* "%016" PRIx64 */
#define STRIPE_SUFFIX    (1 + 16)
#define RADOS_NOTE_MAX   16u  /* stripe keys set in one op */
#define RADOS_LIST_BATCH 256u /* stripe keys read in one op */
#define RADOS_PUNCH_SCAN 8u   /* punches over more stripes visit only written ones */

typedef struct rados_be {
    rados_t cluster;
    rados_ioctx_t io;
} rados_be;

typedef struct rados_obj {
    rados_be *be;
    char name[BLK_OBJ_NAME_MAX + 1];
    pthread_mutex_t mu;
    pthread_cond_t idle;
    uint64_t size;  /* at least what this handle last saw or raised it to */
    uint8_t *noted; /* bit s: stripe s has its omap key (invariant 4) */
    uint64_t noted_bits;
    unsigned inflight; /* aio ops issued through this handle, not yet completed */
} rados_obj;

static bool is_stripe_name(const char *name)
{
    size_t n = strlen(name);

    if (n <= STRIPE_SUFFIX || name[n - STRIPE_SUFFIX] != '.') {
        return false;
    }
    for (size_t i = n - STRIPE_SUFFIX + 1; i < n; i++) {
        char c = name[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
}

static bool name_ok(const char *name)
{
    return blk_backend_name_ok(name) && !is_stripe_name(name);
}

static void stripe_name(const rados_obj *o, uint64_t stripe, char out[BLK_OBJ_NAME_MAX + 18])
{
    (void)snprintf(out, BLK_OBJ_NAME_MAX + 18, "%s.%016" PRIx64, o->name, stripe);
}

/* The kind of a failed librados call (r < 0). */
static sd_code kind(int r)
{
    return r == -ENOENT ? SD_E_NOT_FOUND : sd_errno_kind(-r);
}

static sd_code read_size(rados_be *be, const char *name, uint64_t *out, sd_err *err)
{
    sd_code rc = SD_OK;
    char v[SIZE_HEX + 1] = {0};
    char *end = NULL;
    int r = rados_getxattr(be->io, name, SIZE_XATTR, v, SIZE_HEX);

    SD_ENSURE(r != -ENOENT, err, SD_E_NOT_FOUND, "object %s does not exist", name);
    SD_ENSURE(r >= 0, err, kind(r), "read the size of %s: %s", name, strerrordesc_np(-r));
    SD_ENSURE(r == SIZE_HEX, err, SD_E_IO, "object %s has no valid size", name);
    *out = strtoull(v, &end, 16);
    SD_ENSURE(end == v + SIZE_HEX, err, SD_E_IO, "object %s has no valid size", name);
out:
    return rc;
}

/* Raises the recorded size of o to at least end (invariants 2 and 3). */
static sd_code size_raise(rados_obj *o, uint64_t end, sd_err *err)
{
    sd_code rc = SD_OK;
    char v[SIZE_HEX + 1];
    rados_write_op_t op = NULL;
    int r = 0;

    pthread_mutex_lock(&o->mu);
    if (end <= o->size) {
        goto out;
    }
    (void)snprintf(v, sizeof v, "%016" PRIx64, end);
    op = rados_create_write_op();
    SD_ENSURE(op != NULL, err, SD_E_NOMEM, "out of memory");
    rados_write_op_assert_exists(op);
    rados_write_op_cmpxattr(op, SIZE_XATTR, LIBRADOS_CMPXATTR_OP_GT, v, SIZE_HEX);
    rados_write_op_setxattr(op, SIZE_XATTR, v, SIZE_HEX);
    r = rados_write_op_operate2(op, o->be->io, o->name, NULL, 0);
    if (r == -ECANCELED) {
        /* Another handle raised it past end already. */
        SD_TRY(read_size(o->be, o->name, &o->size, err));
        goto out;
    }
    SD_ENSURE(r == 0, err, kind(r), "record the size of %s: %s", o->name, strerrordesc_np(-r));
    o->size = end;
out:
    if (op != NULL) {
        rados_release_write_op(op);
    }
    pthread_mutex_unlock(&o->mu);
    return rc;
}

/* Records that stripe s has its omap key (o->mu held). */
static sd_code note_bit(rados_obj *o, uint64_t s, sd_err *err)
{
    sd_code rc = SD_OK;

    if (s >= o->noted_bits) {
        uint64_t bits = (s + 1 + 1023) / 1024 * 1024;
        uint8_t *p = realloc(o->noted, bits / 8);
        SD_ENSURE(p != NULL, err, SD_E_NOMEM, "out of memory");
        memset(p + o->noted_bits / 8, 0, (bits - o->noted_bits) / 8);
        o->noted = p;
        o->noted_bits = bits;
    }
    o->noted[s / 8] |= (uint8_t)(1u << (s % 8));
out:
    return rc;
}

/* Sets the omap keys of up to RADOS_NOTE_MAX stripes in one op. */
static sd_code note_keys(rados_obj *o, const uint64_t *todo, size_t n, sd_err *err)
{
    sd_code rc = SD_OK;
    char keys[RADOS_NOTE_MAX][SIZE_HEX + 1];
    const char *kp[RADOS_NOTE_MAX];
    const char *vp[RADOS_NOTE_MAX];
    size_t lens[RADOS_NOTE_MAX] = {0};
    rados_write_op_t op = rados_create_write_op();
    int r = 0;

    SD_ENSURE(op != NULL, err, SD_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        (void)snprintf(keys[i], sizeof keys[i], "%016" PRIx64, todo[i]);
        kp[i] = keys[i];
        vp[i] = "";
    }
    rados_write_op_omap_set(op, kp, vp, lens, n);
    r = rados_write_op_operate2(op, o->be->io, o->name, NULL, 0);
    SD_ENSURE(r == 0, err, kind(r), "index the stripes of %s: %s", o->name, strerrordesc_np(-r));
    for (size_t i = 0; i < n; i++) {
        SD_TRY(note_bit(o, todo[i], err));
    }
out:
    if (op != NULL) {
        rados_release_write_op(op);
    }
    return rc;
}

/* Sets the omap keys of the stripes first..last that this handle has not
 * noted yet (invariant 4). */
static sd_code stripes_note(rados_obj *o, uint64_t first, uint64_t last, sd_err *err)
{
    sd_code rc = SD_OK;
    uint64_t todo[RADOS_NOTE_MAX];
    size_t n = 0;

    pthread_mutex_lock(&o->mu);
    for (uint64_t s = first; s <= last; s++) {
        if (s >= o->noted_bits || (o->noted[s / 8] & (1u << (s % 8))) == 0) {
            todo[n++] = s;
        }
        if (n == RADOS_NOTE_MAX || (s == last && n > 0)) {
            SD_TRY(note_keys(o, todo, n, err));
            n = 0;
        }
    }
out:
    pthread_mutex_unlock(&o->mu);
    return rc;
}

/* One batch of stripe keys after *after, up to last: their numbers in
 * batch, *after moved to the last key read; *more when keys may follow.
 * -errno, or 0. */
typedef struct key_batch {
    uint64_t s[RADOS_LIST_BATCH];
    size_t n;
    bool more;
} key_batch;

static int read_keys(rados_obj *o, char after[SIZE_HEX + 1], uint64_t last, key_batch *b)
{
    unsigned char more = 0;
    int prval = 0;
    rados_omap_iter_t it = NULL;
    rados_read_op_t op = rados_create_read_op();
    int r = 0;

    b->n = 0;
    b->more = false;
    if (op == NULL) {
        return -ENOMEM;
    }
    rados_read_op_omap_get_keys2(op, after, RADOS_LIST_BATCH, &it, &more, &prval);
    r = rados_read_op_operate(op, o->be->io, o->name, 0);
    r = r < 0 ? r : prval;
    b->more = r == 0 && more != 0;
    while (r == 0 && b->n < RADOS_LIST_BATCH) {
        char *key = NULL;
        char *val = NULL;
        char *end = NULL;
        size_t len = 0;
        uint64_t s = 0;
        if (rados_omap_get_next(it, &key, &val, &len) < 0 || key == NULL) {
            break;
        }
        (void)snprintf(after, SIZE_HEX + 1, "%s", key);
        s = strtoull(key, &end, 16);
        if (strlen(key) == SIZE_HEX && *end == '\0' && s > last) {
            b->more = false;
            break;
        }
        if (strlen(key) == SIZE_HEX && *end == '\0') {
            b->s[b->n++] = s;
        }
    }
    if (it != NULL) {
        rados_omap_get_end(it);
    }
    rados_release_read_op(op);
    return r;
}

/* Calls fn for every stripe in first..last that has an omap key (invariant
 * 4), in ascending order; the first failure, -errno, or 0. */
typedef int (*stripe_fn)(rados_obj *o, uint64_t stripe, void *ctx);

static int stripes_each(rados_obj *o, uint64_t first, uint64_t last, stripe_fn fn, void *ctx)
{
    char after[SIZE_HEX + 1] = "";
    key_batch *b = malloc(sizeof *b);
    int r = 0;

    if (b == NULL) {
        return -ENOMEM;
    }
    if (first > 0) {
        (void)snprintf(after, sizeof after, "%016" PRIx64, first - 1);
    }
    do {
        r = read_keys(o, after, last, b);
        for (size_t i = 0; i < b->n && r == 0; i++) {
            r = fn(o, b->s[i], ctx);
        }
    } while (r == 0 && b->more);
    free(b);
    return r;
}

static sd_code rados_open_obj(void *h, const char *name, unsigned flags, void **obj, sd_err *err)
{
    sd_code rc = SD_OK;
    rados_be *be = h;
    rados_obj *o = NULL;
    rados_write_op_t op = NULL;
    uint64_t size = 0;

    *obj = NULL;
    SD_ENSURE(name_ok(name), err, SD_E_INVALID, "bad object name");
    if (flags & BLK_OBJ_CREATE) {
        op = rados_create_write_op();
        SD_ENSURE(op != NULL, err, SD_E_NOMEM, "out of memory");
        rados_write_op_create(op, LIBRADOS_CREATE_EXCLUSIVE, NULL);
        rados_write_op_setxattr(op, SIZE_XATTR, "0000000000000000", SIZE_HEX);
        int r = rados_write_op_operate2(op, be->io, name, NULL, 0);
        SD_ENSURE(r != -EEXIST, err, SD_E_CONFLICT, "object %s already exists", name);
        SD_ENSURE(r == 0, err, kind(r), "create %s: %s", name, strerrordesc_np(-r));
    } else {
        SD_TRY(read_size(be, name, &size, err));
    }
    o = calloc(1, sizeof *o);
    SD_ENSURE(o != NULL, err, SD_E_NOMEM, "out of memory");
    o->be = be;
    (void)snprintf(o->name, sizeof o->name, "%s", name);
    o->size = size;
    SD_ENSURE(pthread_mutex_init(&o->mu, NULL) == 0, err, SD_E_INTERNAL, "mutex init");
    if (pthread_cond_init(&o->idle, NULL) != 0) {
        pthread_mutex_destroy(&o->mu);
        SD_FAIL(err, SD_E_INTERNAL, "condition init");
    }
    *obj = o;
    o = NULL;
out:
    free(o);
    if (op != NULL) {
        rados_release_write_op(op);
    }
    return rc;
}

/* ---- striped aio ----------------------------------------------------------- */

/* One request's ops in flight, oldest first. */
typedef struct aio_batch {
    rados_obj *o;
    rados_completion_t c[RADOS_INFLIGHT];
    uint8_t *buf[RADOS_INFLIGHT]; /* reads: where the piece goes */
    size_t len[RADOS_INFLIGHT];
    unsigned head;
    unsigned n;
    bool reading;
    int first_err; /* the first failure, -errno */
} aio_batch;

static void inflight_add(rados_obj *o, int delta)
{
    pthread_mutex_lock(&o->mu);
    o->inflight = (unsigned)((int)o->inflight + delta);
    if (o->inflight == 0) {
        pthread_cond_broadcast(&o->idle);
    }
    pthread_mutex_unlock(&o->mu);
}

/* Waits for the oldest op of b and takes in its result. */
static void batch_reap(aio_batch *b)
{
    unsigned i = b->head;
    int r = 0;

    rados_aio_wait_for_complete(b->c[i]);
    r = rados_aio_get_return_value(b->c[i]);
    rados_aio_release(b->c[i]);
    inflight_add(b->o, -1);
    if (b->reading && (r >= 0 || r == -ENOENT)) {
        /* An absent stripe or a short read: never written, reads as zero. */
        size_t got = r > 0 ? (size_t)r : 0;
        if (got < b->len[i]) {
            memset(b->buf[i] + got, 0, b->len[i] - got);
        }
        r = 0;
    }
    if (r < 0 && b->first_err == 0) {
        b->first_err = r;
    }
    b->head = (b->head + 1) % RADOS_INFLIGHT;
    b->n--;
}

static void batch_drain(aio_batch *b)
{
    while (b->n > 0) {
        batch_reap(b);
    }
}

/* Issues one piece (inside one stripe) of a request. */
static int batch_issue(aio_batch *b, uint8_t *rp, const uint8_t *wp, size_t len, uint64_t off)
{
    char oid[BLK_OBJ_NAME_MAX + 18];
    unsigned i = 0;
    int r = 0;

    if (b->n == RADOS_INFLIGHT) {
        batch_reap(b);
    }
    i = (b->head + b->n) % RADOS_INFLIGHT;
    stripe_name(b->o, off / BLK_BACKEND_STRIPE, oid);
    r = rados_aio_create_completion2(NULL, NULL, &b->c[i]);
    if (r < 0) {
        return r;
    }
    b->buf[i] = rp;
    b->len[i] = len;
    inflight_add(b->o, 1);
    if (b->reading) {
        r = rados_aio_read(b->o->be->io, oid, b->c[i], (char *)rp, len, off % BLK_BACKEND_STRIPE);
    } else {
        r = rados_aio_write(b->o->be->io, oid, b->c[i], (const char *)wp, len,
                            off % BLK_BACKEND_STRIPE);
    }
    if (r < 0) {
        rados_aio_release(b->c[i]);
        inflight_add(b->o, -1);
        return r;
    }
    b->n++;
    return 0;
}

/* Reads [off, off+n) into rp, or writes it from wp (rp NULL), as pieces of
 * at most RADOS_CHUNK that never cross a stripe; returns the first failure,
 * -errno, or 0. */
static int striped_io(rados_obj *o, uint8_t *rp, const uint8_t *wp, size_t n, uint64_t off)
{
    aio_batch b = {.o = o, .reading = rp != NULL};

    while (n > 0 && b.first_err == 0) {
        uint64_t room = BLK_BACKEND_STRIPE - off % BLK_BACKEND_STRIPE;
        size_t len = n < RADOS_CHUNK ? n : RADOS_CHUNK;
        int r = 0;

        if (len > room) {
            len = (size_t)room;
        }
        r = batch_issue(&b, rp, wp, len, off);
        if (r < 0) {
            b.first_err = r;
            break;
        }
        rp = rp != NULL ? rp + len : NULL;
        wp = wp != NULL ? wp + len : NULL;
        off += len;
        n -= len;
    }
    batch_drain(&b);
    return b.first_err;
}

static sd_code rados_pread_obj(void *h, void *buf, size_t n, uint64_t off, sd_err *err)
{
    sd_code rc = SD_OK;
    rados_obj *o = h;
    int r = 0;

    SD_ENSURE(!SD_FAULT("blk.backend.pread"), err, SD_E_IO, "pread: injected fault");
    r = striped_io(o, buf, NULL, n, off);
    SD_ENSURE(r == 0, err, sd_errno_kind(-r), "read %s: %s", o->name, strerrordesc_np(-r));
out:
    return rc;
}

static sd_code rados_pwrite_obj(void *h, const void *buf, size_t n, uint64_t off, sd_err *err)
{
    sd_code rc = SD_OK;
    rados_obj *o = h;
    uint64_t end = 0;
    int r = 0;

    SD_ENSURE(!SD_FAULT("blk.backend.pwrite"), err, SD_E_IO, "pwrite: injected fault");
    SD_ENSURE(!sd_add_overflow(off, n, &end), err, SD_E_INVALID, "write past 2^64");
    if (n == 0) {
        goto out;
    }
    SD_TRY(stripes_note(o, off / BLK_BACKEND_STRIPE, (end - 1) / BLK_BACKEND_STRIPE, err));
    SD_TRY(size_raise(o, end, err));
    /* Test builds: the local backend's errno faults, so the same fault
     * suites run over RADOS. */
    if (SD_FAULT("blk.backend.pwrite.enospc")) {
        r = -ENOSPC;
    } else if (SD_FAULT("blk.backend.pwrite.eio")) {
        r = -EIO;
    } else {
        r = striped_io(o, NULL, buf, n, off);
    }
    SD_ENSURE(r == 0, err, sd_errno_kind(-r), "write %s: %s", o->name, strerrordesc_np(-r));
out:
    return rc;
}

static sd_code rados_sync_obj(void *h, sd_err *err)
{
    sd_code rc = SD_OK;
    rados_obj *o = h;

    SD_ENSURE(!SD_FAULT("blk.backend.sync"), err, SD_E_IO, "sync: injected fault");
    /* Invariant 5: what returned is durable; wait for what has not. */
    pthread_mutex_lock(&o->mu);
    while (o->inflight > 0) {
        pthread_cond_wait(&o->idle, &o->mu);
    }
    pthread_mutex_unlock(&o->mu);
out:
    return rc;
}

/* Zeroes [off, off+n) inside one stripe: removes the stripe when the range
 * covers it, else zeroes the range in it if it exists. */
static int punch_stripe(rados_obj *o, uint64_t off, uint64_t n)
{
    char oid[BLK_OBJ_NAME_MAX + 18];
    rados_write_op_t op = NULL;
    int r = 0;

    stripe_name(o, off / BLK_BACKEND_STRIPE, oid);
    if (n == BLK_BACKEND_STRIPE) {
        r = rados_remove(o->be->io, oid);
        return r == -ENOENT ? 0 : r;
    }
    op = rados_create_write_op();
    if (op == NULL) {
        return -ENOMEM;
    }
    /* Zeroing an absent stripe is a no-op in RADOS: it creates nothing. */
    rados_write_op_zero(op, off % BLK_BACKEND_STRIPE, n);
    r = rados_write_op_operate2(op, o->be->io, oid, NULL, 0);
    rados_release_write_op(op);
    return r == -ENOENT ? 0 : r;
}

typedef struct punch_range {
    uint64_t off;
    uint64_t end;
} punch_range;

/* Punches the part of the range ctx inside stripe s. */
static int punch_in(rados_obj *o, uint64_t s, void *ctx)
{
    const punch_range *pr = ctx;
    uint64_t lo = s * BLK_BACKEND_STRIPE;
    uint64_t hi = lo + BLK_BACKEND_STRIPE;

    lo = lo > pr->off ? lo : pr->off;
    hi = hi < pr->end ? hi : pr->end;
    return lo < hi ? punch_stripe(o, lo, hi - lo) : 0;
}

static sd_code rados_punch_obj(void *h, uint64_t off, uint64_t n, sd_err *err)
{
    sd_code rc = SD_OK;
    rados_obj *o = h;
    punch_range pr = {.off = off};
    uint64_t first = off / BLK_BACKEND_STRIPE;
    uint64_t last = 0;
    int r = 0;

    SD_ENSURE(!sd_add_overflow(off, n, &pr.end), err, SD_E_INVALID, "punch past 2^64");
    if (n == 0) {
        goto out;
    }
    last = (pr.end - 1) / BLK_BACKEND_STRIPE;
    if (last - first < RADOS_PUNCH_SCAN) {
        for (uint64_t s = first; s <= last && r == 0; s++) {
            r = punch_in(o, s, &pr);
        }
    } else {
        r = stripes_each(o, first, last, punch_in, &pr);
    }
    SD_ENSURE(r == 0, err, kind(r), "punch %s: %s", o->name, strerrordesc_np(-r));
out:
    return rc;
}

static sd_code rados_size_obj(void *h, uint64_t *out, sd_err *err)
{
    rados_obj *o = h;

    /* Read it back: another handle may have raised it. */
    return read_size(o->be, o->name, out, err);
}

static void rados_close_obj(void *h)
{
    rados_obj *o = h;

    if (o == NULL) {
        return;
    }
    pthread_cond_destroy(&o->idle);
    pthread_mutex_destroy(&o->mu);
    free(o->noted);
    free(o);
}

static int remove_stripe(rados_obj *o, uint64_t s, void *ctx)
{
    (void)ctx;
    return punch_stripe(o, s * BLK_BACKEND_STRIPE, BLK_BACKEND_STRIPE);
}

static int add_stripe_bytes(rados_obj *o, uint64_t s, void *ctx)
{
    char oid[BLK_OBJ_NAME_MAX + 18];
    uint64_t psize = 0;
    time_t mtime = 0;
    int r = 0;

    stripe_name(o, s, oid);
    r = rados_stat(o->be->io, oid, &psize, &mtime);
    if (r == 0) {
        *(uint64_t *)ctx += psize;
    }
    return r == -ENOENT ? 0 : r;
}

static sd_code rados_remove_obj(void *h, const char *name, sd_err *err)
{
    sd_code rc = SD_OK;
    rados_be *be = h;
    rados_obj o = {.be = be};
    int r = 0;

    SD_ENSURE(name_ok(name), err, SD_E_INVALID, "bad object name");
    (void)snprintf(o.name, sizeof o.name, "%s", name);
    /* Invariant 1: stripes first, the header last. */
    r = stripes_each(&o, 0, UINT64_MAX, remove_stripe, NULL);
    SD_ENSURE(r != -ENOENT, err, SD_E_NOT_FOUND, "object %s does not exist", name);
    SD_ENSURE(r == 0, err, kind(r), "remove %s: %s", name, strerrordesc_np(-r));
    r = rados_remove(be->io, name);
    SD_ENSURE(r != -ENOENT, err, SD_E_NOT_FOUND, "object %s does not exist", name);
    SD_ENSURE(r == 0, err, kind(r), "remove %s: %s", name, strerrordesc_np(-r));
out:
    return rc;
}

static sd_code rados_list(void *h, blk_obj_fn fn, void *ctx, sd_err *err)
{
    sd_code rc = SD_OK;
    rados_be *be = h;
    rados_list_ctx_t lc = NULL;
    int r = rados_nobjects_list_open(be->io, &lc);

    SD_ENSURE(r == 0, err, kind(r), "list the pool: %s", strerrordesc_np(-r));
    for (;;) {
        const char *name = NULL;
        uint64_t size = 0;
        uint64_t bytes = 0;
        sd_err ignored = SD_ERR_INIT;
        rados_obj o = {.be = be};

        r = rados_nobjects_list_next(lc, &name, NULL, NULL);
        if (r == -ENOENT) {
            break;
        }
        SD_ENSURE(r == 0, err, kind(r), "list the pool: %s", strerrordesc_np(-r));
        if (!name_ok(name) || read_size(be, name, &size, &ignored) != SD_OK) {
            continue; /* a stripe, someone else's object, or gone since */
        }
        (void)snprintf(o.name, sizeof o.name, "%s", name);
        r = stripes_each(&o, 0, UINT64_MAX, add_stripe_bytes, &bytes);
        if (r == -ENOENT) {
            continue; /* removed since it was listed */
        }
        SD_ENSURE(r == 0, err, kind(r), "size up %s: %s", name, strerrordesc_np(-r));
        SD_TRY(fn(ctx, name, bytes, err));
    }
out:
    if (lc != NULL) {
        rados_nobjects_list_close(lc);
    }
    return rc;
}

static void rados_destroy(void *h)
{
    rados_be *be = h;

    if (be == NULL) {
        return;
    }
    if (be->io != NULL) {
        rados_ioctx_destroy(be->io);
    }
    if (be->cluster != NULL) {
        rados_shutdown(be->cluster);
    }
    free(be);
}

static const blk_backend_ops rados_ops = {
    .open = rados_open_obj,
    .remove = rados_remove_obj,
    .pread = rados_pread_obj,
    .pwrite = rados_pwrite_obj,
    .sync = rados_sync_obj,
    .punch = rados_punch_obj,
    .size = rados_size_obj,
    .close = rados_close_obj,
    .list = rados_list,
    .destroy = rados_destroy,
};

static sd_code conf_set(rados_t c, const char *key, unsigned seconds, sd_err *err)
{
    sd_code rc = SD_OK;
    char v[16];
    int r = 0;

    (void)snprintf(v, sizeof v, "%u", seconds);
    r = rados_conf_set(c, key, v);
    SD_ENSURE(r == 0, err, SD_E_INTERNAL, "ceph option %s: %s", key, strerrordesc_np(-r));
out:
    return rc;
}

static sd_code connect_cluster(rados_be *be, const blk_rados_opts *opts, sd_err *err)
{
    sd_code rc = SD_OK;
    int r = rados_create(&be->cluster, opts->id);

    SD_ENSURE(r == 0, err, SD_E_INTERNAL, "rados_create: %s", strerrordesc_np(-r));
    r = rados_conf_read_file(be->cluster, opts->conf);
    SD_ENSURE(r == 0, err, SD_E_INVALID, "cannot read ceph conf %s: %s", opts->conf,
              strerrordesc_np(-r));
    /* Bounded: an unreachable cluster fails the open, it does not hang it. */
    SD_TRY(conf_set(be->cluster, "client_mount_timeout", opts->connect_timeout_s, err));
    SD_TRY(conf_set(be->cluster, "rados_mon_op_timeout", opts->connect_timeout_s, err));
    SD_TRY(conf_set(be->cluster, "rados_osd_op_timeout", opts->op_timeout_s, err));
    r = rados_connect(be->cluster);
    SD_ENSURE(r == 0, err, SD_E_IO, "cannot connect to the Ceph cluster of %s as client.%s: %s",
              opts->conf, opts->id, strerrordesc_np(-r));
    r = rados_ioctx_create(be->cluster, opts->pool, &be->io);
    SD_ENSURE(r != -ENOENT, err, SD_E_NOT_FOUND, "no RADOS pool %s", opts->pool);
    SD_ENSURE(r == 0, err, SD_E_IO, "cannot open RADOS pool %s: %s", opts->pool,
              strerrordesc_np(-r));
    if (opts->ns != NULL) {
        rados_ioctx_set_namespace(be->io, opts->ns);
    }
out:
    return rc;
}

sd_code blk_backend_rados(const blk_rados_opts *opts, blk_backend **out, sd_err *err)
{
    sd_code rc = SD_OK;
    blk_backend *b = NULL;
    rados_be *be = NULL;

    *out = NULL;
    SD_ENSURE(opts->conf != NULL && opts->pool != NULL && opts->id != NULL, err, SD_E_INVALID,
              "the RADOS backend needs a conf file, a pool and a client id");
    b = calloc(1, sizeof *b);
    be = calloc(1, sizeof *be);
    SD_ENSURE(b != NULL && be != NULL, err, SD_E_NOMEM, "out of memory");
    SD_TRY(connect_cluster(be, opts, err));
    b->ops = &rados_ops;
    b->h = be;
    be = NULL;
    *out = b;
    b = NULL;
out:
    rados_destroy(be);
    free(b);
    return rc;
}
