/* block: the layered, encrypted block store (prefix blk_).
 *
 * A blk_store keeps disks and snapshots.  A disk is a chain of layers: the
 * top layer is writable, the ones below it are frozen.  Each layer is two
 * backend objects: "<layer>.data", a sparse file where 4096-byte sector i
 * lives at byte i*4096, and "<layer>.map", 2 bits per sector saying
 * UNALLOCATED (look in the layer below), DATA or ZERO.  The chain, the
 * disks and the snapshots live in the store's SQLite database (tables
 * blk_*, schema 020_block.sql); a layer is removed when no disk, snapshot
 * or child layer refers to it, and merged into its child when that child
 * is all that refers to it, so deleted snapshots leave no layers behind and
 * a disk takes any number of snapshots over its life (BLK_MAX_DEPTH bounds
 * only the snapshots kept at once).
 *
 * Encrypted disks: the 256-bit data key (DK) is stretched with HKDF-SHA256
 * into a 512-bit AES-256-XTS key; the tweak of a sector is its logical index
 * in the disk, so frozen layers decrypt under every clone of the lineage.
 * Sectors never written read as zeroes without touching the cipher.
 * Unencrypted disks take the same path without the cipher.  The block store
 * does not check the key: a wrong key reads garbage (XTS is not
 * authenticated), which the KMS envelope around the DK prevents upstream.
 *
 * I/O is in bytes with 512-byte granularity; partial sectors are
 * read-modify-written under per-sector locks.  Durability: blk_disk_flush
 * (and a BLK_F_FUA write) makes data durable, then the map: after a crash a
 * map never claims data that is not on disk.
 *
 * Thread model: a blk_store may be shared by threads (its metadata calls are
 * serialised inside).  A blk_disk's I/O calls may run concurrently from any
 * threads, for any ranges; snapshot drains them.  blk_disk_close is called
 * once, after every other call on that disk returned.  A store starts one
 * helper thread with its first large encrypted request, which takes part
 * of that request's chunks so that the cipher and the backend copies run
 * on two cores (blk_par.c); blk_store_close joins it. */
#ifndef SD_BLOCK_H
#define SD_BLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "block/blk_backend.h"
#include "block/blk_export.h"
#include "common/common.h"

#define BLK_SECTOR   4096u
#define BLK_IO_ALIGN 512u
#define BLK_DK_LEN   32u
/* A chain fits a disk's BLK_MAX_SNAPSHOTS live snapshots (Alibaba's
 * per-disk maximum of manual snapshots, which ECS enforces), its top layer
 * and up to BLK_MAX_BASE layers below them from the snapshot or image it
 * was cloned from (blk_disk_clone refuses a deeper source).  An open disk
 * resolves its sectors to a layer index in a uint16_t per 4096-byte sector:
 * 512 KiB of memory per GiB of the disk that any layer has written (and
 * 64 KiB per GiB for the top layer's map), allocated per 64 MiB group on
 * first use; it also holds one open data object per layer. */
#define BLK_MAX_SNAPSHOTS 256u
#define BLK_MAX_BASE      255u
#define BLK_MAX_DEPTH     (BLK_MAX_BASE + BLK_MAX_SNAPSHOTS + 1u) /* layers in one chain: 512 */
#define BLK_MAX_SIZE      ((uint64_t)1 << 44)                     /* 16 TiB per disk */
#define BLK_NAME_MAX      64u                                     /* disk and snapshot names */

typedef struct blk_store blk_store;
typedef struct blk_disk blk_disk;

/* ---- the store -------------------------------------------------------- */

/* Caller owns *out.  Keeps its metadata in the SQLite database db_path and
 * its bytes in *be, which it takes (sets *be = NULL, also on failure). */
SD_MUST_USE sd_code blk_store_open(const char *db_path, blk_backend **be, blk_store **out,
                                   sd_err *err);
/* As blk_store_open with the local backend on dir and the database
 * dir/block.db.  The store is this process's alone while open (an flock on
 * dir/.lock; SD_E_CONFLICT if another process holds it), so it reclaims the
 * objects of layers no row names (blk_store_gc) before it returns: what a
 * process killed in a copy, an import or a snapshot left behind. */
