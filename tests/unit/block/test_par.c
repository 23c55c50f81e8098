/* test_par.c: large requests, which on an encrypted disk share their chunks
 * with the store's helper thread.  Aligned and unaligned reads and writes
 * across chunk boundaries match a model of the disk and what the
 * one-thread path (4 KiB requests) reads and wrote; concurrent large
 * writers, small writers, flushes and snapshots keep every writer's data;
 * an EIO in the middle of a large write or read fails the request and
 * loses nothing flushed.  Encrypted and plain. */
#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "blk_test.h"

#define MIB    ((uint64_t)1 << 20)
#define DISK   (16 * MIB)
#define CHUNKB ((uint64_t)128 << 10) /* blk_disk.c's chunk */

static blk_disk *open_disk(bt *t, const char *name, const sd_secret *dk)
{
    blk_disk *d = NULL;
    assert_int_equal(blk_disk_open(t->bs, name, dk, &d, NULL), SD_OK);
    return d;
}

/* The whole disk reads as model, in 4 KiB requests (the one-thread path)
 * and in 3 MiB ones (the shared path). */
static void expect_model(blk_disk *d, const uint8_t *model)
{
    uint8_t *r = malloc(3 * MIB);
    assert_non_null(r);
    for (uint64_t off = 0; off < DISK; off += 4096) {
        assert_int_equal(blk_disk_pread(d, r, 4096, off, NULL), SD_OK);
        assert_memory_equal(r, model + off, 4096);
    }
    for (uint64_t off = 0; off < DISK; off += 3 * MIB) {
        uint32_t n = (uint32_t)(DISK - off < 3 * MIB ? DISK - off : 3 * MIB);
        assert_int_equal(blk_disk_pread(d, r, n, off, NULL), SD_OK);
        assert_memory_equal(r, model + off, n);
    }
    free(r);
}

static void large_requests_match_the_model_across_chunk_boundaries(void **state)
{
    /* offset, length: aligned, 512-aligned, starting and ending mid-chunk
     * and mid-sector, exactly the threshold, one byte-sector under it */
    static const uint64_t io[][2] = {
        {0, MIB},
        {512, MIB},
        {CHUNKB - 512, 3 * CHUNKB + 1024},
        {31 * 4096 + 1536, 5 * MIB + 512},
        {7 * MIB - 4096, 256u << 10},
        {9 * MIB + 512, (256u << 10) - 512},
        {DISK - 2 * MIB - 512, 2 * MIB + 512},
    };
    sd_secret *dk = bt_dk(50);
    uint8_t *model = calloc(1, DISK);
    uint8_t *w = malloc(6 * MIB);
    uint8_t *r = malloc(6 * MIB);
    (void)state;

    assert_true(model != NULL && w != NULL && r != NULL);
    for (int enc = 0; enc < 2; enc++) {
        const sd_secret *key = enc ? dk : NULL;
        bt *t = bt_open();
        blk_disk *d = NULL;
        memset(model, 0, DISK);
        assert_int_equal(blk_disk_create(t->bs, "d", DISK, enc != 0, NULL), SD_OK);
        d = open_disk(t, "d", key);
        /* small writes first, so large writes must merge with them */
        for (uint64_t off = 0; off < DISK; off += 37 * 4096 + 512) {
            bt_fill(w, 4096, (uint8_t)(off / 4096));
            assert_int_equal(blk_disk_pwrite(d, w, 4096, off, 0, NULL), SD_OK);
            memcpy(model + off, w, 4096);
        }
        for (size_t i = 0; i < sizeof io / sizeof io[0]; i++) {
            uint32_t n = (uint32_t)io[i][1];
            bt_fill(w, n, (uint8_t)(100 + i));
            assert_int_equal(blk_disk_pwrite(d, w, n, io[i][0], 0, NULL), SD_OK);
            memcpy(model + io[i][0], w, n);
            /* a large read of a different, overlapping range */
            uint64_t ro = io[i][0] >= 4096 + 512 ? io[i][0] - 4096 - 512 : 0;
            uint32_t rn = (uint32_t)(ro + n + 8192 <= DISK ? n + 8192 : DISK - ro);
            assert_int_equal(blk_disk_pread(d, r, rn, ro, NULL), SD_OK);
            assert_memory_equal(r, model + ro, rn);
        }
        expect_model(d, model);
        assert_int_equal(blk_disk_close(d, NULL), SD_OK);
        bt_reopen(t);
        d = open_disk(t, "d", key);
        expect_model(d, model);
        assert_int_equal(blk_disk_close(d, NULL), SD_OK);
        bt_close(t);
    }
    free(r);
    free(w);
    free(model);
    sd_secret_free(dk);
}

