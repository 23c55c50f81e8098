/* test_depth.c: a disk holds BLK_MAX_SNAPSHOTS (256, Alibaba's per-disk
 * maximum) live snapshots and more, over a base from a snapshot's chain:
 * its chain then has more layers than one byte can index, and every
 * sector still reads back from the right layer, encrypted and plain,
 * before and after a reopen, and takes new writes.  Negative twins: the
 * chain stops at BLK_MAX_DEPTH with SD_E_CONFLICT (through the handle and
 * by name), and a clone refuses a source deeper than BLK_MAX_BASE. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "blk_test.h"

#define NS    64u /* sectors of the disk */
#define BASE  3   /* layers of the snapshot the disk is cloned from */
#define SNAPS 300 /* snapshots the disk then takes and keeps */
#define SPOT  10  /* a snapshot read back through a clone */

static uint8_t seed_of(int round)
{
    return (uint8_t)(round % 250 + 1);
}

static void expect_image(blk_disk *d, const uint8_t *img)
{
    for (uint64_t s = 0; s < NS; s++) {
        if (!bt_sector_is(d, s, img[s])) {
            fail_msg("sector %llu is not seed %u", (unsigned long long)s, img[s]);
        }
    }
}

/* "base" with BASE snapshots b0..b2, each after writing a few sectors, and
 * disk "d" cloned from the last: BASE layers below d's top. */
static void make_base(bt *t, const sd_secret *dk, uint8_t *img)
{
    blk_disk *b = NULL;

    assert_int_equal(blk_disk_create(t->bs, "base", NS * 4096, dk != NULL, NULL), SD_OK);
    assert_int_equal(blk_disk_open(t->bs, "base", dk, &b, NULL), SD_OK);
    for (int i = 0; i < BASE; i++) {
        char name[16];
        for (uint64_t s = (uint64_t)i; s < NS; s += 8) {
            assert_int_equal(bt_put_sector(b, s, (uint8_t)(200 + i)), SD_OK);
            img[s] = (uint8_t)(200 + i);
        }
        (void)snprintf(name, sizeof name, "b%d", i);
        assert_int_equal(blk_disk_snapshot(b, name, NULL), SD_OK);
    }
    assert_int_equal(blk_disk_close(b, NULL), SD_OK);
    assert_int_equal(blk_disk_clone(t->bs, "b2", "d", NULL), SD_OK);
}

/* SNAPS rounds of one write and one kept snapshot: sector i % NS holds
 * round i's data, so the newest sectors live in layers past index 255. */
static void deep_chain(const sd_secret *dk)
{
    bt *t = bt_open();
    blk_disk *d = NULL;
    blk_disk *c = NULL;
    uint8_t img[NS] = {0};
    uint8_t spot[NS];

    make_base(t, dk, img);
    assert_int_equal(blk_disk_open(t->bs, "d", dk, &d, NULL), SD_OK);
    for (int i = 0; i < SNAPS; i++) {
        char name[16];
        uint64_t s = (uint64_t)i % NS;
        if (i % 37 == 36) { /* ZERO sectors resolve through the deep chain too */
            assert_int_equal(blk_disk_zero(d, 4096, s * 4096, 0, NULL), SD_OK);
            img[s] = 0;
        } else {
            assert_int_equal(bt_put_sector(d, s, seed_of(i)), SD_OK);
            img[s] = seed_of(i);
        }
        (void)snprintf(name, sizeof name, "s%d", i);
        assert_int_equal(blk_disk_snapshot(d, name, NULL), SD_OK);
        if (i == SPOT) {
            memcpy(spot, img, NS);
        }
    }
    expect_image(d, img);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);

    bt_reopen(t);
    assert_int_equal(blk_disk_open(t->bs, "d", dk, &d, NULL), SD_OK);
    expect_image(d, img);
    for (uint64_t s = 0; s < NS; s += 3) { /* writes after it all */
        assert_int_equal(bt_put_sector(d, s, (uint8_t)(s + 1)), SD_OK);
        img[s] = (uint8_t)(s + 1);
    }
    expect_image(d, img);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    assert_int_equal(blk_disk_open(t->bs, "d", dk, &d, NULL), SD_OK);
    expect_image(d, img);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);

    /* an old snapshot of the deep disk, through a clone */
    assert_int_equal(blk_disk_clone(t->bs, "s10", "c", NULL), SD_OK);
    assert_int_equal(blk_disk_open(t->bs, "c", dk, &c, NULL), SD_OK);
    expect_image(c, spot);
    assert_int_equal(blk_disk_close(c, NULL), SD_OK);
    bt_close(t);
}

