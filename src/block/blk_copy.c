/* blk_copy.c: re-encrypting copies and raw images (DESIGN §4: "streams the
 * allocated blocks of the source chain into a new flat layer").
 *
 * Every operation that makes a disk builds its one layer before any row
 * names it: the objects are created, written and flushed through a handle
 * on the bare layer, and only then does blk__commit_flat insert the layer
 * and disk rows in one transaction.  Failure or cancel before that point
 * removes the objects; a crash leaves orphan objects (blk_store.c
 * invariant 2), never a half-made disk.
 *
 * Sources are read through a handle on their chain (blk__chain_open), so
 * the resolved map says which sectors are DATA, ZERO or holes without
 * walking layers; only DATA sectors are read and decrypted. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include "block/blk_int.h"

#define COPY_BYTES   (1u << 20) /* bytes read and written per step */
#define COPY_SECTORS (COPY_BYTES / BLK_SECTOR)
#define ZERO_BYTES   (32u << 20) /* largest blk_disk_zero request */

/* strerror, thread-safe (GNU strerror_r returns its message). */
#define ERRSTR(e) strerror_r((e), (char[96]){0}, 96)

/* ---- sources and destinations ------------------------------------------- */

/* Opens snapshot src, or else disk src (claimed, so nobody opens it for
 * writing while it is read). */
static sd_code open_source(blk_store *bs, const char *src, const sd_secret *dk, blk_disk **out,
                           sd_err *err)
{
    sd_code rc = SD_OK;
    blk_layer_id *ids = NULL;
    unsigned depth = 0;
    uint64_t size = 0;
    bool enc = false;

    rc = blk__chain_load(bs, true, src, &size, &enc, &ids, &depth, err);
    if (rc == SD_E_NOT_FOUND) {
        rc = blk_disk_open(bs, src, dk, out, err);
        goto out;
    }
    SD_TRY(rc);
    SD_TRY(blk__chain_open(bs, ids, depth, size, enc, dk, NULL, out, err));
out:
    free(ids);
    return rc;
}

/* A layer no row names yet, open for writing as a disk of size bytes. */
typedef struct flat {
    blk_layer_id id;
    blk_disk *d;
    bool made;
} flat;

static sd_code flat_begin(blk_store *bs, const char *name, uint64_t size, const sd_secret *dk,
                          flat *f, sd_err *err)
{
    sd_code rc = SD_OK;
    sd_code q = SD_OK;
    sd_err e = SD_ERR_INIT;

    /* Early refusal; the commit checks again. */
    q = blk_disk_info(bs, name, NULL, NULL, &e);
    SD_ENSURE(q != SD_OK, err, SD_E_CONFLICT, "disk %s already exists", name);
    SD_ENSURE(q == SD_E_NOT_FOUND, err, q, "%s", e.msg);
    SD_TRY(blk__layer_create_objects(bs, f->id, err));
    f->made = true;
    SD_TRY(blk__chain_open(bs, &f->id, 1, size, dk != NULL, dk, NULL, &f->d, err));
out:
    return rc;
}

/* Makes f's layer durable and names it disk `name`. */
static sd_code flat_commit(blk_store *bs, flat *f, const char *name, sd_err *err)
{
    sd_code rc = SD_OK;
    uint64_t size = blk_disk_size(f->d);
    bool enc = false;

    SD_TRY(blk_disk_flush(f->d, err));
    /* Whether it is encrypted is what chain_open was told. */
    enc = blk__disk_encrypted(f->d);
    blk__disk_discard(f->d);
    f->d = NULL;
    SD_TRY(blk__commit_flat(bs, name, f->id, size, enc, err));
    f->made = false;
out:
    return rc;
}

static void flat_abort(blk_store *bs, flat *f)
{
    blk__disk_discard(f->d);
    f->d = NULL;
    if (f->made) {
        blk__layer_remove_objects(bs, f->id);
        f->made = false;
    }
}

/* ---- blk_copy ------------------------------------------------------------- */

