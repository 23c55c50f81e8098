/* blk_disk.c: an open disk: the resolved map, encrypted sector I/O, flush,
 * TRIM/WRITE_ZEROES, extents, snapshot, and the blk_export over it.
 *
 * In memory an open disk keeps:
 *   - chain[0..depth): its layers bottom-first; chain[depth-1] is the top.
 *     Bottom-first indices stay valid when a snapshot pushes a new top, so
 *     a snapshot never rewrites the resolved map.
 *   - res[group][sector]: RES_HOLE (no layer has it: zeroes), RES_ZERO (the
 *     nearest layer that has it says ZERO) or RES_DATA + k (data in
 *     chain[k]).  Reads consult this one uint16_t instead of walking the
 *     chain: two bytes, because a chain holds up to BLK_MAX_DEPTH (512)
 *     layers, more than one byte can name.
 *   - topmap[group]: the byte image of the top layer's map object (2 bits
 *     per sector), one 4096-byte map page per group, and dirty[group] for
 *     the pages not yet written back.
 *   Both maps are sparse: a group (BLK_GROUP sectors, 64 MiB of disk) gets
 *   its res chunk and map page on its first write or when a layer's map
 *   has a bit in it; a NULL group is all HOLE / UNALLOCATED.  A mostly
 *   empty 1 TiB disk therefore costs two pointer tables (128 KiB each),
 *   not 512 MiB + 64 MiB, and opening or snapshotting it stays cheap.
 *   Both tables are void *: each slot is converted to its type (uint16_t
 *   res entries, uint8_t map bytes) where it is read.
 *   Groups are published with a compare-and-swap and never freed while
 *   the disk is open (top-map pages are replaced only by a snapshot, with
 *   drain held exclusively).
 *
 * Invariants:
 *   1. A sector's resolved byte and top-map bits change only under its
 *      stripe lock (stripes[sector % BLK_STRIPES]); top-map bytes are
 *      shared by 4 sectors, so their bits change with atomic and/or.
 *   2. Data before map: a write stores its ciphertext in the top data
 *      object before it sets DATA in the maps (write_chunk), and flush
 *      copies the dirty map pages while no write is in flight (drain held
 *      exclusively), syncs the data object, then writes and syncs the
 *      copied pages (flush_inner).  So the map object never claims a sector
 *      whose data is not durable.
 *   3. Frozen layers are never written; their data was synced by the flush
 *      that preceded the freeze (blk_disk_snapshot).
 * Sector state transitions in the top layer:
 *   UNALLOCATED/ZERO/DATA -> DATA   write_chunk (blk_disk_pwrite, partial zero)
 *   UNALLOCATED/ZERO/DATA -> ZERO   zero_chunk (blk_disk_trim, blk_disk_zero)
 *   top -> frozen (a new UNALLOCATED top above)  blk_disk_snapshot
 *   UNALLOCATED -> the state of the layer below, which a merge then drops
 *     from the chain               blk__disk_absorb, drop_index
 *
 * Large requests are cut into chunks of BLK_CHUNK_SECTORS, each done under
 * its stripes' locks with a pooled bounce buffer and cipher context (one
 * per concurrent caller, allocated once and reused until close).  An
 * encrypted request of BLK_PAR_MIN bytes or more shares its chunks with the
 * store's helper thread (blk_par.c): caller and helper each claim the next
 * chunk until none is left, so XTS and backend copies run on two cores at
 * once instead of one after the other.  Every chunk is still done whole
 * under its stripes and inside the caller's shared hold of drain, which
 * the caller keeps until the helper is done with the request; so the
 * invariants above hold unchanged.  Smaller requests, and plain disks
 * (they have no cipher pass to overlap), stay on the caller's thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block/blk_int.h"
#include "crypto/crypto.h"

#define BLK_STRIPES       256u
#define BLK_CHUNK_SECTORS 32u
#define BLK_CHUNK_BYTES   ((size_t)BLK_CHUNK_SECTORS * BLK_SECTOR)
#define BLK_MAX_IO        (32u << 20)
/* Encrypted requests from this size on use the helper: two chunks or more,
 * and big enough that the helper's wake-up (tens of microseconds) is small
 * against the request.  4 KiB random I/O never pays for the hand-off. */
#define BLK_PAR_MIN  (256u << 10)
#define BLK_MAP_PAGE 4096u
#define BLK_GROUP    ((size_t)16384) /* sectors whose bits fill one 4096-byte map page */

#define RES_HOLE        0u
#define RES_ZERO        1u
#define RES_DATA        2u
#define RES_GROUP_BYTES (BLK_GROUP * sizeof(uint16_t)) /* one group's resolved entries */
_Static_assert(RES_HOLE == BLK_RUN_HOLE && RES_ZERO == BLK_RUN_ZERO && RES_DATA == BLK_RUN_DATA,
               "run classes are resolved values");

#define MAP_UNALLOCATED 0u
#define MAP_DATA        1u
#define MAP_ZERO        2u

_Static_assert(BLK_CHUNK_SECTORS < BLK_STRIPES, "a chunk must not wrap around the stripes");
_Static_assert(RES_DATA + BLK_MAX_DEPTH <= UINT16_MAX, "resolved map entries are two bytes");

static const char xts_info[] = "sealdisk blk aes-256-xts sector key v1";

typedef struct blk_io {
    struct blk_io *next_free;
    struct blk_io *next_all;
    crypto_xts *xts; /* NULL for a plain disk */
    uint8_t *buf;    /* BLK_CHUNK_BYTES: plaintext passes through here */
} blk_io;

typedef struct blk_range {
    uint64_t s;
    uint64_t n;
} blk_range;

typedef struct blk_layer {
    blk_layer_id id;
    void *data;
} blk_layer;

struct blk_disk {
    blk_store *bs;
    char name[BLK_NAME_MAX + 1];
    uint64_t size;
    uint64_t nsectors;
    sd_secret *xts_key; /* NULL for a plain disk */
    blk_layer chain[BLK_MAX_DEPTH];
    unsigned depth;
    void *topmap_obj;
    void **res;      /* [ngroups], chunks of BLK_GROUP uint16_t, NULL: all HOLE */
    void **topmap;   /* [ngroups], pages of BLK_MAP_PAGE bytes, NULL: all 0 */
    size_t mapbytes; /* size of the map object's image */
    uint8_t *dirty;  /* [ngroups] */
    size_t ngroups;
    int data_dirty; /* the top data object has unsynced writes or punches */
    /* A sync failed: the kernel may have dropped the dirty pages it could
     * not write, and a later fdatasync would then succeed without them.
     * Every later flush fails until the disk is reopened, so no flush ever
     * claims writes it may have lost. */
    bool sync_failed;
    bool no_helper;         /* blk_disk_set_helper(d, false): set before any I/O */
    pthread_rwlock_t drain; /* I/O shared; flush's copy and snapshot exclusive */
    pthread_mutex_t flush_mu;
    pthread_mutex_t pool_mu;
    pthread_mutex_t punch_mu;
    blk_range *punch; /* ZERO ranges whose top-layer data a flush will punch */
    size_t npunch;
    size_t punch_cap;
    blk_io *pool;
    blk_io *all;
    pthread_mutex_t stripes[BLK_STRIPES];
    bool locks_ready;
    struct blk_disk *next_handle; /* bs->handles, under bs->mu */
    bool registered;
};

/* ---- helpers --------------------------------------------------------------- */

static unsigned res_get(const blk_disk *d, uint64_t s)
{
    const uint16_t *c = __atomic_load_n(&d->res[s / BLK_GROUP], __ATOMIC_ACQUIRE);

    return c == NULL ? RES_HOLE : __atomic_load_n(&c[s % BLK_GROUP], __ATOMIC_RELAXED);
}

