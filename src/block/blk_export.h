/* blk_export: what the NBD server needs from a disk (shaped like nbdkit's
 * plugin struct), so nbd/ depends on this interface and nothing else of
 * block/.  The block store implements it for its disks; tests and fuzzers
 * implement it over memory.
 *
 * Offsets and counts are bytes.  The NBD layer has already checked that a
 * request lies within size and honours min_block alignment where the client
 * agreed to it; an export must still accept 512-byte-granular requests
 * (clients that never negotiated block sizes) and handle them correctly.
 *
 * Thread model: every op may be called concurrently from several threads
 * (connections and in-flight requests), for overlapping ranges too; the
 * export serialises what it must.  close is called once, after the last op
 * returned; it wipes whatever key the export holds. */
#ifndef SD_BLK_EXPORT_H
#define SD_BLK_EXPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/common.h"

/* flags for pwrite, trim, zero */
#define BLK_F_FUA       (1u << 0) /* durable before the call returns */
#define BLK_F_MAY_TRIM  (1u << 1) /* zero: may deallocate (NBD: NO_HOLE not set) */
#define BLK_F_FAST_ZERO (1u << 2) /* zero: fail with SD_E_INVALID... unless fast */
/* flags for extents */
#define BLK_F_REQ_ONE (1u << 3) /* report only the first extent */

/* extent types (NBD base:allocation bits) */
#define BLK_EXTENT_HOLE (1u << 0) /* not allocated */
#define BLK_EXTENT_ZERO (1u << 1) /* reads as zeroes */

/* Receives extents in order from the requested offset; returning non-OK
 * stops the walk and becomes the result of extents(). */
typedef sd_code (*blk_extent_fn)(void *ctx, uint64_t length, uint32_t type, sd_err *err);

typedef struct blk_export_ops {
    SD_MUST_USE sd_code (*pread)(void *h, void *buf, uint32_t count, uint64_t offset, sd_err *err);
    SD_MUST_USE sd_code (*pwrite)(void *h, const void *buf, uint32_t count, uint64_t offset,
                                  uint32_t flags, sd_err *err);
    /* Makes every write that returned before this call durable, from every
     * connection (so multi-conn is safe to advertise). */
    SD_MUST_USE sd_code (*flush)(void *h, sd_err *err);
    SD_MUST_USE sd_code (*trim)(void *h, uint32_t count, uint64_t offset, uint32_t flags,
                                sd_err *err);
    /* With BLK_F_FAST_ZERO, an export that cannot zero faster than writing
     * zeroes fails with SD_E_INVALID and api code "ENOTSUP" untouched. */
    SD_MUST_USE sd_code (*zero)(void *h, uint32_t count, uint64_t offset, uint32_t flags,
                                sd_err *err);
    /* Extents covering at least one byte from offset, at most count bytes. */
    SD_MUST_USE sd_code (*extents)(void *h, uint32_t count, uint64_t offset, uint32_t flags,
                                   blk_extent_fn fn, void *ctx, sd_err *err);
    /* Optional (NULL): prefetch a range. */
    SD_MUST_USE sd_code (*cache)(void *h, uint32_t count, uint64_t offset, sd_err *err);
    /* Optional (NULL): release the handle and wipe its key. */
    void (*close)(void *h);
} blk_export_ops;

typedef struct blk_export {
    const blk_export_ops *ops;
    void *h;
    uint64_t size;       /* bytes, a multiple of min_block */
    uint32_t min_block;  /* 4096 for block-store disks */
    uint32_t pref_block; /* 4096 */
    uint32_t max_block;  /* 32 MiB */
    bool readonly;
    const char *description; /* borrowed, may be NULL */
} blk_export;

#endif
