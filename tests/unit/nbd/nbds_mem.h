/* nbds_mem.h: an in-memory blk_export for the NBD server's unit tests and
 * fuzzers (nbdkit's memory plugin, in miniature).  Allocation is tracked
 * per 4096-byte block so block status has holes to report; knobs make the
 * export refuse FAST_ZERO, fail reads or be full.  Header-only: each test binary
 * includes it once. */
#ifndef SD_TEST_NBDS_MEM_H
#define SD_TEST_NBDS_MEM_H

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "block/blk_export.h"

#define MEM_BLOCK 4096u

typedef struct mem_export {
    pthread_mutex_t mu;
    uint8_t *data;
    uint8_t *alloc; /* one byte per block: 1 = data */
    uint64_t size;
    int closes;
    int flushes;
    bool refuse_fast_zero;
    bool fail_reads;
    bool full; /* writes fail as a full store's do */
} mem_export;

static inline sd_code mem_pread(void *h, void *buf, uint32_t count, uint64_t offset, sd_err *err)
{
    mem_export *m = h;
    if (m->fail_reads) {
        return sd_err_set(err, SD_E_IO, SD_HERE, "injected read failure");
    }
    pthread_mutex_lock(&m->mu);
    memcpy(buf, m->data + offset, count);
    pthread_mutex_unlock(&m->mu);
    return SD_OK;
}

static inline void mem_mark(mem_export *m, uint64_t offset, uint32_t count, uint8_t v)
{
    for (uint64_t b = offset / MEM_BLOCK; b < (offset + count + MEM_BLOCK - 1) / MEM_BLOCK; b++) {
        m->alloc[b] = v;
    }
}

static inline sd_code mem_pwrite(void *h, const void *buf, uint32_t count, uint64_t offset,
                                 uint32_t flags, sd_err *err)
{
    mem_export *m = h;
    (void)flags;
    if (m->full) {
        return sd_err_set(err, SD_E_NOSPACE, SD_HERE, "injected full store");
    }
    pthread_mutex_lock(&m->mu);
    memcpy(m->data + offset, buf, count);
    mem_mark(m, offset, count, 1);
    pthread_mutex_unlock(&m->mu);
    return SD_OK;
}

static inline sd_code mem_flush(void *h, sd_err *err)
{
    mem_export *m = h;
    (void)err;
    pthread_mutex_lock(&m->mu);
    m->flushes++;
    pthread_mutex_unlock(&m->mu);
    return SD_OK;
}

static inline sd_code mem_zero(void *h, uint32_t count, uint64_t offset, uint32_t flags,
                               sd_err *err)
{
    mem_export *m = h;
    if ((flags & BLK_F_FAST_ZERO) != 0 && m->refuse_fast_zero) {
        return sd_err_setc(err, SD_E_INVALID, "ENOTSUP", SD_HERE, "zeroing is not fast");
    }
    pthread_mutex_lock(&m->mu);
    memset(m->data + offset, 0, count);
    if (offset % MEM_BLOCK == 0 && count % MEM_BLOCK == 0) {
        mem_mark(m, offset, count, 0);
    }
    pthread_mutex_unlock(&m->mu);
    return SD_OK;
}

static inline sd_code mem_trim(void *h, uint32_t count, uint64_t offset, uint32_t flags,
                               sd_err *err)
{
    return mem_zero(h, count, offset, flags & ~BLK_F_FAST_ZERO, err);
}

static inline sd_code mem_extents(void *h, uint32_t count, uint64_t offset, uint32_t flags,
                                  blk_extent_fn fn, void *ctx, sd_err *err)
{
    mem_export *m = h;
    sd_code rc = SD_OK;
    uint64_t end = offset + count;
    (void)flags;
    for (uint64_t o = offset; o < end && rc == SD_OK;) {
        uint64_t b = o / MEM_BLOCK;
        uint64_t next = (b + 1) * MEM_BLOCK;
        uint32_t type = m->alloc[b] ? 0 : BLK_EXTENT_HOLE | BLK_EXTENT_ZERO;
        rc = fn(ctx, (next < end ? next : end) - o, type, err);
        o = next;
    }
    return rc;
}

static inline void mem_close(void *h)
{
    mem_export *m = h;
    pthread_mutex_lock(&m->mu);
    m->closes++;
    pthread_mutex_unlock(&m->mu);
}

static const blk_export_ops mem_ops = {
    .pread = mem_pread,
    .pwrite = mem_pwrite,
    .flush = mem_flush,
    .trim = mem_trim,
    .zero = mem_zero,
    .extents = mem_extents,
    .cache = NULL,
    .close = mem_close,
};

/* A zeroed export of size bytes (a multiple of 4096). */
static inline mem_export *mem_new(uint64_t size)
{
    mem_export *m = calloc(1, sizeof *m);
    if (m == NULL) {
        return NULL;
    }
    pthread_mutex_init(&m->mu, NULL);
    m->size = size;
    m->data = calloc(1, size);
    m->alloc = calloc(1, size / MEM_BLOCK + 1);
    return m;
}

static inline void mem_free(mem_export *m)
{
    if (m != NULL) {
        free(m->data);
        free(m->alloc);
        pthread_mutex_destroy(&m->mu);
        free(m);
    }
}

static inline blk_export mem_blk_export(mem_export *m, bool readonly)
{
    blk_export e = {
        .ops = &mem_ops,
        .h = m,
        .size = m->size,
        .min_block = 4096,
        .pref_block = 4096,
        .max_block = 32u << 20,
        .readonly = readonly,
        .description = "a memory disk",
    };
    return e;
}

#endif