static uint64_t data_bytes(const blk_disk *d)
{
    uint64_t n = blk__disk_sectors(d);
    uint64_t total = 0;

    for (uint64_t s = 0; s < n;) {
        unsigned cls = 0;
        uint64_t run = blk__disk_run(d, s, n, &cls);
        if (cls == BLK_RUN_DATA) {
            total += run * BLK_SECTOR;
        }
        s += run;
    }
    return total;
}

typedef struct copy_job {
    blk_disk *src;
    blk_disk *dst;
    uint8_t *buf;
    uint64_t done;
    uint64_t total;
    blk_progress_fn progress;
    void *ctx;
} copy_job;

static sd_code report(copy_job *j, sd_err *err)
{
    sd_code rc = SD_OK;

    if (j->progress != NULL) {
        SD_ENSURE(j->progress(j->ctx, j->done, j->total), err, SD_E_CONFLICT, "copy cancelled");
    }
out:
    return rc;
}

/* Copies the DATA sectors [s, s+n) step by step. */
static sd_code copy_data(copy_job *j, uint64_t s, uint64_t n, sd_err *err)
{
    sd_code rc = SD_OK;

    while (n > 0) {
        uint32_t k = n < COPY_SECTORS ? (uint32_t)n : COPY_SECTORS;
        uint32_t bytes = k * BLK_SECTOR;
        SD_TRY(blk_disk_pread(j->src, j->buf, bytes, s * BLK_SECTOR, err));
        SD_TRY(blk_disk_pwrite(j->dst, j->buf, bytes, s * BLK_SECTOR, 0, err));
        j->done += bytes;
        s += k;
        n -= k;
        SD_TRY(report(j, err));
    }
out:
    return rc;
}

/* ZERO sectors [s, s+n) stay ZERO: a map update in dst, no data. */
static sd_code copy_zero(copy_job *j, uint64_t s, uint64_t n, sd_err *err)
{
    sd_code rc = SD_OK;

    while (n > 0) {
        uint64_t k = n < ZERO_BYTES / BLK_SECTOR ? n : ZERO_BYTES / BLK_SECTOR;
        SD_TRY(blk_disk_zero(j->dst, (uint32_t)(k * BLK_SECTOR), s * BLK_SECTOR, 0, err));
        s += k;
        n -= k;
    }
out:
    return rc;
}

static sd_code copy_all(copy_job *j, sd_err *err)
{
    sd_code rc = SD_OK;
    uint64_t n = blk__disk_sectors(j->src);

    j->total = data_bytes(j->src);
    SD_TRY(report(j, err));
    for (uint64_t s = 0; s < n;) {
        unsigned cls = 0;
        uint64_t run = blk__disk_run(j->src, s, n, &cls);
        if (cls == BLK_RUN_DATA) {
            SD_TRY(copy_data(j, s, run, err));
        } else if (cls == BLK_RUN_ZERO) {
            SD_TRY(copy_zero(j, s, run, err));
        }
        s += run;
    }
out:
    return rc;
}

sd_code blk_copy(blk_store *bs, const char *src, const sd_secret *src_dk, const char *dst,
                 const sd_secret *dst_dk, blk_progress_fn progress, void *ctx, sd_err *err)
{
    sd_code rc = SD_OK;
    copy_job j = {.progress = progress, .ctx = ctx};
    flat f = {0};

    SD_TRY(open_source(bs, src, src_dk, &j.src, err));
    j.buf = aligned_alloc(BLK_SECTOR, COPY_BYTES);
    SD_ENSURE(j.buf != NULL, err, SD_E_NOMEM, "out of memory");
    SD_TRY(flat_begin(bs, dst, blk_disk_size(j.src), dst_dk, &f, err));
    j.dst = f.d;
    SD_TRY(copy_all(&j, err));
    j.dst = NULL;
    SD_TRY(flat_commit(bs, &f, dst, err));
out:
    flat_abort(bs, &f);
    if (j.buf != NULL) {
        sd_wipe(j.buf, COPY_BYTES); /* plaintext passed through */
        free(j.buf);
    }
    /* Nothing was written through the source handle: closing it flushes
     * nothing. */
    sd_ignore(blk_disk_close(j.src, NULL));
    return rc;
}

/* ---- raw images ------------------------------------------------------------ */

