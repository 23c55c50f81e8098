/* test_layers.c: snapshots and clones.  A write after a snapshot leaves the
 * snapshot alone; clones see the snapshot and only their own writes; TRIM
 * and WRITE_ZEROES on a clone hide the parent's data; chains survive
 * reopen; layers go exactly when nothing refers to them; a snapshot does
 * not copy the disk. */
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

#define SZ (256u * 4096u)

static void write_sector(blk_disk *d, uint64_t s, uint8_t seed)
{
    assert_int_equal(bt_put_sector(d, s, seed), SD_OK);
}

/* Sector s reads as pattern seed (0: all zeroes). */
static void expect_sector(blk_disk *d, uint64_t s, uint8_t seed)
{
    assert_true(bt_sector_is(d, s, seed));
}

static sd_code first_type(void *ctx, uint64_t length, uint32_t type, sd_err *err)
{
    (void)length;
    (void)err;
    *(uint32_t *)ctx = type;
    return SD_OK;
}

static blk_disk *open_disk(bt *t, const char *name, const sd_secret *dk)
{
    blk_disk *d = NULL;
    assert_int_equal(blk_disk_open(t->bs, name, dk, &d, NULL), SD_OK);
    return d;
}

static void a_write_after_a_snapshot_does_not_change_it(void **state)
{
    bt *t = bt_open();
    sd_secret *dk = bt_dk(1);
    blk_disk *d = NULL;
    blk_disk *c = NULL;
    (void)state;

    assert_int_equal(blk_disk_create(t->bs, "d", SZ, true, NULL), SD_OK);
    d = open_disk(t, "d", dk);
    write_sector(d, 1, 10);
    write_sector(d, 2, 20);
    assert_int_equal(blk_disk_snapshot(d, "s1", NULL), SD_OK);
    /* overwrite, zero, trim and partially rewrite after the snapshot */
    write_sector(d, 1, 11);
    assert_int_equal(blk_disk_zero(d, 4096, 2 * 4096, 0, NULL), SD_OK);
    write_sector(d, 3, 30);
    expect_sector(d, 1, 11);
    expect_sector(d, 2, 0);
    expect_sector(d, 3, 30);

    assert_int_equal(blk_disk_clone(t->bs, "s1", "c", NULL), SD_OK);
    c = open_disk(t, "c", dk);
    expect_sector(c, 1, 10);
    expect_sector(c, 2, 20);
    expect_sector(c, 3, 0);
    assert_int_equal(blk_disk_close(c, NULL), SD_OK);

    /* the same after a restart: the chain is in the database */
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    bt_reopen(t);
    d = open_disk(t, "d", dk);
    c = open_disk(t, "c", dk);
    expect_sector(d, 1, 11);
    expect_sector(d, 2, 0);
    expect_sector(d, 3, 30);
    expect_sector(c, 1, 10);
    expect_sector(c, 2, 20);
    expect_sector(c, 3, 0);
    assert_int_equal(blk_disk_close(c, NULL), SD_OK);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    sd_secret_free(dk);
    bt_close(t);
}

static void clones_are_isolated_from_each_other_and_the_source(void **state)
{
    bt *t = bt_open();
    blk_disk *d = NULL;
    blk_disk *c1 = NULL;
    blk_disk *c2 = NULL;
    uint64_t size = 0;
    bool enc = true;
    (void)state;

    assert_int_equal(blk_disk_create(t->bs, "d", SZ, false, NULL), SD_OK);
    d = open_disk(t, "d", NULL);
    write_sector(d, 0, 1);
    write_sector(d, 7, 2);
    assert_int_equal(blk_disk_snapshot(d, "s", NULL), SD_OK);
    assert_int_equal(blk_snapshot_info(t->bs, "s", &size, &enc, NULL), SD_OK);
    assert_int_equal(size, SZ);
    assert_false(enc);
    assert_int_equal(blk_disk_clone(t->bs, "s", "c1", NULL), SD_OK);
    assert_int_equal(blk_disk_clone(t->bs, "s", "c2", NULL), SD_OK);
    c1 = open_disk(t, "c1", NULL);
    c2 = open_disk(t, "c2", NULL);
    write_sector(c1, 0, 3);
    write_sector(c2, 7, 4);
    write_sector(d, 5, 5);
    expect_sector(d, 0, 1);
    expect_sector(d, 7, 2);
    expect_sector(d, 5, 5);
    expect_sector(c1, 0, 3);
    expect_sector(c1, 7, 2);
    expect_sector(c1, 5, 0);
    expect_sector(c2, 0, 1);
    expect_sector(c2, 7, 4);
    expect_sector(c2, 5, 0);
    assert_int_equal(blk_disk_close(c1, NULL), SD_OK);
    assert_int_equal(blk_disk_close(c2, NULL), SD_OK);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    bt_close(t);
}