/* The group of s must exist (ensure_groups). */
static void res_set(blk_disk *d, uint64_t s, unsigned v)
{
    uint16_t *c = __atomic_load_n(&d->res[s / BLK_GROUP], __ATOMIC_ACQUIRE);

    __atomic_store_n(&c[s % BLK_GROUP], (uint16_t)v, __ATOMIC_RELAXED);
}

static unsigned topmap_get(const blk_disk *d, uint64_t s)
{
    const uint8_t *pg = __atomic_load_n(&d->topmap[s / BLK_GROUP], __ATOMIC_ACQUIRE);
    size_t b = (size_t)(s % BLK_GROUP) / 4;

    if (pg == NULL) {
        return MAP_UNALLOCATED;
    }
    return (__atomic_load_n(&pg[b], __ATOMIC_RELAXED) >> ((s % 4) * 2)) & 3u;
}

/* The group of s must exist (ensure_groups). */
static void topmap_set(blk_disk *d, uint64_t s, unsigned v)
{
    unsigned sh = (unsigned)(s % 4) * 2;
    uint8_t *pg = __atomic_load_n(&d->topmap[s / BLK_GROUP], __ATOMIC_ACQUIRE);
    size_t b = (size_t)(s % BLK_GROUP) / 4;

    __atomic_fetch_and(&pg[b], (uint8_t) ~(3u << sh), __ATOMIC_RELAXED);
    __atomic_fetch_or(&pg[b], (uint8_t)(v << sh), __ATOMIC_RELAXED);
    __atomic_store_n(&d->dirty[s / BLK_GROUP], 1, __ATOMIC_RELAXED);
}

/* Publishes a zeroed block of len bytes in *slot unless one is there. */
static bool slot_ensure(void **slot, size_t len)
{
    void *fresh = NULL;
    void *expected = NULL;

    if (__atomic_load_n(slot, __ATOMIC_ACQUIRE) != NULL) {
        return true;
    }
    fresh = calloc(1, len);
    if (fresh == NULL) {
        return false;
    }
    if (!__atomic_compare_exchange_n(slot, &expected, fresh, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        free(fresh); /* another thread published it first */
    }
    return true;
}

/* Makes the res chunks and top-map pages of sectors [s, s+n) exist, so
 * that a state change never fails halfway for want of memory. */
static sd_code ensure_groups(blk_disk *d, uint64_t s, uint64_t n, sd_err *err)
{
    sd_code rc = SD_OK;

    for (uint64_t g = s / BLK_GROUP; g <= (s + n - 1) / BLK_GROUP; g++) {
        SD_ENSURE(slot_ensure(&d->res[g], RES_GROUP_BYTES) &&
                      slot_ensure(&d->topmap[g], BLK_MAP_PAGE),
                  err, SD_E_NOMEM, "out of memory for the map");
    }
out:
    return rc;
}

/* Bytes of map page p (the last one may be short). */
static size_t page_len(const blk_disk *d, size_t p)
{
    size_t len = d->mapbytes - p * BLK_MAP_PAGE;

    return len < BLK_MAP_PAGE ? len : BLK_MAP_PAGE;
}

static unsigned run_class(unsigned v)
{
    return v < RES_DATA ? v : RES_DATA;
}

uint64_t blk__disk_run(const blk_disk *d, uint64_t s, uint64_t end, unsigned *cls)
{
    uint64_t t = s;

    *cls = run_class(res_get(d, s));
    while (t < end) {
        const uint16_t *c = __atomic_load_n(&d->res[t / BLK_GROUP], __ATOMIC_ACQUIRE);
        uint64_t gend = (t / BLK_GROUP + 1) * BLK_GROUP;
        gend = gend < end ? gend : end;
        if (c == NULL) {
            if (*cls != RES_HOLE) {
                break;
            }
            t = gend; /* a whole empty group at once */
            continue;
        }
        while (t < gend && run_class(c[t % BLK_GROUP]) == *cls) {
            t++;
        }
        if (t < gend) {
            break;
        }
    }
    return t - s;
}

uint64_t blk__disk_sectors(const blk_disk *d)
{
    return d->nsectors;
}

bool blk__disk_encrypted(const blk_disk *d)
{
    return d->xts_key != NULL;
}

static unsigned top_index(const blk_disk *d)
{
    return d->depth - 1;
}

static void *top_data(const blk_disk *d)
{
    return d->chain[d->depth - 1].data;
}

static const blk_backend_ops *ops(const blk_disk *d)
{
    return blk__ops(d->bs);
}

/* Locks the stripes of sectors [s, s+n), n <= BLK_CHUNK_SECTORS, in
 * ascending stripe order so that overlapping chunks cannot deadlock. */
static void lock_sectors(blk_disk *d, uint64_t s, unsigned n)
{
    unsigned a = (unsigned)(s % BLK_STRIPES);

    if (a + n <= BLK_STRIPES) {
        for (unsigned i = 0; i < n; i++) {
            pthread_mutex_lock(&d->stripes[a + i]);
        }
        return;
    }
    for (unsigned i = 0; i < a + n - BLK_STRIPES; i++) {
        pthread_mutex_lock(&d->stripes[i]);
    }
    for (unsigned i = a; i < BLK_STRIPES; i++) {
        pthread_mutex_lock(&d->stripes[i]);
    }
}

static void unlock_sectors(blk_disk *d, uint64_t s, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        pthread_mutex_unlock(&d->stripes[(s + i) % BLK_STRIPES]);
    }
}

static void io_free(blk_io *io)
{
    if (io == NULL) {
        return;
    }
    crypto_xts_free(io->xts);
    if (io->buf != NULL) {
        sd_wipe(io->buf, BLK_CHUNK_BYTES); /* may hold plaintext */
        free(io->buf);
    }
    free(io);
}

/* A pooled I/O context (cipher + bounce buffer); give it back with io_put. */
static sd_code io_get(blk_disk *d, blk_io **out, sd_err *err)
{
    sd_code rc = SD_OK;
    blk_io *io = NULL;

    pthread_mutex_lock(&d->pool_mu);
    io = d->pool;
    if (io != NULL) {
        d->pool = io->next_free;
    }
    pthread_mutex_unlock(&d->pool_mu);
    if (io != NULL) {
        *out = io;
        io = NULL;
        goto out;
    }
    io = calloc(1, sizeof *io);
    SD_ENSURE(io != NULL, err, SD_E_NOMEM, "out of memory");
    io->buf = aligned_alloc(BLK_SECTOR, BLK_CHUNK_BYTES);
    SD_ENSURE(io->buf != NULL, err, SD_E_NOMEM, "out of memory");
    if (d->xts_key != NULL) {
        SD_TRY(crypto_xts_new(d->xts_key, &io->xts, err));
    }
    pthread_mutex_lock(&d->pool_mu);
    io->next_all = d->all;
    d->all = io;
    pthread_mutex_unlock(&d->pool_mu);
    *out = io;
    io = NULL;
out:
    io_free(io);
    return rc;
}

static void io_put(blk_disk *d, blk_io *io)
{
    if (io == NULL) {
        return;
    }
    pthread_mutex_lock(&d->pool_mu);
    io->next_free = d->pool;
    d->pool = io;
    pthread_mutex_unlock(&d->pool_mu);
}

static sd_code check_range(const blk_disk *d, uint32_t count, uint64_t offset, sd_err *err)
{
    sd_code rc = SD_OK;
    uint64_t end = 0;

    SD_ENSURE(offset % BLK_IO_ALIGN == 0 && count % BLK_IO_ALIGN == 0, err, SD_E_INVALID,
              "offset %llu and count %u must be multiples of %u", (unsigned long long)offset, count,
              BLK_IO_ALIGN);
    SD_ENSURE(count <= BLK_MAX_IO, err, SD_E_INVALID, "request of %u bytes over %u", count,
              BLK_MAX_IO);
    SD_ENSURE(!sd_add_overflow(offset, (uint64_t)count, &end) && end <= d->size, err, SD_E_INVALID,
              "request [%llu, +%u) beyond the disk's %llu bytes", (unsigned long long)offset, count,
              (unsigned long long)d->size);
out:
    return rc;
}