SD_MUST_USE sd_code blk_store_open_local(const char *dir, blk_store **out, sd_err *err);
/* Every disk must be closed first.  Accepts NULL. */
void blk_store_close(blk_store *bs);

/* ---- disks and snapshots (metadata) --------------------------------- */

/* Creates an empty disk of size bytes (a multiple of 4096, at most
 * BLK_MAX_SIZE).  SD_E_INVALID: bad size or name; SD_E_CONFLICT: exists. */
SD_MUST_USE sd_code blk_disk_create(blk_store *bs, const char *name, uint64_t size, bool encrypted,
                                    sd_err *err);
/* Removes a disk; its layers go when nothing else refers to them (and are
 * merged as after blk_snapshot_remove).
 * SD_E_NOT_FOUND; SD_E_CONFLICT while it is open. */
SD_MUST_USE sd_code blk_disk_remove(blk_store *bs, const char *name, sd_err *err);
/* Creates disk `name` from snapshot `snap`: a new empty top layer over the
 * snapshot's chain, same size and encryption.  O(1).  SD_E_CONFLICT: the
 * snapshot's chain is deeper than BLK_MAX_BASE layers (a copy, blk_copy,
 * makes a one-layer disk of it instead). */
SD_MUST_USE sd_code blk_disk_clone(blk_store *bs, const char *snap, const char *name, sd_err *err);
/* Grows disk `name` to new_size bytes (a multiple of 4096, at most
 * BLK_MAX_SIZE) in one metadata transaction; O(1) in the disk's size.  The
 * new sectors read as zeroes, also on a clone whose lower layers belong to
 * a smaller snapshot, and data below the old size is unchanged.  Snapshots
 * taken after the resize have the new size; earlier ones keep theirs.
 * new_size equal to the current size succeeds and changes nothing, open or
 * not.  The disk must not be open in this process (SD_E_CONFLICT): an open
 * handle has sized its map and its NBD export (whose clients were told the
 * size) at open, so close it first; ECS resizes only disks of stopped
 * instances or detached ones, which it has closed.  SD_E_INVALID: bad size
 * or name, or new_size smaller than the disk (shrinking would drop data
 * the guest may still use, so it is refused); SD_E_NOT_FOUND. */
SD_MUST_USE sd_code blk_disk_resize(blk_store *bs, const char *name, uint64_t new_size,
                                    sd_err *err);
/* Disk `name` takes the data, size and encryption of disk `from`, which
 * goes, in one metadata transaction: after a crash `name` is wholly the
 * old disk or wholly the new one.  The old data's layers go when nothing
 * else refers to them.  Neither may be open (SD_E_CONFLICT); both must
 * exist (SD_E_NOT_FOUND) and differ (SD_E_INVALID).  How a disk is
 * rebuilt (rolled back, reinitialised, re-encrypted) without a window in
 * which it is missing: make `from`, then replace. */
SD_MUST_USE sd_code blk_disk_replace(blk_store *bs, const char *name, const char *from,
                                     sd_err *err);
/* Removes a snapshot; its layers go when nothing else refers to them, and
 * a layer left to one child layer alone is merged into that child, online
 * (an open disk's handle takes part; its I/O goes on) and crash-safely: a
 * crash leaves the data right and the next open finishes the merge.  The
 * merge copies the layer's sectors the child lacks without the store's
 * lock: other disks open, snapshot and do I/O meanwhile; other removals
 * and replaces, and the open, snapshot, resize or close of the disk
 * merged into, wait for it.  Also after blk_disk_remove and
 * blk_disk_replace. */
SD_MUST_USE sd_code blk_snapshot_remove(blk_store *bs, const char *snap, sd_err *err);
/* Whether a disk (or snapshot) of that name exists; size and encryption. */
SD_MUST_USE sd_code blk_disk_info(blk_store *bs, const char *name, uint64_t *size, bool *encrypted,
                                  sd_err *err);
SD_MUST_USE sd_code blk_snapshot_info(blk_store *bs, const char *snap, uint64_t *size,
                                      bool *encrypted, sd_err *err);