static void deep_chain_reads_back_encrypted(void **state)
{
    sd_secret *dk = bt_dk(7);
    (void)state;
    deep_chain(dk);
    sd_secret_free(dk);
}

static void deep_chain_reads_back_plain(void **state)
{
    (void)state;
    deep_chain(NULL);
}

/* Snapshots d until its chain is BLK_MAX_DEPTH long; the next one is
 * refused, through the handle and by name, and the disk is unchanged. */
static void chain_stops_at_max_depth(void **state)
{
    bt *t = bt_open();
    blk_disk *d = NULL;
    uint8_t img[NS] = {0};
    unsigned depth = BASE + 1;
    sd_err e = SD_ERR_INIT;
    int i = 0;

    (void)state;
    make_base(t, NULL, img);
    assert_int_equal(blk_disk_open(t->bs, "d", NULL, &d, NULL), SD_OK);
    for (; depth < BLK_MAX_DEPTH; i++, depth++) {
        char name[16];
        (void)snprintf(name, sizeof name, "s%d", i);
        assert_int_equal(bt_put_sector(d, (uint64_t)i % NS, seed_of(i)), SD_OK);
        img[i % NS] = seed_of(i);
        assert_int_equal(blk_disk_snapshot(d, name, NULL), SD_OK);
    }
    assert_true((unsigned)i >= BLK_MAX_SNAPSHOTS);
    assert_int_equal(blk_disk_snapshot(d, "one-more", &e), SD_E_CONFLICT);
    assert_non_null(strstr(e.msg, "no more snapshots"));
    expect_image(d, img);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    assert_int_equal(blk_snapshot_create(t->bs, "d", "one-more", NULL), SD_E_CONFLICT);
    assert_int_equal(blk_snapshot_info(t->bs, "one-more", NULL, NULL, NULL), SD_E_NOT_FOUND);
    /* a deleted snapshot makes room again (its layer merges away) */
    assert_int_equal(blk_snapshot_remove(t->bs, "s100", NULL), SD_OK);
    assert_int_equal(blk_snapshot_create(t->bs, "d", "one-more", NULL), SD_OK);
    assert_int_equal(blk_disk_open(t->bs, "d", NULL, &d, NULL), SD_OK);
    expect_image(d, img);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    bt_close(t);
}

/* A clone takes a source of BLK_MAX_BASE layers, not one more: its own
 * snapshots need the rest of the chain. */
static void clone_refuses_a_source_deeper_than_max_base(void **state)
{
    bt *t = bt_open();
    blk_disk *d = NULL;
    sd_err e = SD_ERR_INIT;

    (void)state;
    assert_int_equal(blk_disk_create(t->bs, "d", NS * 4096, false, NULL), SD_OK);
    assert_int_equal(blk_disk_open(t->bs, "d", NULL, &d, NULL), SD_OK);
    for (unsigned i = 0; i <= BLK_MAX_BASE; i++) {
        char name[16];
        (void)snprintf(name, sizeof name, "s%u", i);
        assert_int_equal(blk_disk_snapshot(d, name, NULL), SD_OK);
    }
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    /* s<n> names a chain of n + 1 layers */
    assert_int_equal(blk_disk_clone(t->bs, "s254", "ok", NULL), SD_OK);
    assert_int_equal(blk_disk_clone(t->bs, "s255", "deep", &e), SD_E_CONFLICT);
    assert_non_null(strstr(e.msg, "at most 255"));
    assert_int_equal(blk_disk_info(t->bs, "deep", NULL, NULL, NULL), SD_E_NOT_FOUND);
    bt_close(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(deep_chain_reads_back_encrypted),
        cmocka_unit_test(deep_chain_reads_back_plain),
        cmocka_unit_test(chain_stops_at_max_depth),
        cmocka_unit_test(clone_refuses_a_source_deeper_than_max_base),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
