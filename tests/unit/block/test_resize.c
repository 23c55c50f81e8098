/* test_resize.c: growing a disk with blk_disk_resize.  The new sectors read
 * as zeroes and take writes; data below the old size is unchanged; a grown
 * clone reads zeroes past its snapshot's size, whatever its parent disk
 * wrote there since; snapshots of a grown disk keep the new size; shrinking,
 * sizes that are not multiples of 4096 and open disks are refused and
 * change nothing.  Every positive case runs encrypted and plain. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "blk_test.h"

#define OLD_NS ((uint64_t)5) /* an odd sector count: the last map byte is partial */
#define NEW_NS ((uint64_t)40)

static void write_sector(blk_disk *d, uint64_t s, uint8_t seed)
{
    assert_int_equal(bt_put_sector(d, s, seed), SD_OK);
}

/* Sector s reads as pattern seed (0: all zeroes). */
static void expect_sector(blk_disk *d, uint64_t s, uint8_t seed)
{
    assert_true(bt_sector_is(d, s, seed));
}

static blk_disk *open_disk(bt *t, const char *name, const sd_secret *dk)
{
    blk_disk *d = NULL;
    assert_int_equal(blk_disk_open(t->bs, name, dk, &d, NULL), SD_OK);
    return d;
}

static uint64_t disk_size(bt *t, const char *name)
{
    uint64_t size = 0;
    assert_int_equal(blk_disk_info(t->bs, name, &size, NULL, NULL), SD_OK);
    return size;
}

/* Disk `name` of OLD_NS sectors, each holding seed 10 + its index, closed. */
static void full_disk(bt *t, const char *name, const sd_secret *dk)
{
    blk_disk *d = NULL;
    assert_int_equal(blk_disk_create(t->bs, name, OLD_NS * 4096, dk != NULL, NULL), SD_OK);
    d = open_disk(t, name, dk);
    for (uint64_t s = 0; s < OLD_NS; s++) {
        write_sector(d, s, (uint8_t)(10 + s));
    }
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
}

static void grown_disk_keeps_old_data_and_takes_writes_at_the_new_end(void **state)
{
    sd_secret *dk = bt_dk(40);
    (void)state;

    for (int enc = 0; enc < 2; enc++) {
        const sd_secret *key = enc ? dk : NULL;
        bt *t = bt_open();
        blk_disk *d = NULL;
        uint8_t w[8192];
        uint8_t r[8192];
        int64_t layers = 0;
        full_disk(t, "d", key);
        assert_int_equal(blk_disk_resize(t->bs, "d", NEW_NS * 4096, NULL), SD_OK);
        assert_int_equal(disk_size(t, "d"), NEW_NS * 4096);
        assert_int_equal(blk_store_layer_count(t->bs, &layers, NULL), SD_OK);
        assert_int_equal(layers, 1); /* metadata only */
        d = open_disk(t, "d", key);
        assert_int_equal(blk_disk_size(d), NEW_NS * 4096);
        for (uint64_t s = 0; s < OLD_NS; s++) {
            expect_sector(d, s, (uint8_t)(10 + s));
        }
        for (uint64_t s = OLD_NS; s < NEW_NS; s++) {
            expect_sector(d, s, 0);
        }
        /* the last sector, and an unaligned write across the old end */
        write_sector(d, NEW_NS - 1, 77);
        bt_fill(w, sizeof w, 78);
        assert_int_equal(blk_disk_pwrite(d, w, 4096, OLD_NS * 4096 - 1024, 0, NULL), SD_OK);
        assert_int_equal(blk_disk_close(d, NULL), SD_OK);
        bt_reopen(t);
        d = open_disk(t, "d", key);
        expect_sector(d, NEW_NS - 1, 77);
        assert_int_equal(blk_disk_pread(d, r, 8192, (OLD_NS - 1) * 4096, NULL), SD_OK);
        bt_fill(w, 4096, (uint8_t)(10 + OLD_NS - 1));
        assert_memory_equal(r, w, 3072); /* the old data before the write */
        bt_fill(w, sizeof w, 78);
        assert_memory_equal(r + 3072, w, 4096);
        assert_true(bt_all(r + 7168, 1024, 0));
        for (uint64_t s = 0; s + 1 < OLD_NS; s++) {
            expect_sector(d, s, (uint8_t)(10 + s));
        }
        assert_int_equal(blk_disk_close(d, NULL), SD_OK);
        bt_close(t);
    }
    sd_secret_free(dk);
}

/* A grown disk crosses into a second 64 MiB map group: the sparse map
 * grows with it. */