/* Snapshot `snap` of disk `disk` while it is NOT open in this process (ECS
 * snapshots detached disks): syncs its top layer, freezes it and gives the
 * disk a new empty top, in one metadata transaction.  O(1) in the disk's
 * size.  A disk open here is refused rather than routed through its
 * handle: the handle's unflushed writes and in-flight I/O are its owner's
 * to drain, with blk_disk_snapshot.  SD_E_NOT_FOUND; SD_E_CONFLICT: the
 * disk is open, the name is taken or the chain is at BLK_MAX_DEPTH. */
SD_MUST_USE sd_code blk_snapshot_create(blk_store *bs, const char *disk, const char *snap,
                                        sd_err *err);

/* ---- copies and raw images --------------------------------------------- */

/* Progress of a copy in bytes of data sectors (holes and ZERO sectors cost
 * nothing and do not count): called with done = 0 first, then after each
 * step, ending with done == total; monotonic.  Returning false cancels. */
typedef bool (*blk_progress_fn)(void *ctx, uint64_t done, uint64_t total);

/* Re-encrypting copy: src names a snapshot or else a disk (snapshots are
 * looked up first); src_dk is its chain's data key (NULL: unencrypted).
 * Streams the DATA sectors of the resolved chain, decrypted with src_dk
 * and re-encrypted with dst_dk (NULL: plain destination), into a new
 * single-layer disk dst of the same size; ZERO sectors stay ZERO and
 * holes stay holes.  The disk row is committed last, in one transaction:
 * on error or cancel (SD_E_CONFLICT "cancelled") and after a crash there
 * is no disk dst, only (after a crash) orphan objects.  A source disk is
 * held open for the copy, so it must not be open (SD_E_CONFLICT); a
 * source snapshot must not be removed during the copy.  progress may be
 * NULL.  SD_E_CONFLICT also when dst exists. */
SD_MUST_USE sd_code blk_copy(blk_store *bs, const char *src, const sd_secret *src_dk,
                             const char *dst, const sd_secret *dst_dk, blk_progress_fn progress,
                             void *ctx, sd_err *err);
/* Disk `name` from the raw image at path, encrypted with dk (NULL: plain).
 * The image's size must be a positive multiple of 4096 (SD_E_INVALID
 * otherwise: padding would change the size the guest sees, and a raw disk
 * image is always a multiple of its sector).  All-zero 4 KiB blocks (and
 * the image's own holes) become holes, so the disk is sparse.  Atomic as
 * blk_copy; progress (may be NULL) counts bytes of the file, holes
 * included, and cancels as blk_copy's. */
SD_MUST_USE sd_code blk_import_raw(blk_store *bs, const char *path, const char *name,
                                   const sd_secret *dk, blk_progress_fn progress, void *ctx,
                                   sd_err *err);
/* Writes snapshot or disk src (looked up as in blk_copy) as a raw image to
 * a new file path (mode 0600: it is plaintext; SD_E_CONFLICT if it
 * exists).  Only non-zero data blocks are written, so the file is sparse.
 * On failure the file is removed. */
SD_MUST_USE sd_code blk_export_raw(blk_store *bs, const char *src, const sd_secret *dk,
                                   const char *path, sd_err *err);

/* ---- orphan objects ----------------------------------------------------- */

/* An object of a layer that no row names, and the bytes it occupies. */
typedef void (*blk_orphan_fn)(void *ctx, const char *object, uint64_t bytes);

/* Finds the objects ("<layer>.data", "<layer>.map") of layers no row of
 * the store names and removes them, or with dry_run only lists them;
 * fn (may be NULL) sees each.  *count (may be NULL) receives how many.
 * Objects of other shapes are never touched.  Only while nothing else uses
 * the store: a copy, import or snapshot under way has objects that no row
 * names until it commits.  Thread-safe otherwise; SD_E_IO. */
SD_MUST_USE sd_code blk_store_gc(blk_store *bs, bool dry_run, blk_orphan_fn fn, void *ctx,
                                 uint64_t *count, sd_err *err);
/* `sealdisk gc`: blk_store_gc on the local store in dir, which it locks as
 * blk_store_open_local does but without reclaiming at open (so dry_run
 * removes nothing).  SD_E_CONFLICT while another process, such as a
 * running server, has the store open: the server reclaims at its start. */
