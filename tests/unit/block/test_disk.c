/* test_disk.c: one disk, one layer: every sector state transition, the
 * negative twins (bad sizes, out-of-range and unaligned I/O, wrong or
 * missing keys), read-modify-write of partial sectors against a model,
 * concurrent writers, durability across close/reopen, a failing flush, the
 * blk_export over a disk, and the plaintext canary. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include <cmocka.h>

#include "blk_test.h"

#define MIB (1024u * 1024u)

typedef struct ext {
    uint64_t len[64];
    uint32_t type[64];
    int n;
} ext;

static sd_code collect(void *ctx, uint64_t length, uint32_t type, sd_err *err)
{
    ext *e = ctx;
    (void)err;
    if (e->n < 64) {
        e->len[e->n] = length;
        e->type[e->n] = type;
        e->n++;
    }
    return SD_OK;
}

/* The extent type of the one sector at offset. */
static uint32_t sector_type(blk_disk *d, uint64_t offset)
{
    ext e = {0};
    assert_int_equal(blk_disk_extents(d, 4096, offset, BLK_F_REQ_ONE, collect, &e, NULL), SD_OK);
    assert_int_equal(e.n, 1);
    assert_int_equal(e.len[0], 4096);
    return e.type[0];
}

static void read_sector(blk_disk *d, uint64_t s, uint8_t *buf)
{
    assert_int_equal(blk_disk_pread(d, buf, 4096, s * 4096, NULL), SD_OK);
}

static void every_sector_state_transition_in_the_top_layer(void **state)
{
    bt *t = bt_open();
    sd_secret *dk = bt_dk(1);
    blk_disk *d = NULL;
    uint8_t w[4096];
    uint8_t r[4096];
    const uint32_t hz = BLK_EXTENT_HOLE | BLK_EXTENT_ZERO;
    (void)state;

    assert_int_equal(blk_disk_create(t->bs, "d", 1 * MIB, true, NULL), SD_OK);
    assert_int_equal(blk_disk_open(t->bs, "d", dk, &d, NULL), SD_OK);
    bt_fill(w, sizeof w, 7);

    /* UNALLOCATED reads zeroes and is a hole */
    read_sector(d, 3, r);
    assert_true(bt_all(r, 4096, 0));
    assert_int_equal(sector_type(d, 3 * 4096), hz);
    /* UNALLOCATED -> DATA */
    assert_int_equal(blk_disk_pwrite(d, w, 4096, 3 * 4096, 0, NULL), SD_OK);
    read_sector(d, 3, r);
    assert_memory_equal(r, w, 4096);
    assert_int_equal(sector_type(d, 3 * 4096), 0);
    /* DATA -> DATA (overwrite) */
    bt_fill(w, sizeof w, 8);
    assert_int_equal(blk_disk_pwrite(d, w, 4096, 3 * 4096, 0, NULL), SD_OK);
    read_sector(d, 3, r);
    assert_memory_equal(r, w, 4096);
    /* DATA -> ZERO by WRITE_ZEROES */
    assert_int_equal(blk_disk_zero(d, 4096, 3 * 4096, 0, NULL), SD_OK);
    read_sector(d, 3, r);
    assert_true(bt_all(r, 4096, 0));
    assert_int_equal(sector_type(d, 3 * 4096), hz);
    /* ZERO -> ZERO */
    assert_int_equal(blk_disk_zero(d, 4096, 3 * 4096, BLK_F_MAY_TRIM, NULL), SD_OK);
    assert_int_equal(sector_type(d, 3 * 4096), hz);
    /* ZERO -> DATA */
    assert_int_equal(blk_disk_pwrite(d, w, 4096, 3 * 4096, 0, NULL), SD_OK);
    read_sector(d, 3, r);
    assert_memory_equal(r, w, 4096);
    /* DATA -> ZERO by TRIM */
    assert_int_equal(blk_disk_trim(d, 4096, 3 * 4096, 0, NULL), SD_OK);
    read_sector(d, 3, r);
    assert_true(bt_all(r, 4096, 0));
    /* UNALLOCATED -> ZERO */
    assert_int_equal(blk_disk_zero(d, 4096, 9 * 4096, 0, NULL), SD_OK);
    read_sector(d, 9, r);
    assert_true(bt_all(r, 4096, 0));

    /* The states survive close and reopen. */
    assert_int_equal(blk_disk_pwrite(d, w, 4096, 5 * 4096, 0, NULL), SD_OK);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    bt_reopen(t);
    assert_int_equal(blk_disk_open(t->bs, "d", dk, &d, NULL), SD_OK);
    read_sector(d, 5, r);
    assert_memory_equal(r, w, 4096);
    read_sector(d, 3, r);
    assert_true(bt_all(r, 4096, 0));
    assert_int_equal(sector_type(d, 5 * 4096), 0);
    assert_int_equal(sector_type(d, 3 * 4096), hz);
    assert_int_equal(sector_type(d, 9 * 4096), hz);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    sd_secret_free(dk);
    bt_close(t);
}