static void a_disk_grown_past_a_map_group_reads_and_writes_there(void **state)
{
    sd_secret *dk = bt_dk(41);
    const uint64_t big = (uint64_t)(128u << 20) + 4096u;
    (void)state;

    for (int enc = 0; enc < 2; enc++) {
        const sd_secret *key = enc ? dk : NULL;
        bt *t = bt_open();
        blk_disk *d = NULL;
        full_disk(t, "d", key);
        assert_int_equal(blk_disk_resize(t->bs, "d", big, NULL), SD_OK);
        d = open_disk(t, "d", key);
        expect_sector(d, big / 4096 - 1, 0);
        write_sector(d, big / 4096 - 1, 90);
        assert_int_equal(blk_disk_close(d, NULL), SD_OK);
        d = open_disk(t, "d", key);
        expect_sector(d, big / 4096 - 1, 90);
        expect_sector(d, big / 4096 - 2, 0);
        expect_sector(d, 0, 10);
        assert_int_equal(blk_disk_close(d, NULL), SD_OK);
        bt_close(t);
    }
    sd_secret_free(dk);
}

/* The clone's lower layer belongs to a snapshot of OLD_NS sectors; after
 * the snapshot its source disk grows and writes past OLD_NS, in layers the
 * clone does not share, and none of it shows through. */
static void a_grown_clone_reads_zeroes_past_its_snapshot(void **state)
{
    sd_secret *dk = bt_dk(42);
    (void)state;

    for (int enc = 0; enc < 2; enc++) {
        const sd_secret *key = enc ? dk : NULL;
        bt *t = bt_open();
        blk_disk *d = NULL;
        uint64_t size = 0;
        full_disk(t, "d", key);
        assert_int_equal(blk_snapshot_create(t->bs, "d", "s", NULL), SD_OK);
        assert_int_equal(blk_disk_resize(t->bs, "d", NEW_NS * 4096, NULL), SD_OK);
        d = open_disk(t, "d", key);
        for (uint64_t s = OLD_NS; s < NEW_NS; s++) {
            write_sector(d, s, 99);
        }
        assert_int_equal(blk_disk_close(d, NULL), SD_OK);

        assert_int_equal(blk_disk_clone(t->bs, "s", "c", NULL), SD_OK);
        assert_int_equal(blk_disk_resize(t->bs, "c", NEW_NS * 4096, NULL), SD_OK);
        assert_int_equal(blk_snapshot_info(t->bs, "s", &size, NULL, NULL), SD_OK);
        assert_int_equal(size, OLD_NS * 4096); /* the snapshot keeps its size */
        d = open_disk(t, "c", key);
        for (uint64_t s = 0; s < OLD_NS; s++) {
            expect_sector(d, s, (uint8_t)(10 + s));
        }
        for (uint64_t s = OLD_NS; s < NEW_NS; s++) {
            expect_sector(d, s, 0);
        }
        write_sector(d, OLD_NS + 1, 55);
        write_sector(d, OLD_NS - 1, 56);
        assert_int_equal(blk_disk_close(d, NULL), SD_OK);
        bt_reopen(t);
        d = open_disk(t, "c", key);
        expect_sector(d, OLD_NS - 1, 56);
        expect_sector(d, OLD_NS, 0);
        expect_sector(d, OLD_NS + 1, 55);
        expect_sector(d, NEW_NS - 1, 0);
        assert_int_equal(blk_disk_close(d, NULL), SD_OK);
        d = open_disk(t, "d", key);
        expect_sector(d, OLD_NS - 1, (uint8_t)(10 + OLD_NS - 1));
        expect_sector(d, OLD_NS + 1, 99);
        assert_int_equal(blk_disk_close(d, NULL), SD_OK);
        bt_close(t);
    }
    sd_secret_free(dk);
}

static void snapshots_of_a_grown_disk_keep_the_new_size(void **state)
{
    sd_secret *dk = bt_dk(43);
    (void)state;

    for (int enc = 0; enc < 2; enc++) {
        const sd_secret *key = enc ? dk : NULL;
        bt *t = bt_open();
        blk_disk *d = NULL;
        uint64_t size = 0;
        bool e = !enc;
        full_disk(t, "d", key);
        assert_int_equal(blk_disk_resize(t->bs, "d", NEW_NS * 4096, NULL), SD_OK);
        d = open_disk(t, "d", key);
        write_sector(d, NEW_NS - 1, 61);
        assert_int_equal(blk_disk_snapshot(d, "s-open", NULL), SD_OK); /* through the handle */
        assert_int_equal(blk_disk_close(d, NULL), SD_OK);
        assert_int_equal(blk_snapshot_create(t->bs, "d", "s-closed", NULL), SD_OK); /* by name */
        for (int i = 0; i < 2; i++) {
            const char *snap = i == 0 ? "s-open" : "s-closed";
            const char *clone = i == 0 ? "c-open" : "c-closed";
            assert_int_equal(blk_snapshot_info(t->bs, snap, &size, &e, NULL), SD_OK);
            assert_int_equal(size, NEW_NS * 4096);
            assert_int_equal(e, enc != 0);
            assert_int_equal(blk_disk_clone(t->bs, snap, clone, NULL), SD_OK);
            assert_int_equal(disk_size(t, clone), NEW_NS * 4096);
            d = open_disk(t, clone, key);
            expect_sector(d, NEW_NS - 1, 61);
            expect_sector(d, NEW_NS - 2, 0);
            expect_sector(d, 0, 10);
            assert_int_equal(blk_disk_close(d, NULL), SD_OK);
        }
        bt_close(t);
    }
    sd_secret_free(dk);
}