static void trim_and_zero_on_a_clone_hide_the_parent_data(void **state)
{
    bt *t = bt_open();
    sd_secret *dk = bt_dk(2);
    blk_disk *d = NULL;
    blk_disk *c = NULL;
    uint8_t w[4096];
    uint8_t r[4096];
    uint32_t type = 99;
    (void)state;

    assert_int_equal(blk_disk_create(t->bs, "d", SZ, true, NULL), SD_OK);
    d = open_disk(t, "d", dk);
    for (uint64_t s = 0; s < 8; s++) {
        write_sector(d, s, (uint8_t)(40 + s));
    }
    assert_int_equal(blk_disk_snapshot(d, "s", NULL), SD_OK);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    assert_int_equal(blk_disk_clone(t->bs, "s", "c", NULL), SD_OK);
    c = open_disk(t, "c", dk);
    assert_int_equal(blk_disk_trim(c, 2 * 4096, 1 * 4096, 0, NULL), SD_OK);
    assert_int_equal(blk_disk_zero(c, 4096, 4 * 4096, 0, NULL), SD_OK);
    /* partial: the first 1024 bytes of sector 6 only */
    assert_int_equal(blk_disk_zero(c, 1024, 6 * 4096, 0, NULL), SD_OK);
    expect_sector(c, 0, 40);
    expect_sector(c, 1, 0);
    expect_sector(c, 2, 0);
    expect_sector(c, 3, 43);
    expect_sector(c, 4, 0);
    bt_fill(w, sizeof w, 46);
    memset(w, 0, 1024);
    assert_int_equal(blk_disk_pread(c, r, 4096, 6 * 4096, NULL), SD_OK);
    assert_memory_equal(r, w, 4096);
    /* extents say zero where the parent has data, and data where it shows */
    assert_int_equal(blk_disk_extents(c, 4096, 4096, BLK_F_REQ_ONE, first_type, &type, NULL),
                     SD_OK);
    assert_int_equal(type, BLK_EXTENT_HOLE | BLK_EXTENT_ZERO);
    assert_int_equal(blk_disk_extents(c, 4096, 0, BLK_F_REQ_ONE, first_type, &type, NULL), SD_OK);
    assert_int_equal(type, 0);
    /* still hidden after reopen; the snapshot still has everything */
    assert_int_equal(blk_disk_close(c, NULL), SD_OK);
    c = open_disk(t, "c", dk);
    expect_sector(c, 1, 0);
    expect_sector(c, 4, 0);
    assert_int_equal(blk_disk_close(c, NULL), SD_OK);
    assert_int_equal(blk_disk_clone(t->bs, "s", "c2", NULL), SD_OK);
    c = open_disk(t, "c2", dk);
    for (uint64_t s = 0; s < 8; s++) {
        expect_sector(c, s, (uint8_t)(40 + s));
    }
    assert_int_equal(blk_disk_close(c, NULL), SD_OK);
    sd_secret_free(dk);
    bt_close(t);
}

static int64_t layers(bt *t)
{
    int64_t n = -1;
    assert_int_equal(blk_store_layer_count(t->bs, &n, NULL), SD_OK);
    return n;
}

static int data_files(bt *t)
{
    DIR *dh = opendir(t->dir);
    struct dirent *e;
    int n = 0;
    while (dh != NULL && (e = readdir(dh)) != NULL) {
        size_t l = strlen(e->d_name);
        n += l > 5 && strcmp(e->d_name + l - 5, ".data") == 0;
    }
    if (dh != NULL) {
        closedir(dh);
    }
    return n;
}