/* ---- sector I/O (stripes of the sectors locked, drain held shared) ------- */

/* Plaintext of sectors [s, s+n) into dst.  Holes and ZERO sectors are
 * zeroes and never go through the cipher. */
static sd_code read_sectors(blk_disk *d, blk_io *io, uint64_t s, unsigned n, uint8_t *dst,
                            sd_err *err)
{
    sd_code rc = SD_OK;
    unsigned i = 0;

    while (i < n) {
        unsigned v = res_get(d, s + i);
        unsigned run = 1;
        while (i + run < n && res_get(d, s + i + run) == v) {
            run++;
        }
        uint8_t *p = dst + (size_t)i * BLK_SECTOR;
        size_t len = (size_t)run * BLK_SECTOR;
        if (v < RES_DATA) {
            memset(p, 0, len);
        } else {
            SD_TRY(ops(d)->pread(d->chain[v - RES_DATA].data, p, len, (s + i) * BLK_SECTOR, err));
            if (io->xts != NULL) {
                SD_TRY(crypto_xts_decrypt_sectors(io->xts, s + i, p, p, run, err));
            }
        }
        i += run;
    }
out:
    return rc;
}

/* The bytes to store for sectors [s, s+n) of a write of [offset,
 * offset+count) (src NULL: zeroes), into *out.  Partial sectors are read
 * first and merged in io->buf.  A chunk the write covers whole skips the
 * bounce copy: the cipher reads the caller's bytes and writes io->buf,
 * and a plain disk stores the caller's bytes as they are. */
static sd_code chunk_bytes(blk_disk *d, blk_io *io, uint64_t s, unsigned n, const uint8_t *src,
                           uint64_t offset, uint32_t count, const uint8_t **out, sd_err *err)
{
    sd_code rc = SD_OK;
    uint64_t cstart = s * BLK_SECTOR;
    uint64_t cend = (s + n) * BLK_SECTOR;
    uint64_t lo = offset > cstart ? offset : cstart;
    uint64_t hi = offset + count < cend ? offset + count : cend;

    *out = io->buf;
    if (src != NULL && lo == cstart && hi == cend) {
        if (io->xts == NULL) {
            *out = src + (cstart - offset);
            goto out;
        }
        SD_TRY(crypto_xts_encrypt_sectors(io->xts, s, src + (cstart - offset), io->buf, n, err));
        goto out;
    }
    if (lo > cstart) {
        SD_TRY(read_sectors(d, io, s, 1, io->buf, err));
    }
    if (hi < cend && !(n == 1 && lo > cstart)) {
        SD_TRY(read_sectors(d, io, s + n - 1, 1, io->buf + (size_t)(n - 1) * BLK_SECTOR, err));
    }
    if (src != NULL) {
        memcpy(io->buf + (lo - cstart), src + (lo - offset), hi - lo);
    } else {
        memset(io->buf + (lo - cstart), 0, hi - lo);
    }
    if (io->xts != NULL) {
        SD_TRY(crypto_xts_encrypt_sectors(io->xts, s, io->buf, io->buf, n, err));
    }
out:
    return rc;
}

/* Writes bytes [offset, offset+count) (src NULL: zeroes) that fall in
 * sectors [s, s+n): the chunk's ciphertext (chunk_bytes) is stored in the
 * top layer, then the maps say DATA. */
static sd_code write_chunk(blk_disk *d, blk_io *io, uint64_t s, unsigned n, const uint8_t *src,
                           uint64_t offset, uint32_t count, sd_err *err)
{
    sd_code rc = SD_OK;
    const uint8_t *bytes = NULL;

    SD_TRY(chunk_bytes(d, io, s, n, src, offset, count, &bytes, err));
    SD_TRY(ensure_groups(d, s, n, err));
    SD_TRY(ops(d)->pwrite(top_data(d), bytes, (size_t)n * BLK_SECTOR, s * BLK_SECTOR, err));
    __atomic_store_n(&d->data_dirty, 1, __ATOMIC_RELAXED);
    for (unsigned i = 0; i < n; i++) {
        res_set(d, s + i, RES_DATA + top_index(d));
        topmap_set(d, s + i, MAP_DATA);
    }
out:
    return rc;
}

/* Remembers [s, s+n) for punching once a flush has made its ZERO state
 * durable.  Failing to remember only costs space. */
static void punch_later(blk_disk *d, uint64_t s, unsigned n)
{
    pthread_mutex_lock(&d->punch_mu);
    if (d->npunch > 0 && d->punch[d->npunch - 1].s + d->punch[d->npunch - 1].n == s &&
        d->punch[d->npunch - 1].n < (uint64_t)BLK_CHUNK_SECTORS * 64u) {
        d->punch[d->npunch - 1].n += n; /* a long TRIM arrives chunk by chunk */
        goto out;
    }
    if (d->npunch == d->punch_cap) {
        size_t cap = d->punch_cap == 0 ? 64 : d->punch_cap * 2;
        blk_range *r = realloc(d->punch, cap * sizeof *r);
        if (r == NULL) {
            goto out;
        }
        d->punch = r;
        d->punch_cap = cap;
    }
    d->punch[d->npunch].s = s;
    d->punch[d->npunch].n = n;
    d->npunch++;
out:
    pthread_mutex_unlock(&d->punch_mu);
}

/* Sectors [s, s+n) become ZERO in the top layer; with punch, their data in
 * the top layer is deallocated by a later flush, after the map saying ZERO
 * is durable.  Punching at once would be wrong for an encrypted disk: a
 * crash before that flush leaves the durable map saying DATA over a hole,
 * which decrypts to garbage (neither the old content nor zeroes). */
static sd_code zero_chunk(blk_disk *d, uint64_t s, unsigned n, bool punch, sd_err *err)
{
    sd_code rc = SD_OK;
    bool had_data = false;

    SD_TRY(ensure_groups(d, s, n, err));
    for (unsigned i = 0; i < n; i++) {
        had_data = had_data || topmap_get(d, s + i) == MAP_DATA;
        res_set(d, s + i, RES_ZERO);
        topmap_set(d, s + i, MAP_ZERO);
    }
    if (punch && had_data) {
        punch_later(d, s, n);
    }
out:
    return rc;
}

/* The chunk containing sector s of a request ending at sector e (inclusive). */
static unsigned chunk_len(uint64_t s, uint64_t e)
{
    uint64_t left = e - s + 1;

    return left < BLK_CHUNK_SECTORS ? (unsigned)left : BLK_CHUNK_SECTORS;
}

/* ---- public I/O ------------------------------------------------------------ */

/* One pread or pwrite, cut into chunks that every thread working on it
 * claims one at a time (run_chunks). */
typedef struct chunk_req {
    blk_disk *d;
    bool write;
    uint8_t *dst;       /* read */
    const uint8_t *src; /* write */
    uint64_t offset;
    uint32_t count;
    uint64_t s0;      /* the request's first sector */
    uint64_t e;       /* and its last (inclusive) */
    uint64_t nchunks; /* chunk k starts at sector s0 + k * BLK_CHUNK_SECTORS */
    uint64_t next;    /* the next chunk to claim (atomic) */
    int failed;       /* a chunk failed: claim no more (atomic) */
    sd_code rc;       /* the first failure, set by the thread that set failed */
    sd_err err;
} chunk_req;

