/* test_merge.c: a layer only one child layer still needs is merged into
 * it, online and crash-safely, so a disk takes and deletes any number of
 * snapshots over its life (the chain once stopped at BLK_MAX_DEPTH for
 * good, deleted snapshots included).
 *
 * A model (seed per sector, for the disk and for each kept snapshot) is
 * checked after every step that matters: deletes that merge into the open
 * disk's top (the newest snapshot), into a frozen layer (the oldest), and
 * into the top of a closed disk; encrypted and plain.  Merges cut short at
 * each of their fault points leave data that reads back right, and the
 * next open finishes them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "blk_test.h"

#define NS   48u /* sectors of the disk */
#define KEEP 3   /* snapshots kept at a time */
#define ITER 200 /* most snapshots taken: well over BLK_MAX_DEPTH */

typedef struct model {
    uint8_t disk[NS];
    uint8_t snap[ITER][NS];
    bool live[ITER];
} model;

static int64_t layers(bt *t)
{
    int64_t n = 0;
    assert_int_equal(blk_store_layer_count(t->bs, &n, NULL), SD_OK);
    return n;
}

static void expect_image(blk_disk *d, const uint8_t *img)
{
    for (uint64_t s = 0; s < NS; s++) {
        if (!bt_sector_is(d, s, img[s])) {
            fail_msg("sector %llu is not seed %u", (unsigned long long)s, img[s]);
        }
    }
}

/* Snapshot i's data, read through a clone of it. */
static void expect_snapshot(bt *t, const sd_secret *dk, int i, const uint8_t *img)
{
    char name[16];
    blk_disk *c = NULL;
    (void)snprintf(name, sizeof name, "s%d", i);
    assert_int_equal(blk_disk_clone(t->bs, name, "check", NULL), SD_OK);
    assert_int_equal(blk_disk_open(t->bs, "check", dk, &c, NULL), SD_OK);
    expect_image(c, img);
    assert_int_equal(blk_disk_close(c, NULL), SD_OK);
    assert_int_equal(blk_disk_remove(t->bs, "check", NULL), SD_OK);
}

static void remove_snapshot(bt *t, model *m, int i)
{
    char name[16];
    (void)snprintf(name, sizeof name, "s%d", i);
    assert_int_equal(blk_snapshot_remove(t->bs, name, NULL), SD_OK);
    m->live[i] = false;
}

/* ITER rounds of: write two sectors, snapshot (through the handle when
 * open, by name when not), drop the oldest kept snapshot, and every fifth
 * round the newest one at once.  open: the disk stays open throughout.
 * iter > BLK_MAX_DEPTH: without merges the chain ran out. */