static void disk_sizes_must_be_positive_multiples_of_4096(void **state)
{
    bt *t = bt_open();
    uint64_t size = 0;
    bool enc = true;
    (void)state;

    assert_int_equal(blk_disk_create(t->bs, "a", 4096 + 512, false, NULL), SD_E_INVALID);
    assert_int_equal(blk_disk_create(t->bs, "a", 1000, false, NULL), SD_E_INVALID);
    assert_int_equal(blk_disk_create(t->bs, "a", 0, false, NULL), SD_E_INVALID);
    assert_int_equal(blk_disk_create(t->bs, "a", BLK_MAX_SIZE + 4096, false, NULL), SD_E_INVALID);
    assert_int_equal(blk_disk_create(t->bs, "bad/name", 4096, false, NULL), SD_E_INVALID);
    assert_int_equal(blk_disk_create(t->bs, "", 4096, false, NULL), SD_E_INVALID);
    assert_int_equal(blk_disk_info(t->bs, "a", &size, &enc, NULL), SD_E_NOT_FOUND);
    assert_int_equal(blk_disk_create(t->bs, "a", 4096, false, NULL), SD_OK);
    assert_int_equal(blk_disk_create(t->bs, "a", 8192, false, NULL), SD_E_CONFLICT);
    assert_int_equal(blk_disk_info(t->bs, "a", &size, &enc, NULL), SD_OK);
    assert_int_equal(size, 4096);
    assert_false(enc);
    bt_close(t);
}

static void io_outside_the_disk_or_off_512_is_refused(void **state)
{
    bt *t = bt_open();
    blk_disk *d = NULL;
    uint8_t *buf = calloc(1, 33 * MIB);
    ext e = {0};
    sd_err err = SD_ERR_INIT;
    (void)state;

    assert_int_equal(blk_disk_create(t->bs, "d", 64 * 4096, false, NULL), SD_OK);
    assert_int_equal(blk_disk_open(t->bs, "d", NULL, &d, NULL), SD_OK);
    assert_int_equal(blk_disk_size(d), 64 * 4096);
    /* in range: the last 512 bytes */
    assert_int_equal(blk_disk_pread(d, buf, 512, 64 * 4096 - 512, NULL), SD_OK);
    assert_int_equal(blk_disk_pwrite(d, buf, 512, 64 * 4096 - 512, 0, NULL), SD_OK);
    /* one byte too far, for every op */
    assert_int_equal(blk_disk_pread(d, buf, 1024, 64 * 4096 - 512, &err), SD_E_INVALID);
    assert_int_equal(err.code, SD_E_INVALID);
    assert_int_equal(blk_disk_pwrite(d, buf, 4096, 64 * 4096, 0, NULL), SD_E_INVALID);
    assert_int_equal(blk_disk_trim(d, 4096, 64 * 4096, 0, NULL), SD_E_INVALID);
    assert_int_equal(blk_disk_zero(d, 8192, 63 * 4096, 0, NULL), SD_E_INVALID);
    assert_int_equal(blk_disk_extents(d, 4096, 64 * 4096, 0, collect, &e, NULL), SD_E_INVALID);
    /* offsets that wrap around */
    assert_int_equal(blk_disk_pread(d, buf, 4096, UINT64_MAX - 511, NULL), SD_E_INVALID);
    /* not 512-granular */
    assert_int_equal(blk_disk_pread(d, buf, 512, 100, NULL), SD_E_INVALID);
    assert_int_equal(blk_disk_pwrite(d, buf, 100, 0, 0, NULL), SD_E_INVALID);
    assert_int_equal(blk_disk_trim(d, 4096, 256, 0, NULL), SD_E_INVALID);
    /* too large a request */
    assert_int_equal(blk_disk_pread(d, buf, 32 * MIB + 512, 0, NULL), SD_E_INVALID);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    free(buf);
    bt_close(t);
}