/* Chunk k of r: plaintext in or out through io->buf, under its stripes. */
static sd_code do_chunk(chunk_req *r, blk_io *io, uint64_t k, sd_err *err)
{
    sd_code rc = SD_OK;
    blk_disk *d = r->d;
    uint64_t s = r->s0 + k * BLK_CHUNK_SECTORS;
    unsigned n = chunk_len(s, r->e);
    uint64_t cstart = s * BLK_SECTOR;
    uint64_t lo = r->offset > cstart ? r->offset : cstart;
    uint64_t hi =
        r->offset + r->count < (s + n) * BLK_SECTOR ? r->offset + r->count : (s + n) * BLK_SECTOR;

    /* A read that covers the chunk whole lands in the caller's buffer
     * directly (and is decrypted there); partial ones go through io->buf. */
    bool whole = lo == cstart && hi == (s + n) * BLK_SECTOR;

    lock_sectors(d, s, n);
    if (r->write) {
        rc = write_chunk(d, io, s, n, r->src, r->offset, r->count, err);
    } else {
        rc = read_sectors(d, io, s, n, whole ? r->dst + (cstart - r->offset) : io->buf, err);
    }
    unlock_sectors(d, s, n);
    SD_TRY(rc);
    if (!r->write && !whole) {
        memcpy(r->dst + (lo - r->offset), io->buf + (lo - cstart), hi - lo);
    }
out:
    return rc;
}

/* What each thread on a request runs (a blk_job_fn): claim chunks until
 * none is left or one failed.  Chunks are independent, so the order they
 * finish in does not matter; a request that fails has some chunks done and
 * some not, as a failed request on one thread always had. */
static void run_chunks(void *ctx)
{
    chunk_req *r = ctx;
    sd_err e = SD_ERR_INIT;
    blk_io *io = NULL;
    sd_code rc = io_get(r->d, &io, &e);

    while (rc == SD_OK && !__atomic_load_n(&r->failed, __ATOMIC_ACQUIRE)) {
        uint64_t k = __atomic_fetch_add(&r->next, 1, __ATOMIC_RELAXED);
        if (k >= r->nchunks) {
            break;
        }
        rc = do_chunk(r, io, k, &e);
    }
    if (rc != SD_OK && !__atomic_exchange_n(&r->failed, 1, __ATOMIC_ACQ_REL)) {
        r->rc = rc;
        r->err = e;
    }
    io_put(r->d, io);
}

/* Runs request r (count > 0, drain held shared): on this thread, or with
 * the store's helper for a large encrypted one (unless d opted out). */
static sd_code run_request(blk_disk *d, chunk_req *r, sd_err *err)
{
    r->d = d;
    r->s0 = r->offset / BLK_SECTOR;
    r->e = (r->offset + r->count - 1) / BLK_SECTOR;
    r->nchunks = (r->e - r->s0) / BLK_CHUNK_SECTORS + 1;
    if (d->xts_key != NULL && !d->no_helper && r->count >= BLK_PAR_MIN) {
        blk__par_run(&d->bs->helper, run_chunks, r);
    } else {
        run_chunks(r);
    }
    if (r->rc != SD_OK && err != NULL && err->code == SD_OK) {
        *err = r->err; /* the first failure wins */
    }
    return r->rc;
}

sd_code blk_disk_pread(blk_disk *d, void *buf, uint32_t count, uint64_t offset, sd_err *err)
{
    sd_code rc = SD_OK;
    chunk_req r = {.write = false, .dst = buf, .offset = offset, .count = count};

    SD_TRY(check_range(d, count, offset, err));
    if (count == 0) {
        goto out;
    }
    pthread_rwlock_rdlock(&d->drain);
    rc = run_request(d, &r, err);
    pthread_rwlock_unlock(&d->drain);
out:
    return rc;
}

sd_code blk_disk_pwrite(blk_disk *d, const void *buf, uint32_t count, uint64_t offset,
                        uint32_t flags, sd_err *err)
{
    sd_code rc = SD_OK;
    chunk_req r = {.write = true, .src = buf, .offset = offset, .count = count};

    SD_TRY(check_range(d, count, offset, err));
    if (count == 0) {
        goto out;
    }
    pthread_rwlock_rdlock(&d->drain);
    rc = run_request(d, &r, err);
    pthread_rwlock_unlock(&d->drain);
    SD_TRY(rc);
    if (flags & BLK_F_FUA) {
        SD_TRY(blk_disk_flush(d, err));
    }
out:
    return rc;
}

/* trim and zero: whole sectors by map, partial edge sectors by writing. */
/* Zeroes bytes [lo, hi) of the chunk of sectors [s, s+n) (stripes held):
 * whole sectors by map, partial edge sectors by writing zeroes. */
static sd_code zero_piece(blk_disk *d, blk_io **io, uint64_t lo, uint64_t hi, bool punch,
                          sd_err *err)
{
    sd_code rc = SD_OK;
    uint64_t ws = (lo + BLK_SECTOR - 1) / BLK_SECTOR; /* whole sectors: [ws, we) */
    uint64_t we = hi / BLK_SECTOR;

    if (we > ws) {
        SD_TRY(zero_chunk(d, ws, (unsigned)(we - ws), punch, err));
    }
    if (lo % BLK_SECTOR != 0) {
        uint64_t ps = lo / BLK_SECTOR;
        uint64_t pe = (ps + 1) * BLK_SECTOR < hi ? (ps + 1) * BLK_SECTOR : hi;
        if (*io == NULL) {
            SD_TRY(io_get(d, io, err));
        }
        SD_TRY(write_chunk(d, *io, ps, 1, NULL, lo, (uint32_t)(pe - lo), err));
    }
    if (hi % BLK_SECTOR != 0 && hi / BLK_SECTOR * BLK_SECTOR >= lo) {
        uint64_t ps = hi / BLK_SECTOR;
        uint64_t pb = ps * BLK_SECTOR;
        if (*io == NULL) {
            SD_TRY(io_get(d, io, err));
        }
        SD_TRY(write_chunk(d, *io, ps, 1, NULL, pb, (uint32_t)(hi - pb), err));
    }
out:
    return rc;
}

/* trim and zero: whole sectors by map, partial edge sectors by writing. */
static sd_code zero_range(blk_disk *d, uint32_t count, uint64_t offset, uint32_t flags, bool punch,
                          sd_err *err)
{
    sd_code rc = SD_OK;
    blk_io *io = NULL;
    bool shared = false;

    SD_TRY(check_range(d, count, offset, err));
    if (count == 0) {
        goto out;
    }
    pthread_rwlock_rdlock(&d->drain);
    shared = true;
    for (uint64_t s = offset / BLK_SECTOR, e = (offset + count - 1) / BLK_SECTOR; s <= e;) {
        unsigned n = chunk_len(s, e);
        uint64_t cstart = s * BLK_SECTOR;
        uint64_t cend = (s + n) * BLK_SECTOR;
        uint64_t lo = offset > cstart ? offset : cstart;
        uint64_t hi = offset + count < cend ? offset + count : cend;
        lock_sectors(d, s, n);
        rc = zero_piece(d, &io, lo, hi, punch, err);
        unlock_sectors(d, s, n);
        SD_TRY(rc);
        s += n;
    }
    pthread_rwlock_unlock(&d->drain);
    shared = false;
    if (flags & BLK_F_FUA) {
        SD_TRY(blk_disk_flush(d, err));
    }
out:
    if (shared) {
        pthread_rwlock_unlock(&d->drain);
    }
    io_put(d, io);
    return rc;
}

sd_code blk_disk_trim(blk_disk *d, uint32_t count, uint64_t offset, uint32_t flags, sd_err *err)
{
    return zero_range(d, count, offset, flags, true, err);
}

sd_code blk_disk_zero(blk_disk *d, uint32_t count, uint64_t offset, uint32_t flags, sd_err *err)
{
    /* Without MAY_TRIM the client asked for allocated zeroes; we keep the
     * old data in place instead of punching, which only costs space. */
    return zero_range(d, count, offset, flags, (flags & BLK_F_MAY_TRIM) != 0, err);
}

/* ---- flush ----------------------------------------------------------------- */

/* What one flush writes: the dirty map pages as they were when no write
 * was in flight, and the ranges to punch once they are durable. */
