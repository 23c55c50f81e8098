/* blk_backend_local.c: the local-files backend.
 *
 * Each object is a sparse file in one directory, opened O_RDWR | O_CLOEXEC
 * with mode 0600 (ciphertext is still nobody else's business).  Reads past
 * the end of a file yield zeroes, which is what an unwritten sparse range
 * reads as too, so a new object needs no pre-sizing.  Creating and removing
 * a name fsyncs the directory, so the metadata that names an object never
 * outlives or predates the object after a crash.  Holes are punched with
 * fallocate(PUNCH_HOLE | KEEP_SIZE); file systems without it get zeroes
 * written instead, which reads the same. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include "block/blk_backend.h"

/* strerror, thread-safe (GNU strerror_r returns its message). */
#define ERRSTR(e) strerror_r((e), (char[96]){0}, 96)

typedef struct local_be {
    int dirfd;
} local_be;

typedef struct local_obj {
    int fd;
} local_obj;

/* An object is a file in the directory: no hidden files, no "." or "..".
 * The RADOS backend takes the same names (blk_backend.h). */
bool blk_backend_name_ok(const char *name)
{
    return sd_name_ok(name, BLK_OBJ_NAME_MAX) && name[0] != '.';
}

static sd_code local_open(void *h, const char *name, unsigned flags, void **obj, sd_err *err)
{
    sd_code rc = SD_OK;
    local_be *be = h;
    local_obj *o = NULL;
    int oflags = O_RDWR | O_CLOEXEC;
    int fd = -1;

    *obj = NULL;
    SD_ENSURE(blk_backend_name_ok(name), err, SD_E_INVALID, "bad object name");
    if (flags & BLK_OBJ_CREATE) {
        oflags |= O_CREAT | O_EXCL;
    }
    fd = openat(be->dirfd, name, oflags, 0600);
    if (fd < 0) {
        int e = errno;
        SD_ENSURE(e != ENOENT, err, SD_E_NOT_FOUND, "object %s does not exist", name);
        SD_ENSURE(e != EEXIST, err, SD_E_CONFLICT, "object %s already exists", name);
        SD_FAIL(err, sd_errno_kind(e), "open %s: %s", name, ERRSTR(e));
    }
    /* The new name must be durable before any metadata refers to it. */
    if (flags & BLK_OBJ_CREATE) {
        SD_ENSURE(fsync(be->dirfd) == 0, err, SD_E_IO, "fsync object dir: %s", ERRSTR(errno));
    }
    o = calloc(1, sizeof *o);
    SD_ENSURE(o != NULL, err, SD_E_NOMEM, "out of memory");
    o->fd = fd;
    fd = -1;
    *obj = o;
out:
    if (fd >= 0) {
        close(fd);
    }
    return rc;
}

static sd_code local_remove(void *h, const char *name, sd_err *err)
{
    sd_code rc = SD_OK;
    local_be *be = h;

    SD_ENSURE(blk_backend_name_ok(name), err, SD_E_INVALID, "bad object name");
    if (unlinkat(be->dirfd, name, 0) != 0) {
        int e = errno;
        SD_ENSURE(e != ENOENT, err, SD_E_NOT_FOUND, "object %s does not exist", name);
        SD_FAIL(err, SD_E_IO, "unlink %s: %s", name, ERRSTR(e));
    }
    SD_ENSURE(fsync(be->dirfd) == 0, err, SD_E_IO, "fsync object dir: %s", ERRSTR(errno));
out:
    return rc;
}

