/* test_fault.c: ENOSPC and EIO from the local backend's pwrite and
 * fdatasync (fault points that set errno and take the real error path).
 * A failed write returns an error and leaves its sectors as they were; a
 * failed flush returns an error naming the cause; everything flushed
 * before the fault reads back after the handle is dropped without another
 * successful flush (as after a crash) and the store is reopened. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "blk_test.h"

#define NS 64u

static void write_sector(blk_disk *d, uint64_t s, uint8_t seed, sd_code want)
{
    assert_int_equal(bt_put_sector(d, s, seed), want);
}

/* Sector s reads as pattern seed (0: all zeroes). */
static void expect_sector(blk_disk *d, uint64_t s, uint8_t seed)
{
    assert_true(bt_sector_is(d, s, seed));
}

/* A disk whose sectors 0..7 hold seeds 1..8, flushed. */
static blk_disk *flushed_disk(bt *t, const sd_secret *dk)
{
    blk_disk *d = NULL;
    assert_int_equal(blk_disk_create(t->bs, "d", NS * 4096, dk != NULL, NULL), SD_OK);
    assert_int_equal(blk_disk_open(t->bs, "d", dk, &d, NULL), SD_OK);
    for (uint64_t s = 0; s < 8; s++) {
        write_sector(d, s, (uint8_t)(s + 1), SD_OK);
    }
    assert_int_equal(blk_disk_flush(d, NULL), SD_OK);
    return d;
}

/* Drops the handle without a successful flush (the crash), reopens the
 * store and checks the flushed sectors. */
static blk_disk *crash_and_reopen(bt *t, blk_disk *d, const sd_secret *dk)
{
    sd_fault_arm("blk.flush", 1, true);
    assert_int_equal(blk_disk_close(d, NULL), SD_E_IO);
    sd_fault_reset();
    bt_reopen(t);
    d = NULL;
    assert_int_equal(blk_disk_open(t->bs, "d", dk, &d, NULL), SD_OK);
    for (uint64_t s = 0; s < 8; s++) {
        expect_sector(d, s, (uint8_t)(s + 1));
    }
    return d;
}

static void failed_writes_return_the_error_and_change_nothing(void **state)
{
    static const char *const points[] = {"blk.backend.pwrite.enospc", "blk.backend.pwrite.eio"};
    static const char *const words[] = {"No space left", "Input/output error"};
    /* a full file system is its own kind, so NBD and the API can say so */
    static const sd_code kinds[] = {SD_E_NOSPACE, SD_E_IO};
    sd_secret *dk = bt_dk(31);
    (void)state;

    for (size_t i = 0; i < 2; i++) {
        bt *t = bt_open();
        blk_disk *d = flushed_disk(t, dk);
        sd_err e = SD_ERR_INIT;
        uint8_t w[3 * 4096];
        /* a whole-sector overwrite, a fresh sector, a partial sector */
        sd_fault_arm(points[i], 1, false);
        write_sector(d, 2, 50, kinds[i]);
        sd_fault_arm(points[i], 1, false);
        write_sector(d, 20, 51, kinds[i]);
        sd_fault_arm(points[i], 1, false);
        bt_fill(w, sizeof w, 52);
        assert_int_equal(blk_disk_pwrite(d, w, 1024, 3 * 4096 + 512, 0, &e), kinds[i]);
        assert_non_null(strstr(e.msg, words[i]));
        sd_fault_reset();
        expect_sector(d, 2, 3);
        expect_sector(d, 20, 0);
        expect_sector(d, 3, 4);
        /* the disk goes on: a later write and flush succeed */
        write_sector(d, 21, 60, SD_OK);
        assert_int_equal(blk_disk_flush(d, NULL), SD_OK);
        d = crash_and_reopen(t, d, dk);
        expect_sector(d, 20, 0);
        expect_sector(d, 21, 60);
        assert_int_equal(blk_disk_close(d, NULL), SD_OK);
        bt_close(t);
    }
    sd_secret_free(dk);
}