/* ---- concurrency ------------------------------------------------------------ */

#define WRITERS 4
#define ROUNDS  12
#define REGION  (3 * MIB) /* each writer's own region */

typedef struct worker {
    blk_disk *d;
    unsigned id;
    int failures; /* reads that did not match, calls that failed */
    uint8_t last; /* the seed of the last pattern written */
} worker;

/* Writes its region whole (unaligned inside it) with a new pattern each
 * round and reads it back at once with a large read. */
static void *large_writer(void *arg)
{
    worker *k = arg;
    uint64_t off = k->id * REGION + 512;
    uint32_t n = (uint32_t)(REGION - 1024);
    uint8_t *w = malloc(n);
    uint8_t *r = malloc(n);

    for (unsigned i = 0; w != NULL && r != NULL && i < ROUNDS; i++) {
        k->last = (uint8_t)(k->id * 40 + i + 1);
        bt_fill(w, n, k->last);
        if (blk_disk_pwrite(k->d, w, n, off, i % 4 == 3 ? BLK_F_FUA : 0, NULL) != SD_OK ||
            blk_disk_pread(k->d, r, n, off, NULL) != SD_OK || memcmp(r, w, n) != 0) {
            k->failures++;
        }
    }
    free(r);
    free(w);
    return NULL;
}

/* 4 KiB writes and reads in the region after the large writers', plus
 * flushes: the one-thread path beside the shared one. */
static void *small_writer(void *arg)
{
    worker *k = arg;
    uint8_t w[4096];
    uint8_t r[4096];

    for (unsigned i = 0; i < ROUNDS * 16; i++) {
        uint64_t off = WRITERS * REGION + (uint64_t)(i % 64) * 4096;
        bt_fill(w, sizeof w, (uint8_t)i);
        if (blk_disk_pwrite(k->d, w, 4096, off, 0, NULL) != SD_OK ||
            blk_disk_pread(k->d, r, 4096, off, NULL) != SD_OK || memcmp(r, w, 4096) != 0) {
            k->failures++;
        }
        if (i % 32 == 0 && blk_disk_flush(k->d, NULL) != SD_OK) {
            k->failures++;
        }
    }
    return NULL;
}

/* Snapshots while the others write: each drains I/O the helper takes part in. */
static void *snapshotter(void *arg)
{
    worker *k = arg;

    for (unsigned i = 0; i < 3; i++) {
        char name[16];
        (void)snprintf(name, sizeof name, "s%u", i);
        if (blk_disk_snapshot(k->d, name, NULL) != SD_OK) {
            k->failures++;
        }
    }
    return NULL;
}

static void concurrent_large_writers_keep_their_data(void **state)
{
    sd_secret *dk = bt_dk(51);
    (void)state;

    for (int enc = 1; enc >= 0; enc--) {
        const sd_secret *key = enc ? dk : NULL;
        bt *t = bt_open();
        blk_disk *d = NULL;
        pthread_t th[WRITERS + 2];
        worker k[WRITERS + 2];
        uint8_t *w = malloc(REGION);
        uint8_t *r = malloc(REGION);
        assert_true(w != NULL && r != NULL);
        assert_int_equal(blk_disk_create(t->bs, "d", DISK, enc != 0, NULL), SD_OK);
        d = open_disk(t, "d", key);
        for (unsigned i = 0; i < WRITERS + 2; i++) {
            void *(*fn)(void *) = i < WRITERS    ? large_writer
                                  : i == WRITERS ? small_writer
                                                 : snapshotter;
            k[i] = (worker){.d = d, .id = i};
            assert_int_equal(pthread_create(&th[i], NULL, fn, &k[i]), 0);
        }
        for (unsigned i = 0; i < WRITERS + 2; i++) {
            assert_int_equal(pthread_join(th[i], NULL), 0);
            assert_int_equal(k[i].failures, 0);
        }
        assert_int_equal(blk_disk_close(d, NULL), SD_OK);
        bt_reopen(t);
        d = open_disk(t, "d", key);
        for (unsigned i = 0; i < WRITERS; i++) {
            uint32_t n = (uint32_t)(REGION - 1024);
            bt_fill(w, n, k[i].last);
            assert_int_equal(blk_disk_pread(d, r, n, i * REGION + 512, NULL), SD_OK);
            assert_memory_equal(r, w, n);
        }
        assert_int_equal(blk_disk_close(d, NULL), SD_OK);
        free(r);
        free(w);
        bt_close(t);
    }
    sd_secret_free(dk);
}