typedef struct flush_set {
    size_t *pages; /* ascending group numbers */
    uint8_t *copy; /* BLK_MAP_PAGE bytes per page */
    size_t np;
    int data_dirty;
    blk_range *punch;
    size_t npunch;
} flush_set;

/* Takes the dirty pages, data_dirty and the punch list (drain held
 * exclusively).  On SD_E_NOMEM nothing is taken. */
static sd_code flush_take(blk_disk *d, flush_set *f, sd_err *err)
{
    sd_code rc = SD_OK;
    size_t k = 0;

    for (size_t p = 0; p < d->ngroups; p++) {
        f->np += d->dirty[p] != 0;
    }
    if (f->np > 0) {
        f->pages = malloc(f->np * sizeof *f->pages);
        f->copy = malloc(f->np * BLK_MAP_PAGE);
        SD_ENSURE(f->pages != NULL && f->copy != NULL, err, SD_E_NOMEM, "out of memory");
    }
    for (size_t p = 0; p < d->ngroups && k < f->np; p++) {
        if (d->dirty[p] != 0) {
            memcpy(f->copy + k * BLK_MAP_PAGE, d->topmap[p], page_len(d, p));
            f->pages[k++] = p;
            d->dirty[p] = 0;
        }
    }
    f->data_dirty = d->data_dirty;
    d->data_dirty = 0;
    pthread_mutex_lock(&d->punch_mu);
    f->punch = d->punch;
    f->npunch = d->npunch;
    d->punch = NULL;
    d->npunch = 0;
    d->punch_cap = 0;
    pthread_mutex_unlock(&d->punch_mu);
out:
    if (rc != SD_OK) {
        f->np = 0;
    }
    return rc;
}

/* After a failed flush: nothing was lost in memory, the next one retries. */
static void flush_giveback(blk_disk *d, flush_set *f)
{
    for (size_t k = 0; k < f->np; k++) {
        __atomic_store_n(&d->dirty[f->pages[k]], 1, __ATOMIC_RELAXED);
    }
    if (f->data_dirty) {
        __atomic_store_n(&d->data_dirty, 1, __ATOMIC_RELAXED);
    }
    for (size_t i = 0; i < f->npunch; i++) {
        punch_later(d, f->punch[i].s, (unsigned)f->punch[i].n);
    }
}

/* The state of sector s in the map pages this flush made durable
 * (MAP_UNALLOCATED when its page was not among them). */
static unsigned flushed_state(const flush_set *f, uint64_t s)
{
    size_t lo = 0;
    size_t hi = f->np;
    size_t g = (size_t)(s / BLK_GROUP);

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->pages[mid] < g) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo == f->np || f->pages[lo] != g) {
        return MAP_UNALLOCATED;
    }
    return (f->copy[lo * BLK_MAP_PAGE + (s % BLK_GROUP) / 4] >> ((s % 4) * 2)) & 3u;
}

/* Punches the data of sectors [s, s+n) (n <= BLK_CHUNK_SECTORS) that are
 * ZERO both in memory and in the durable map; a sector written since keeps
 * its data.  A failed punch only costs space. */
static void punch_chunk(blk_disk *d, const flush_set *f, uint64_t s, unsigned n)
{
    unsigned i = 0;

    lock_sectors(d, s, n);
    while (i < n) {
        unsigned run = 0;
        while (i + run < n && topmap_get(d, s + i + run) == MAP_ZERO &&
               flushed_state(f, s + i + run) == MAP_ZERO) {
            run++;
        }
        if (run > 0) {
            sd_err e = SD_ERR_INIT;
            if (ops(d)->punch(top_data(d), (s + i) * BLK_SECTOR, (uint64_t)run * BLK_SECTOR, &e) !=
                SD_OK) {
                sd_log(SD_LOG_WARN, "blk", "punch failed: disk=%s reason=\"%s\"", d->name, e.msg);
            }
            __atomic_store_n(&d->data_dirty, 1, __ATOMIC_RELAXED);
        }
        i += run > 0 ? run : 1;
    }
    unlock_sectors(d, s, n);
}

/* Data, then map (invariant 2), then the punches the durable map allows.
 * drained: the caller holds drain exclusively already (snapshot).
 * flush_mu is held, so the top layer cannot change underneath. */
static sd_code flush_inner(blk_disk *d, bool drained, sd_err *err)
{
    sd_code rc = SD_OK;
    flush_set f = {0};

    if (!drained) {
        pthread_rwlock_wrlock(&d->drain);
    }
    rc = flush_take(d, &f, err);
    if (!drained) {
        pthread_rwlock_unlock(&d->drain);
    }
    SD_TRY(rc);
    SD_ENSURE(!d->sync_failed, err, SD_E_IO,
              "flush: an earlier sync of disk %s failed and writes may have been lost; "
              "reopen the disk",
              d->name);
    SD_ENSURE(!SD_FAULT("blk.flush"), err, SD_E_IO, "flush: injected fault");
    if (f.data_dirty) {
        rc = ops(d)->sync(top_data(d), err);
        d->sync_failed = rc != SD_OK;
        SD_TRY(rc);
    }
    for (size_t k = 0; k < f.np; k++) {
        SD_TRY(ops(d)->pwrite(d->topmap_obj, f.copy + k * BLK_MAP_PAGE, page_len(d, f.pages[k]),
                              (uint64_t)f.pages[k] * BLK_MAP_PAGE, err));
    }
    if (f.np > 0) {
        rc = ops(d)->sync(d->topmap_obj, err);
        d->sync_failed = rc != SD_OK;
        SD_TRY(rc);
    }
    for (size_t i = 0; i < f.npunch; i++) {
        for (uint64_t s = f.punch[i].s, e = s + f.punch[i].n; s < e; s += BLK_CHUNK_SECTORS) {
            punch_chunk(d, &f, s,
                        (unsigned)(e - s < BLK_CHUNK_SECTORS ? e - s : BLK_CHUNK_SECTORS));
        }
    }
out:
    if (rc != SD_OK) {
        flush_giveback(d, &f);
    }
    free(f.pages);
    free(f.copy);
    free(f.punch);
    return rc;
}

sd_code blk_disk_flush(blk_disk *d, sd_err *err)
{
    sd_code rc = SD_OK;

    pthread_mutex_lock(&d->flush_mu);
    rc = flush_inner(d, false, err);
    pthread_mutex_unlock(&d->flush_mu);
    return rc;
}

/* ---- extents --------------------------------------------------------------- */

sd_code blk_disk_extents(blk_disk *d, uint32_t count, uint64_t offset, uint32_t flags,
                         blk_extent_fn fn, void *ctx, sd_err *err)
{
    sd_code rc = SD_OK;
    uint64_t end = 0;
    uint64_t pos = offset;
    bool shared = false;

    SD_TRY(check_range(d, count, offset, err));
    end = offset + count;
    pthread_rwlock_rdlock(&d->drain);
    shared = true;
    while (pos < end) {
        uint64_t s = pos / BLK_SECTOR;
        uint32_t type = res_get(d, s) < RES_DATA ? BLK_EXTENT_HOLE | BLK_EXTENT_ZERO : 0;
        uint64_t next = (s + 1) * BLK_SECTOR;
        while (next < end) {
            uint32_t t =
                res_get(d, next / BLK_SECTOR) < RES_DATA ? BLK_EXTENT_HOLE | BLK_EXTENT_ZERO : 0;
            if (t != type) {
                break;
            }
            next += BLK_SECTOR;
        }
        next = next < end ? next : end;
        SD_TRY(fn(ctx, next - pos, type, err));
        pos = next;
        if (flags & BLK_F_REQ_ONE) {
            break;
        }
    }
out:
    if (shared) {
        pthread_rwlock_unlock(&d->drain);
    }
    return rc;
}

/* ---- open, close, snapshot ----------------------------------------------- */

static void free_groups(void **g, size_t n)
{
    if (g == NULL) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        free(g[i]);
    }
    free(g);
}