static void failed_flushes_return_the_error_and_keep_what_was_flushed(void **state)
{
    static const char *const points[] = {"blk.backend.sync.enospc", "blk.backend.sync.eio",
                                         "blk.backend.pwrite.enospc", "blk.backend.pwrite.eio"};
    sd_secret *dk = bt_dk(32);
    (void)state;

    for (size_t i = 0; i < 4; i++) {
        /* nth pass: 1 = the data sync or the first map page write, 2 = the
         * map sync (sync points only: one map page here) */
        for (unsigned nth = 1; nth <= (i < 2 ? 2u : 1u); nth++) {
            bt *t = bt_open();
            blk_disk *d = flushed_disk(t, i % 2 ? NULL : dk);
            sd_err e = SD_ERR_INIT;
            write_sector(d, 1, 70, SD_OK);  /* overwrite of flushed data */
            write_sector(d, 30, 71, SD_OK); /* a new sector */
            assert_int_equal(blk_disk_zero(d, 4096, 5 * 4096, BLK_F_MAY_TRIM, NULL), SD_OK);
            sd_fault_arm(points[i], nth, false);
            assert_int_equal(blk_disk_flush(d, &e), i % 2 ? SD_E_IO : SD_E_NOSPACE);
            assert_non_null(strstr(e.msg, i < 2 ? "fdatasync" : "pwrite"));
            sd_fault_reset();
            /* the crash: nothing more is flushed.  Sectors 0..7 as flushed,
             * except that 1 and 5 may show their newer unflushed state */
            sd_fault_arm("blk.flush", 1, true);
            assert_int_equal(blk_disk_close(d, NULL), SD_E_IO);
            sd_fault_reset();
            bt_reopen(t);
            assert_int_equal(blk_disk_open(t->bs, "d", i % 2 ? NULL : dk, &d, NULL), SD_OK);
            for (uint64_t s = 0; s < 8; s++) {
                uint8_t r[4096];
                uint8_t w[4096];
                uint8_t n[4096];
                assert_int_equal(blk_disk_pread(d, r, 4096, s * 4096, NULL), SD_OK);
                bt_fill(w, sizeof w, (uint8_t)(s + 1));
                bt_fill(n, sizeof n, 70);
                assert_true(memcmp(r, w, 4096) == 0 || (s == 1 && memcmp(r, n, 4096) == 0) ||
                            (s == 5 && bt_all(r, 4096, 0)));
            }
            assert_int_equal(blk_disk_close(d, NULL), SD_OK);
            bt_close(t);
        }
    }
    sd_secret_free(dk);
}

/* A failed flush keeps the dirty state: once the fault is gone, the next
 * flush makes the writes durable. */
static void a_flush_after_a_failed_one_makes_the_writes_durable(void **state)
{
    bt *t = bt_open();
    sd_secret *dk = bt_dk(33);
    blk_disk *d = flushed_disk(t, dk);
    (void)state;

    write_sector(d, 40, 80, SD_OK);
    sd_fault_arm("blk.backend.pwrite.enospc", 1, false); /* the map page write */
    assert_int_equal(blk_disk_flush(d, NULL), SD_E_NOSPACE);
    sd_fault_reset();
    assert_int_equal(blk_disk_flush(d, NULL), SD_OK);
    d = crash_and_reopen(t, d, dk);
    expect_sector(d, 40, 80);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    sd_secret_free(dk);
    bt_close(t);
}

/* A failed sync poisons the disk: the kernel may have dropped the pages it
 * could not write, so a later flush must not report them durable. */
static void after_a_failed_sync_no_flush_succeeds_until_reopen(void **state)
{
    bt *t = bt_open();
    sd_secret *dk = bt_dk(34);
    blk_disk *d = flushed_disk(t, dk);
    sd_err e = SD_ERR_INIT;
    (void)state;

    write_sector(d, 50, 90, SD_OK);
    sd_fault_arm("blk.backend.sync.eio", 1, false);
    assert_int_equal(blk_disk_flush(d, NULL), SD_E_IO);
    sd_fault_reset();
    assert_int_equal(blk_disk_flush(d, &e), SD_E_IO);
    assert_non_null(strstr(e.msg, "reopen"));
    write_sector(d, 51, 91, SD_OK); /* writes still land in memory */
    assert_int_equal(blk_disk_flush(d, NULL), SD_E_IO);
    sd_ignore(blk_disk_close(d, NULL)); /* its final flush fails too */
    bt_reopen(t);
    assert_int_equal(blk_disk_open(t->bs, "d", dk, &d, NULL), SD_OK);
    write_sector(d, 52, 92, SD_OK);
    assert_int_equal(blk_disk_flush(d, NULL), SD_OK); /* a fresh start */
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    sd_secret_free(dk);
    bt_close(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(failed_writes_return_the_error_and_change_nothing),
        cmocka_unit_test(failed_flushes_return_the_error_and_keep_what_was_flushed),
        cmocka_unit_test(a_flush_after_a_failed_one_makes_the_writes_durable),
        cmocka_unit_test(after_a_failed_sync_no_flush_succeeds_until_reopen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