/* ---- faults ----------------------------------------------------------------- */

#define FLUSHED (4 * MIB) /* pattern 1 over [0, FLUSHED), flushed */

/* Each sector of [off, off+n) reads as seed a or as seed b (whole
 * sectors, as a chunk is written whole or not at all); the rest of the
 * flushed range as a. */
static void expect_a_or_b(blk_disk *d, uint64_t off, uint64_t n, uint8_t b)
{
    uint8_t *r = malloc(FLUSHED);
    uint8_t *pa = malloc(FLUSHED);
    uint8_t *pb = malloc(FLUSHED);
    if (r == NULL || pa == NULL || pb == NULL) {
        abort();
    }
    bt_fill(pa, FLUSHED, 1);
    memcpy(pb, pa, FLUSHED);
    bt_fill(pb + off, n, b);
    assert_int_equal(blk_disk_pread(d, r, (uint32_t)FLUSHED, 0, NULL), SD_OK);
    for (uint64_t s = 0; s < FLUSHED; s += 4096) {
        assert_true(memcmp(r + s, pa + s, 4096) == 0 || memcmp(r + s, pb + s, 4096) == 0);
    }
    free(pb);
    free(pa);
    free(r);
}

static void an_eio_in_a_large_write_fails_it_and_keeps_flushed_data(void **state)
{
    /* the nth backend pwrite of the 3 MiB write (25 chunks) fails */
    static const unsigned nth[] = {1, 2, 5, 13, 25};
    sd_secret *dk = bt_dk(52);
    const uint64_t off = 512;
    const uint32_t n = (uint32_t)(3 * MIB);
    uint8_t *w = malloc(FLUSHED);
    (void)state;

    assert_non_null(w);
    for (int enc = 1; enc >= 0; enc--) {
        const sd_secret *key = enc ? dk : NULL;
        for (size_t i = 0; i < sizeof nth / sizeof nth[0]; i++) {
            bt *t = bt_open();
            blk_disk *d = NULL;
            sd_err e = SD_ERR_INIT;
            assert_int_equal(blk_disk_create(t->bs, "d", DISK, enc != 0, NULL), SD_OK);
            d = open_disk(t, "d", key);
            bt_fill(w, FLUSHED, 1);
            assert_int_equal(blk_disk_pwrite(d, w, (uint32_t)FLUSHED, 0, 0, NULL), SD_OK);
            assert_int_equal(blk_disk_flush(d, NULL), SD_OK);

            bt_fill(w, n, 2);
            sd_fault_arm("blk.backend.pwrite.eio", nth[i], false);
            assert_int_equal(blk_disk_pwrite(d, w, n, off, 0, &e), SD_E_IO);
            sd_fault_reset();
            assert_non_null(strstr(e.msg, "Input/output error"));
            expect_a_or_b(d, off, n, 2);

            /* the crash: drop the handle without a successful flush */
            sd_fault_arm("blk.flush", 1, true);
            assert_int_equal(blk_disk_close(d, NULL), SD_E_IO);
            sd_fault_reset();
            bt_reopen(t);
            d = open_disk(t, "d", key);
            expect_a_or_b(d, off, n, 2);
            /* and the disk goes on */
            assert_int_equal(blk_disk_pwrite(d, w, n, off, BLK_F_FUA, NULL), SD_OK);
            expect_a_or_b(d, off, n, 2);
            assert_int_equal(blk_disk_close(d, NULL), SD_OK);
            bt_close(t);
        }
    }
    free(w);
    sd_secret_free(dk);
}

