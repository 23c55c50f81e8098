/* blk_test.h: a block store on a fresh temporary directory, data keys, and
 * small byte-pattern helpers for the block unit tests.
 *
 * With SD_TEST_BACKEND=rados the store keeps its bytes in RADOS instead (the
 * cluster that SD_RADOS_CONF, SD_RADOS_POOL and SD_RADOS_ID name: the CTest
 * fixture "ceph"), in a namespace named after the directory, which still
 * holds the database; the block.<unit>_rados tests run a suite that way. */
#ifndef SD_BLK_TEST_H
#define SD_BLK_TEST_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/block.h"

/* Whether this run keeps the store's bytes in RADOS. */
static inline bool bt_rados(void)
{
    const char *v = getenv("SD_TEST_BACKEND"); /* NOLINT(concurrency-mt-unsafe): test set-up */
    return v != NULL && strcmp(v, "rados") == 0;
}

/* The RADOS backend of the store in dir (its namespace: dir's last part). */
static inline sd_code bt_rados_backend(const char *dir, blk_backend **out, sd_err *err)
{
    blk_rados_opts o = BLK_RADOS_OPTS_INIT;
    const char *slash = strrchr(dir, '/');

    o.conf = getenv("SD_RADOS_CONF"); /* NOLINT(concurrency-mt-unsafe): test set-up */
    o.pool = getenv("SD_RADOS_POOL"); /* NOLINT(concurrency-mt-unsafe) */
    o.id = getenv("SD_RADOS_ID");     /* NOLINT(concurrency-mt-unsafe) */
    o.ns = slash != NULL ? slash + 1 : dir;
    return blk_backend_rados(&o, out, err);
}

/* Opens the store in dir: blk_store_open_local, or on RADOS (bt_rados). */
static inline sd_code bt_store_open(const char *dir, blk_store **out, sd_err *err)
{
    char db[128];
    blk_backend *be = NULL;
    sd_code rc = SD_OK;

    if (!bt_rados()) {
        return blk_store_open_local(dir, out, err);
    }
    (void)snprintf(db, sizeof db, "%s/block.db", dir);
    rc = bt_rados_backend(dir, &be, err);
    return rc != SD_OK ? rc : blk_store_open(db, &be, out, err);
}

/* Removes every RADOS object of the store in dir (memstore keeps them in
 * RAM until the cluster stops). */
static inline sd_code bt__remove_obj(void *ctx, const char *name, uint64_t bytes, sd_err *err)
{
    blk_backend *be = ctx;
    (void)bytes;
    return be->ops->remove(be->h, name, err);
}

static inline void bt_rados_clear(const char *dir)
{
    blk_backend *be = NULL;
    if (bt_rados_backend(dir, &be, NULL) != SD_OK ||
        be->ops->list(be->h, bt__remove_obj, be, NULL) != SD_OK) {
        abort();
    }
    blk_backend_free(be);
}

typedef struct bt {
    char dir[64];
    blk_store *bs;
} bt;

static inline bt *bt_open(void)
{
    bt *t = calloc(1, sizeof *t);
    snprintf(t->dir, sizeof t->dir, "/tmp/sd-blk-XXXXXX");
    if (t == NULL || mkdtemp(t->dir) == NULL) {
        abort();
    }
    if (bt_store_open(t->dir, &t->bs, NULL) != SD_OK) {
        abort();
    }
    return t;
}

/* Closes and reopens the store (a process restart, minus the crash). */
static inline void bt_reopen(bt *t)
{
    blk_store_close(t->bs);
    if (bt_store_open(t->dir, &t->bs, NULL) != SD_OK) {
        abort();
    }
}

static inline void bt_close(bt *t)
{
    DIR *dh = opendir(t->dir);
    struct dirent *e;
    blk_store_close(t->bs);
    if (bt_rados()) {
        bt_rados_clear(t->dir);
    }
    while (dh != NULL && (e = readdir(dh)) != NULL) {
        char p[512];
        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(p, sizeof p, "%s/%s", t->dir, e->d_name);
        unlink(p);
    }
    if (dh != NULL) {
        closedir(dh);
    }
    rmdir(t->dir);
    free(t);
}

/* A 32-byte data key whose bytes are seed, seed+1, ... */
static inline sd_secret *bt_dk(uint8_t seed)
{
    uint8_t raw[BLK_DK_LEN];
    sd_secret *s = NULL;
    for (size_t i = 0; i < sizeof raw; i++) {
        raw[i] = (uint8_t)(seed + i);
    }
    if (sd_secret_from(raw, sizeof raw, &s, NULL) != SD_OK) {
        abort();
    }
    return s;
}

/* n bytes of a pattern that depends on seed and position. */
static inline void bt_fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(seed * 31u + i * 7u + (i >> 9));
    }
}

static inline bool bt_all(const uint8_t *p, size_t n, uint8_t v)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != v) {
            return false;
        }
    }
    return true;
}

/* Writes sector s with the pattern of seed. */
static inline sd_code bt_put_sector(blk_disk *d, uint64_t s, uint8_t seed)
{
    uint8_t w[4096];
    bt_fill(w, sizeof w, seed);
    return blk_disk_pwrite(d, w, 4096, s * 4096, 0, NULL);
}

/* Whether sector s reads as the pattern of seed (0: all zeroes). */
static inline bool bt_sector_is(blk_disk *d, uint64_t s, uint8_t seed)
{
    uint8_t w[4096];
    uint8_t r[4096];
    if (blk_disk_pread(d, r, 4096, s * 4096, NULL) != SD_OK) {
        return false;
    }
    if (seed == 0) {
        return bt_all(r, 4096, 0);
    }
    bt_fill(w, sizeof w, seed);
    return memcmp(r, w, 4096) == 0;
}

#endif