static void layers_go_when_nothing_refers_to_them(void **state)
{
    bt *t = bt_open();
    blk_disk *d = NULL;
    (void)state;

    assert_int_equal(blk_disk_create(t->bs, "d", SZ, false, NULL), SD_OK);
    assert_int_equal(layers(t), 1);
    d = open_disk(t, "d", NULL);
    write_sector(d, 0, 1);
    assert_int_equal(blk_disk_snapshot(d, "s1", NULL), SD_OK); /* L0 <- L1(top) */
    write_sector(d, 1, 2);
    assert_int_equal(blk_disk_snapshot(d, "s2", NULL), SD_OK); /* L0 <- L1 <- L2(top) */
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    assert_int_equal(layers(t), 3);
    assert_int_equal(blk_disk_clone(t->bs, "s1", "c", NULL), SD_OK); /* L0 <- C */
    assert_int_equal(layers(t), 4);
    assert_int_equal(data_files(t), 4);

    /* s1 goes, but L0 stays: L1 (child) and C (clone) still refer to it */
    assert_int_equal(blk_snapshot_remove(t->bs, "s1", NULL), SD_OK);
    assert_int_equal(layers(t), 4);
    /* the disk goes: its top L2 goes; L1 stays for s2 */
    assert_int_equal(blk_disk_remove(t->bs, "d", NULL), SD_OK);
    assert_int_equal(layers(t), 3);
    /* s2 goes: L1 goes; L0, now only the clone's background, is merged
     * into C, objects included */
    assert_int_equal(blk_snapshot_remove(t->bs, "s2", NULL), SD_OK);
    assert_int_equal(layers(t), 1);
    assert_int_equal(data_files(t), 1);
    d = open_disk(t, "c", NULL);
    expect_sector(d, 0, 1);
    expect_sector(d, 1, 0);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    /* the clone goes: nothing is left, objects included */
    assert_int_equal(blk_disk_remove(t->bs, "c", NULL), SD_OK);
    assert_int_equal(layers(t), 0);
    assert_int_equal(data_files(t), 0);
    /* negative twins */
    assert_int_equal(blk_snapshot_remove(t->bs, "s1", NULL), SD_E_NOT_FOUND);
    assert_int_equal(blk_disk_clone(t->bs, "s1", "x", NULL), SD_E_NOT_FOUND);
    bt_close(t);
}

/* A rebuilt disk: its name takes the new disk's data, size and key in one
 * step; what only the old data used goes, what a snapshot keeps stays. */
static void a_replaced_disk_takes_the_new_data_and_drops_the_old(void **state)
{
    bt *t = bt_open();
    sd_secret *dk = bt_dk(61);
    blk_disk *d = NULL;
    blk_disk *o = NULL;
    uint64_t size = 0;
    bool enc = false;
    (void)state;

    assert_int_equal(blk_disk_create(t->bs, "d", SZ, false, NULL), SD_OK);
    d = open_disk(t, "d", NULL);
    write_sector(d, 0, 1);
    assert_int_equal(blk_disk_snapshot(d, "s", NULL), SD_OK); /* L0(s) <- L1(top of d) */
    write_sector(d, 1, 2);
    assert_int_equal(blk_disk_create(t->bs, "n", 2 * SZ, true, NULL), SD_OK);
    o = open_disk(t, "n", dk);
    write_sector(o, 3, 3);
    /* refused while either is open, for itself, or for a missing disk */
    assert_int_equal(blk_disk_replace(t->bs, "d", "n", NULL), SD_E_CONFLICT);
    assert_int_equal(blk_disk_close(o, NULL), SD_OK);
    assert_int_equal(blk_disk_replace(t->bs, "d", "n", NULL), SD_E_CONFLICT);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    assert_int_equal(blk_disk_replace(t->bs, "d", "d", NULL), SD_E_INVALID);
    assert_int_equal(blk_disk_replace(t->bs, "d", "nope", NULL), SD_E_NOT_FOUND);
    assert_int_equal(blk_disk_replace(t->bs, "nope", "n", NULL), SD_E_NOT_FOUND);
    assert_int_equal(layers(t), 3);

    assert_int_equal(blk_disk_replace(t->bs, "d", "n", NULL), SD_OK);
    assert_int_equal(layers(t), 2); /* L1 went; L0 stays for s */
    assert_int_equal(blk_disk_info(t->bs, "n", NULL, NULL, NULL), SD_E_NOT_FOUND);
    assert_int_equal(blk_disk_info(t->bs, "d", &size, &enc, NULL), SD_OK);
    assert_true(size == 2 * SZ && enc);
    bt_reopen(t);
    d = open_disk(t, "d", dk);
    expect_sector(d, 3, 3);
    expect_sector(d, 0, 0);
    expect_sector(d, 1, 0);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    assert_int_equal(blk_disk_clone(t->bs, "s", "c", NULL), SD_OK);
    d = open_disk(t, "c", NULL);
    expect_sector(d, 0, 1);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    sd_secret_free(dk);
    bt_close(t);
}