static void disk_free(blk_disk *d)
{
    if (d == NULL) {
        return;
    }
    if (d->registered) {
        /* First: a merge must not find a handle being torn down, nor
         * lose the one it is absorbing into. */
        pthread_mutex_lock(&d->bs->mu);
        if (d->name[0] != '\0') {
            blk__merge_wait(d->bs, NULL, d->chain[d->depth - 1].id); /* absorbing into d */
        }
        for (blk_disk **p = &d->bs->handles; *p != NULL; p = &(*p)->next_handle) {
            if (*p == d) {
                *p = d->next_handle;
                break;
            }
        }
        pthread_mutex_unlock(&d->bs->mu);
    }
    for (unsigned i = 0; i < d->depth; i++) {
        if (d->chain[i].data != NULL) {
            ops(d)->close(d->chain[i].data);
        }
    }
    if (d->topmap_obj != NULL) {
        ops(d)->close(d->topmap_obj);
    }
    while (d->all != NULL) {
        blk_io *io = d->all;
        d->all = io->next_all;
        io_free(io);
    }
    sd_secret_free(d->xts_key);
    free_groups(d->res, d->ngroups);
    free_groups(d->topmap, d->ngroups);
    free(d->dirty);
    free(d->punch);
    if (d->locks_ready) {
        pthread_rwlock_destroy(&d->drain);
        pthread_mutex_destroy(&d->flush_mu);
        pthread_mutex_destroy(&d->pool_mu);
        pthread_mutex_destroy(&d->punch_mu);
        for (unsigned i = 0; i < BLK_STRIPES; i++) {
            pthread_mutex_destroy(&d->stripes[i]);
        }
    }
    if (d->name[0] != '\0') {
        blk__release(d->bs, d->name);
    }
    free(d);
}

static sd_code init_locks(blk_disk *d, sd_err *err)
{
    sd_code rc = SD_OK;
    pthread_rwlockattr_t ra;

    /* Writer preference, so a flush or snapshot is not starved by a
     * stream of I/O holding the lock shared. */
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    SD_ENSURE(pthread_rwlock_init(&d->drain, &ra) == 0, err, SD_E_INTERNAL, "rwlock init");
    pthread_mutex_init(&d->flush_mu, NULL);
    pthread_mutex_init(&d->pool_mu, NULL);
    pthread_mutex_init(&d->punch_mu, NULL);
    for (unsigned i = 0; i < BLK_STRIPES; i++) {
        pthread_mutex_init(&d->stripes[i], NULL);
    }
    d->locks_ready = true;
out:
    pthread_rwlockattr_destroy(&ra);
    return rc;
}

/* The 512-bit XTS key from the 256-bit DK (DESIGN §2); HKDF makes the two
 * halves independent, and crypto_xts_new still checks they differ. */
static sd_code derive_key(const sd_secret *dk, sd_secret **out, sd_err *err)
{
    sd_code rc = SD_OK;
    sd_secret *k = NULL;

    SD_ENSURE(sd_secret_len(dk) == BLK_DK_LEN, err, SD_E_INVALID, "a data key is %u bytes",
              BLK_DK_LEN);
    SD_TRY(sd_secret_new(CRYPTO_XTS_KEY_LEN, &k, err));
    SD_TRY(crypto_hkdf_sha256(sd_secret_data(dk), sd_secret_len(dk), NULL, 0,
                              (const uint8_t *)xts_info, sizeof xts_info - 1, sd_secret_data(k),
                              CRYPTO_XTS_KEY_LEN, err));
    *out = sd_secret_take(&k);
out:
    sd_secret_free(k);
    return rc;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != 0) {
            return false;
        }
    }
    return true;
}

/* Folds map page p (len bytes at pg) of chain[k] into res (layers are
 * applied bottom-up, so an upper layer's state wins); the top layer's page
 * is also kept as topmap[p].  All-zero pages allocate nothing. */
static sd_code apply_page(blk_disk *d, unsigned k, size_t p, const uint8_t *pg, size_t len,
                          sd_err *err)
{
    sd_code rc = SD_OK;
    uint16_t *c = NULL;

    if (all_zero(pg, len)) {
        goto out;
    }
    SD_ENSURE(slot_ensure(&d->res[p], RES_GROUP_BYTES), err, SD_E_NOMEM,
              "out of memory for the map");
    if (k == d->depth - 1) {
        SD_ENSURE(slot_ensure(&d->topmap[p], BLK_MAP_PAGE), err, SD_E_NOMEM,
                  "out of memory for the map");
        memcpy(d->topmap[p], pg, len);
    }
    c = d->res[p];
    for (size_t b = 0; b < len; b++) {
        for (unsigned j = 0; j < 4 && pg[b] != 0; j++) {
            uint64_t s = (uint64_t)p * BLK_GROUP + b * 4 + j;
            unsigned v = (pg[b] >> (j * 2)) & 3u;
            if (s >= d->nsectors) {
                break;
            }
            if (v == MAP_DATA) {
                c[s % BLK_GROUP] = (uint16_t)(RES_DATA + k);
            } else if (v == MAP_ZERO) {
                c[s % BLK_GROUP] = RES_ZERO;
            }
        }
    }
out:
    return rc;
}

#define LOAD_PAGES ((size_t)256) /* map pages read per backend call at open */

/* Reads the map object of chain[k] (only as far as it was ever written)
 * into res, and into topmap for the top layer. */
static sd_code load_map(blk_disk *d, unsigned k, void *mapobj, uint8_t *buf, sd_err *err)
{
    sd_code rc = SD_OK;
    uint64_t objsize = 0;
    uint64_t limit = 0;

    SD_TRY(ops(d)->size(mapobj, &objsize, err));
    limit = objsize < d->mapbytes ? objsize : d->mapbytes;
    for (size_t p0 = 0; (uint64_t)p0 * BLK_MAP_PAGE < limit; p0 += LOAD_PAGES) {
        size_t np = d->ngroups - p0 < LOAD_PAGES ? d->ngroups - p0 : LOAD_PAGES;
        size_t len = d->mapbytes - p0 * BLK_MAP_PAGE;
        len = len < (size_t)np * BLK_MAP_PAGE ? len : (size_t)np * BLK_MAP_PAGE;
        SD_TRY(ops(d)->pread(mapobj, buf, len, (uint64_t)p0 * BLK_MAP_PAGE, err));
        for (size_t i = 0; i < np; i++) {
            SD_TRY(apply_page(d, k, p0 + i, buf + i * BLK_MAP_PAGE, page_len(d, p0 + i), err));
        }
    }
out:
    return rc;
}

/* Allocates d's pointer tables for a disk of size bytes. */
static sd_code alloc_tables(blk_disk *d, uint64_t size, sd_err *err)
{
    sd_code rc = SD_OK;

    d->size = size;
    d->nsectors = size / BLK_SECTOR;
    d->mapbytes = (size_t)((d->nsectors + 3) / 4);
    d->ngroups = (size_t)((d->nsectors + BLK_GROUP - 1) / BLK_GROUP);
    d->res = calloc(d->ngroups, sizeof *d->res);
    d->topmap = calloc(d->ngroups, sizeof *d->topmap);
    d->dirty = calloc(d->ngroups, 1);
    SD_ENSURE(d->res != NULL && d->topmap != NULL && d->dirty != NULL, err, SD_E_NOMEM,
              "out of memory for the map of a %llu-byte disk", (unsigned long long)size);
out:
    return rc;
}

