/* test_snaptime.c: a snapshot costs the same on a 1 GiB and a 1 TiB disk.
 *
 * No absolute times (CI machines differ): for each size, the median of
 * five snapshots of an open disk (blk_disk_snapshot, each after a small
 * write so each includes a real flush) and five of the detached disk
 * (blk_snapshot_create); the 1 TiB median must stay under ten times the
 * 1 GiB one plus 50 ms.  A cost proportional to size (a map copied or
 * scanned per snapshot) would be ~1000x. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "blk_test.h"

#define RUNS 5

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v)
{
    qsort(v, RUNS, sizeof *v, cmp_double);
    return v[RUNS / 2];
}

/* Medians of RUNS open-disk and RUNS detached snapshots of a disk of size
 * bytes with a little data at its start, middle and end. */
static void snapshot_times(bt *t, const char *name, uint64_t size, double *open_med,
                           double *detached_med)
{
    sd_secret *dk = bt_dk(41);
    blk_disk *d = NULL;
    uint8_t w[4096];
    double open_t[RUNS];
    double det_t[RUNS];
    char snap[64];

    bt_fill(w, sizeof w, 5);
    assert_int_equal(blk_disk_create(t->bs, name, size, true, NULL), SD_OK);
    assert_int_equal(blk_disk_open(t->bs, name, dk, &d, NULL), SD_OK);
    for (int i = 0; i < RUNS; i++) {
        double t0;
        assert_int_equal(blk_disk_pwrite(d, w, 4096, 0, 0, NULL), SD_OK);
        assert_int_equal(blk_disk_pwrite(d, w, 4096, size / 2, 0, NULL), SD_OK);
        assert_int_equal(blk_disk_pwrite(d, w, 4096, size - 4096, 0, NULL), SD_OK);
        (void)snprintf(snap, sizeof snap, "%s-o%d", name, i);
        t0 = now_s();
        assert_int_equal(blk_disk_snapshot(d, snap, NULL), SD_OK);
        open_t[i] = now_s() - t0;
    }
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    for (int i = 0; i < RUNS; i++) {
        double t0;
        (void)snprintf(snap, sizeof snap, "%s-d%d", name, i);
        t0 = now_s();
        assert_int_equal(blk_snapshot_create(t->bs, name, snap, NULL), SD_OK);
        det_t[i] = now_s() - t0;
    }
    /* the chain still reads: the last byte written is there */
    assert_int_equal(blk_disk_open(t->bs, name, dk, &d, NULL), SD_OK);
    {
        uint8_t r[4096];
        assert_int_equal(blk_disk_pread(d, r, 4096, size - 4096, NULL), SD_OK);
        assert_memory_equal(r, w, 4096);
    }
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    *open_med = median(open_t);
    *detached_med = median(det_t);
    sd_secret_free(dk);
}

static void a_snapshot_of_1_tib_costs_what_one_of_1_gib_does(void **state)
{
    bt *t = bt_open();
    double g_open = 0;
    double g_det = 0;
    double tb_open = 0;
    double tb_det = 0;
    (void)state;

    snapshot_times(t, "gib", (uint64_t)1 << 30, &g_open, &g_det);
    snapshot_times(t, "tib", (uint64_t)1 << 40, &tb_open, &tb_det);
    print_message("snapshot medians: open 1 GiB %.2f ms, 1 TiB %.2f ms; detached 1 GiB %.2f ms, "
                  "1 TiB %.2f ms\n",
                  g_open * 1e3, tb_open * 1e3, g_det * 1e3, tb_det * 1e3);
    assert_true(tb_open < 10 * g_open + 0.050);
    assert_true(tb_det < 10 * g_det + 0.050);
    bt_close(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_snapshot_of_1_tib_costs_what_one_of_1_gib_does),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
