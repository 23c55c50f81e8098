/* blk_test.h: a block store on a fresh temporary directory, data keys, and
 * small byte-pattern helpers for the block unit tests. */
#ifndef SD_BLK_TEST_H
#define SD_BLK_TEST_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/block.h"

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
    if (blk_store_open_local(t->dir, &t->bs, NULL) != SD_OK) {
        abort();
    }
    return t;
}

/* Closes and reopens the store (a process restart, minus the crash). */
static inline void bt_reopen(bt *t)
{
    blk_store_close(t->bs);
    if (blk_store_open_local(t->dir, &t->bs, NULL) != SD_OK) {
        abort();
    }
}

static inline void bt_close(bt *t)
{
    DIR *dh = opendir(t->dir);
    struct dirent *e;
    blk_store_close(t->bs);
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
