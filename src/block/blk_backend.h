/* blk_backend: where the block store keeps its bytes.
 *
 * A backend stores named byte objects and nothing else: no encryption, no
 * layering, no maps.  The block layer above it owns all of that (STYLE B1:
 * the nbdkit luks filter over a plugin), so a backend sees only ciphertext.
 *
 * Objects are sparse: reading a range never written (or past the end)
 * yields zeroes, and punching a hole returns a range to that state.  The
 * local backend keeps one file per object.  A RADOS backend will stripe an
 * object over 4 MiB RADOS objects (BLK_BACKEND_STRIPE, as RBD does); the
 * block layer never assumes an object is one file.
 *
 * Object names are at most BLK_OBJ_NAME_MAX bytes of [A-Za-z0-9._-], not
 * starting with '.'.
 *
 * Thread model: a backend may be shared by many threads; an object handle
 * may be used by many threads at once for pread/pwrite/sync/punch (like a
 * file descriptor), and is closed once, after its last use.
 *
 * Backends: blk_backend_local (files in a directory) and blk_backend_rados
 * (Ceph RADOS through librados; blk_backend_rados.c says how objects are
 * striped and sized).  Only the bytes move to RADOS: the block store's
 * metadata (layer chains, disks, snapshots) stays in its SQLite database,
 * while each layer's map is a backend object and so lives in RADOS too.
 * Several nodes writing one store needs that metadata shared (PostgreSQL)
 * and an exclusive writer per disk, which come with node leases (#14). */
#ifndef SD_BLK_BACKEND_H
#define SD_BLK_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

#define BLK_OBJ_NAME_MAX   96
#define BLK_BACKEND_STRIPE (4u << 20) /* the object unit of striping backends */
#define BLK_OBJ_CREATE     (1u << 0)  /* create; SD_E_CONFLICT if it exists */

/* One object of a listing: its name and the bytes it occupies. */
typedef sd_code (*blk_obj_fn)(void *ctx, const char *name, uint64_t bytes, sd_err *err);

typedef struct blk_backend_ops {
    /* *obj is the backend's handle for name.  SD_E_NOT_FOUND without
     * BLK_OBJ_CREATE if absent.  A created object is durable (its name
     * survives a crash) when open returns. */
    SD_MUST_USE sd_code (*open)(void *be, const char *name, unsigned flags, void **obj,
                                sd_err *err);
    /* Removes name durably; SD_E_NOT_FOUND if absent. */
    SD_MUST_USE sd_code (*remove)(void *be, const char *name, sd_err *err);
    /* Reads exactly n bytes; zeroes where nothing was written. */
    SD_MUST_USE sd_code (*pread)(void *obj, void *buf, size_t n, uint64_t off, sd_err *err);
    SD_MUST_USE sd_code (*pwrite)(void *obj, const void *buf, size_t n, uint64_t off, sd_err *err);
    /* Makes every completed pwrite and punch of this object durable. */
    SD_MUST_USE sd_code (*sync)(void *obj, sd_err *err);
    /* Deallocates [off, off+n): it then reads as zeroes. */
    SD_MUST_USE sd_code (*punch)(void *obj, uint64_t off, uint64_t n, sd_err *err);
    /* The object's size: one past its last written byte. */
    SD_MUST_USE sd_code (*size)(void *obj, uint64_t *out, sd_err *err);
    void (*close)(void *obj);
    /* Calls fn for every object (in no particular order), stopping at the
     * first failure of fn, which it returns.  Objects created or removed
     * meanwhile may or may not be listed. */
    SD_MUST_USE sd_code (*list)(void *be, blk_obj_fn fn, void *ctx, sd_err *err);
    /* Frees the backend itself (every object closed first). */
    void (*destroy)(void *be);
} blk_backend_ops;

typedef struct blk_backend {
    const blk_backend_ops *ops;
    void *h;
} blk_backend;

/* Caller owns *out: objects are files in dir (which must exist), created
 * with mode 0600 and O_CLOEXEC.  SD_E_IO if dir cannot be opened. */
SD_MUST_USE sd_code blk_backend_local(const char *dir, blk_backend **out, sd_err *err);
/* Where the RADOS backend connects.  conf: a ceph.conf (mon hosts, and the
 * keyring holding the cephx key of client.<id>); pool: the RADOS pool;
 * id: the client name without "client."; ns: a RADOS namespace inside the
 * pool, or NULL for the default one (tests give each store its own). */
typedef struct blk_rados_opts {
    const char *conf;
    const char *pool;
    const char *id;
    const char *ns;
    unsigned connect_timeout_s; /* reaching the monitors, at open */
    unsigned op_timeout_s;      /* one OSD op; 0 waits for ever */
} blk_rados_opts;

#define BLK_RADOS_OPTS_INIT                                        \
    {                                                              \
        .id = "admin", .connect_timeout_s = 10, .op_timeout_s = 60 \
    }

/* Caller owns *out: objects striped over the RADOS objects of opts->pool.
 * SD_E_INVALID: missing option or unreadable conf; SD_E_IO: the cluster
 * cannot be reached within connect_timeout_s, or refused us (cephx);
 * SD_E_NOT_FOUND: no such pool; SD_E_INVALID too when sealdisk was built
 * without librados.  Its I/O reports a full pool as SD_E_NOSPACE. */
SD_MUST_USE sd_code blk_backend_rados(const blk_rados_opts *opts, blk_backend **out, sd_err *err);
/* Whether name is a valid object name (see above). */
bool blk_backend_name_ok(const char *name);
/* Destroys a backend; accepts NULL. */
void blk_backend_free(blk_backend *be);

#endif