static void an_eio_in_a_large_read_fails_it(void **state)
{
    static const unsigned nth[] = {1, 3, 8};
    sd_secret *dk = bt_dk(53);
    uint8_t *w = malloc(2 * MIB);
    uint8_t *r = malloc(2 * MIB);
    (void)state;

    assert_true(w != NULL && r != NULL);
    for (int enc = 1; enc >= 0; enc--) {
        const sd_secret *key = enc ? dk : NULL;
        bt *t = bt_open();
        blk_disk *d = NULL;
        assert_int_equal(blk_disk_create(t->bs, "d", DISK, enc != 0, NULL), SD_OK);
        d = open_disk(t, "d", key);
        bt_fill(w, 2 * MIB, 3);
        assert_int_equal(blk_disk_pwrite(d, w, (uint32_t)(2 * MIB), 0, 0, NULL), SD_OK);
        for (size_t i = 0; i < sizeof nth / sizeof nth[0]; i++) {
            sd_err e = SD_ERR_INIT;
            sd_fault_arm("blk.backend.pread", nth[i], false);
            assert_int_equal(blk_disk_pread(d, r, (uint32_t)(2 * MIB), 0, &e), SD_E_IO);
            sd_fault_reset();
            assert_non_null(strstr(e.msg, "pread"));
        }
        assert_int_equal(blk_disk_pread(d, r, (uint32_t)(2 * MIB), 0, NULL), SD_OK);
        assert_memory_equal(r, w, 2 * MIB);
        assert_int_equal(blk_disk_close(d, NULL), SD_OK);
        bt_close(t);
    }
    free(r);
    free(w);
    sd_secret_free(dk);
}

/* Threads of this process now (the helper is one once it has started). */
static int thread_count(void)
{
    int n = 0;
    DIR *dh = opendir("/proc/self/task");
    struct dirent *e;

    assert_non_null(dh);
    while ((e = readdir(dh)) != NULL) {
        n += e->d_name[0] != '.';
    }
    (void)closedir(dh);
    return n;
}

/* A disk that opted out of the helper (as NBD exports do) never starts it,
 * whatever its requests; its twin, opted in, does with its first large
 * encrypted request.  Both read what they wrote. */
static void a_disk_can_opt_out_of_the_helper(void **state)
{
    bt *t = bt_open();
    sd_secret *dk = bt_dk(7);
    uint8_t *w = malloc(2 * MIB);
    uint8_t *r = malloc(2 * MIB);
    blk_disk *d = NULL;
    int before = thread_count();

    (void)state;
    assert_non_null(w);
    assert_non_null(r);
    bt_fill(w, 2 * MIB, 5);
    assert_int_equal(blk_disk_create(t->bs, "solo", DISK, true, NULL), SD_OK);
    assert_int_equal(blk_disk_create(t->bs, "shared", DISK, true, NULL), SD_OK);
    d = open_disk(t, "solo", dk);
    blk_disk_set_helper(d, false);
    for (uint64_t off = 0; off < DISK; off += 2 * MIB) {
        assert_int_equal(blk_disk_pwrite(d, w, 2 * MIB, off, 0, NULL), SD_OK);
        assert_int_equal(blk_disk_pread(d, r, 2 * MIB, off, NULL), SD_OK);
        assert_memory_equal(r, w, 2 * MIB);
    }
    assert_int_equal(thread_count(), before);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    d = open_disk(t, "shared", dk);
    assert_int_equal(blk_disk_pwrite(d, w, 2 * MIB, 0, 0, NULL), SD_OK);
    assert_int_equal(blk_disk_pread(d, r, 2 * MIB, 0, NULL), SD_OK);
    assert_memory_equal(r, w, 2 * MIB);
    assert_int_equal(thread_count(), before + 1);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    sd_secret_free(dk);
    free(w);
    free(r);
    bt_close(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(large_requests_match_the_model_across_chunk_boundaries),
        cmocka_unit_test(concurrent_large_writers_keep_their_data),
        cmocka_unit_test(an_eio_in_a_large_write_fails_it_and_keeps_flushed_data),
        cmocka_unit_test(an_eio_in_a_large_read_fails_it),
        cmocka_unit_test(a_disk_can_opt_out_of_the_helper),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