static sd_code read_full(int fd, uint8_t *p, size_t n, uint64_t off, sd_err *err)
{
    sd_code rc = SD_OK;

    while (n > 0) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        SD_ENSURE(r > 0, err, SD_E_IO, "read image: %s", r < 0 ? ERRSTR(errno) : "short file");
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
out:
    return rc;
}

static sd_code write_full(int fd, const uint8_t *p, size_t n, uint64_t off, sd_err *err)
{
    sd_code rc = SD_OK;

    SD_ENSURE(!SD_FAULT("blk.export.write"), err, SD_E_IO, "write image: injected fault");
    while (n > 0) {
        ssize_t r = pwrite(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        SD_ENSURE(r > 0, err, SD_E_IO, "write image: %s", r < 0 ? ERRSTR(errno) : "no progress");
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
out:
    return rc;
}

static bool block_zero(const uint8_t *p)
{
    static const uint8_t zero[BLK_SECTOR];

    return memcmp(p, zero, BLK_SECTOR) == 0;
}

/* Hands each run of non-zero 4 KiB blocks of buf[0..n) (at image offset
 * off) to put, which writes it to a disk or a file. */
typedef sd_code (*put_fn)(void *ctx, const uint8_t *p, size_t n, uint64_t off, sd_err *err);

static sd_code put_nonzero(const uint8_t *buf, size_t n, uint64_t off, put_fn put, void *ctx,
                           sd_err *err)
{
    sd_code rc = SD_OK;
    size_t i = 0;

    while (i < n) {
        size_t k = 0;
        while (i < n && block_zero(buf + i)) {
            i += BLK_SECTOR;
        }
        while (i + k < n && !block_zero(buf + i + k)) {
            k += BLK_SECTOR;
        }
        if (k > 0) {
            SD_TRY(put(ctx, buf + i, k, off + i, err));
        }
        i += k;
    }
out:
    return rc;
}

static sd_code put_disk(void *ctx, const uint8_t *p, size_t n, uint64_t off, sd_err *err)
{
    return blk_disk_pwrite(ctx, p, (uint32_t)n, off, 0, err);
}

static sd_code put_file(void *ctx, const uint8_t *p, size_t n, uint64_t off, sd_err *err)
{
    return write_full(*(const int *)ctx, p, n, off, err);
}

/* Opens the image and checks its size. */
static sd_code open_image(const char *path, int *fd, uint64_t *size, sd_err *err)
{
    sd_code rc = SD_OK;
    struct stat st;

    *fd = open(path, O_RDONLY | O_CLOEXEC);
    SD_ENSURE(*fd >= 0, err, errno == ENOENT ? SD_E_NOT_FOUND : SD_E_IO, "open %s: %s", path,
              ERRSTR(errno));
    SD_ENSURE(fstat(*fd, &st) == 0, err, SD_E_IO, "stat %s: %s", path, ERRSTR(errno));
    *size = (uint64_t)st.st_size;
    SD_ENSURE(st.st_size > 0 && *size % BLK_SECTOR == 0 && *size <= BLK_MAX_SIZE, err, SD_E_INVALID,
              "image size %llu is not a positive multiple of %u up to %llu",
              (unsigned long long)*size, BLK_SECTOR, (unsigned long long)BLK_MAX_SIZE);
out:
    return rc;
}

/* Streams the image's data into d, skipping its holes (SEEK_DATA) and
 * its all-zero blocks. */
/* Where an import stands, for its progress callback. */
typedef struct import_job {
    blk_progress_fn progress; /* may be NULL */
    void *ctx;
} import_job;

static sd_code import_step(const import_job *j, uint64_t done, uint64_t total, sd_err *err)
{
    if (j->progress != NULL && !j->progress(j->ctx, done, total)) {
        return sd_err_set(err, SD_E_CONFLICT, SD_HERE, "import cancelled");
    }
    return SD_OK;
}

static sd_code import_into(int fd, uint64_t size, blk_disk *d, uint8_t *buf, const import_job *j,
                           sd_err *err)
{
    sd_code rc = SD_OK;
    uint64_t off = 0;

    SD_TRY(import_step(j, 0, size, err));
    while (off < size) {
        off_t next = lseek(fd, (off_t)off, SEEK_DATA);
        if (next < 0 && errno == ENXIO) {
            break; /* only a hole is left */
        }
        if (next >= 0) {
            off = (uint64_t)next / BLK_SECTOR * BLK_SECTOR;
        }
        size_t n = size - off < COPY_BYTES ? (size_t)(size - off) : COPY_BYTES;
        SD_TRY(read_full(fd, buf, n, off, err));
        SD_TRY(put_nonzero(buf, n, off, put_disk, d, err));
        off += n;
        SD_TRY(import_step(j, off, size, err));
    }
    if (off < size) {
        SD_TRY(import_step(j, size, size, err)); /* a trailing hole */
    }
out:
    return rc;
}

sd_code blk_import_raw(blk_store *bs, const char *path, const char *name, const sd_secret *dk,
                       blk_progress_fn progress, void *ctx, sd_err *err)
{
    sd_code rc = SD_OK;
    int fd = -1;
    uint64_t size = 0;
    uint8_t *buf = NULL;
    flat f = {0};
    import_job j = {progress, ctx};

    SD_TRY(open_image(path, &fd, &size, err));
    buf = aligned_alloc(BLK_SECTOR, COPY_BYTES);
    SD_ENSURE(buf != NULL, err, SD_E_NOMEM, "out of memory");
    SD_TRY(flat_begin(bs, name, size, dk, &f, err));
    SD_TRY(import_into(fd, size, f.d, buf, &j, err));
    SD_TRY(flat_commit(bs, &f, name, err));
out:
    flat_abort(bs, &f);
    if (buf != NULL) {
        sd_wipe(buf, COPY_BYTES);
        free(buf);
    }
    if (fd >= 0) {
        close(fd);
    }
    return rc;
}

static sd_code export_into(blk_disk *d, int fd, uint8_t *buf, sd_err *err)
{
    sd_code rc = SD_OK;
    uint64_t n = blk__disk_sectors(d);

    SD_ENSURE(ftruncate(fd, (off_t)blk_disk_size(d)) == 0, err, SD_E_IO, "truncate: %s",
              ERRSTR(errno));
    for (uint64_t s = 0; s < n;) {
        unsigned cls = 0;
        uint64_t run = blk__disk_run(d, s, n, &cls);
        for (uint64_t t = s; cls == BLK_RUN_DATA && t < s + run;) {
            uint32_t k = s + run - t < COPY_SECTORS ? (uint32_t)(s + run - t) : COPY_SECTORS;
            SD_TRY(blk_disk_pread(d, buf, k * BLK_SECTOR, t * BLK_SECTOR, err));
            SD_TRY(put_nonzero(buf, (size_t)k * BLK_SECTOR, t * BLK_SECTOR, put_file, &fd, err));
            t += k;
        }
        s += run;
    }
    SD_ENSURE(fsync(fd) == 0, err, SD_E_IO, "fsync: %s", ERRSTR(errno));
out:
    return rc;
}

sd_code blk_export_raw(blk_store *bs, const char *src, const sd_secret *dk, const char *path,
                       sd_err *err)
{
    sd_code rc = SD_OK;
    blk_disk *d = NULL;
    int fd = -1;
    uint8_t *buf = NULL;
    bool created = false;

    SD_TRY(open_source(bs, src, dk, &d, err));
    buf = aligned_alloc(BLK_SECTOR, COPY_BYTES);
    SD_ENSURE(buf != NULL, err, SD_E_NOMEM, "out of memory");
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    SD_ENSURE(fd >= 0, err, errno == EEXIST ? SD_E_CONFLICT : SD_E_IO, "create %s: %s", path,
              ERRSTR(errno));
    created = true;
    SD_TRY(export_into(d, fd, buf, err));
    created = false;
out:
    if (fd >= 0) {
        close(fd);
    }
    if (created && unlink(path) != 0) {
        sd_log(SD_LOG_WARN, "blk", "cannot remove a partial export: path=%s", path);
    }
    if (buf != NULL) {
        sd_wipe(buf, COPY_BYTES);
        free(buf);
    }
    sd_ignore(blk_disk_close(d, NULL));
    return rc;
}