static void keys_must_match_the_disk_kind(void **state)
{
    bt *t = bt_open();
    blk_disk *d = NULL;
    blk_disk *d2 = NULL;
    sd_secret *dk = bt_dk(1);
    sd_secret *short_key = NULL;
    (void)state;

    assert_int_equal(sd_secret_from("0123456789abcdef", 16, &short_key, NULL), SD_OK);
    assert_int_equal(blk_disk_create(t->bs, "enc", 8192, true, NULL), SD_OK);
    assert_int_equal(blk_disk_create(t->bs, "plain", 8192, false, NULL), SD_OK);
    assert_int_equal(blk_disk_open(t->bs, "enc", NULL, &d, NULL), SD_E_INVALID);
    assert_int_equal(blk_disk_open(t->bs, "enc", short_key, &d, NULL), SD_E_INVALID);
    assert_int_equal(blk_disk_open(t->bs, "plain", dk, &d, NULL), SD_E_INVALID);
    assert_int_equal(blk_disk_open(t->bs, "nope", NULL, &d, NULL), SD_E_NOT_FOUND);
    assert_null(d);
    /* one handle per disk; the failures above did not leave it claimed */
    assert_int_equal(blk_disk_open(t->bs, "enc", dk, &d, NULL), SD_OK);
    assert_int_equal(blk_disk_open(t->bs, "enc", dk, &d2, NULL), SD_E_CONFLICT);
    assert_int_equal(blk_disk_remove(t->bs, "enc", NULL), SD_E_CONFLICT);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    assert_int_equal(blk_disk_remove(t->bs, "enc", NULL), SD_OK);
    assert_int_equal(blk_disk_remove(t->bs, "enc", NULL), SD_E_NOT_FOUND);
    sd_secret_free(short_key);
    sd_secret_free(dk);
    bt_close(t);
}

static void a_wrong_key_reads_garbage_not_plaintext(void **state)
{
    bt *t = bt_open();
    blk_disk *d = NULL;
    sd_secret *dk = bt_dk(1);
    sd_secret *other = bt_dk(2);
    uint8_t w[8192];
    uint8_t r[8192];
    (void)state;

    bt_fill(w, sizeof w, 3);
    assert_int_equal(blk_disk_create(t->bs, "d", 1 * MIB, true, NULL), SD_OK);
    assert_int_equal(blk_disk_open(t->bs, "d", dk, &d, NULL), SD_OK);
    assert_int_equal(blk_disk_pwrite(d, w, sizeof w, 4096, 0, NULL), SD_OK);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);

    assert_int_equal(blk_disk_open(t->bs, "d", other, &d, NULL), SD_OK);
    assert_int_equal(blk_disk_pread(d, r, sizeof r, 4096, NULL), SD_OK);
    assert_memory_not_equal(r, w, 4096);
    assert_memory_not_equal(r + 4096, w + 4096, 4096);
    assert_false(bt_all(r, sizeof r, 0));
    /* never-written sectors are still zeroes: they skip the cipher */
    assert_int_equal(blk_disk_pread(d, r, 4096, 0, NULL), SD_OK);
    assert_true(bt_all(r, 4096, 0));
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);

    assert_int_equal(blk_disk_open(t->bs, "d", dk, &d, NULL), SD_OK);
    assert_int_equal(blk_disk_pread(d, r, sizeof r, 4096, NULL), SD_OK);
    assert_memory_equal(r, w, sizeof r);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    sd_secret_free(other);
    sd_secret_free(dk);
    bt_close(t);
}