static void shrinking_is_refused_and_changes_nothing(void **state)
{
    bt *t = bt_open();
    sd_secret *dk = bt_dk(44);
    blk_disk *d = NULL;
    sd_err e = SD_ERR_INIT;
    (void)state;

    full_disk(t, "d", dk);
    assert_int_equal(blk_disk_resize(t->bs, "d", (OLD_NS - 1) * 4096, &e), SD_E_INVALID);
    assert_non_null(strstr(e.msg, "shrinking"));
    assert_int_equal(disk_size(t, "d"), OLD_NS * 4096);
    d = open_disk(t, "d", dk);
    expect_sector(d, OLD_NS - 1, (uint8_t)(10 + OLD_NS - 1));
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    sd_secret_free(dk);
    bt_close(t);
}

static void sizes_not_a_multiple_of_4096_or_too_big_are_refused(void **state)
{
    static const uint64_t bad[] = {0, NEW_NS * 4096 + 512, NEW_NS * 4096 + 1, BLK_MAX_SIZE + 4096};
    bt *t = bt_open();
    (void)state;

    full_disk(t, "d", NULL);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sd_err e = SD_ERR_INIT;
        assert_int_equal(blk_disk_resize(t->bs, "d", bad[i], &e), SD_E_INVALID);
        assert_non_null(strstr(e.msg, "multiple of 4096"));
        assert_int_equal(disk_size(t, "d"), OLD_NS * 4096);
    }
    assert_int_equal(blk_disk_resize(t->bs, "d", BLK_MAX_SIZE, NULL), SD_OK); /* the limit */
    assert_int_equal(disk_size(t, "d"), BLK_MAX_SIZE);
    bt_close(t);
}

static void an_equal_size_is_a_no_op_even_while_open(void **state)
{
    bt *t = bt_open();
    blk_disk *d = NULL;
    (void)state;

    full_disk(t, "d", NULL);
    assert_int_equal(blk_disk_resize(t->bs, "d", OLD_NS * 4096, NULL), SD_OK);
    d = open_disk(t, "d", NULL);
    assert_int_equal(blk_disk_resize(t->bs, "d", OLD_NS * 4096, NULL), SD_OK);
    assert_int_equal(blk_disk_size(d), OLD_NS * 4096);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    assert_int_equal(disk_size(t, "d"), OLD_NS * 4096);
    bt_close(t);
}

static void an_open_disk_is_refused_until_closed(void **state)
{
    bt *t = bt_open();
    sd_secret *dk = bt_dk(45);
    blk_disk *d = NULL;
    sd_err e = SD_ERR_INIT;
    (void)state;

    full_disk(t, "d", dk);
    d = open_disk(t, "d", dk);
    assert_int_equal(blk_disk_resize(t->bs, "d", NEW_NS * 4096, &e), SD_E_CONFLICT);
    assert_non_null(strstr(e.msg, "open"));
    assert_int_equal(disk_size(t, "d"), OLD_NS * 4096);
    assert_int_equal(blk_disk_size(d), OLD_NS * 4096);
    write_sector(d, OLD_NS - 1, 70); /* the handle goes on unharmed */
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    assert_int_equal(blk_disk_resize(t->bs, "d", NEW_NS * 4096, NULL), SD_OK);
    d = open_disk(t, "d", dk);
    expect_sector(d, OLD_NS - 1, 70);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    sd_secret_free(dk);
    bt_close(t);
}

static void missing_disks_snapshots_and_bad_names_are_refused(void **state)
{
    bt *t = bt_open();
    (void)state;

    full_disk(t, "d", NULL);
    assert_int_equal(blk_snapshot_create(t->bs, "d", "s", NULL), SD_OK);
    assert_int_equal(blk_disk_resize(t->bs, "nope", NEW_NS * 4096, NULL), SD_E_NOT_FOUND);
    assert_int_equal(blk_disk_resize(t->bs, "s", NEW_NS * 4096, NULL), SD_E_NOT_FOUND);
    assert_int_equal(blk_disk_resize(t->bs, "a/b", NEW_NS * 4096, NULL), SD_E_INVALID);
    bt_close(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grown_disk_keeps_old_data_and_takes_writes_at_the_new_end),
        cmocka_unit_test(a_disk_grown_past_a_map_group_reads_and_writes_there),
        cmocka_unit_test(a_grown_clone_reads_zeroes_past_its_snapshot),
        cmocka_unit_test(snapshots_of_a_grown_disk_keep_the_new_size),
        cmocka_unit_test(shrinking_is_refused_and_changes_nothing),
        cmocka_unit_test(sizes_not_a_multiple_of_4096_or_too_big_are_refused),
        cmocka_unit_test(an_equal_size_is_a_no_op_even_while_open),
        cmocka_unit_test(an_open_disk_is_refused_until_closed),
        cmocka_unit_test(missing_disks_snapshots_and_bad_names_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