/* Opens the layers ids[0..depth) (bottom-first) and resolves their maps. */
static sd_code open_layers(blk_disk *d, const blk_layer_id *ids, unsigned depth, sd_err *err)
{
    sd_code rc = SD_OK;
    void *mapobj = NULL;
    uint8_t *buf = malloc((size_t)LOAD_PAGES * BLK_MAP_PAGE);

    SD_ENSURE(buf != NULL, err, SD_E_NOMEM, "out of memory");
    for (unsigned k = 0; k < depth; k++) {
        (void)snprintf(d->chain[k].id, sizeof d->chain[k].id, "%s", ids[k]);
        SD_TRY(blk__layer_open(d->bs, ids[k], "data", &d->chain[k].data, err));
        d->depth = k + 1;
    }
    for (unsigned k = 0; k < depth; k++) {
        SD_TRY(blk__layer_open(d->bs, ids[k], "map", &mapobj, err));
        SD_TRY(load_map(d, k, mapobj, buf, err));
        if (k == depth - 1) {
            d->topmap_obj = mapobj;
        } else {
            ops(d)->close(mapobj);
        }
        mapobj = NULL;
    }
out:
    if (mapobj != NULL) {
        ops(d)->close(mapobj);
    }
    free(buf);
    return rc;
}

sd_code blk__chain_open(blk_store *bs, const blk_layer_id *ids, unsigned depth, uint64_t size,
                        bool encrypted, const sd_secret *dk, const char *claim, blk_disk **out,
                        sd_err *err)
{
    sd_code rc = SD_OK;
    blk_disk *d = NULL;
    blk_io *io = NULL;

    *out = NULL;
    SD_ENSURE(depth > 0 && depth <= BLK_MAX_DEPTH, err, SD_E_INTERNAL, "chain of %u layers", depth);
    SD_ENSURE(encrypted == (dk != NULL), err, SD_E_INVALID,
              encrypted ? "%s is encrypted: a data key is needed"
                        : "%s is not encrypted: no key expected",
              claim != NULL ? claim : "the source");
    d = calloc(1, sizeof *d);
    SD_ENSURE(d != NULL, err, SD_E_NOMEM, "out of memory");
    d->bs = bs;
    SD_TRY(init_locks(d, err));
    if (claim != NULL) {
        SD_TRY(blk__claim(bs, claim, err));
        (void)snprintf(d->name, sizeof d->name, "%s", claim);
    }
    if (dk != NULL) {
        SD_TRY(derive_key(dk, &d->xts_key, err));
    }
    SD_TRY(alloc_tables(d, size, err));
    SD_TRY(open_layers(d, ids, depth, err));
    /* One context now: a bad key fails here, not on the first read. */
    SD_TRY(io_get(d, &io, err));
    io_put(d, io);
    pthread_mutex_lock(&bs->mu);
    d->next_handle = bs->handles;
    bs->handles = d;
    d->registered = true;
    pthread_mutex_unlock(&bs->mu);
    *out = d;
    d = NULL;
out:
    disk_free(d);
    return rc;
}

/* Whether d's chain is ids[0..depth). */
static bool same_chain(const blk_disk *d, const blk_layer_id *ids, unsigned depth)
{
    if (d->depth != depth) {
        return false;
    }
    for (unsigned i = 0; i < depth; i++) {
        if (strcmp(d->chain[i].id, ids[i]) != 0) {
            return false;
        }
    }
    return true;
}

sd_code blk_disk_open(blk_store *bs, const char *name, const sd_secret *dk, blk_disk **out,
                      sd_err *err)
{
    sd_code rc = SD_OK;
    blk_layer_id *ids = NULL;
    unsigned depth = 0;
    bool encrypted = false;
    uint64_t size = 0;
    blk_disk *d = NULL;

    *out = NULL;
    /* A merge that ran between loading the chain and registering the
     * handle (blk__chain_open) changed layers this handle read: the chain
     * is loaded again after registering, and a handle that missed a merge
     * is dropped unused and opened afresh.  Merges after the registration
     * see the handle. */
    for (int attempt = 0;; attempt++) {
        SD_TRY(blk__chain_load(bs, false, name, &size, &encrypted, &ids, &depth, err));
        SD_TRY(blk__chain_open(bs, ids, depth, size, encrypted, dk, name, &d, err));
        free(ids);
        ids = NULL;
        SD_TRY(blk__chain_load(bs, false, name, &size, &encrypted, &ids, &depth, err));
        if (same_chain(d, ids, depth)) {
            break;
        }
        free(ids);
        ids = NULL;
        disk_free(d);
        d = NULL;
        SD_ENSURE(attempt < 8, err, SD_E_CONFLICT, "disk %s keeps changing under its open", name);
    }
    *out = d;
    d = NULL;
out:
    free(ids);
    disk_free(d);
    return rc;
}

void blk__disk_discard(blk_disk *d)
{
    disk_free(d);
}

sd_code blk_disk_close(blk_disk *d, sd_err *err)
{
    sd_code rc = SD_OK;

    if (d == NULL) {
        return SD_OK;
    }
    rc = blk_disk_flush(d, err);
    if (rc != SD_OK) {
        sd_log(SD_LOG_ERROR, "blk", "flush on close failed: disk=%s", d->name);
    }
    disk_free(d);
    return rc;
}

uint64_t blk_disk_size(const blk_disk *d)
{
    return d->size;
}

void blk_disk_set_helper(blk_disk *d, bool on)
{
    d->no_helper = !on;
}

sd_code blk_disk_snapshot(blk_disk *d, const char *snap, sd_err *err)
{
    sd_code rc = SD_OK;
    blk_layer_id id;
    bool made = false;
    bool drained = false;
    void *data = NULL;
    void *map = NULL;
    void **topmap = NULL;
    uint8_t *dirty = NULL;

    /* bs->mu before the disk's locks, the order a merge takes them in */
    pthread_mutex_lock(&d->bs->mu);
    /* A merge into d's top holds flush_mu while it copies: wait without
     * holding bs->mu, which it does not take meanwhile. */
    blk__merge_wait(d->bs, NULL, d->chain[d->depth - 1].id);
    pthread_mutex_lock(&d->flush_mu);
    pthread_rwlock_wrlock(&d->drain);
    drained = true;
    SD_ENSURE(d->depth < BLK_MAX_DEPTH, err, SD_E_CONFLICT,
              "disk %s already has %u layers: no more snapshots", d->name, d->depth);
    /* Everything the frozen layer will ever hold must be durable first. */
    SD_TRY(flush_inner(d, true, err));
    SD_TRY(blk__layer_create_objects(d->bs, id, err));
    made = true;
    SD_TRY(blk__layer_open(d->bs, id, "data", &data, err));
    SD_TRY(blk__layer_open(d->bs, id, "map", &map, err));
    topmap = calloc(d->ngroups, sizeof *topmap);
    dirty = calloc(d->ngroups, 1);
    SD_ENSURE(topmap != NULL && dirty != NULL, err, SD_E_NOMEM, "out of memory");
    /* The one step that matters; everything before it can be undone. */
    SD_TRY(blk__commit_snapshot(d->bs, d->name, d->chain[d->depth - 1].id, id, snap, err));
    made = false;
    ops(d)->close(d->topmap_obj);
    d->topmap_obj = map;
    map = NULL;
    (void)snprintf(d->chain[d->depth].id, sizeof(blk_layer_id), "%s", id);
    d->chain[d->depth].data = data;
    data = NULL;
    d->depth++;
    free_groups(d->topmap, d->ngroups);
    d->topmap = topmap;
    topmap = NULL;
    free(d->dirty);
    d->dirty = dirty;
    dirty = NULL;
out:
    if (drained) {
        pthread_rwlock_unlock(&d->drain);
    }
    pthread_mutex_unlock(&d->flush_mu);
    pthread_mutex_unlock(&d->bs->mu);
    if (data != NULL) {
        ops(d)->close(data);
    }
    if (map != NULL) {
        ops(d)->close(map);
    }
    if (made) {
        blk__layer_remove_objects(d->bs, id);
    }
    free(topmap);
    free(dirty);
    return rc;
}

/* ---- merges (blk__disk_absorb without bs->mu, the rest with it) --------- */