static void snapshot_names_are_unique_and_a_refused_one_changes_nothing(void **state)
{
    bt *t = bt_open();
    blk_disk *d = NULL;
    (void)state;

    assert_int_equal(blk_disk_create(t->bs, "d", SZ, false, NULL), SD_OK);
    d = open_disk(t, "d", NULL);
    write_sector(d, 0, 1);
    assert_int_equal(blk_disk_snapshot(d, "s", NULL), SD_OK);
    write_sector(d, 0, 2);
    assert_int_equal(blk_disk_snapshot(d, "s", NULL), SD_E_CONFLICT);
    assert_int_equal(blk_disk_snapshot(d, "bad/name", NULL), SD_E_INVALID);
    /* a snapshot whose flush fails is not taken (an injected failure before
     * the sync; a failed fdatasync poisons the disk: test_fault.c) */
    write_sector(d, 2, 9);
    sd_fault_arm("blk.flush", 1, false);
    assert_int_equal(blk_disk_snapshot(d, "s2", NULL), SD_E_IO);
    sd_fault_reset();
    assert_int_equal(blk_snapshot_info(t->bs, "s2", NULL, NULL, NULL), SD_E_NOT_FOUND);
    assert_int_equal(layers(t), 2);
    assert_int_equal(data_files(t), 2);
    write_sector(d, 1, 3);
    expect_sector(d, 0, 2);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    d = open_disk(t, "d", NULL);
    expect_sector(d, 0, 2);
    expect_sector(d, 1, 3);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    assert_int_equal(blk_disk_clone(t->bs, "s", "d", NULL), SD_E_CONFLICT);
    assert_int_equal(layers(t), 2);
    bt_close(t);
}

static void a_deep_chain_resolves_each_sector_from_its_nearest_layer(void **state)
{
    bt *t = bt_open();
    sd_secret *dk = bt_dk(4);
    blk_disk *d = NULL;
    char name[16];
    (void)state;

    assert_int_equal(blk_disk_create(t->bs, "d", SZ, true, NULL), SD_OK);
    d = open_disk(t, "d", dk);
    for (int i = 0; i < 20; i++) {
        write_sector(d, (uint64_t)i, (uint8_t)(i + 1)); /* sector i first in layer i */
        write_sector(d, 100, (uint8_t)(i + 1));         /* rewritten in every layer */
        snprintf(name, sizeof name, "s%d", i);
        assert_int_equal(blk_disk_snapshot(d, name, NULL), SD_OK);
    }
    assert_int_equal(blk_disk_trim(d, 4096, 5 * 4096, 0, NULL), SD_OK);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    bt_reopen(t);
    d = open_disk(t, "d", dk);
    for (int i = 0; i < 20; i++) {
        expect_sector(d, (uint64_t)i, i == 5 ? 0 : (uint8_t)(i + 1));
    }
    expect_sector(d, 100, 20);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    assert_int_equal(blk_disk_clone(t->bs, "s9", "c", NULL), SD_OK);
    d = open_disk(t, "c", dk);
    expect_sector(d, 5, 6);
    expect_sector(d, 9, 10);
    expect_sector(d, 10, 0);
    expect_sector(d, 100, 10);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    sd_secret_free(dk);
    bt_close(t);
}