static void many_snapshots(const sd_secret *dk, bool open, int iter)
{
    bt *t = bt_open();
    model *m = calloc(1, sizeof *m);
    blk_disk *d = NULL;
    int oldest = 0;
    uint8_t seed = 1;

    assert_non_null(m);
    assert_int_equal(blk_disk_create(t->bs, "d", NS * 4096, dk != NULL, NULL), SD_OK);
    assert_int_equal(blk_disk_open(t->bs, "d", dk, &d, NULL), SD_OK);
    for (int i = 0; i < iter; i++) {
        char name[16];
        for (int w = 0; w < 2; w++) {
            uint64_t s = (uint64_t)(i * 7 + w * 13) % NS;
            seed = (uint8_t)(seed % 250 + 1);
            if (d == NULL) {
                assert_int_equal(blk_disk_open(t->bs, "d", dk, &d, NULL), SD_OK);
            }
            assert_int_equal(bt_put_sector(d, s, seed), SD_OK);
            m->disk[s] = seed;
        }
        if (i % 11 == 0) { /* ZERO sectors must merge too */
            uint64_t s = (uint64_t)(i * 5) % NS;
            assert_int_equal(blk_disk_zero(d, 4096, s * 4096, 0, NULL), SD_OK);
            m->disk[s] = 0;
        }
        (void)snprintf(name, sizeof name, "s%d", i);
        if (open) {
            assert_int_equal(blk_disk_snapshot(d, name, NULL), SD_OK);
        } else {
            assert_int_equal(blk_disk_close(d, NULL), SD_OK);
            d = NULL;
            assert_int_equal(blk_snapshot_create(t->bs, "d", name, NULL), SD_OK);
        }
        memcpy(m->snap[i], m->disk, NS);
        m->live[i] = true;
        if (i % 5 == 4) {
            remove_snapshot(t, m, i); /* merges into the disk's top */
        }
        while (oldest < i && (!m->live[oldest] || i - oldest >= KEEP)) {
            if (m->live[oldest]) {
                remove_snapshot(t, m, oldest); /* merges into a frozen layer */
            }
            oldest++;
        }
        assert_true(layers(t) <= KEEP + 2);
        if (i % 50 == 0 || i == iter - 1) {
            if (d == NULL) {
                assert_int_equal(blk_disk_open(t->bs, "d", dk, &d, NULL), SD_OK);
            }
            expect_image(d, m->disk);
            for (int k = 0; k <= i; k++) {
                if (m->live[k]) {
                    expect_snapshot(t, dk, k, m->snap[k]);
                }
            }
        }
    }
    if (d == NULL) {
        assert_int_equal(blk_disk_open(t->bs, "d", dk, &d, NULL), SD_OK);
    }
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    /* and across a restart */
    bt_reopen(t);
    assert_int_equal(blk_disk_open(t->bs, "d", dk, &d, NULL), SD_OK);
    expect_image(d, m->disk);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    free(m);
    bt_close(t);
}

static void an_open_encrypted_disk_takes_snapshots_without_end(void **state)
{
    sd_secret *dk = bt_dk(50);
    (void)state;
    many_snapshots(dk, true, ITER);
    sd_secret_free(dk);
}

static void an_open_plain_disk_takes_snapshots_without_end(void **state)
{
    (void)state;
    many_snapshots(NULL, true, 140);
}

static void a_closed_encrypted_disk_takes_snapshots_without_end(void **state)
{
    sd_secret *dk = bt_dk(51);
    (void)state;
    many_snapshots(dk, false, 140);
    sd_secret_free(dk);
}

/* The twins: a layer something else needs stays whole. */
static void a_layer_a_clone_or_snapshot_needs_is_not_merged(void **state)
{
    bt *t = bt_open();
    blk_disk *d = NULL;
    blk_disk *c = NULL;
    (void)state;

    assert_int_equal(blk_disk_create(t->bs, "d", NS * 4096, false, NULL), SD_OK);
    assert_int_equal(blk_disk_open(t->bs, "d", NULL, &d, NULL), SD_OK);
    assert_int_equal(bt_put_sector(d, 0, 1), SD_OK);
    assert_int_equal(blk_disk_snapshot(d, "s1", NULL), SD_OK); /* L0 <- L1 */
    assert_int_equal(bt_put_sector(d, 0, 2), SD_OK);
    assert_int_equal(blk_disk_snapshot(d, "s2", NULL), SD_OK);       /* L0 <- L1 <- L2 */
    assert_int_equal(blk_disk_clone(t->bs, "s1", "c", NULL), SD_OK); /* L0 <- C */
    assert_int_equal(layers(t), 4);
    /* L0 has two children: it stays */
    assert_int_equal(blk_snapshot_remove(t->bs, "s1", NULL), SD_OK);
    assert_int_equal(layers(t), 4);
    /* L1 is s2's: removing nothing merges it */
    assert_int_equal(bt_put_sector(d, 1, 3), SD_OK);
    assert_int_equal(layers(t), 4);
    assert_int_equal(blk_disk_open(t->bs, "c", NULL, &c, NULL), SD_OK);
    assert_true(bt_sector_is(c, 0, 1));
    assert_true(bt_sector_is(d, 0, 2));
    assert_true(bt_sector_is(d, 1, 3));
    assert_int_equal(blk_disk_close(c, NULL), SD_OK);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    bt_close(t);
}