static sd_code local_pread(void *h, void *buf, size_t n, uint64_t off, sd_err *err)
{
    sd_code rc = SD_OK;
    local_obj *o = h;
    uint8_t *p = buf;

    SD_ENSURE(!SD_FAULT("blk.backend.pread"), err, SD_E_IO, "pread: injected fault");
    while (n > 0) {
        ssize_t r = pread(o->fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        SD_ENSURE(r >= 0, err, SD_E_IO, "pread: %s", ERRSTR(errno));
        if (r == 0) {
            /* Past the end of a sparse object: never written, reads as zero. */
            memset(p, 0, n);
            break;
        }
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
out:
    return rc;
}

/* Test builds: fault points that fail like the system call would, with
 * its errno, so the real error path runs ("blk.backend.pwrite.enospc",
 * "...pwrite.eio", "...sync.enospc", "...sync.eio"). */
static int injected_errno(const char *enospc, const char *eio)
{
    if (SD_FAULT(enospc)) {
        return ENOSPC;
    }
    if (SD_FAULT(eio)) {
        return EIO;
    }
    return 0;
}

static ssize_t sys_pwrite(int fd, const void *p, size_t n, uint64_t off)
{
    int e = injected_errno("blk.backend.pwrite.enospc", "blk.backend.pwrite.eio");

    if (e != 0) {
        errno = e;
        return -1;
    }
    return pwrite(fd, p, n, (off_t)off);
}

static int sys_fdatasync(int fd)
{
    int e = injected_errno("blk.backend.sync.enospc", "blk.backend.sync.eio");

    if (e != 0) {
        errno = e;
        return -1;
    }
    return fdatasync(fd);
}

static sd_code local_pwrite(void *h, const void *buf, size_t n, uint64_t off, sd_err *err)
{
    sd_code rc = SD_OK;
    local_obj *o = h;
    const uint8_t *p = buf;

    SD_ENSURE(!SD_FAULT("blk.backend.pwrite"), err, SD_E_IO, "pwrite: injected fault");
    while (n > 0) {
        ssize_t r = sys_pwrite(o->fd, p, n, off);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        SD_ENSURE(r > 0, err, r < 0 ? sd_errno_kind(errno) : SD_E_IO, "pwrite: %s",
                  r < 0 ? ERRSTR(errno) : "no progress");
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
out:
    return rc;
}

static sd_code local_sync(void *h, sd_err *err)
{
    sd_code rc = SD_OK;
    local_obj *o = h;

    SD_ENSURE(!SD_FAULT("blk.backend.sync"), err, SD_E_IO, "fdatasync: injected fault");
    if (sys_fdatasync(o->fd) != 0) {
        int e = errno;
        SD_FAIL(err, sd_errno_kind(e), "fdatasync: %s", ERRSTR(e));
    }
out:
    return rc;
}

static sd_code local_punch(void *h, uint64_t off, uint64_t n, sd_err *err)
{
    sd_code rc = SD_OK;
    local_obj *o = h;
    static const uint8_t zeroes[4096];

    if (n == 0) {
        goto out;
    }
    if (fallocate(o->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)n) == 0) {
        goto out;
    }
    SD_ENSURE(errno == EOPNOTSUPP, err, SD_E_IO, "punch hole: %s", ERRSTR(errno));
    /* No hole punching here: zeroes read the same, they just take space. */
    while (n > 0) {
        size_t k = n < sizeof zeroes ? (size_t)n : sizeof zeroes;
        SD_TRY(local_pwrite(h, zeroes, k, off, err));
        off += k;
        n -= k;
    }
out:
    return rc;
}

static sd_code local_size(void *h, uint64_t *out, sd_err *err)
{
    sd_code rc = SD_OK;
    local_obj *o = h;
    struct stat st;

    SD_ENSURE(fstat(o->fd, &st) == 0, err, SD_E_IO, "fstat: %s", ERRSTR(errno));
    *out = (uint64_t)st.st_size;
out:
    return rc;
}

static void local_close(void *h)
{
    local_obj *o = h;

    if (o == NULL) {
        return;
    }
    close(o->fd);
    free(o);
}

static sd_code local_list(void *h, blk_obj_fn fn, void *ctx, sd_err *err)
{
    sd_code rc = SD_OK;
    local_be *be = h;
    int fd = dup(be->dirfd);
    DIR *dh = NULL;
    struct dirent *e = NULL;

    SD_ENSURE(fd >= 0, err, SD_E_IO, "dup: %s", ERRSTR(errno));
    dh = fdopendir(fd);
    SD_ENSURE(dh != NULL, err, SD_E_IO, "fdopendir: %s", ERRSTR(errno));
    fd = -1;
    rewinddir(dh); /* the dup shares its offset with dirfd */
    for (;;) {
        struct stat st;
        errno = 0;
        e = readdir(dh); /* NOLINT(concurrency-mt-unsafe): dh is this call's own */
        if (e == NULL) {
            SD_ENSURE(errno == 0, err, SD_E_IO, "readdir: %s", ERRSTR(errno));
            break;
        }
        if (!blk_backend_name_ok(e->d_name) ||
            fstatat(be->dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) {
            continue; /* not an object, or gone since readdir */
        }
        SD_TRY(fn(ctx, e->d_name, (uint64_t)st.st_blocks * 512u, err));
    }
out:
    if (dh != NULL) {
        closedir(dh);
    }
    if (fd >= 0) {
        close(fd);
    }
    return rc;
}

static void local_destroy(void *h)
{
    local_be *be = h;

    if (be == NULL) {
        return;
    }
    close(be->dirfd);
    free(be);
}

static const blk_backend_ops local_ops = {
    .open = local_open,
    .remove = local_remove,
    .pread = local_pread,
    .pwrite = local_pwrite,
    .sync = local_sync,
    .punch = local_punch,
    .size = local_size,
    .close = local_close,
    .list = local_list,
    .destroy = local_destroy,
};

sd_code blk_backend_local(const char *dir, blk_backend **out, sd_err *err)
{
    sd_code rc = SD_OK;
    blk_backend *b = NULL;
    local_be *be = NULL;

    *out = NULL;
    b = calloc(1, sizeof *b);
    be = calloc(1, sizeof *be);
    SD_ENSURE(b != NULL && be != NULL, err, SD_E_NOMEM, "out of memory");
    be->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    SD_ENSURE(be->dirfd >= 0, err, SD_E_IO, "open %s: %s", dir, ERRSTR(errno));
    b->ops = &local_ops;
    b->h = be;
    be = NULL;
    *out = b;
    b = NULL;
out:
    free(be);
    free(b);
    return rc;
}

void blk_backend_free(blk_backend *be)
{
    if (be == NULL) {
        return;
    }
    be->ops->destroy(be->h);
    free(be);
}