SD_MUST_USE sd_code blk_store_gc_local(const char *dir, bool dry_run, blk_orphan_fn fn, void *ctx,
                                       uint64_t *count, sd_err *err);

/* Number of layers the store holds (for tests of reference counting). */
SD_MUST_USE sd_code blk_store_layer_count(blk_store *bs, int64_t *out, sd_err *err);

/* ---- an open disk ----------------------------------------------------- */

/* Caller owns *out (close with blk_disk_close).  dk is the 32-byte data key
 * for an encrypted disk and must be NULL for a plain one; it is not kept
 * (the caller may free it): the disk holds only the derived XTS key, in an
 * sd_secret wiped on close.  SD_E_NOT_FOUND; SD_E_CONFLICT: already open;
 * SD_E_INVALID: key missing, extra or not 32 bytes. */
SD_MUST_USE sd_code blk_disk_open(blk_store *bs, const char *name, const sd_secret *dk,
                                  blk_disk **out, sd_err *err);
/* Flushes, wipes the key and frees (also when the flush fails, which it
 * reports).  Accepts NULL. */
SD_MUST_USE sd_code blk_disk_close(blk_disk *d, sd_err *err);
uint64_t blk_disk_size(const blk_disk *d);
/* Whether a large encrypted request of d may share its chunks with the
 * store's helper thread (on by default).  Call before any I/O.  A caller
 * that brings its own concurrency turns it off: over NBD, where client and
 * server threads already keep every core busy, the helper cost a quarter
 * more CPU per GiB and lowered throughput (bench/results/
 * block-2026-11-30c.md); a lone in-process stream (a copy, an import)
 * gains from it. */
void blk_disk_set_helper(blk_disk *d, bool on);

/* Byte I/O: offset and count multiples of 512, within the disk, count at
 * most 32 MiB.  SD_E_INVALID otherwise; SD_E_IO on backend failure. */
SD_MUST_USE sd_code blk_disk_pread(blk_disk *d, void *buf, uint32_t count, uint64_t offset,
                                   sd_err *err);
/* flags: BLK_F_FUA. */
SD_MUST_USE sd_code blk_disk_pwrite(blk_disk *d, const void *buf, uint32_t count, uint64_t offset,
                                    uint32_t flags, sd_err *err);
/* Makes every write that returned before this call durable (data, then map). */
SD_MUST_USE sd_code blk_disk_flush(blk_disk *d, sd_err *err);
/* TRIM and WRITE_ZEROES: whole sectors become ZERO in the top layer (the
 * parent's data never shows through); partial sectors are written with
 * zeroes.  trim also deallocates the top layer's data.  flags: BLK_F_FUA
 * (and for zero BLK_F_MAY_TRIM, BLK_F_FAST_ZERO, both honoured trivially:
 * zeroing is always a map update). */
SD_MUST_USE sd_code blk_disk_trim(blk_disk *d, uint32_t count, uint64_t offset, uint32_t flags,
                                  sd_err *err);
SD_MUST_USE sd_code blk_disk_zero(blk_disk *d, uint32_t count, uint64_t offset, uint32_t flags,
                                  sd_err *err);
/* NBD base:allocation extents from offset, at most count bytes: never
 * written or ZERO sectors are BLK_EXTENT_HOLE | BLK_EXTENT_ZERO, data is 0.
 * flags: BLK_F_REQ_ONE. */
SD_MUST_USE sd_code blk_disk_extents(blk_disk *d, uint32_t count, uint64_t offset, uint32_t flags,
                                     blk_extent_fn fn, void *ctx, sd_err *err);

/* Snapshot `snap` of an open disk: drains its I/O, flushes, freezes the top
 * layer and starts an empty one, all in one metadata transaction.  Cost does
 * not depend on the disk's size.  SD_E_CONFLICT: name taken or chain at
 * BLK_MAX_DEPTH. */
SD_MUST_USE sd_code blk_disk_snapshot(blk_disk *d, const char *snap, sd_err *err);

/* Fills *out with an export over d (borrowed: valid while d is open).  Its
 * close op closes d, so the NBD side owns d once it calls close. */
void blk_disk_export(blk_disk *d, blk_export *out);

#endif