blk_disk *blk__handle_with_top(blk_store *bs, const char *top)
{
    for (blk_disk *d = bs->handles; d != NULL; d = d->next_handle) {
        if (d->name[0] != '\0' && strcmp(d->chain[d->depth - 1].id, top) == 0) {
            return d;
        }
    }
    return NULL;
}

/* Sectors [s, s+n) of one chunk (n <= BLK_CHUNK_SECTORS, stripes held):
 * those the top leaves UNALLOCATED take state st[i] of the lower layer;
 * DATA bytes move in runs through buf. */
static sd_code absorb_chunk(blk_disk *d, void *lower_data, uint64_t s, unsigned n,
                            const uint8_t *st, uint8_t *buf, sd_err *err)
{
    sd_code rc = SD_OK;
    unsigned i = 0;

    while (i < n) {
        unsigned run = 0;
        while (i + run < n && st[i + run] == MAP_DATA &&
               topmap_get(d, s + i + run) == MAP_UNALLOCATED) {
            run++;
        }
        if (run > 0) {
            size_t len = (size_t)run * BLK_SECTOR;
            SD_TRY(ops(d)->pread(lower_data, buf, len, (s + i) * BLK_SECTOR, err));
            SD_TRY(ops(d)->pwrite(top_data(d), buf, len, (s + i) * BLK_SECTOR, err));
            __atomic_store_n(&d->data_dirty, 1, __ATOMIC_RELAXED);
            for (unsigned j = 0; j < run; j++) {
                topmap_set(d, s + i + j, MAP_DATA); /* res already names the data */
            }
            i += run;
            continue;
        }
        if (st[i] == MAP_ZERO && topmap_get(d, s + i) == MAP_UNALLOCATED) {
            topmap_set(d, s + i, MAP_ZERO);
        }
        i++;
    }
out:
    return rc;
}

/* One map page p (len bytes at pg) of the lower layer, into d's top. */
static sd_code absorb_page(blk_disk *d, void *lower_data, size_t p, const uint8_t *pg, size_t len,
                           uint8_t *buf, sd_err *err)
{
    sd_code rc = SD_OK;
    uint64_t first = (uint64_t)p * BLK_GROUP;
    uint64_t end = first + (uint64_t)len * 4;
    bool shared = false;

    end = end < d->nsectors ? end : d->nsectors;
    if (all_zero(pg, len) || first >= end) {
        goto out;
    }
    SD_TRY(ensure_groups(d, first, end - first, err));
    pthread_rwlock_rdlock(&d->drain);
    shared = true;
    for (uint64_t s = first; s < end; s += BLK_CHUNK_SECTORS) {
        unsigned n = (unsigned)(end - s < BLK_CHUNK_SECTORS ? end - s : BLK_CHUNK_SECTORS);
        uint8_t st[BLK_CHUNK_SECTORS];
        for (unsigned i = 0; i < n; i++) {
            size_t b = (size_t)(s + i - first);
            st[i] = (pg[b / 4] >> ((b % 4) * 2)) & 3u;
        }
        lock_sectors(d, s, n);
        rc = absorb_chunk(d, lower_data, s, n, st, buf, err);
        unlock_sectors(d, s, n);
        SD_TRY(rc);
    }
out:
    if (shared) {
        pthread_rwlock_unlock(&d->drain);
    }
    return rc;
}

sd_code blk__disk_absorb(blk_disk *d, void *lower_map, void *lower_data, sd_err *err)
{
    sd_code rc = SD_OK;
    uint64_t objsize = 0;
    uint8_t *pg = malloc(BLK_MAP_PAGE);
    uint8_t *buf = aligned_alloc(BLK_SECTOR, BLK_CHUNK_BYTES);

    pthread_mutex_lock(&d->flush_mu);
    SD_ENSURE(pg != NULL && buf != NULL, err, SD_E_NOMEM, "out of memory");
    SD_ENSURE(d->depth >= 2, err, SD_E_INTERNAL, "nothing below the top of %s", d->name);
    SD_TRY(ops(d)->size(lower_map, &objsize, err));
    for (size_t p = 0; p < d->ngroups && (uint64_t)p * BLK_MAP_PAGE < objsize; p++) {
        size_t len = page_len(d, p);
        SD_TRY(ops(d)->pread(lower_map, pg, len, (uint64_t)p * BLK_MAP_PAGE, err));
        SD_TRY(absorb_page(d, lower_data, p, pg, len, buf, err));
    }
    SD_ENSURE(!SD_FAULT("blk.merge.absorbed"), err, SD_E_IO, "merge: injected fault");
    SD_TRY(flush_inner(d, false, err));
out:
    pthread_mutex_unlock(&d->flush_mu);
    free(pg);
    free(buf);
    return rc;
}

/* Drops chain[k] of d (k below the top), whose sectors the layer above now
 * holds: that layer takes index k, so resolved entries above k move down
 * one and entries at k stay. */
static void drop_index(blk_disk *d, unsigned k)
{
    pthread_mutex_lock(&d->flush_mu);
    pthread_rwlock_wrlock(&d->drain);
    for (size_t g = 0; g < d->ngroups; g++) {
        uint16_t *c = d->res[g];
        for (size_t i = 0; c != NULL && i < BLK_GROUP; i++) {
            if (c[i] > RES_DATA + k) {
                c[i]--;
            }
        }
    }
    ops(d)->close(d->chain[k].data);
    memmove(&d->chain[k], &d->chain[k + 1], (d->depth - k - 1) * sizeof d->chain[0]);
    d->depth--;
    pthread_rwlock_unlock(&d->drain);
    pthread_mutex_unlock(&d->flush_mu);
}

void blk__handles_drop_layer(blk_store *bs, const char *id)
{
    for (blk_disk *d = bs->handles; d != NULL; d = d->next_handle) {
        for (unsigned k = 0; k + 1 < d->depth; k++) {
            if (strcmp(d->chain[k].id, id) == 0) {
                drop_index(d, k);
                break;
            }
        }
    }
}

/* ---- blk_export ------------------------------------------------------------ */

static sd_code ex_pread(void *h, void *buf, uint32_t count, uint64_t offset, sd_err *err)
{
    return blk_disk_pread(h, buf, count, offset, err);
}

static sd_code ex_pwrite(void *h, const void *buf, uint32_t count, uint64_t offset, uint32_t flags,
                         sd_err *err)
{
    return blk_disk_pwrite(h, buf, count, offset, flags, err);
}

static sd_code ex_flush(void *h, sd_err *err)
{
    return blk_disk_flush(h, err);
}

static sd_code ex_trim(void *h, uint32_t count, uint64_t offset, uint32_t flags, sd_err *err)
{
    return blk_disk_trim(h, count, offset, flags, err);
}

static sd_code ex_zero(void *h, uint32_t count, uint64_t offset, uint32_t flags, sd_err *err)
{
    return blk_disk_zero(h, count, offset, flags, err);
}

static sd_code ex_extents(void *h, uint32_t count, uint64_t offset, uint32_t flags,
                          blk_extent_fn fn, void *ctx, sd_err *err)
{
    return blk_disk_extents(h, count, offset, flags, fn, ctx, err);
}

static void ex_close(void *h)
{
    /* Already logged by blk_disk_close; close has no caller to tell. */
    sd_ignore(blk_disk_close(h, NULL));
}

static const blk_export_ops export_ops = {
    .pread = ex_pread,
    .pwrite = ex_pwrite,
    .flush = ex_flush,
    .trim = ex_trim,
    .zero = ex_zero,
    .extents = ex_extents,
    .cache = NULL,
    .close = ex_close,
};

void blk_disk_export(blk_disk *d, blk_export *out)
{
    out->ops = &export_ops;
    out->h = d;
    out->size = d->size;
    out->min_block = BLK_SECTOR;
    out->pref_block = BLK_SECTOR;
    out->max_block = BLK_MAX_IO;
    out->readonly = false;
    out->description = NULL;
}