/* A merge cut short at each fault point: the snapshot's removal stands,
 * the data read right at once and after a crash and reopen, and the
 * reopen finishes the merge (no lone layer, no orphan object left). */
static void a_merge_cut_short_leaves_right_data_and_is_finished_at_open(void **state)
{
    static const char *const points[] = {"blk.merge.absorbed", "blk.merge.synced",
                                         "blk.merge.committed"};
    sd_secret *dk = bt_dk(52);
    (void)state;

    for (size_t p = 0; p < 3; p++) {
        for (int open = 0; open < 2; open++) {
            for (int newest = 0; newest < 2; newest++) {
                bt *t = bt_open();
                blk_disk *d = NULL;
                assert_int_equal(blk_disk_create(t->bs, "d", NS * 4096, true, NULL), SD_OK);
                assert_int_equal(blk_disk_open(t->bs, "d", dk, &d, NULL), SD_OK);
                for (uint64_t s = 0; s < 8; s++) {
                    assert_int_equal(bt_put_sector(d, s, (uint8_t)(s + 1)), SD_OK);
                }
                assert_int_equal(blk_disk_snapshot(d, "s1", NULL), SD_OK);
                assert_int_equal(bt_put_sector(d, 0, 20), SD_OK);
                assert_int_equal(blk_disk_zero(d, 4096, 4096, 0, NULL), SD_OK);
                assert_int_equal(blk_disk_snapshot(d, "s2", NULL), SD_OK);
                assert_int_equal(bt_put_sector(d, 2, 30), SD_OK);
                assert_int_equal(layers(t), 3);
                if (!open) {
                    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
                    d = NULL;
                }
                sd_fault_arm(points[p], 1, false);
                /* newest: s2's layer into the top; else s1's into s2's */
                assert_int_equal(blk_snapshot_remove(t->bs, newest ? "s2" : "s1", NULL), SD_OK);
                sd_fault_reset();
                if (d == NULL) {
                    assert_int_equal(blk_disk_open(t->bs, "d", dk, &d, NULL), SD_OK);
                }
                assert_true(bt_sector_is(d, 0, 20));
                assert_true(bt_sector_is(d, 1, 0));
                assert_true(bt_sector_is(d, 2, 30));
                assert_true(bt_sector_is(d, 3, 4));
                /* the crash: the handle goes without a flush */
                sd_fault_arm("blk.flush", 1, true);
                sd_ignore(blk_disk_close(d, NULL));
                sd_fault_reset();
                bt_reopen(t);
                assert_int_equal(layers(t), 2);
                assert_int_equal(blk_disk_open(t->bs, "d", dk, &d, NULL), SD_OK);
                assert_true(bt_sector_is(d, 0, 20));
                assert_true(bt_sector_is(d, 1, 0));
                assert_true(bt_sector_is(d, 3, 4));
                assert_int_equal(blk_disk_close(d, NULL), SD_OK);
                {
                    uint8_t s1[NS] = {1, 2, 3, 4, 5, 6, 7, 8};
                    uint8_t s2[NS] = {20, 0, 3, 4, 5, 6, 7, 8};
                    expect_snapshot(t, dk, newest ? 1 : 2, newest ? s1 : s2);
                }
                {
                    uint64_t n = 9;
                    assert_int_equal(blk_store_gc(t->bs, true, NULL, NULL, &n, NULL), SD_OK);
                    assert_int_equal(n, 0);
                }
                bt_close(t);
            }
        }
    }
    sd_secret_free(dk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_open_encrypted_disk_takes_snapshots_without_end),
        cmocka_unit_test(an_open_plain_disk_takes_snapshots_without_end),
        cmocka_unit_test(a_closed_encrypted_disk_takes_snapshots_without_end),
        cmocka_unit_test(a_layer_a_clone_or_snapshot_needs_is_not_merged),
        cmocka_unit_test(a_merge_cut_short_leaves_right_data_and_is_finished_at_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