/* Random 512-granular writes, zeroes and trims against a byte model,
 * reopening now and then: covers partial-sector read-modify-write at
 * every alignment, chunk boundaries and requests spanning many sectors. */
static void unaligned_io_matches_a_byte_model(void **state)
{
    enum { NS = 80, SZ = NS * 4096 };
    bt *t = bt_open();
    blk_disk *d = NULL;
    sd_secret *dk = bt_dk(5);
    uint8_t *model = calloc(1, SZ);
    uint8_t *r = malloc(SZ);
    uint8_t *w = malloc(SZ);
    uint64_t x = 88172645463325252ull;
    (void)state;

    assert_int_equal(blk_disk_create(t->bs, "d", SZ, true, NULL), SD_OK);
    assert_int_equal(blk_disk_open(t->bs, "d", dk, &d, NULL), SD_OK);
    for (int round = 0; round < 400; round++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t off = (x % (SZ / 512)) * 512;
        uint32_t len = (uint32_t)(((x >> 20) % 96 + 1) * 512);
        unsigned op = (unsigned)((x >> 40) % 4);
        if (off + len > SZ) {
            len = (uint32_t)(SZ - off);
        }
        if (op <= 1) {
            bt_fill(w, len, (uint8_t)round);
            assert_int_equal(blk_disk_pwrite(d, w, len, off, 0, NULL), SD_OK);
            memcpy(model + off, w, len);
        } else if (op == 2) {
            assert_int_equal(blk_disk_zero(d, len, off, 0, NULL), SD_OK);
            memset(model + off, 0, len);
        } else {
            assert_int_equal(blk_disk_trim(d, len, off, 0, NULL), SD_OK);
            memset(model + off, 0, len);
        }
        if (round % 97 == 0) {
            assert_int_equal(blk_disk_close(d, NULL), SD_OK);
            assert_int_equal(blk_disk_open(t->bs, "d", dk, &d, NULL), SD_OK);
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t roff = (x % (SZ / 512)) * 512;
        uint32_t rlen = (uint32_t)(SZ - roff);
        assert_int_equal(blk_disk_pread(d, r, rlen, roff, NULL), SD_OK);
        assert_memory_equal(r, model + roff, rlen);
    }
    assert_int_equal(blk_disk_pread(d, r, SZ, 0, NULL), SD_OK);
    assert_memory_equal(r, model, SZ);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    free(w);
    free(r);
    free(model);
    sd_secret_free(dk);
    bt_close(t);
}

typedef struct writer {
    blk_disk *d;
    int id;
    int rc;
} writer;

/* Writer id owns 512-byte piece (id % 8) of every sector of a shared band,
 * and sector 64 + id alone: pieces of one sector race through RMW. */
static void *write_pieces(void *arg)
{
    writer *wr = arg;
    uint8_t p[4096];
    for (int s = 0; s < 16 && wr->rc == SD_OK; s++) {
        memset(p, 0x10 + wr->id, 512);
        wr->rc = blk_disk_pwrite(wr->d, p, 512, (uint64_t)s * 4096 + (uint64_t)(wr->id % 8) * 512,
                                 0, NULL);
    }
    memset(p, 0x10 + wr->id, sizeof p);
    for (int i = 0; i < 50 && wr->rc == SD_OK; i++) {
        wr->rc = blk_disk_pwrite(wr->d, p, 4096, (uint64_t)(64 + wr->id) * 4096, 0, NULL);
    }
    return NULL;
}

static void concurrent_writers_lose_no_partial_sector(void **state)
{
    bt *t = bt_open();
    blk_disk *d = NULL;
    sd_secret *dk = bt_dk(9);
    pthread_t th[8];
    writer wr[8];
    uint8_t r[4096];
    (void)state;

    assert_int_equal(blk_disk_create(t->bs, "d", 1 * MIB, true, NULL), SD_OK);
    assert_int_equal(blk_disk_open(t->bs, "d", dk, &d, NULL), SD_OK);
    for (int i = 0; i < 8; i++) {
        wr[i] = (writer){d, i, SD_OK};
        assert_int_equal(pthread_create(&th[i], NULL, write_pieces, &wr[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(wr[i].rc, SD_OK);
    }
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    assert_int_equal(blk_disk_open(t->bs, "d", dk, &d, NULL), SD_OK);
    for (int s = 0; s < 16; s++) {
        read_sector(d, (uint64_t)s, r);
        for (int i = 0; i < 8; i++) {
            assert_true(bt_all(r + i * 512, 512, (uint8_t)(0x10 + i)));
        }
    }
    for (int i = 0; i < 8; i++) {
        read_sector(d, (uint64_t)(64 + i), r);
        assert_true(bt_all(r, 4096, (uint8_t)(0x10 + i)));
    }
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    sd_secret_free(dk);
    bt_close(t);
}

static void a_failed_flush_is_retried_by_the_next(void **state)
{
    bt *t = bt_open();
    blk_disk *d = NULL;
    uint8_t w[4096];
    uint8_t r[4096];
    (void)state;

    bt_fill(w, sizeof w, 4);
    assert_int_equal(blk_disk_create(t->bs, "d", 1 * MIB, false, NULL), SD_OK);
    assert_int_equal(blk_disk_open(t->bs, "d", NULL, &d, NULL), SD_OK);
    assert_int_equal(blk_disk_pwrite(d, w, 4096, 8192, 0, NULL), SD_OK);
    /* a failed data write leaves the sector as it was */
    sd_fault_arm("blk.backend.pwrite", 1, false);
    assert_int_equal(blk_disk_pwrite(d, w, 4096, 5 * 4096, 0, NULL), SD_E_IO);
    read_sector(d, 5, r);
    assert_true(bt_all(r, 4096, 0));
    sd_fault_arm("blk.flush", 1, false);
    assert_int_equal(blk_disk_flush(d, NULL), SD_E_IO);
    /* (a failed fdatasync is another matter: test_fault.c) */
    sd_fault_arm("blk.flush", 1, false);
    assert_int_equal(blk_disk_pwrite(d, w, 4096, 0, BLK_F_FUA, NULL), SD_E_IO);
    sd_fault_reset();
    assert_int_equal(blk_disk_flush(d, NULL), SD_OK);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    assert_int_equal(blk_disk_open(t->bs, "d", NULL, &d, NULL), SD_OK);
    read_sector(d, 2, r);
    assert_memory_equal(r, w, 4096);
    read_sector(d, 0, r);
    assert_memory_equal(r, w, 4096);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    bt_close(t);
}

/* Data before map: when the data cannot be made durable, the map is not
 * written either, so after the handle is gone (as after a crash) the
 * sector reads as it did before the write, never as a map bit over data
 * that may not be there. */
static void no_map_bit_outlives_a_failed_data_sync(void **state)
{
    bt *t = bt_open();
    blk_disk *d = NULL;
    uint8_t w[4096];
    uint8_t r[4096];
    ext e = {0};
    (void)state;

    bt_fill(w, sizeof w, 6);
    assert_int_equal(blk_disk_create(t->bs, "d", 1 * MIB, false, NULL), SD_OK);
    assert_int_equal(blk_disk_open(t->bs, "d", NULL, &d, NULL), SD_OK);
    assert_int_equal(blk_disk_pwrite(d, w, 4096, 4096, BLK_F_FUA, NULL), SD_OK);
    sd_fault_arm("blk.backend.sync", 1, true);
    assert_int_equal(blk_disk_pwrite(d, w, 4096, 3 * 4096, 0, NULL), SD_OK);
    assert_int_equal(blk_disk_close(d, NULL), SD_E_IO);
    sd_fault_reset();
    assert_int_equal(blk_disk_open(t->bs, "d", NULL, &d, NULL), SD_OK);
    read_sector(d, 1, r);
    assert_memory_equal(r, w, 4096);
    assert_int_equal(blk_disk_extents(d, 4096, 3 * 4096, 0, collect, &e, NULL), SD_OK);
    assert_int_equal(e.type[0], BLK_EXTENT_HOLE | BLK_EXTENT_ZERO);
    read_sector(d, 3, r);
    assert_true(bt_all(r, 4096, 0));
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    bt_close(t);
}

static void the_export_serves_the_disk(void **state)
{
    bt *t = bt_open();
    blk_disk *d = NULL;
    blk_export ex;
    sd_secret *dk = bt_dk(3);
    uint8_t w[8192];
    uint8_t r[8192];
    ext e = {0};
    (void)state;

    bt_fill(w, sizeof w, 1);
    assert_int_equal(blk_disk_create(t->bs, "d", 16 * 4096, true, NULL), SD_OK);
    assert_int_equal(blk_disk_open(t->bs, "d", dk, &d, NULL), SD_OK);
    blk_disk_export(d, &ex);
    assert_int_equal(ex.size, 16 * 4096);
    assert_int_equal(ex.min_block, 4096);
    assert_false(ex.readonly);
    assert_int_equal(ex.ops->pwrite(ex.h, w, sizeof w, 4096, BLK_F_FUA, NULL), SD_OK);
    assert_int_equal(ex.ops->pread(ex.h, r, sizeof r, 4096, NULL), SD_OK);
    assert_memory_equal(r, w, sizeof r);
    assert_int_equal(ex.ops->zero(ex.h, 4096, 8192, 0, NULL), SD_OK);
    assert_int_equal(ex.ops->flush(ex.h, NULL), SD_OK);
    /* hole [0,4K), data [4K,8K), zero [8K,12K), hole after: merged */
    assert_int_equal(ex.ops->extents(ex.h, 16 * 4096, 0, 0, collect, &e, NULL), SD_OK);
    assert_int_equal(e.n, 3);
    assert_int_equal(e.len[0], 4096);
    assert_int_equal(e.type[0], BLK_EXTENT_HOLE | BLK_EXTENT_ZERO);
    assert_int_equal(e.len[1], 4096);
    assert_int_equal(e.type[1], 0);
    assert_int_equal(e.len[2], 14 * 4096);
    assert_int_equal(e.type[2], BLK_EXTENT_HOLE | BLK_EXTENT_ZERO);
    /* an unaligned range is cut at sector boundaries where the type changes */
    e.n = 0;
    assert_int_equal(ex.ops->extents(ex.h, 4096, 4096 + 512, 0, collect, &e, NULL), SD_OK);
    assert_int_equal(e.n, 2);
    assert_int_equal(e.len[0], 4096 - 512);
    assert_int_equal(e.type[0], 0);
    assert_int_equal(e.len[1], 512);
    assert_int_equal(e.type[1], BLK_EXTENT_HOLE | BLK_EXTENT_ZERO);
    assert_int_equal(ex.ops->trim(ex.h, 4096, 4096, 0, NULL), SD_OK);
    assert_int_equal(ex.ops->pread(ex.h, r, 4096, 4096, NULL), SD_OK);
    assert_true(bt_all(r, 4096, 0));
    ex.ops->close(ex.h);
    /* close released the disk */
    assert_int_equal(blk_disk_open(t->bs, "d", dk, &d, NULL), SD_OK);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    sd_secret_free(dk);
    bt_close(t);
}

/* true if marker occurs in any file of dir */
static bool marker_in_dir(const char *dir, const uint8_t *marker, size_t mlen)
{
    DIR *dh = opendir(dir);
    struct dirent *e;
    bool found = false;
    while (dh != NULL && !found && (e = readdir(dh)) != NULL) {
        char p[512];
        FILE *f;
        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        f = fopen(p, "rb");
        if (f == NULL) {
            continue;
        }
        size_t cap = 1u << 20, len = 0, k;
        uint8_t *buf = malloc(cap);
        while ((k = fread(buf + len, 1, cap - len, f)) > 0) {
            len += k;
            if (len == cap) {
                cap *= 2;
                buf = realloc(buf, cap);
            }
        }
        fclose(f);
        for (size_t i = 0; i + mlen <= len && !found; i++) {
            found = memcmp(buf + i, marker, mlen) == 0;
        }
        free(buf);
    }
    if (dh != NULL) {
        closedir(dh);
    }
    return found;
}

static void canary_plaintext_never_reaches_a_backing_file(void **state)
{
    static const char marker[] = "SEALDISK-CANARY-7f3a9c-PLAINTEXT";
    bt *t = bt_open();
    blk_disk *d = NULL;
    sd_secret *dk = bt_dk(11);
    uint8_t w[3 * 4096];
    uint8_t *big = NULL;
    (void)state;

    for (size_t i = 0; i < sizeof w; i += sizeof marker - 1) {
        size_t n = sizeof w - i < sizeof marker - 1 ? sizeof w - i : sizeof marker - 1;
        memcpy(w + i, marker, n);
    }
    assert_int_equal(blk_disk_create(t->bs, "enc", 1 * MIB, true, NULL), SD_OK);
    assert_int_equal(blk_disk_open(t->bs, "enc", dk, &d, NULL), SD_OK);
    assert_int_equal(blk_disk_pwrite(d, w, sizeof w, 0, 0, NULL), SD_OK);
    assert_int_equal(blk_disk_pwrite(d, w, 1024, 40960 + 512, 0, NULL), SD_OK); /* RMW path */
    assert_int_equal(blk_disk_snapshot(d, "s", NULL), SD_OK);
    assert_int_equal(blk_disk_pwrite(d, w, sizeof w, 8192, BLK_F_FUA, NULL), SD_OK);
    /* a large write, which the store's helper thread shares */
    big = malloc(512 * 1024);
    assert_non_null(big);
    for (size_t i = 0; i < 512 * 1024; i += sizeof w) {
        memcpy(big + i, w, sizeof w < 512 * 1024 - i ? sizeof w : 512 * 1024 - i);
    }
    assert_int_equal(blk_disk_pwrite(d, big, 512 * 1024, 256 * 1024, 0, NULL), SD_OK);
    free(big);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    bt_reopen(t); /* checkpoint-free: the WAL stays, and is scanned too */
    assert_false(marker_in_dir(t->dir, (const uint8_t *)marker, sizeof marker - 1));
    assert_false(marker_in_dir(t->dir, sd_secret_data(dk), BLK_DK_LEN));

    /* positive control: the scan does find the marker on a plain disk */
    assert_int_equal(blk_disk_create(t->bs, "plain", 1 * MIB, false, NULL), SD_OK);
    assert_int_equal(blk_disk_open(t->bs, "plain", NULL, &d, NULL), SD_OK);
    assert_int_equal(blk_disk_pwrite(d, w, sizeof w, 0, 0, NULL), SD_OK);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    assert_true(marker_in_dir(t->dir, (const uint8_t *)marker, sizeof marker - 1));
    sd_secret_free(dk);
    bt_close(t);
}

/* The blocks allocated to the .data files of dir. */
static long long data_blocks(const char *dir)
{
    DIR *dh = opendir(dir);
    struct dirent *e;
    long long n = 0;
    while (dh != NULL && (e = readdir(dh)) != NULL) {
        char p[512];
        struct stat st;
        if (strstr(e->d_name, ".data") == NULL) {
            continue;
        }
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        assert_int_equal(stat(p, &st), 0);
        n += (long long)st.st_blocks;
    }
    if (dh != NULL) {
        closedir(dh);
    }
    return n;
}

/* TRIM (and WRITE_ZEROES with MAY_TRIM) must not punch the data before the
 * map saying ZERO is durable: on an encrypted disk a crash in between
 * would leave the durable map saying DATA over a hole, which decrypts to
 * garbage.  The flush punches afterwards, so the space still comes back. */
static void a_trim_punches_only_after_its_map_is_durable(void **state)
{
    bt *t = bt_open();
    blk_disk *d = NULL;
    sd_secret *dk = bt_dk(12);
    uint8_t w[64 * 1024];
    uint8_t r[4096];
    long long full = 0;
    (void)state;

    bt_fill(w, sizeof w, 8);
    assert_int_equal(blk_disk_create(t->bs, "d", 1 * MIB, true, NULL), SD_OK);
    assert_int_equal(blk_disk_open(t->bs, "d", dk, &d, NULL), SD_OK);
    assert_int_equal(blk_disk_pwrite(d, w, sizeof w, 0, BLK_F_FUA, NULL), SD_OK);
    full = data_blocks(t->dir);
    assert_int_equal(blk_disk_trim(d, 32768, 0, 0, NULL), SD_OK);
    assert_int_equal(blk_disk_zero(d, 32768, 32768, BLK_F_MAY_TRIM, NULL), SD_OK);
    assert_int_equal(data_blocks(t->dir), full); /* nothing punched yet */
    /* "crash": the map is never written */
    sd_fault_arm("blk.flush", 1, true);
    assert_int_equal(blk_disk_close(d, NULL), SD_E_IO);
    sd_fault_reset();
    assert_int_equal(blk_disk_open(t->bs, "d", dk, &d, NULL), SD_OK);
    for (uint64_t s = 0; s < 16; s++) {
        read_sector(d, s, r);
        assert_memory_equal(r, w + s * 4096, 4096); /* the old data, not garbage */
    }
    /* a flush that succeeds punches after writing the map */
    assert_int_equal(blk_disk_trim(d, sizeof w, 0, BLK_F_FUA, NULL), SD_OK);
    assert_true(data_blocks(t->dir) < full);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    assert_int_equal(blk_disk_open(t->bs, "d", dk, &d, NULL), SD_OK);
    read_sector(d, 3, r);
    assert_true(bt_all(r, 4096, 0));
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    sd_secret_free(dk);
    bt_close(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_sector_state_transition_in_the_top_layer),
        cmocka_unit_test(disk_sizes_must_be_positive_multiples_of_4096),
        cmocka_unit_test(io_outside_the_disk_or_off_512_is_refused),
        cmocka_unit_test(keys_must_match_the_disk_kind),
        cmocka_unit_test(a_wrong_key_reads_garbage_not_plaintext),
        cmocka_unit_test(unaligned_io_matches_a_byte_model),
        cmocka_unit_test(concurrent_writers_lose_no_partial_sector),
        cmocka_unit_test(a_failed_flush_is_retried_by_the_next),
        cmocka_unit_test(no_map_bit_outlives_a_failed_data_sync),
        cmocka_unit_test(the_export_serves_the_disk),
        cmocka_unit_test(canary_plaintext_never_reaches_a_backing_file),
        cmocka_unit_test(a_trim_punches_only_after_its_map_is_durable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