/* O(1): the snapshot of a 64 GiB disk with data writes no map or data for
 * the new top layer; its objects are empty. */
static void a_snapshot_copies_nothing(void **state)
{
    bt *t = bt_open();
    blk_disk *d = NULL;
    struct stat st;
    char p[512];
    DIR *dh;
    struct dirent *e;
    int empty = 0;
    (void)state;

    assert_int_equal(blk_disk_create(t->bs, "big", (uint64_t)64 << 30, false, NULL), SD_OK);
    d = open_disk(t, "big", NULL);
    write_sector(d, 0, 1);
    write_sector(d, ((uint64_t)64 << 30) / 4096 - 1, 2);
    assert_int_equal(blk_disk_snapshot(d, "s", NULL), SD_OK);
    dh = opendir(t->dir);
    while (dh != NULL && (e = readdir(dh)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(p, sizeof p, "%s/%s", t->dir, e->d_name);
        assert_int_equal(stat(p, &st), 0);
        empty += st.st_size == 0;
    }
    if (dh != NULL) {
        closedir(dh);
    }
    assert_int_equal(empty, 2); /* the new top's .data and .map */
    expect_sector(d, 0, 1);
    expect_sector(d, ((uint64_t)64 << 30) / 4096 - 1, 2);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    bt_close(t);
}

/* A detached disk (ECS snapshots disks that no instance serves) is
 * snapshotted by name: one transaction, the disk goes on over a new top;
 * an open disk, a taken name, a missing disk and a bad name are refused
 * and change nothing. */
static void a_detached_disk_is_snapshotted_by_name(void **state)
{
    bt *t = bt_open();
    sd_secret *dk = bt_dk(7);
    blk_disk *d = NULL;
    (void)state;

    assert_int_equal(blk_disk_create(t->bs, "d", SZ, true, NULL), SD_OK);
    d = open_disk(t, "d", dk);
    write_sector(d, 0, 1);
    write_sector(d, 9, 2);
    /* open here: refused, nothing made */
    assert_int_equal(blk_snapshot_create(t->bs, "d", "s", NULL), SD_E_CONFLICT);
    assert_int_equal(layers(t), 1);
    assert_int_equal(data_files(t), 1);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);

    assert_int_equal(blk_snapshot_create(t->bs, "d", "s", NULL), SD_OK);
    assert_int_equal(layers(t), 2);
    assert_int_equal(blk_snapshot_create(t->bs, "d", "s", NULL), SD_E_CONFLICT);
    assert_int_equal(blk_snapshot_create(t->bs, "nodisk", "s3", NULL), SD_E_NOT_FOUND);
    assert_int_equal(blk_snapshot_create(t->bs, "d", "bad/name", NULL), SD_E_INVALID);
    assert_int_equal(layers(t), 2);
    assert_int_equal(data_files(t), 2);

    /* the disk goes on over its new top; the snapshot keeps the old state */
    d = open_disk(t, "d", dk);
    expect_sector(d, 0, 1);
    write_sector(d, 0, 3);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    assert_int_equal(blk_disk_clone(t->bs, "s", "c", NULL), SD_OK);
    d = open_disk(t, "c", dk);
    expect_sector(d, 0, 1);
    expect_sector(d, 9, 2);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    bt_reopen(t);
    d = open_disk(t, "d", dk);
    expect_sector(d, 0, 3);
    expect_sector(d, 9, 2);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    sd_secret_free(dk);
    bt_close(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_write_after_a_snapshot_does_not_change_it),
        cmocka_unit_test(clones_are_isolated_from_each_other_and_the_source),
        cmocka_unit_test(trim_and_zero_on_a_clone_hide_the_parent_data),
        cmocka_unit_test(layers_go_when_nothing_refers_to_them),
        cmocka_unit_test(a_replaced_disk_takes_the_new_data_and_drops_the_old),
        cmocka_unit_test(snapshot_names_are_unique_and_a_refused_one_changes_nothing),
        cmocka_unit_test(a_deep_chain_resolves_each_sector_from_its_nearest_layer),
        cmocka_unit_test(a_snapshot_copies_nothing),
        cmocka_unit_test(a_detached_disk_is_snapshotted_by_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
